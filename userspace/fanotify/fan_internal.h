/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the fanotify enforcer's files share; not part of the API. */
#ifndef LW_FAN_INTERNAL_H
#define LW_FAN_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/lease_rules.h"
#include "fanotify/fan_enforcer.h"

/* Debian 12's glibc headers predate these; values from the kernel's
 * include/uapi/linux/fanotify.h (6.14+). */
#ifndef FAN_PRE_ACCESS
#define FAN_PRE_ACCESS 0x00100000	/* pre-content access: read, write, truncate */
#endif
#ifndef FAN_EVENT_INFO_TYPE_RANGE
#define FAN_EVENT_INFO_TYPE_RANGE 6	/* offset and count of a pre-content event */
#endif

#define LW_FAN_QUEUE_LEN 1024		/* denial events waiting for events_consume */
#define LW_FAN_RATE_SLOTS 1024		/* rate-limit windows, one per (tgid, image) hash */

/* One leased image: the lease as the daemon sees it, plus how to find it
 * from an event (fstat of the event's descriptor) and how to unmark it. */
struct lw_fan_proc;

struct lw_fan_lease {
	struct lw_image_key key;	/* the kernel's key, as the BPF enforcer's */
	dev_t st_dev;			/* fstat() identity, what events are matched by */
	ino_t st_ino;
	int path_fd;			/* O_PATH descriptor of the marked inode */
	bool pre_content;		/* marked for FAN_PRE_ACCESS too */
	__u64 events;			/* permission events seen for it (proves the mark) */
	struct lw_lease lease;
	struct lw_fan_proc *procs[LW_MAX_HOLDERS];	/* beside the holders: a process
							 * holder's shared pidfd (fan_procs.h), else NULL */
};

/* Open addressing: each slot a position in leases plus one, 0 empty. */
struct lw_fan_hash {
	uint32_t *slots;
	size_t mask;	/* slots - 1; no slots yet: 0 */
};

struct lw_fan_rate {
	__u32 tgid;
	struct lw_image_key key;
	__u64 window_start_ns;
	__u32 sent;
	__u32 suppressed;
};

#define LW_FAN_PROVEN 16	/* superblocks remembered as sending events */

/* A superblock (the key's dev) and file type whose marks were seen to send
 * permission events (fan_leases.c, prove_mark). */
struct lw_fan_proven {
	__u64 dev;
	mode_t type;
};

struct lw_fan_enforcer {
	struct lw_enforcement base;	/* first: the handle the API gives out */
	int fan_fd;			/* the fanotify group */
	int stop_fd;			/* eventfd: tells the thread to leave */
	int events_fd;			/* eventfd: denial events are queued */
	bool pre_content;		/* the group is FAN_CLASS_PRE_CONTENT */
	bool audit;			/* FAN_ENABLE_AUDIT was accepted */
	unsigned int max_images;
	unsigned int events_per_sec;
	pid_t self;			/* the daemon: always allowed */
	pid_t trusted;			/* the keeper: its descriptors are the daemon's */
	pthread_t thread;
	bool thread_started;
	struct lw_fan_enforcer *next_open;	/* every open enforcer, for fork */
	int table_fd;			/* memfd: the table shared with the keeper */
	struct lw_fan_table *table;	/* fan_handover.h */
	size_t table_size;
	struct lw_fan_proven proven[LW_FAN_PROVEN];	/* the acquiring thread's only */
	unsigned int nr_proven;

	pthread_mutex_t lock;		/* guards everything below */
	struct lw_fan_lease *leases;
	size_t nr_leases;
	struct lw_fan_hash by_key, by_inode;	/* positions in leases (fan_index.c) */
	struct lw_fan_proc **procs;	/* holder processes by pid (fan_procs.c) */
	struct lw_denial queue[LW_FAN_QUEUE_LEN];
	size_t queue_head, queue_len;
	struct lw_fan_rate rate[LW_FAN_RATE_SLOTS];
	__u64 denials, suppressed, dropped;

	char limits[1024];
	struct lw_err err;		/* why the last call failed */
};

/* The enforcer behind a handle lw_fan_enforcer_open or _adopt gave out. */
static inline struct lw_fan_enforcer *lw_fan_of(struct lw_enforcement *handle)
{
	return (struct lw_fan_enforcer *)handle;
}

static inline const struct lw_fan_enforcer *lw_fan_of_const(const struct lw_enforcement *handle)
{
	return (const struct lw_fan_enforcer *)handle;
}

/* Record a one-line reason in enf->err and return err (a negative errno). */
#define lw_fan_fail(enf, errnum, ...) lw_err_set(&(enf)->err, -(errnum), __VA_ARGS__)

/* fan_key.c: the kernel's dev_t layout, and the key of an open file. */
uint64_t lw_fan_kdev(dev_t dev);
int lw_fan_key_of(int fd, struct lw_image_key *key, dev_t *st_dev, ino_t *st_ino);

/* fan_writers.c: the first non-holder with the image (open at fd, or -1)
 * open for write (trusted: a process whose descriptors are the caller's, or
 * 0). The kernel is asked first (lw_fan_no_writer, with reopened); /proc is
 * walked only if it cannot rule a writer out. */
int lw_fan_find_writer(int fd, int reopened, const struct lw_image_key *key, dev_t st_dev, ino_t st_ino,
		       bool blockdev, pid_t trusted, const struct lw_holder *holder, struct lw_writer *writer);
/* fan_leases.c: how many leases proved their mark with an open of our own
 * (once a superblock and file type): tests prove the later ones skip it. */
unsigned long lw_fan_mark_proofs(void);
/* How many times this process walked /proc for writers: tests prove with it
 * that an image nobody writes costs no walk. */
unsigned long lw_fan_writer_walks(void);

/* fan_lease_probe.c: a read-only open of the file at fd, through its /proc
 * link (the inode the caller resolved, not a path swapped meanwhile). */
int lw_fan_reopen_read_only(int fd);
/* fan_lease_probe.c: true if the kernel proves that nobody else has the
 * regular file open at fd open for write: for a read-only fd, no writer at
 * all; for an fd open for write, no writer but its own open file (and its
 * copies), and no reader either. False if it cannot: a writer, for a write
 * fd any read-only open as well, no lease support. reopened: for a
 * read-only fd, a read-only open of the same file the caller made already
 * (before placing its mark, so that no event of its own is waited for), or
 * -1 to make one. */
bool lw_fan_no_writer(int fd, int reopened);

/* fan_opener.c: what the task blocked in a permission event is doing. */
enum lw_fan_access {
	LW_FAN_READ = 0,	/* a read-only open, or a read */
	LW_FAN_MODIFY,		/* an open for write, a write, a truncate */
	LW_FAN_UNKNOWN,		/* nothing tells: treated as a modification */
};
struct lw_fan_opener {
	long syscall_nr;	/* -1: unknown */
	__u32 open_flags;	/* for an open: its flags, 0 if unknown */
	enum lw_fan_access access;
	enum lw_denial_op op;	/* if denied */
};
void lw_fan_classify(pid_t tid, bool pre_content_event, struct lw_fan_opener *opener);
/* Whether thread tid belongs to a holder of the lease. */
bool lw_fan_holder_covers_tid(const struct lw_fan_lease *lease, pid_t tid);
/* Whether thread tid belongs to process pid. */
bool lw_fan_thread_of(pid_t tid, pid_t pid);
/* The denial record's subject fields (pid, tgid, uid, gid, loginuid,
 * sessionid, comm) from /proc. */
void lw_fan_fill_subject(pid_t tid, struct lw_denial *denial);

/* fan_events.c: the thread that answers the group. */
int lw_fan_thread_start(struct lw_fan_enforcer *enf);
/* The answer to one permission event (the inode it is for; event_fd -1 once
 * its descriptor is gone), recording the denial if it is one. */
__u32 lw_fan_decide(struct lw_fan_enforcer *enf, pid_t tid, __u64 mask, dev_t st_dev, ino_t st_ino,
		    int event_fd);
void lw_fan_answer(struct lw_fan_enforcer *enf, int event_fd, __u32 response);
void lw_fan_thread_stop(struct lw_fan_enforcer *enf);

#endif /* LW_FAN_INTERNAL_H */
