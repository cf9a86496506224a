// SPDX-License-Identifier: GPL-2.0-only
/* The kernel half of lockwarden: deny a leased image's write opens,
 * truncate, unlink and rename to every task that does not hold the lease,
 * and report each denial (rate-limited) to userspace. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "enforcer_maps.h"
#include "image_key.bpf.h"
#include "lease_tables.bpf.h"

/* BPF_PROG hands every hook argument over, used or not. */
#pragma clang diagnostic ignored "-Wunused-parameter"

#define EACCES 13
#define O_TRUNC 01000
#define LW_MAX_CGROUP_DEPTH 16	/* cgroup v2 levels searched for a cgroup holder */

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load. */
const volatile __u32 events_per_sec = 10;	/* events per (subject, image) pair per second */

/* The lease of nobody, for {0, 0} aliases: read-only data (frozen). */
const volatile struct lw_map_lease nobody_lease = { .mode = LW_MAP_LEASE_EXCLUSIVE };

/* Denial events for the audit trail. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Key: (subject tgid, image key); value: its rate-limit window. LRU, so a
 * flood of distinct pairs only forgets old windows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lw_rate_key);
	__type(value, struct lw_rate_state);
} rate_limit SEC(".maps");

/* Key: enum lw_counter; value: a count per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (value)
		*value += 1;	/* per CPU: no other writer */
}

/* The lease of key, or NULL; the filter answers most misses. */
static __always_inline struct lw_map_lease *lease_of(const struct lw_map_key *key)
{
	__u32 slot = lw_filter_slot(key, filter_mask);
	__u32 *leases_here = bpf_map_lookup_elem(&lease_filter, &slot);

	struct lw_map_lease *lease;
	struct lw_alias *alias;

	if (!leases_here || !*leases_here)
		return NULL;
	lease = bpf_map_lookup_elem(&leases, key);
	if (lease || !(alias = bpf_map_lookup_elem(&aliases, key)))
		return lease;
	if (!alias->lease.dev && !alias->lease.ino)
		return (struct lw_map_lease *)&nobody_lease;
	return bpf_map_lookup_elem(&leases, &alias->lease);
}

static __always_inline bool in_cgroup_subtree(__u64 cgroup_id)
{
	for (int level = 0; level < LW_MAX_CGROUP_DEPTH; level++) {
		__u64 ancestor = bpf_get_current_ancestor_cgroup_id(level);

		if (ancestor == 0)	/* deeper than the current cgroup */
			return false;
		if (ancestor == cgroup_id)
			return true;
	}
	return false;
}

static __always_inline bool is_holder(const struct lw_map_lease *lease)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 nr = lease->nr_holders;

	for (__u32 i = 0; i < LW_MAP_MAX_HOLDERS; i++) {
		const struct lw_map_holder *holder = &lease->holders[i];

		if (i >= nr)
			break;
		/* The start time makes a reused pid a stranger. */
		if (holder->kind == LW_MAP_HOLDER_PROCESS && holder->pid == tgid &&
		    holder->start_time == lw_start_time_of(task))
			return true;
		if (holder->kind == LW_MAP_HOLDER_CGROUP && in_cgroup_subtree(holder->cgroup_id))
			return true;
	}
	return false;
}

/* Whether this denial may send an event; else counts it as suppressed.
 * *state_out gets the pair's window (NULL if it cannot be tracked). */
static __always_inline bool rate_allows(const struct lw_map_key *key, __u32 tgid,
					struct lw_rate_state **state_out)
{
	struct lw_rate_key rate_key = { .tgid = tgid, .key = *key };
	struct lw_rate_state fresh = {}, *state;
	__u64 now = bpf_ktime_get_boot_ns();

	state = bpf_map_lookup_elem(&rate_limit, &rate_key);
	if (!state) {
		fresh.window_start_ns = now;
		bpf_map_update_elem(&rate_limit, &rate_key, &fresh, BPF_NOEXIST);
		state = bpf_map_lookup_elem(&rate_limit, &rate_key);
	}
	*state_out = state;
	if (!state)	/* cannot track the pair: send rather than lose it */
		return true;
	if (now - state->window_start_ns >= 1000000000ULL) {
		state->window_start_ns = now;
		state->sent = 0;
	}
	if (state->sent >= events_per_sec) {
		__sync_fetch_and_add(&state->suppressed, 1);
		count(LW_COUNTER_SUPPRESSED);
		return false;
	}
	state->sent++;
	return true;
}

/* Fill the event fields that do not depend on the hook. */
static __always_inline void fill_subject(struct lw_map_denial *event)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	event->time_ns = bpf_ktime_get_boot_ns();
	event->pid = (__u32)pid_tgid;
	event->tgid = pid_tgid >> 32;
	event->uid = (__u32)uid_gid;
	event->gid = uid_gid >> 32;
	event->loginuid = task->loginuid.val;
	event->sessionid = task->sessionid;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
}

/* Count a denial and reserve its event, filled but for the path; NULL if
 * rate-limited or the ring is full. The caller fills path and submits. */
static __always_inline struct lw_map_denial *begin_report(const struct lw_map_key *key,
							     const struct lw_map_lease *lease,
							     __u32 op, __u32 open_flags)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_rate_state *state;
	struct lw_map_denial *event;
	__u32 pending;

	count(LW_COUNTER_DENIALS);
	if (!rate_allows(key, tgid, &state))
		return NULL;

	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		/* Reported as suppressed in the pair's next event. */
		count(LW_COUNTER_DROPPED);
		if (state)
			__sync_fetch_and_add(&state->suppressed, 1);
		return NULL;
	}
	fill_subject(event);
	event->op = op;
	event->open_flags = open_flags;
	event->key = *key;
	event->lease_mode = lease->mode;
	event->holder = lease->holders[0];
	pending = state ? state->suppressed : 0;
	event->suppressed = pending;
	if (state && pending)
		__sync_fetch_and_add(&state->suppressed, -pending);
	event->path[0] = 0;
	return event;
}

/* Count a denial and send its event unless rate-limited or the ring is
 * full. path: resolve with bpf_d_path (the kernel allows it on hooks of its
 * sleepable set, from sleepable and non-sleepable programs alike);
 * otherwise name: the dentry's last component. */
static __always_inline void report(const struct lw_map_key *key, const struct lw_map_lease *lease,
				   __u32 op, __u32 open_flags, struct path *path,
				   const struct dentry *name, bool use_d_path)
{
	struct lw_map_denial *event = begin_report(key, lease, op, open_flags);

	if (!event)
		return;
	if (use_d_path && path)
		bpf_d_path(path, event->path, sizeof(event->path));
	else if (name)
		bpf_probe_read_kernel_str(event->path, sizeof(event->path), name->d_name.name);
	bpf_ringbuf_submit(event, 0);
}

#include "guard.bpf.h"

/* Whether a non-holder must be stopped from changing inode; the lease in
 * *lease_out. The daemon itself is exempt (it opens images it leases for
 * its backend locks, and receives them back from its keeper). */
static __always_inline bool denied(const struct inode *inode, struct lw_map_key *key,
				   struct lw_map_lease **lease_out)
{
	struct lw_map_lease *lease;

	if (!inode)
		return false;
	lw_key_of_inode(inode, key);
	lease = lease_of(key);
	if (!lease || is_holder(lease) || is_running_daemon())
		return false;
	*lease_out = lease;
	return true;
}

/* Every open on the host passes here. Not sleepable: nothing here sleeps,
 * and bpf_d_path for the rare denial is allowed either way (the kernel's
 * bpf_d_path_allowed: an LSM program on a hook of its sleepable set, since
 * 5.11; loads and resolves on 6.1 and 6.12). Measured (bench/enforce_cost):
 * sleepable or not differ by 2 instructions an open; what an open pays is
 * the trampoline, about 200, and a read-only open leaves after 3 loads. */
SEC("lsm/file_open")
int BPF_PROG(lw_file_open, struct file *file, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	if (ret)	/* an earlier LSM already said no */
		return ret;
	/* Fast path: a read-only open leaves here. */
	if (!(file->f_mode & LW_FMODE_WRITE) && !(file->f_flags & O_TRUNC))
		return 0;
	if (!denied(file->f_inode, &key, &lease))
		return 0;
	report(&key, lease, LW_MAP_OP_OPEN_WRITE, file->f_flags, (struct path *)&file->f_path, NULL, true);
	return -EACCES;
}

/* A write descriptor handed over instead of opened: SCM_RIGHTS from a
 * holder, or pidfd_getfd(2) on a holder. Rare, so no fast path needed. */
SEC("lsm/file_receive")
int BPF_PROG(lw_file_receive, struct file *file, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	if (ret)
		return ret;
	if (!(file->f_mode & LW_FMODE_WRITE))
		return 0;
	if (!denied(file->f_inode, &key, &lease) || is_running_keeper())
		return 0;
	report(&key, lease, LW_MAP_OP_WRITE, file->f_flags, NULL, file->f_path.dentry, false);
	return -EACCES;
}

/* truncate(2), ftruncate(2) and O_TRUNC all pass here. */
SEC("lsm/path_truncate")
int BPF_PROG(lw_path_truncate, const struct path *path, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	if (ret)
		return ret;
	if (!denied(path->dentry->d_inode, &key, &lease))
		return 0;
	report(&key, lease, LW_MAP_OP_TRUNCATE, 0, NULL, path->dentry, false);
	return -EACCES;
}

/* Whether this name is the last of a leased file: it goes only with the
 * lease, holders' unlinks included, else the inode (and its number) could
 * be freed and given to another file, which the lease would then cover.
 * The daemon is exempt. */
static __always_inline bool last_name_of_lease(const struct inode *inode, struct lw_map_key *key,
					       struct lw_map_lease **lease_out)
{
	struct lw_map_lease *lease;

	if (!inode || (inode->i_mode & LW_S_IFMT) != LW_S_IFREG || inode->i_nlink != 1)
		return false;
	lw_key_of_inode(inode, key);
	lease = lease_of(key);
	if (!lease || is_running_daemon())
		return false;
	*lease_out = lease;
	return true;
}

SEC("lsm/inode_unlink")
int BPF_PROG(lw_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	if (ret)
		return ret;
	if ((ret = guard_pin(dentry)))
		return ret;
	if (!denied(dentry->d_inode, &key, &lease) && !last_name_of_lease(dentry->d_inode, &key, &lease))
		return 0;
	report(&key, lease, LW_MAP_OP_UNLINK, 0, NULL, dentry, false);
	return -EACCES;
}

/* Renaming the image away, or another file over it (new_dentry positive;
 * over its last name, holders included). */
SEC("lsm/inode_rename")
int BPF_PROG(lw_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	if (ret)
		return ret;
	/* a pin moved away, or something moved over one */
	if ((ret = guard_pin(old_dentry)) || (ret = guard_pin(new_dentry)))
		return ret;
	if (denied(old_dentry->d_inode, &key, &lease)) {
		report(&key, lease, LW_MAP_OP_RENAME, 0, NULL, old_dentry, false);
		return -EACCES;
	}
	if (denied(new_dentry->d_inode, &key, &lease) || last_name_of_lease(new_dentry->d_inode, &key, &lease)) {
		report(&key, lease, LW_MAP_OP_RENAME, 0, NULL, new_dentry, false);
		return -EACCES;
	}
	return 0;
}

#include "holder_guard.bpf.h"

/* ioctls that change a leased image without writing it through a write
 * descriptor: its immutable/append-only flags (which would make the
 * holder's own writes fail; fs-verity, which makes it read-only for good,
 * through a read-only descriptor), SCSI/NVMe passthrough (root may send a WRITE
 * on a read-only descriptor), discard, zeroing and the partition table. */
#define LW_FS_IOC_SETFLAGS 0x40086602		/* _IOW('f', 2, long) */
#define LW_FS_IOC32_SETFLAGS 0x40046602		/* _IOW('f', 2, int) */
#define LW_FS_IOC_FSSETXATTR 0x401c5820		/* _IOW('X', 32, struct fsxattr) */
#define LW_FS_IOC_ENABLE_VERITY 0x40806685	/* _IOW('f', 133, struct fsverity_enable_arg) */
#define LW_SCSI_IOCTL_SEND_COMMAND 0x1
#define LW_SG_IO 0x2285
#define LW_BLKROSET 0x125d
#define LW_BLKRRPART 0x125f
#define LW_BLKPG 0x1269
#define LW_BLKDISCARD 0x1277
#define LW_BLKSECDISCARD 0x127d
#define LW_BLKZEROOUT 0x127f
#define LW_BLKRESETZONE 0x40101283
#define LW_BLKFINISHZONE 0x40101288
#define LW_NVME_IOCTL_ADMIN_CMD 0xc0484e41
#define LW_NVME_IOCTL_SUBMIT_IO 0x40304e42
#define LW_NVME_IOCTL_IO_CMD 0xc0484e43
#define LW_NVME_IOCTL_ADMIN64_CMD 0xc0504e47
#define LW_NVME_IOCTL_IO64_CMD 0xc0504e48

#include "alias_track.bpf.h"
#include "loop_track.bpf.h"
#include "overlay_track.bpf.h"
#include "key_probe.bpf.h"

static __always_inline bool changes_image(unsigned int cmd)
{
	switch (cmd) {
	case LW_FS_IOC_SETFLAGS:
	case LW_FS_IOC32_SETFLAGS:
	case LW_FS_IOC_FSSETXATTR:
	case LW_FS_IOC_ENABLE_VERITY:
	case LW_SCSI_IOCTL_SEND_COMMAND:
	case LW_SG_IO:
	case LW_BLKROSET:
	case LW_BLKRRPART:
	case LW_BLKPG:
	case LW_BLKDISCARD:
	case LW_BLKSECDISCARD:
	case LW_BLKZEROOUT:
	case LW_BLKRESETZONE:
	case LW_BLKFINISHZONE:
	case LW_NVME_IOCTL_ADMIN_CMD:
	case LW_NVME_IOCTL_SUBMIT_IO:
	case LW_NVME_IOCTL_IO_CMD:
	case LW_NVME_IOCTL_ADMIN64_CMD:
	case LW_NVME_IOCTL_IO64_CMD:
	/* what a loop device writes to: on a leased or covered one */
	case LW_LOOP_SET_FD:
	case LW_LOOP_CLR_FD:
	case LW_LOOP_SET_STATUS:
	case LW_LOOP_SET_STATUS64:
	case LW_LOOP_CHANGE_FD:
	case LW_LOOP_SET_CAPACITY:
	case LW_LOOP_SET_DIRECT_IO:
	case LW_LOOP_SET_BLOCK_SIZE:
	case LW_LOOP_CONFIGURE:
		return true;
	}
	return false;
}

/* Whatever the descriptor's mode: SG_IO needs no write descriptor. */
static __always_inline int check_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;

	/* Fast path: every other ioctl leaves here. */
	if (!changes_image(cmd))
		return 0;
	loop_forget_old_file(file, cmd);
	if (!opens_only(file->f_inode) && denied(file->f_inode, &key, &lease)) {
		report(&key, lease, LW_MAP_OP_IOCTL, cmd, NULL, file->f_path.dentry, false);
		return -EPERM;
	}
	/* Unreadable: the backing file is unknown, so no attach (the caller's
	 * own copy would fault the same way). */
	if (!loop_track_attach(file, cmd, arg))
		return -EFAULT;
	return 0;
}

SEC("lsm/file_ioctl")
int BPF_PROG(lw_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (cmd == LW_IOC_KEY_PROBE) {
		key_probe(file, arg);
		return ret;
	}
	if (cmd == LW_IOC_WRITERS_PROBE)
		return ret ? ret : writers_probe(file, arg);
	return ret ? ret : check_ioctl(file, cmd, arg);
}

/* A 32-bit process's ioctls (6.1.75+, 6.6.14+, 6.8+ call this hook instead
 * of file_ioctl for them): the same commands, FS_IOC32_SETFLAGS among them. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(lw_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ? ret : check_ioctl(file, cmd, arg);
}

/* io_uring passthrough (NVMe, and others since): an ioctl by another name. */
SEC("lsm/uring_cmd")
int BPF_PROG(lw_uring_cmd, struct io_uring_cmd *ioucmd, int ret)
{
	struct lw_map_key key;
	struct lw_map_lease *lease;
	struct file *file;

	if (ret)
		return ret;
	file = ioucmd->file;
	if (opens_only(file->f_inode) || !denied(file->f_inode, &key, &lease))
		return 0;
	report(&key, lease, LW_MAP_OP_IOCTL, ioucmd->cmd_op, NULL, file->f_path.dentry, false);
	return -EPERM;
}

#include "mount_guard.bpf.h"
#include "below_track.bpf.h"
