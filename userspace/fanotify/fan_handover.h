/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What lets a fanotify group outlive the process that answers it; not part
 * of the API (fan_enforcer.h has lw_fan_enforcer_adopt and
 * lw_fan_enforcer_group_fds).
 *
 * A group lives, marks and all, as long as any descriptor of it is open, so
 * the daemon gives its keeper a copy and a crash, restart or re-exec leaves
 * the marks in place. Whoever answers the group next needs two more things,
 * kept in a memfd that every holder of the group maps:
 *   - the lease table (keys, identities, holders, and a file handle to find
 *     each marked inode again to unmark it), rewritten entry by entry as the
 *     table changes, so it is never rebuilt from anything else;
 *   - the denials an answerer made and no daemon consumed (the keeper has no
 *     audit sink): the next one to adopt the group queues them again, so
 *     they reach the audit trail late rather than never;
 *   - the events the answerer has read and not answered yet. An event read
 *     and never answered blocks its opener until the group is gone, which
 *     with a kept group is forever: the next answerer answers them, by the
 *     event descriptor's number, which is all the kernel matches a response
 *     by (within the group). */
#ifndef LW_FAN_HANDOVER_H
#define LW_FAN_HANDOVER_H

#include <stdbool.h>
#include <fcntl.h>
#include "fanotify/fan_internal.h"

#define LW_FAN_TABLE_MAGIC 0x3130626174666c77ull	/* "wlftab01" */
#define LW_FAN_TABLE_VERSION 1
#define LW_FAN_READ_EVENTS 128		/* events one read() of the group may return */
#define LW_FAN_HANDLE_MAX 128		/* MAX_HANDLE_SZ */

/* One event read and not answered yet. */
struct lw_fan_table_event {
	__s32 fd;		/* the event's descriptor number; -1: a free slot (written last) */
	__s32 tid;
	__u64 mask;
	__u64 st_dev, st_ino;	/* the inode it is for */
};

struct lw_fan_table_lease {
	struct lw_image_key key;
	__u64 st_dev, st_ino;
	struct lw_lease lease;
	__s32 mount_id;		/* name_to_handle_at(): the inode again, to unmark it */
	__u32 handle_bytes;	/* 0: no handle (the filesystem gives none) */
	__s32 handle_type;
	__u32 pad;
	unsigned char handle[LW_FAN_HANDLE_MAX];
};

struct lw_fan_table {
	__u64 magic;
	__u32 version;
	__u32 max_images;	/* leases[] has room for this many */
	__u32 pre_content;	/* the group's class and flags, for whoever adopts it */
	__u32 audit;
	__u32 fd_limit;		/* the answerer's descriptor limit: the numbers to sweep */
	__u32 reading;		/* 1 from before a read() until its events are recorded */
	__u32 nr_leases;
	__u32 nr_denials;	/* denials[] waiting for a daemon to consume them */
	struct lw_fan_table_event inflight[LW_FAN_READ_EVENTS];
	struct lw_denial denials[LW_FAN_QUEUE_LEN];
	struct lw_fan_table_lease leases[];
};

/* Create enf's table (a fresh group), or map an existing one (adopted). */
int lw_fan_table_create(struct lw_fan_enforcer *enf);
int lw_fan_table_map(struct lw_fan_enforcer *enf, int table_fd);
void lw_fan_table_unmap(struct lw_fan_enforcer *enf);

/* Write the lease at index i of enf's table into the shared one; with a
 * descriptor (>= 0) of its image, its file handle too. enf->lock held. */
void lw_fan_table_set(struct lw_fan_enforcer *enf, size_t i, int image_fd);
/* The lease at index i went, the last one moved into its place (as
 * drop_lease does to enf->leases). enf->lock held. */
void lw_fan_table_remove(struct lw_fan_enforcer *enf, size_t i);
/* The mount points found by lw_fan_table_reopen, so a table of many
 * leases on a few mounts reads /proc/self/mountinfo once a mount, not once
 * a lease. Zeroed to start; lw_fan_mounts_close when done. */
struct lw_fan_mounts {
	int id, fd;		/* the last mount looked up and its O_PATH descriptor */
	bool valid;
};
void lw_fan_mounts_close(struct lw_fan_mounts *m);
/* An O_PATH descriptor of the inode of shared entry i, or -1. */
int lw_fan_table_reopen(const struct lw_fan_table_lease *l, struct lw_fan_mounts *mounts);

/* Leave the denials nobody consumed in the table (as enf closes), and
 * queue those a previous answerer left (as enf adopts the group). */
void lw_fan_table_leave_denials(struct lw_fan_enforcer *enf);
void lw_fan_table_take_denials(struct lw_fan_enforcer *enf);

/* Answer what a previous answerer read and left: each recorded event as
 * decide() would, and if it died inside a read, every other event it may
 * have read (denied: nothing says what they were). Before this process's
 * thread reads anything. */
void lw_fan_table_answer_left(struct lw_fan_enforcer *enf);

#endif /* LW_FAN_HANDOVER_H */
