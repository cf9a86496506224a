/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's own words (DESIGN.md): image key, holder, lease, denial.
 * Everything above the enforcers speaks these; each enforcer translates
 * them to what its mechanism needs (the BPF enforcer to its map layouts in
 * bpf/enforcer_maps.h), so none of those layouts leaks upwards. */
#ifndef LW_COMMON_LEASE_TYPES_H
#define LW_COMMON_LEASE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define LW_MAX_HOLDERS 8	/* holders per lease; a shared lease takes at most this many */
#define LW_COMM_LEN 16		/* a process's command, as the kernel keeps it */
#define LW_PATH_MAX 256		/* a path in a denial, as the kernel resolved it */

/* The kernel's own identity of an image, never derived from stat() alone. */
struct lw_image_key {
	uint64_t dev;	/* files: the superblock's dev; block devices: the device (i_rdev) */
	uint64_t ino;	/* files: the inode number; block devices: 0 */
};

/* Keys hold dev_t in the kernel's layout (MAJOR = dev >> 20), not glibc's. */
static inline unsigned int lw_kdev_major(uint64_t dev)
{
	return (unsigned int)(dev >> 20);
}
static inline unsigned int lw_kdev_minor(uint64_t dev)
{
	return (unsigned int)(dev & 0xfffff);
}
static inline uint64_t lw_kdev(unsigned int major, unsigned int minor)
{
	return ((uint64_t)major << 20) | (minor & 0xfffff);
}

enum lw_holder_kind {
	LW_HOLDER_NONE = 0,
	LW_HOLDER_PROCESS = 1,	/* one process: its pid and start time */
	LW_HOLDER_CGROUP = 2,	/* every task in a cgroup v2 subtree */
};

/* Who owns a lease: a process (pid and start time, so a reused pid never
 * matches) or a cgroup v2 subtree. */
struct lw_holder {
	enum lw_holder_kind kind;
	uint32_t pid;		/* process: tgid, in the initial pid namespace */
	uint64_t start_time;	/* process: clock ticks since boot (/proc/PID/stat field 22) */
	uint64_t cgroup_id;	/* cgroup: its id (the cgroup v2 folder's inode number) */
};

enum lw_lease_mode {
	LW_LEASE_EXCLUSIVE = 1,	/* one holder */
	LW_LEASE_SHARED = 2,	/* up to LW_MAX_HOLDERS (<shareable/> disks) */
};

/* Who may write an image. */
struct lw_lease {
	enum lw_lease_mode mode;
	uint32_t nr_holders;
	struct lw_holder holders[LW_MAX_HOLDERS];
};

/* What a denied access tried. */
enum lw_denial_op {
	LW_OP_OPEN_WRITE = 1,
	LW_OP_TRUNCATE = 2,
	LW_OP_UNLINK = 3,
	LW_OP_RENAME = 4,
	LW_OP_WRITE = 5,	/* a write through a descriptor it did not open itself */
	LW_OP_BPF = 6,		/* hardened: a descriptor of lockwarden's BPF objects */
	LW_OP_UNPIN = 7,	/* hardened: unlink, rmdir or rename of a pin */
	LW_OP_PTRACE = 8,	/* attach-mode access to a holder; path: its comm */
	LW_OP_IOCTL = 9,	/* an ioctl that changes the image; open_flags: the cmd */
	LW_OP_MOUNT = 10,	/* a new mount of a leased or covered block device; path: its name */
};

/* One denied access: who, what, which image, when. */
struct lw_denial {
	uint64_t time_ns;	/* when: CLOCK_BOOTTIME; 0 if not stamped */
	uint32_t pid;		/* the thread */
	uint32_t tgid;		/* its process */
	uint32_t uid;
	uint32_t gid;
	uint32_t loginuid;	/* UINT32_MAX: never set */
	uint32_t sessionid;	/* UINT32_MAX: never set */
	enum lw_denial_op op;
	uint32_t open_flags;	/* the open's flags (the kernel's f_flags), 0 otherwise */
	struct lw_image_key key;
	enum lw_lease_mode lease_mode;
	uint32_t suppressed;	/* denials of this process on this image not reported since */
	struct lw_holder holder;	/* the lease's first holder */
	char comm[LW_COMM_LEN];
	char path[LW_PATH_MAX];	/* as the kernel resolved it */
};

/* A consumer of denials; a non-zero return stops the delivery. */
typedef int (*lw_denial_fn)(const struct lw_denial *denial, void *ctx);

/* A descriptor open for write that keeps a lease from being taken. */
struct lw_writer {
	uint32_t pid;		/* tgid; 0 if the writer is in no descriptor table
				 * (a shared writable mapping, or an open in flight) */
	uint32_t fd;
	char comm[LW_COMM_LEN];
};

#define LW_LEASE_FORCE 0x1	/* take the lease even if non-holders have it open for write */
#define LW_LEASE_KEYED 0x2	/* *key_out holds fd's key already (key_of_fd): not asked again */

/* "exclusive" | "shared" | "unknown" */
const char *lw_lease_mode_name(enum lw_lease_mode mode);
/* "open-write" | "truncate" | ... | "unknown" */
const char *lw_denial_op_name(enum lw_denial_op op);

#endif /* LW_COMMON_LEASE_TYPES_H */
