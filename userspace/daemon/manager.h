/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The io.lockwarden.Manager methods: parameters in, a reply or a named
 * error out. Who may do what is decided here from the peer's credentials. */
#ifndef LW_DAEMON_MANAGER_H
#define LW_DAEMON_MANAGER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "daemon.h"
#include "client/lockwarden/client.h"	/* the interface name: the protocol's, defined once */

#define LW_MANAGER_INTERFACE LOCKWARDEN_INTERFACE

/* Who is calling, from SO_PEERCRED / SO_PEERGROUPS at connect time. The
 * server checks before each call that the process is still the one that
 * connected (pidfd), so pid never names a later process that reused it. */
struct lw_holder_keep;

struct lw_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged;	/* root or the admin group: may act for any process */
	int pidfd;		/* the connecting process; readable once it exits */
	uint64_t start_time;	/* its start time (clock ticks since boot) */
	char comm[LW_COMM_LEN];	/* its command when proven (live_procs.h), for the leases it takes */
	struct lw_holder_keep *watch;	/* its holder watch, kept while connected (holders.h) */
};

struct lw_call;

/* Handle member ("Acquire", ...) of io.lockwarden.Manager. Returns the
 * reply (varlink_reply_new) or error message to send; NULL when the reply
 * comes later (call deferred, server.h: an Acquire the backend answers
 * later) or for an unknown member. */
struct json_object *lw_manager_call(struct lw_daemon *d, const struct lw_peer *peer,
				    const char *member, struct json_object *parameters, struct lw_call *call);

#endif /* LW_DAEMON_MANAGER_H */
