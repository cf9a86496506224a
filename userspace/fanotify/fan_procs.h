/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fanotify enforcer's pidfds of holder processes, one per process,
 * shared by all its leases. The pid of a live process cannot be reused: a
 * pidfd opened when the holder was added (and checked against its start
 * time) stays "not exited" exactly as long as that process lives. So
 * matching an opener needs no /proc/PID/stat read per event (tens of
 * microseconds under load), only a lookup of the thread under the holder's
 * /proc entry and a poll of this pidfd. A holder of thousands of
 * leases costs one descriptor here, not one a lease. Called with enf->lock
 * held, or before the answering thread runs. */
#ifndef LW_FANOTIFY_FAN_PROCS_H
#define LW_FANOTIFY_FAN_PROCS_H

#include <stdbool.h>

#include "common/lease_types.h"

struct lw_fan_enforcer;

struct lw_fan_proc {
	struct lw_holder id;
	int pidfd;			/* -1: the process was gone when first asked for */
	unsigned int refs;		/* leases' holders that name it */
	struct lw_fan_proc *next;	/* in its bucket */
};

/* holder's entry with one more reference; NULL for a cgroup holder, or
 * out of memory (then the holder's openers are not matched to it). */
struct lw_fan_proc *lw_fan_proc_get(struct lw_fan_enforcer *enf, const struct lw_holder *holder);
/* One reference less (p may be NULL); the last closes the pidfd. */
void lw_fan_proc_put(struct lw_fan_enforcer *enf, struct lw_fan_proc *p);
/* Whether p's process still lives. */
bool lw_fan_proc_alive(const struct lw_fan_proc *p);
/* Every entry goes (the enforcer closes). */
void lw_fan_procs_free(struct lw_fan_enforcer *enf);

#endif /* LW_FANOTIFY_FAN_PROCS_H */
