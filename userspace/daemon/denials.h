/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Denial events from the kernel, each written to the audit trail with what
 * the lease table knows about the lease it hit. */
#ifndef LW_DAEMON_DENIALS_H
#define LW_DAEMON_DENIALS_H

#include "daemon.h"

/* Watch the enforcer's ring buffer on the event loop. */
int lw_denials_start(struct lw_daemon *d);
void lw_denials_stop(struct lw_daemon *d);

#endif /* LW_DAEMON_DENIALS_H */
