/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* This host's membership of a sanlock lockspace, joined without blocking
 * the daemon: sanlock's asynchronous add, then a timer on the daemon's loop
 * asking sanlock how far it got. A join that fails is retried. */
#ifndef LW_PAXOS_LOCKSPACE_H
#define LW_PAXOS_LOCKSPACE_H

#include <stdint.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "common/err.h"

enum lw_paxos_ls_state {
	LW_PAXOS_LS_JOINING,
	LW_PAXOS_LS_JOINED,
	LW_PAXOS_LS_FAILED,
};

struct lw_paxos_lockspace_config {
	const char *name;
	const char *path;
	uint64_t offset;
	uint64_t host_id;
	unsigned int io_timeout;	/* seconds */
};

struct lw_paxos_lockspace;

/* Start joining; changed(ctx) is called from the loop at every state change. */
int lw_paxos_lockspace_open(const struct lw_paxos_lockspace_config *cfg, sd_event *event,
			    void (*changed)(void *ctx), void *ctx, struct lw_paxos_lockspace **out,
			    struct lw_err *err);
/* Stop watching; leave the lockspace unless a lease still uses it (a
 * daemon restart must not take the leases away from their holders). */
void lw_paxos_lockspace_close(struct lw_paxos_lockspace *ls);

enum lw_paxos_ls_state lw_paxos_lockspace_state(const struct lw_paxos_lockspace *ls);
const char *lw_paxos_lockspace_name(const struct lw_paxos_lockspace *ls);
/* Why it failed (state FAILED), else "". */
const char *lw_paxos_lockspace_reason(const struct lw_paxos_lockspace *ls);
/* {"name","host_id","path","offset","state","reason"?,"join_seconds"?} */
struct json_object *lw_paxos_lockspace_status(const struct lw_paxos_lockspace *ls);

/* Whether sanlock on this host has joined a lockspace of that name (by this
 * daemon or by anyone else, e.g. a management application's own). */
bool lw_paxos_lockspace_joined_here(const char *name);

#endif /* LW_PAXOS_LOCKSPACE_H */
