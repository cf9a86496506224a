/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Holders' lifetime: each process holder is watched through a pidfd, which
 * becomes readable when the process exits, and each cgroup holder through
 * inotify on its folder, which tells when the cgroup is removed; the daemon
 * then releases what it held. The identity is pid + start time, or the
 * cgroup's id, so a reused pid or a new cgroup of the same path never matches. */
#ifndef LW_DAEMON_HOLDERS_H
#define LW_DAEMON_HOLDERS_H

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "lease.h"

/* Called when a watched holder exits: once for a cgroup holder's lease,
 * with that lease's image key (looked up again: it may have ended
 * meanwhile); once for a process and every lease it was watched for with
 * this fn and ctx, with the key of the one lease if it was watched for one
 * only, else NULL: then the callback finds the leases it holds. */
typedef void (*lw_holder_exit_fn)(const struct lw_image_key *key, const struct lw_holder *holder, void *ctx);

/* Start watching h, a holder of e. -ESRCH if that process or cgroup is gone
 * already (or its pid or path now names another). A process holding many
 * leases is watched once (one pidfd, one event source and one block for
 * each fn and ctx, holder_watch.c): its leases cost nothing more. */
int lw_holder_watch(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
		    lw_holder_exit_fn fn, void *ctx);
void lw_holder_unwatch(struct lw_lease_holder *h);
/* Pidfds the watches hold now (one a process, however many leases). */
unsigned int lw_holder_watch_pidfds(void);
/* Keep holder's process watch, if it is watched now, past the end of its
 * last lease, until lw_holder_watch_release: a client connection that is
 * its own holder keeps it while it stays connected, so its next acquire
 * finds it watched (no pidfd to open, no /proc to read, no event source
 * to add). NULL if the process is not watched. */
struct lw_holder_keep;
struct lw_holder_keep *lw_holder_watch_keep(sd_event *event, const struct lw_holder *holder);
void lw_holder_watch_release(struct lw_holder_keep *keep);

/* Is the cgroup of this path and id still there? A cgroup holder lives as
 * long as its folder: cgroup v2 ids are inode numbers that are not reused,
 * so a folder of that path with another id is another cgroup. */
bool lw_cgroup_alive(const char *path, __u64 id);
/* Is this exact process (pid and start time) still there? Cgroups: true. */
bool lw_holder_alive(const struct lw_holder *holder);
/* Is this holder, process or cgroup (its folder, by id), still there? */
bool lw_lease_holder_alive(const struct lw_lease_holder *h);

/* Why pid may not hold a lease (pid 1, which never exits, or a kernel
 * thread, which no pidfd can watch), or NULL if it may. */
const char *lw_pid_refusal(int pid);

/* The command name of pid, "" if unknown. */
void lw_pid_comm(int pid, char comm[LW_COMM_LEN]);

#endif /* LW_DAEMON_HOLDERS_H */
