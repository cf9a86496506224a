/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Re-adoption at start: after a crash, a kill -9, a re-exec or a clean stop,
 * the daemon takes back the leases its state file lists, the backend lock
 * descriptors its keeper kept, and the kernel's table of leases (pinned), and
 * makes the three agree:
 *   - a lease whose holders all died meanwhile is released everywhere;
 *   - dead holders of a shared lease are removed;
 *   - a kernel entry or a kept lock that the state file does not list is
 *     stale (a crash between steps of an acquire or release) and goes;
 *   - a lease whose backend lock was lost (taken by another host) is
 *     released and logged.
 *   - a lease whose path no longer names the leased image (replaced, or a
 *     symlink now) is released and logged: it never moves to another file,
 *     and no path is opened but through a checked O_PATH lookup
 *     (lw_adopt_image);
 *   - the daemon takes its own copy of every kept lock back (the kernel
 *     passes it: the daemon is exempt by identity), so the lock survives
 *     either the daemon or the keeper dying;
 *   - a lock the keeper no longer has (it was killed too) is taken again,
 *     with the lease enforced all along, and a new keeper inherits it.
 * The state file is then written again, and the keeper watched.
 *
 * It runs from the event loop, a chunk of leases a pass at the lowest
 * priority, so the daemon answers meanwhile (lockwardend(8), "Restart"):
 * Status at once, with the progress; Inquire at once for a lease already
 * adopted; Acquire, Release, List and Inquire of anything else wait (see
 * lw_adopt_wait) until every lease is adopted, since their answer depends
 * on leases that may yet be dropped. Enforcement never lapses meanwhile:
 * the kernel's entries (pinned maps, or the fanotify group and table the
 * keeper kept) are in place before the first lease is adopted, and the
 * tamper check starts only once the table is whole. When the keeper may
 * lack locks (it died with the daemon), everything is adopted before the
 * daemon answers: locks taken anew are kept by no keeper until the end. */
#ifndef LW_DAEMON_ADOPT_H
#define LW_DAEMON_ADOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"

/* Load the state and the kept locks, and start adopting from d->event;
 * done(d, result, err) once every lease is adopted (result < 0: the state
 * could not be written again, the daemon cannot go on). Leases not yet
 * adopted are not in d->leases. */
int lw_adopt_start(struct lw_daemon *d, void (*done)(struct lw_daemon *d, int result, const struct lw_err *err),
		   struct lw_err *err);
/* Whether adoption is still running; *adopted and *total (if not NULL)
 * get its progress in leases. */
bool lw_adopt_running(const struct lw_daemon *d, unsigned int *adopted, unsigned int *total);
/* Run fn(ctx) once adoption is over (in order of the calls); NULL when
 * out of memory. The handle is valid until fn runs or it is cancelled. */
struct lw_adopt_waiter;
struct lw_adopt_waiter *lw_adopt_wait(struct lw_daemon *d, void (*fn)(void *ctx), void *ctx);
void lw_adopt_cancel(struct lw_daemon *d, struct lw_adopt_waiter *w);
/* At exit before adoption is over: let go of what it holds (the keeper
 * keeps its copies; the next start adopts again). */
void lw_adopt_abandon(struct lw_daemon *d);

/* e's image as the daemon opens it again after a restart or a gap: its
 * path looked up again (lw_image_open: an O_PATH descriptor, an image
 * kind; in a thread waited for at most lookup_timeout_sec where a holder
 * is a user), and the file the lease was taken on. A lease never moves to
 * another file: a path that names another one now (replaced, or swapped
 * for a symlink) fails with -ESTALE. *fd: O_PATH if *fd_path, else open
 * for read (where only the enforcer tells the key). 0, or -errno and *why. */
int lw_adopt_image(struct lw_daemon *d, const struct lw_lease_entry *e, int *fd, bool *fd_path, const char **why);

#endif /* LW_DAEMON_ADOPT_H */
