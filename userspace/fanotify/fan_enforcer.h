/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fanotify enforcer: the fallback where BPF LSM is off. It marks each
 * leased inode (and nothing else) for fanotify permission events, and a
 * thread of its own answers them: FAN_DENY for a non-holder that opens the
 * image for write (or modifies it, where the kernel offers pre-content
 * events), FAN_ALLOW otherwise. Its functions mirror the BPF enforcer's
 * (enforcer/enforcer.h) one for one, in the same domain words, so both can
 * sit behind one interface. Errors are negative errno with a one-line reason
 * (common/err.h): in the caller's struct lw_err for lw_fan_enforcer_open,
 * else in lw_fan_enforcer_error(). The handle is the interface of
 * common/enforcement.h (lw_fan_enforcer_ops); every call here takes one that
 * lw_fan_enforcer_open or _adopt gave, none other.
 *
 * Unlike pinned BPF programs, enforcement lasts only as long as a descriptor
 * of the group is open: the daemon hands a copy to its keeper, which answers
 * the group while no daemon does (lw_fan_enforcer_adopt). lw_fan_enforcer_limits()
 * says what else it cannot do. Needs CAP_SYS_ADMIN (fanotify permission
 * events) and CAP_SYS_PTRACE (reading an opener's system call from /proc).
 * A forked child closes its copy of the group (pthread_atfork), so the group
 * never outlives the daemon in a child with no thread answering it. */
#ifndef LW_FAN_ENFORCER_H
#define LW_FAN_ENFORCER_H

#include <linux/types.h>
#include <stdbool.h>
#include "common/enforcement.h"
#include "common/err.h"
#include "common/holder.h"
#include "common/lease_types.h"

#define LW_FAN_DEFAULT_MAX_IMAGES 65536


/* The enforcement interface over this enforcer's handles; name "fanotify". */
extern const struct lw_enforcement_ops lw_fan_enforcer_ops;

struct lw_fan_enforcer_opts {
	unsigned int max_images;	/* 0: LW_FAN_DEFAULT_MAX_IMAGES */
	unsigned int events_per_sec;	/* 0: 10; denial events per (process, image)
					 * pair per second, the rest counted as suppressed */
	bool pre_content;		/* also ask for pre-content events where the kernel
					 * offers them (6.14+): they stop truncate(2) and
					 * writes through received or inherited descriptors,
					 * but put a round trip to this process in front of
					 * every read and write of a leased image, the
					 * holder's too (docs/fanotify.md has the numbers) */
};

/* Create the fanotify group and start the thread that answers it. Nothing is
 * pinned: closing ends enforcement. On failure why (if not NULL) gets the
 * reason. */
int lw_fan_enforcer_open(const struct lw_fan_enforcer_opts *opts, struct lw_enforcement **out,
			 struct lw_err *why);
/* Stop the thread and close this process's descriptor of the group: every
 * lease stops being enforced, unless another process holds a copy of the
 * group (the keeper: see lw_fan_enforcer_group_fds). */
void lw_fan_enforcer_close(struct lw_enforcement *enf);

/* Enforcement that outlives this process: a copy of the group's descriptor
 * kept elsewhere keeps its marks, and with them every lease. The group's
 * next answerer needs the lease table too, which lives in a memfd shared
 * with whoever holds it (fan_handover.h). These are the enforcer's own
 * descriptors: duplicate them, or send them, never close them. */
/* Stop answering (the thread answers what it has read, then leaves; events
 * wait in the group), and start again: around a re-exec, whose successor's
 * keeper answers meanwhile. */
void lw_fan_enforcer_pause(struct lw_enforcement *enf);
int lw_fan_enforcer_resume(struct lw_enforcement *enf);
void lw_fan_enforcer_group_fds(const struct lw_enforcement *enf, int *group_fd, int *table_fd);
/* Answer a group another process made and handed over with its table:
 * the leases come back from the table (an O_PATH of each image through its
 * file handle, a pidfd for each process holder), the events the previous
 * answerer read and left are answered, then this one's thread starts. Takes
 * both descriptors, also on failure. */
int lw_fan_enforcer_adopt(const struct lw_fan_enforcer_opts *opts, int group_fd, int table_fd,
			  struct lw_enforcement **out, struct lw_err *why);

/* The key the BPF enforcer sees for the image open at fd: (the superblock's
 * dev from /proc/self/mountinfo, the inode number) for files, (i_rdev, 0)
 * for block devices, both in the kernel's dev_t layout (MAJOR = dev >> 20). */
int lw_fan_enforcer_key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key);

/* As lw_enforcer_add_lease(_flags): -EEXIST if already leased, -ENOSPC if
 * the table is full, -EBUSY if a non-holder has it open for write (found by
 * scanning /proc: see the limits). The mark is placed first, then the scan
 * runs; a busy image is rolled back. */
int lw_fan_enforcer_add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
			      const struct lw_holder *first_holder, struct lw_image_key *key_out);
int lw_fan_enforcer_add_lease_flags(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
				    const struct lw_holder *first_holder, unsigned int flags,
				    struct lw_image_key *key_out, struct lw_writer *writer);
int lw_fan_enforcer_remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key);
/* As lw_enforcer_writers: the non-holders that have the leased image (open
 * at fd) open for write, up to max; *count gets how many were found. For a
 * lease added again after a gap (nothing enforced it meanwhile). */
int lw_fan_enforcer_writers(struct lw_enforcement *enf, int fd, const struct lw_image_key *key,
			    struct lw_writer *writers, size_t max, size_t *count);
/* A second process (the keeper) whose descriptors are the caller's own:
 * the writer scans skip it as they skip the caller. It may receive a
 * leased image's write descriptor: fanotify does not see receives (true). */
bool lw_fan_enforcer_trust_pid(struct lw_enforcement *enf, int pid);

/* Same errors as lw_enforcer_add_holder/remove_holder; removing the last
 * holder removes the lease. */
int lw_fan_enforcer_add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			       const struct lw_holder *holder);
int lw_fan_enforcer_remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
				  const struct lw_holder *holder);

int lw_fan_enforcer_lookup(struct lw_enforcement *enf, const struct lw_image_key *key,
			   struct lw_lease *lease);
int lw_fan_enforcer_foreach(struct lw_enforcement *enf,
			    int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease,
				      void *ctx),
			    void *ctx);

/* Denials, as the daemon's struct lw_denial: poll lw_fan_enforcer_events_fd()
 * for input, then consume. */
int lw_fan_enforcer_events_fd(struct lw_enforcement *enf);
int lw_fan_enforcer_events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx);

/* Counters since open, as lw_enforcer_counters(): events delivered +
 * suppressed + dropped == denials. */
int lw_fan_enforcer_counters(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed,
			     __u64 *dropped);

/* Whether the running kernel gave pre-content events (FAN_PRE_ACCESS) to
 * this group, and a one-paragraph description of what this enforcer cannot
 * stop, for `lockwarden status`. */
bool lw_fan_enforcer_pre_content(const struct lw_enforcement *enf);
const char *lw_fan_enforcer_limits(const struct lw_enforcement *enf);
unsigned int lw_fan_enforcer_max_images(const struct lw_enforcement *enf);

const char *lw_fan_enforcer_error(const struct lw_enforcement *enf);

#endif /* LW_FAN_ENFORCER_H */
