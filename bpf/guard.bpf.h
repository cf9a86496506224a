/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* Hardened mode: only the daemon may take a descriptor of lockwarden's
 * maps, programs and links, or unlink, rmdir or rename its pins. Part of
 * enforcer.bpf.c (one object, so one version attaches and pins them all).
 *
 * The daemon is known by its tgid and start time (written by the daemon
 * itself into the guard map). When it exits, task_free clears that entry,
 * and until a daemon registers again a process running the daemon's binary
 * may take the descriptors: that is how a restart adopts the pins.
 *
 * The daemon's keeper (the process that keeps a copy of every backend lock
 * through a restart of the daemon) is known the same way, from the keeper
 * map: it may receive a leased image's write descriptor as the daemon may
 * (file_receive), so the daemon need not wait for it to take its copy
 * before the lease exists; and holding a write descriptor of every leased
 * image, it is guarded against attach as the daemon is. */
#ifndef LW_GUARD_BPF_H
#define LW_GUARD_BPF_H

#define EPERM 1
#define LW_PTRACE_MODE_ATTACH 0x02

/* One entry: struct lw_guard. Written by the daemon only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_guard);
} guard SEC(".maps");

/* One entry: the keeper's struct lw_map_holder. Written by the daemon only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_map_holder);
} keeper SEC(".maps");

/* Key: one of lockwarden's maps, programs or links by kernel id; value:
 * unused. Filled by the daemon after load and after an upgrade. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct lw_object_id);
	__type(value, __u8);
} guarded SEC(".maps");

/* The guard if hardened mode is on, else NULL. */
static __always_inline struct lw_guard *guard_on(void)
{
	__u32 zero = 0;
	struct lw_guard *g = bpf_map_lookup_elem(&guard, &zero);

	return g && g->enabled ? g : NULL;
}

/* task belongs to the process h names (a reused pid never matches). */
static __always_inline bool task_is(const struct task_struct *task, const struct lw_map_holder *h)
{
	return h->kind == LW_MAP_HOLDER_PROCESS && (__u32)task->tgid == h->pid &&
	       h->start_time == lw_start_time_of(task);
}

/* The current task belongs to the daemon registered in the guard map (in
 * hardened mode or not). */
static __always_inline bool is_running_daemon(void)
{
	__u32 zero = 0;
	struct lw_guard *g = bpf_map_lookup_elem(&guard, &zero);

	return g && task_is(bpf_get_current_task_btf(), &g->daemon);
}

/* The current task belongs to the keeper named in the keeper map. */
static __always_inline bool is_running_keeper(void)
{
	__u32 zero = 0;
	struct lw_map_holder *k = bpf_map_lookup_elem(&keeper, &zero);

	return k && task_is(bpf_get_current_task_btf(), k);
}

static __always_inline bool is_daemon(const struct lw_guard *g)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct inode *exe;

	if (g->daemon.kind == LW_MAP_HOLDER_PROCESS)
		return task_is(task, &g->daemon);
	/* No daemon runs: its binary may start and register. */
	exe = task->mm->exe_file->f_inode;	/* NULL-safe BTF loads: kernel threads have no mm */
	return exe && exe->i_ino == g->exe_ino && exe->i_sb->s_dev == g->exe_dev;
}

static __always_inline bool is_guarded(__u32 kind, __u32 id)
{
	struct lw_object_id object = { .kind = kind, .id = id };

	return bpf_map_lookup_elem(&guarded, &object) != NULL;
}

/* A refusal for the audit trail: key.ino carries the object id (bpf) or
 * the pin's inode (unpin); path its name. Not rate limited per pair: the
 * ring buffer bounds it, and a flood here is itself the news. */
static __always_inline void report_guard(const struct lw_guard *g, __u32 op, __u64 ino,
					 const char *name)
{
	struct lw_map_denial *event;

	count(LW_COUNTER_DENIALS);
	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		count(LW_COUNTER_DROPPED);
		return;
	}
	fill_subject(event);
	event->op = op;
	event->open_flags = 0;
	event->key.dev = g->pin_dev;
	event->key.ino = ino;
	event->lease_mode = 0;
	event->suppressed = 0;
	event->holder = g->daemon;
	bpf_probe_read_kernel_str(event->path, sizeof(event->path), name);
	bpf_ringbuf_submit(event, 0);
}

/* A descriptor of one of our maps: BPF_OBJ_GET of a pin,
 * BPF_MAP_GET_FD_BY_ID. Read-only ones too: a program loaded with any
 * descriptor of a map may write it. */
SEC("lsm/bpf_map")
int BPF_PROG(lw_guard_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	struct lw_guard *g;

	if (ret)
		return ret;
	g = guard_on();
	if (!g || !is_guarded(LW_OBJECT_MAP, map->id) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_BPF, map->id, map->name);
	return -EPERM;
}

/* A descriptor of one of our programs. */
SEC("lsm/bpf_prog")
int BPF_PROG(lw_guard_prog, struct bpf_prog *prog, int ret)
{
	struct lw_guard *g;

	if (ret)
		return ret;
	g = guard_on();
	if (!g || !is_guarded(LW_OBJECT_PROG, prog->aux->id) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_BPF, prog->aux->id, prog->aux->name);
	return -EPERM;
}

/* Links have no hook of their own: refuse BPF_LINK_GET_FD_BY_ID of ours
 * (a pinned link's BPF_OBJ_GET is refused through the pins' folder being
 * the daemon's; LSM links cannot be detached by descriptor anyway).
 * Only the first three arguments: 6.14 added a fourth. */
SEC("lsm/bpf")
int BPF_PROG(lw_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	struct lw_guard *g;
	__u32 id;

	if (cmd != BPF_LINK_GET_FD_BY_ID)
		return 0;
	g = guard_on();
	if (!g)
		return 0;
	id = attr->link_id;
	if (!is_guarded(LW_OBJECT_LINK, id) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_BPF, id, "link");
	return -EPERM;
}

static __always_inline bool is_pin_folder(const struct lw_guard *g, const struct dentry *d)
{
	const struct inode *inode = d->d_inode;

	return inode && inode->i_ino == g->pin_ino && inode->i_sb->s_dev == g->pin_dev;
}

/* dentry is the pin folder, a pin in it, or in one of its version folders. */
static __always_inline bool is_pin(const struct lw_guard *g, const struct dentry *dentry)
{
	const struct dentry *parent = dentry->d_parent;

	return is_pin_folder(g, dentry) || is_pin_folder(g, parent) ||
	       is_pin_folder(g, parent->d_parent);
}

static __always_inline int guard_pin(const struct dentry *dentry)
{
	struct lw_guard *g = guard_on();

	if (!g || !is_pin(g, dentry) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_UNPIN, dentry->d_inode ? dentry->d_inode->i_ino : 0,
		     (const char *)dentry->d_name.name);
	return -EPERM;
}

/* Unlink and rename of a pin: guard_pin, called by lw_inode_unlink and
 * lw_inode_rename (one program per hook). */

SEC("lsm/inode_rmdir")
int BPF_PROG(lw_guard_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret ? ret : guard_pin(dentry);
}

/* Unmounting the bpffs of the pins drops them all at once. */
SEC("lsm/sb_umount")
int BPF_PROG(lw_guard_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct lw_guard *g;

	if (ret)
		return ret;
	g = guard_on();
	if (!g || mnt->mnt_sb->s_dev != g->pin_dev || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_UNPIN, 0, "umount");
	return -EPERM;
}

/* Hardened: ptrace, /proc/PID/mem, process_vm_writev and pidfd_getfd of
 * the daemon or its keeper (all PTRACE_MODE_ATTACH) would hand their
 * descriptors (a write descriptor of every leased image) or their memory
 * to another process; only the daemon may. Called by the
 * ptrace_access_check program (holder_guard.bpf.h) for attach-mode checks
 * only. */
static __always_inline int guard_ptrace(struct task_struct *child)
{
	struct lw_guard *g = guard_on();
	struct lw_map_holder *k;
	__u32 zero = 0;

	if (!g)
		return 0;
	k = bpf_map_lookup_elem(&keeper, &zero);
	if (!(task_is(child, &g->daemon) || (k && task_is(child, k))) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_BPF, child->tgid, "ptrace");
	return -EPERM;
}

/* The daemon exited: its binary may start again and take over. */
SEC("lsm/task_free")
int BPF_PROG(lw_guard_task_free, struct task_struct *task)
{
	__u32 zero = 0;
	struct lw_guard *g = bpf_map_lookup_elem(&guard, &zero);

	if (!g || g->daemon.kind != LW_MAP_HOLDER_PROCESS || task->pid != task->tgid)
		return 0;
	if (task_is(task, &g->daemon))
		g->daemon.kind = LW_MAP_HOLDER_NONE;
	return 0;
}

#endif
