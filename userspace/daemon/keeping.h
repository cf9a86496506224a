/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's side of its keeper (keeper.h): hand it each new lock, notice
 * at once when it dies, and replace it by one that holds every lock the
 * daemon has. The daemon keeps its own copy of every lock too, so a lock
 * lives as long as either of the two does. */
#ifndef LW_DAEMON_KEEPING_H
#define LW_DAEMON_KEEPING_H

#include "daemon.h"

/* Give the keeper a copy of fd (the lock of image); a dead keeper is
 * replaced first. Not waited for where the kernel lets the keeper receive
 * it (d->keeper_receives); else answered, before the lease exists in the
 * kernel. A keeper that refused an earlier put is replaced. */
int lw_keeping_put(struct lw_daemon *d, const char *image, int fd);

/* The keeper closes its copy of image's lock (not waited for). */
int lw_keeping_drop(struct lw_daemon *d, const char *image);

/* Wait until the keeper has done every put and drop sent: every copy
 * sent is then in its table, every one dropped closed. How many were
 * outstanding (0: none), or -errno. */
int lw_keeping_settle(struct lw_daemon *d);

/* Replace the keeper (dead or alive) by one that holds a copy of every
 * lock the daemon has. why is logged. */
int lw_keeping_renew(struct lw_daemon *d, const char *why);

/* Renew the keeper as soon as its connection hangs up (it died). */
int lw_keeping_watch(struct lw_daemon *d);

#endif /* LW_DAEMON_KEEPING_H */
