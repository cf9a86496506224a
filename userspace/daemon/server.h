/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The varlink server: the listening socket, one bounded buffer pair per
 * connection, org.varlink.service, and dispatch to the manager. A malformed,
 * oversized or unknown request gets an error reply and touches nothing else;
 * a connection whose reply is not read yet is not read from either, so no
 * client can make the daemon buffer without bound. */
#ifndef LW_DAEMON_SERVER_H
#define LW_DAEMON_SERVER_H

#include <stddef.h>

#include <json-c/json.h>

#include "common/err.h"
#include "daemon.h"

/* The request being answered on a connection. A method that cannot answer
 * at once defers it: the reply then goes out through lw_call_reply, and
 * until it does the connection reads no further request (varlink replies
 * in order). If the connection closes first, gone(ctx) is called instead
 * and the call must not be used again. */
struct lw_call;

void lw_call_defer(struct lw_call *call, void (*gone)(void *ctx), void *ctx);
/* Send the deferred reply (taken over); the call is done. */
void lw_call_reply(struct lw_call *call, struct json_object *msg);
/* Whether the caller accepts several replies (varlink "more"). */
bool lw_call_wants_more(const struct lw_call *call);
/* Queue one reply of several (msg taken over, built with continues): for
 * a caller that wants more; the method's own reply, queued after, is the
 * last. */
void lw_call_continue(struct lw_call *call, struct json_object *msg);

/* Listen on cfg->socket, or adopt a socket passed by systemd (or by a
 * re-exec) through LISTEN_FDS. */
int lw_server_open(struct lw_daemon *d, struct lw_server **out, struct lw_err *err);
/* The listening socket, to hand to a re-executed daemon. */
int lw_server_listen_fd(const struct lw_server *s);
/* Connections open now. */
unsigned int lw_server_connections(const struct lw_server *s);
void lw_server_close(struct lw_server *s);

#endif /* LW_DAEMON_SERVER_H */
