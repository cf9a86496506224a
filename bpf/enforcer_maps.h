/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* The map layouts: structs that the BPF programs and the BPF enforcer's
 * userspace (userspace/enforcer/, and nothing else) both see. The rest of
 * lockwarden speaks common/lease_types.h; translate.c converts. */
#ifndef LW_ENFORCER_MAPS_H
#define LW_ENFORCER_MAPS_H

#define LW_MAP_MAX_HOLDERS 8	/* holders per lease; a shared lease takes at most this many */
#define LW_MAP_PATH_MAX 256		/* image path in an event, as the kernel resolves it */
#define LW_MAP_COMM_LEN 16

/* The kernel's own identity of an image. */
struct lw_map_key {
	__u64 dev;	/* files: inode->i_sb->s_dev; block devices: inode->i_rdev */
	__u64 ino;	/* files: inode->i_ino; block devices: 0 */
};

/* ino of a character device's key ({i_rdev, LW_KEY_CHRDEV}): the SCSI
 * generic and bsg nodes of a leased disk are aliases of its lease. No
 * inode has this number. */
#define LW_KEY_CHRDEV 0xffffffffffffffffULL

/* Value of the aliases map: another node of a leased block device. */
struct lw_alias {
	struct lw_map_key lease;	/* the lease it belongs to; {0, 0}: nobody's, a
					 * whole disk (or its sg node) with leased partitions:
					 * every writer is refused */
	__u32 count;			/* nobody's: how many leases put it there */
	__u32 flags;			/* LW_ALIAS_* */
};

/* Only write opens are refused, not ioctls: the block device under a
 * filesystem with leased images, where udev's scsi_id, smartctl and
 * multipathd need SG_IO. */
#define LW_ALIAS_OPENS_ONLY 0x1

enum lw_map_holder_kind {
	LW_MAP_HOLDER_NONE = 0,
	LW_MAP_HOLDER_PROCESS = 1,	/* one process: tgid and its start time */
	LW_MAP_HOLDER_CGROUP = 2,	/* every task in a cgroup v2 subtree */
};

struct lw_map_holder {
	__u32 kind;		/* enum lw_map_holder_kind */
	__u32 pid;		/* process: tgid */
	__u64 start_time;	/* process: start time in clock ticks since boot,
				 * as /proc/PID/stat field 22, so a reused pid never matches */
	__u64 cgroup_id;	/* cgroup: the cgroup v2 id (its directory's inode number) */
};

/* Value of the holder_family task-storage map: the process holders a task
 * descends from, nearest first (kind 0 ends the list). Written by the
 * task_alloc program at fork and, for the descendants a holder already has
 * when it takes a lease, by userspace through a pidfd key. */
#define LW_FAMILY_HOLDERS 4
struct lw_family {
	struct lw_map_holder holders[LW_FAMILY_HOLDERS];
};

/* Value of the holder_index map, whose key is a struct lw_map_holder with only
 * its kind's fields set (process: kind, pid, start_time; cgroup: kind,
 * cgroup_id): how many leases name that holder, and one of them. Lets the
 * ptrace hook ask "is this task a holder?" without walking the leases. */
struct lw_holder_ref {
	__u32 count;
	__u32 pad;
	struct lw_map_key key;
};

enum lw_map_lease_mode {
	LW_MAP_LEASE_EXCLUSIVE = 1,
	LW_MAP_LEASE_SHARED = 2,
};

/* Value of the leases map: who may write the image. */
struct lw_map_lease {
	__u32 mode;		/* enum lw_map_lease_mode */
	__u32 nr_holders;
	struct lw_map_holder holders[LW_MAP_MAX_HOLDERS];
};

enum lw_map_op {
	LW_MAP_OP_OPEN_WRITE = 1,
	LW_MAP_OP_TRUNCATE = 2,
	LW_MAP_OP_UNLINK = 3,
	LW_MAP_OP_RENAME = 4,
	LW_MAP_OP_WRITE = 5,	/* a write descriptor not opened by the subject: received
				 * from a holder (SCM_RIGHTS, pidfd_getfd) */
	LW_MAP_OP_BPF = 6,		/* hardened: a descriptor of lockwarden's maps, programs
				 * or links asked for by another process */
	LW_MAP_OP_UNPIN = 7,	/* hardened: unlink, rmdir or rename of a pin */
	LW_MAP_OP_PTRACE = 8,	/* attach-mode access (ptrace, pidfd_getfd, process_vm_writev,
				 * /proc/PID/mem) to a holder of the lease; path: its comm */
	LW_MAP_OP_IOCTL = 9,	/* an ioctl that changes the image: immutable/append-only
				 * flags, SG_IO, discard, partition table; open_flags: the cmd */
	LW_MAP_OP_MOUNT = 10,	/* a new mount of a leased or covered block device; path: its name */
};

/* One denied access, sent to userspace through the events ring buffer. */
struct lw_map_denial {
	__u64 time_ns;		/* bpf_ktime_get_boot_ns(); userspace converts to wall clock */
	__u32 pid;		/* thread id */
	__u32 tgid;		/* process id */
	__u32 uid;
	__u32 gid;
	__u32 loginuid;
	__u32 sessionid;
	__u32 op;		/* enum lw_map_op */
	__u32 open_flags;	/* file->f_flags for opens, 0 otherwise */
	struct lw_map_key key;
	__u32 lease_mode;	/* enum lw_map_lease_mode */
	__u32 suppressed;	/* denials of this subject on this image not sent since the last event */
	struct lw_map_holder holder;	/* the lease's first holder */
	char comm[LW_MAP_COMM_LEN];
	char path[LW_MAP_PATH_MAX];
};

/* Hardened mode ("guard"): only the daemon may touch lockwarden's BPF
 * objects and pins. Value of the one-entry guard map. */
struct lw_guard {
	__u32 enabled;		/* hardened = yes */
	__u32 flags;		/* LW_GUARD_* */
	struct lw_map_holder daemon;	/* the running daemon (LW_MAP_HOLDER_PROCESS), or
					 * LW_MAP_HOLDER_NONE once it exited (task_free clears it) */
	__u64 exe_dev;		/* the daemon's binary (superblock dev, inode): while no */
	__u64 exe_ino;		/* daemon runs, a process of it may start and take over */
	__u64 pin_dev;		/* the pin folder on bpffs: its folder, the pins in it */
	__u64 pin_ino;		/* and one level of subfolders are the daemon's only */
};

/* protect_holders = no: holders of leases may be ptraced (debugging QEMU).
 * Zero, the default, protects them. */
#define LW_GUARD_HOLDERS_DEBUGGABLE 0x1

enum lw_object_kind {
	LW_OBJECT_MAP = 1,
	LW_OBJECT_PROG = 2,
	LW_OBJECT_LINK = 3,
};

/* Key of the guarded map: one of lockwarden's BPF objects by kernel id. */
struct lw_object_id {
	__u32 kind;		/* enum lw_object_kind */
	__u32 id;
};

/* Indices of the per-CPU counters map; userspace sums the CPUs.
 * Every denial increments LW_COUNTER_DENIALS and then exactly one of: an event
 * is sent, LW_COUNTER_SUPPRESSED (rate limit) or LW_COUNTER_DROPPED (ring
 * buffer full). So events + suppressed + dropped == denials, and the sum of
 * the events' `suppressed` fields catches up with suppressed + dropped. */
enum lw_counter {
	LW_COUNTER_DENIALS = 0,
	LW_COUNTER_SUPPRESSED = 1,
	LW_COUNTER_DROPPED = 2,
	LW_COUNTER_MAX = 3,
};

/* Value of the rate_limit map, keyed by struct lw_rate_key: one window per
 * (subject, image) pair. */
struct lw_rate_key {
	__u32 tgid;
	__u32 pad;
	struct lw_map_key key;
};
struct lw_rate_state {
	__u64 window_start_ns;	/* start of the current one-second window */
	__u32 sent;		/* events sent in this window */
	__u32 suppressed;	/* denials not sent since the last sent event */
};

/* The lease filter: an array of counters, one slot per hash of a key. A zero
 * slot means "no lease has this hash", so a write open of an unleased image
 * costs one inlined array access instead of a hash-map lookup. Userspace
 * increments the slot before inserting a lease and decrements it after
 * removing one, so the filter never says no for a leased image. */
static inline __u32 lw_filter_slot(const struct lw_map_key *key, __u32 mask)
{
	__u64 h = (key->dev ^ (key->ino * 0x9E3779B97F4A7C15ULL));

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return (__u32)h & mask;
}

/* holder_index's key of a holder: only its kind's fields (the daemon's
 * index and the programs that count holders in and out agree on it). */
static inline void lw_index_key(const struct lw_map_holder *holder, struct lw_map_holder *k)
{
	*k = (struct lw_map_holder){ .kind = holder->kind };
	if (holder->kind == LW_MAP_HOLDER_CGROUP)
		k->cgroup_id = holder->cgroup_id;
	else {
		k->pid = holder->pid;
		k->start_time = holder->start_time;
	}
}

/* A change to one slot of the filter, run by userspace through
 * enforcer_filter.bpf.c: an atomic add, as the programs make theirs. */
struct lw_filter_change {
	__u32 slot;
	__s32 delta;
};

/* Nobody's aliases once more (delta 1) or once less (-1), for up to
 * LW_NOBODYS_MAX device nodes in one call (enforcer_filter.bpf.c): the
 * devices under a file system with leased images, most often one to
 * three. A key that is leased, or another lease's alias, is left as it
 * is. The program's loop is unrolled (a context is read at fixed offsets
 * only), hence the small batch. */
#define LW_NOBODYS_MAX 8
struct lw_nobodys_change {
	__s32 delta;
	__u32 n;		/* keys[0..n) */
	__u32 done;		/* out: keys passed (all n, or up to the failed one) */
	__s32 err;		/* out: 0, or the failed insert's -errno */
	struct lw_map_key keys[LW_NOBODYS_MAX];
};

/* The daemon's changes to the lease table, one system call each
 * (enforcer_filter.bpf.c, lw_lease_change). Only scalars come back: a
 * program reads its context at fixed offsets only, and a struct copied
 * out would not be. */
enum lw_lease_change_op {
	LW_LEASE_INSERT = 1,	/* key's lease in: its filter count first, then the
				 * lease, then its holders; all or nothing */
	LW_LEASE_FORGET = 2,	/* key's lease, taken out of the map: its filter
				 * count and its holders out (and the rest of
				 * struct lw_lease_release) */
	LW_LEASE_HOLDERS = 3,	/* lease's holders in (delta 1: all or none) or out (-1) */
};

struct lw_lease_change {
	__u32 op;		/* enum lw_lease_change_op */
	__s32 delta;		/* LW_LEASE_HOLDERS: 1 or -1 */
	__s32 err;		/* out: 0, or -errno; then nothing changed */
	__u32 failed;		/* out, LW_LEASE_INSERT: 1 the lease's insert, 2 a holder's,
				 * 3 the key is an alias (struct lw_lease_release
				 * names its lease), 4 a nobody's alias's insert */
	__u32 known;		/* out, holders in: bit i, holder i had an entry before */
	__u32 emptied;		/* out, holders out: bit i, holder i's entry stays at 0 */
	__u32 reached;		/* out, holders in: holders counted in before the failed
				 * one (then counted out again) */
	__u32 pad;
	struct lw_map_key key;
	struct lw_map_lease lease;
};

/* A file's lease taken or released in one system call
 * (enforcer_filter.bpf.c, lw_lease_change). Taken (change as
 * LW_LEASE_INSERT): refused if its key is an alias (the alias's lease in
 * alias_dev, alias_ino), else the lease in, then its file system's nodes
 * (nobodys[0..n)) nobody's once more, all or nothing. Released, once
 * userspace took it out of the map (change as LW_LEASE_FORGET: emptied
 * comes back): its filter count and holders out, its file system's
 * nobody's aliases once less, and the programs' alias count read
 * (alias_adds), which tells userspace whether an alias may name the lease.
 * An acquire costs one system call here, not three (the alias lookup and
 * the nodes' change were their own). */
struct lw_lease_release {
	struct lw_lease_change change;
	__u32 n;
	__u32 pad;
	__u64 alias_adds;	/* out */
	__u64 alias_dev;	/* out, failed 3 */
	__u64 alias_ino;	/* out, failed 3 */
	struct lw_map_key nobodys[LW_NOBODYS_MAX];
};

/* The files iterator (enforcer_files.bpf.c) answers one query at a time. */
enum lw_files_query {
	LW_FILES_KEY_OF_FD = 1,	/* the key of (tgid, fd) */
	LW_FILES_WRITERS = 2,	/* every descriptor open for write on key */
};

#define LW_FMODE_WRITE 0x2	/* the kernel's FMODE_WRITE */

/* One answer of the files iterator. */
struct lw_file_record {
	__u32 tgid;
	__u32 fd;
	__u64 file_id;		/* the struct file's address: tells dup'd descriptors apart */
	struct lw_map_key key;
	__s32 writecount;	/* inode->i_writecount: write openers of a regular file */
	__u32 f_mode;		/* file->f_mode; LW_FMODE_WRITE: open for write */
	__u64 start_time;	/* process start in clock ticks, as struct lw_map_holder */
	char comm[LW_MAP_COMM_LEN];
};

/* The key probe (key_probe.bpf.h): ioctl(fd, LW_IOC_KEY_PROBE, nonce)
 * on the daemon's own descriptor; the answer waits under the nonce in the
 * key_probes map. The nonce carries a tag in its top 16 bits, which makes it
 * a non-canonical address no driver's ioctl argument can be. */
#define LW_IOC_KEY_PROBE 0x4c57	/* _IO('L', 0x57): unassigned (loop has 'L' 0x00-0x1f) */
#define LW_KEY_PROBE_TAG 0x4c57000000000000ULL
#define LW_KEY_PROBE_TAG_MASK 0xffff000000000000ULL

struct lw_key_probe {
	struct lw_map_key key;
	__s32 writecount;	/* inode->i_writecount: write openers of a regular file */
	__u32 f_mode;		/* the probed descriptor's file->f_mode */
};

/* The writers probe: ioctl(fd, LW_IOC_WRITERS_PROBE, LW_KEY_PROBE_TAG)
 * fails with EALREADY if no one but fd itself has fd's file open for
 * write, EBUSY if someone else may: the answer in the call's own result,
 * no map to read (an acquire's writers check, one system call instead of
 * two). Every enforcer attached answers alike (the counts are the
 * inode's); any other result (ENOTTY: no programs of this version) means
 * "ask the files iterator". */
#define LW_IOC_WRITERS_PROBE 0x4c58	/* _IO('L', 0x58): unassigned, as above */
#define LW_WRITERS_OWN_ONLY 114		/* EALREADY */
#define LW_WRITERS_OTHERS 16		/* EBUSY */

/* The mappings iterator (enforcer_vmas.bpf.c): keys of one query. */
#define LW_VMAS_MAX_KEYS 160	/* a device, its related nodes and the devices below: 2 x 64 + 1 */

#endif /* LW_ENFORCER_MAPS_H */

