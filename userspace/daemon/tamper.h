/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tamper evidence: once a second the daemon checks the kernel against its
 * own table (pins, program links, lease entries and the lease filter),
 * logs (LOG_CRIT) and audits what changed behind its back, and puts it
 * back. After a gap in enforcement it reports the writers that opened a
 * leased image meanwhile instead of forcing silently. `lockwarden status`
 * shows the outcome. */
#ifndef LW_DAEMON_TAMPER_H
#define LW_DAEMON_TAMPER_H

#include <json-c/json.h>

#include "daemon.h"

#define LW_TAMPER_INTERVAL_USEC 1000000

/* Set up the guard (hardened mode, and the daemon's identity in the
 * kernel); before adoption, which may report gap writers. */
int lw_tamper_open(struct lw_daemon *d, struct lw_err *err);
/* Start the periodic check on d->event. */
int lw_tamper_start(struct lw_daemon *d);
void lw_tamper_close(struct lw_daemon *d);

/* One check now; returns how many things were restored, or -errno. */
int lw_tamper_check(struct lw_daemon *d);

/* e's kernel entry was put back after a gap (when: "at start", "after
 * tampering"): log, audit and remember every non-holder writer of it.
 * fd: e's image open for read (never its path opened again here). */
void lw_tamper_report_writers(struct lw_daemon *d, const struct lw_lease_entry *e, int fd, const char *when);

/* At start, e was in the state file but not in the kernel (its pins were
 * removed while no daemon ran, or it stopped between two steps of a
 * change): enforced again; logged and audited as tampering, since writes
 * meanwhile cannot be known once their writers let go. */
void lw_tamper_report_unenforced(struct lw_daemon *d, const struct lw_lease_entry *e);

/* Add "enforcement", "hardened", "tamper" and "gap_writers" to a Status reply. */
void lw_tamper_status(const struct lw_daemon *d, struct json_object *reply);

#endif
