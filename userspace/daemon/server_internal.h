/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the server's files share (server.c: accepting, server_conn.c: a
 * connection, server_refuse.c: admission and refusals); not part of the
 * API (server.h). */
#ifndef LW_DAEMON_SERVER_INTERNAL_H
#define LW_DAEMON_SERVER_INTERNAL_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "common/varlink.h"
#include "peer.h"
#include "server.h"

struct lw_call {
	struct conn *c;
	bool deferred;		/* the reply comes later (lw_call_reply) */
	bool oneway;		/* and is dropped: the client wanted none */
	bool more;		/* the client accepts several replies */
	void (*gone)(void *ctx);
	void *gone_ctx;
};

struct conn {
	struct lw_server *srv;
	struct lw_call call;	/* the request being answered */
	int fd;
	sd_event_source *source;
	struct varlink_reader reader;
	char *out;		/* serialized replies waiting to be written */
	size_t out_len, out_off, out_cap;
	bool closing;		/* close once out is written */
	struct lw_peer peer;
	sd_event_source *idle;	/* unprivileged: closes after idle_timeout_sec without a request */
	LIST_ENTRY(conn) link;
};

/* A connection refused at accept: it got its error reply at once and
 * stays only until the client's request is read (closing earlier could
 * fail the client's send before it reads the reply), at most a second. */
struct refused {
	struct lw_server *srv;
	int fd;
	sd_event_source *io, *timer;
	LIST_ENTRY(refused) link;
};

struct lw_server {
	struct lw_daemon *d;
	int listen_fd;
	sd_event_source *listen_source;
	sd_event_source *resume;	/* re-enables listen_source after a pause */
	int spare_fd;			/* closed to accept and refuse one client at EMFILE */
	LIST_HEAD(, conn) conns;
	unsigned int nr_conns;
	LIST_HEAD(, refused) refused;
	unsigned int nr_refused;
};

/* server_conn.c: a connection's end, and its descriptor's events. */
void lw_conn_free(struct conn *c);
/* At the daemon's stop: what waits to be written goes out if the socket
 * takes it now, then the connection ends. */
void lw_conn_close_flushed(struct conn *c);
int lw_conn_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata);

/* server_refuse.c: NULL if this peer may have one more connection, else an
 * error reply; a refused connection gets it and lingers briefly. */
struct json_object *lw_server_admission(struct lw_server *s, const struct lw_peer *peer);
void lw_server_refuse(struct lw_server *s, int fd, struct json_object *error);
void lw_refused_free(struct refused *r);

#endif /* LW_DAEMON_SERVER_INTERNAL_H */
