// SPDX-License-Identifier: LGPL-2.1-or-later
/* Who may connect (per-uid and reserved slots), and the refusal of who may
 * not: an error reply, then a short linger for the client's request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "common/varlink.h"
#include "common/version.h"
#include "errors.h"
#include "interface.h"
#include "manager.h"
#include "peer.h"
#include "server.h"
#include "server_socket.h"
#include "server_internal.h"

#define REFUSED_MAX 64			/* beyond this a refusal is reply-and-close */
#define REFUSED_LINGER_USEC 1000000	/* how long one waits for the request */

static unsigned int conns_of_uid(const struct lw_server *s, uid_t uid)
{
	const struct conn *c;
	unsigned int n = 0;

	LIST_FOREACH(c, &s->conns, link)
		n += c->peer.uid == uid;
	return n;
}

/* NULL if this peer may have one more connection, else an error reply. */
struct json_object *lw_server_admission(struct lw_server *s, const struct lw_peer *peer)
{
	const struct lw_config *cfg = s->d->cfg;

	if (s->nr_conns >= cfg->max_clients)
		return lw_error_resource_limit("%u connections already (max_clients)", s->nr_conns);
	if (peer->privileged)
		return NULL;
	if (s->nr_conns >= cfg->max_clients - cfg->reserved_clients)
		return lw_error_resource_limit("the last %u of %u connections are kept for root and the admin group "
					       "(reserved_clients)", cfg->reserved_clients, cfg->max_clients);
	if (conns_of_uid(s, peer->uid) >= cfg->max_clients_per_uid)
		return lw_error_resource_limit("uid %u has %u connections already (max_clients_per_uid)",
					       peer->uid, cfg->max_clients_per_uid);
	return NULL;
}

void lw_refused_free(struct refused *r)
{
	struct lw_server *s = r->srv;

	LIST_REMOVE(r, link);
	s->nr_refused--;
	sd_event_source_disable_unref(r->io);
	sd_event_source_disable_unref(r->timer);
	close(r->fd);
	free(r);
}

/* Read and drop the client's request; done at its end, EOF or an error. */
static int on_refused_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	char buf[4096];
	ssize_t n;

	(void)source;
	(void)revents;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0 || memchr(buf, '\0', (size_t)n))
		lw_refused_free(userdata);
	return 0;
}

static int on_refused_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	lw_refused_free(userdata);
	return 0;
}

/* Send the error reply now; keep the socket a moment so the client can
 * send its request and read the reply (see struct refused). */
void lw_server_refuse(struct lw_server *s, int fd, struct json_object *error)
{
	struct refused *r = NULL;
	char *out = NULL;
	size_t len = 0;

	if (error && varlink_serialize(error, &out, &len) == 0)
		(void)send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(out);
	json_object_put(error);
	if (s->nr_refused < REFUSED_MAX)
		r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return;
	}
	r->srv = s;
	r->fd = fd;
	if (sd_event_add_io(s->d->event, &r->io, fd, EPOLLIN, on_refused_io, r) < 0 ||
	    sd_event_add_time_relative(s->d->event, &r->timer, CLOCK_MONOTONIC, REFUSED_LINGER_USEC, 0,
				       on_refused_timer, r) < 0) {
		sd_event_source_disable_unref(r->io);
		close(fd);
		free(r);
		return;
	}
	LIST_INSERT_HEAD(&s->refused, r, link);
	s->nr_refused++;
}
