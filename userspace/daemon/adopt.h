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
 *   - the daemon takes its own copy of every kept lock back (the kernel
 *     passes it: the daemon is exempt by identity), so the lock survives
 *     either the daemon or the keeper dying;
 *   - a lock the keeper no longer has (it was killed too) is taken again,
 *     with the lease enforced all along, and a new keeper inherits it.
 * The state file is then written again, and the keeper watched. */
#ifndef LW_DAEMON_ADOPT_H
#define LW_DAEMON_ADOPT_H

#include <stddef.h>

#include "daemon.h"

int lw_adopt(struct lw_daemon *d, struct lw_err *err);

#endif /* LW_DAEMON_ADOPT_H */
