// SPDX-License-Identifier: LGPL-2.1-or-later
/* The varlink server: the listening socket and accepting. See server.h;
 * a connection is server_conn.c, admission server_refuse.c. */
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

#define ACCEPT_PAUSE_USEC 1000000	/* no accepting this long after EMFILE */

static int on_idle(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct conn *c = userdata;

	(void)usec;
	if (c->call.deferred) {
		/* waiting for its own reply is not idle */
		sd_event_source_set_time_relative(source, (uint64_t)c->srv->d->cfg->idle_timeout_sec * 1000000u);
		sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
		return 0;
	}
	lw_log(LOG_INFO, "closing the connection of uid %u pid %d: no request for %u s (idle_timeout_sec)",
	       c->peer.uid, c->peer.pid, c->srv->d->cfg->idle_timeout_sec);
	lw_conn_free(c);
	return 0;
}

static int on_resume(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct lw_server *s = userdata;

	(void)source;
	(void)usec;
	sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
	return 0;
}

/* Out of descriptors: accepting again at once would spin the loop on the
 * same EMFILE. Refuse one waiting client with a reason (the spare
 * descriptor makes room for it), then stop accepting for a moment. */
static void out_of_descriptors(struct lw_server *s, int err)
{
	struct rlimit rl = { 0 };
	int cfd;

	getrlimit(RLIMIT_NOFILE, &rl);
	lw_log(LOG_ERR, "cannot accept a client: %s (%u connections, %u leases, descriptor limit %llu); "
	       "not accepting for %u ms", strerror(err), s->nr_conns, lw_lease_count(s->d->leases),
	       (unsigned long long)rl.rlim_cur, ACCEPT_PAUSE_USEC / 1000);
	if (s->spare_fd >= 0) {
		close(s->spare_fd);
		s->spare_fd = -1;
		cfd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			char *out = NULL;
			size_t len = 0;
			struct json_object *e = lw_error_resource_limit(
				"lockwardend is out of file descriptors (limit %llu)",
				(unsigned long long)rl.rlim_cur);

			if (e && varlink_serialize(e, &out, &len) == 0)
				(void)send(cfd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			free(out);
			json_object_put(e);
			close(cfd);
		}
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
	if (sd_event_source_set_time_relative(s->resume, ACCEPT_PAUSE_USEC) < 0 ||
	    sd_event_source_set_enabled(s->resume, SD_EVENT_ONESHOT) < 0)
		sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct lw_server *s = userdata;
	struct json_object *error;
	struct lw_peer peer;
	struct conn *c;
	int cfd, r;

	(void)source;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			out_of_descriptors(s, errno);
		return 0;
	}
	r = lw_peer_identify(s->d, cfd, &peer);
	if (r == -EMFILE || r == -ENFILE) {
		error = lw_error_resource_limit("lockwardend is out of file descriptors");
		lw_log(LOG_ERR, "cannot identify a client of uid %u: %s", peer.uid, strerror(-r));
	} else if (r < 0) {
		error = lw_error_permission_denied("the connecting process has exited: "
						   "a connection acts only for the process that opened it");
		lw_log(LOG_WARNING, "refusing a client of uid %u pid %d: the connecting process has exited%s",
		       peer.uid, peer.pid, r == -EPERM ? " and its pid runs a process of another uid now" : "");
	} else {
		error = lw_server_admission(s, &peer);
		if (error)
			lw_log(LOG_WARNING, "refusing a client of uid %u pid %d: %s", peer.uid, peer.pid,
			       json_object_get_string(json_object_object_get(
				       json_object_object_get(error, "parameters"), "reason")));
	}
	if (error) {
		if (peer.pidfd >= 0)
			close(peer.pidfd);
		lw_server_refuse(s, cfd, error);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(peer.pidfd);
		close(cfd);
		return 0;
	}
	c->srv = s;
	c->fd = cfd;
	c->call.c = c;
	c->peer = peer;
	varlink_reader_init(&c->reader, 0);
	if (sd_event_add_io(s->d->event, &c->source, cfd, EPOLLIN, lw_conn_on_io, c) < 0 ||
	    (!peer.privileged && s->d->cfg->idle_timeout_sec &&
	     sd_event_add_time_relative(s->d->event, &c->idle, CLOCK_MONOTONIC,
					(uint64_t)s->d->cfg->idle_timeout_sec * 1000000u, 100000,
					on_idle, c) < 0)) {
		sd_event_source_disable_unref(c->source);
		close(peer.pidfd);
		close(cfd);
		free(c);
		return 0;
	}
	LIST_INSERT_HEAD(&s->conns, c, link);
	s->nr_conns++;
	/* A client that connects for one call (libvirt's lock drivers do, for
	 * each call) has often sent it by now: read it at once rather than one
	 * pass of the loop later. Nothing there costs one read (EAGAIN). */
	return lw_conn_on_io(c->source, cfd, EPOLLIN, c);
}

int lw_server_open(struct lw_daemon *d, struct lw_server **out, struct lw_err *err)
{
	struct lw_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return lw_err_set(err, ENOMEM, "out of memory");
	s->d = d;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->listen_fd = lw_server_socket(d, err);
	if (s->listen_fd < 0) {
		r = s->listen_fd;
		goto fail;
	}
	r = sd_event_add_io(d->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
	if (r >= 0)
		r = sd_event_add_time_relative(d->event, &s->resume, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC, 0,
					       on_resume, s);
	if (r < 0) {
		lw_err_set(err, -r, "cannot watch the socket: %s", strerror(-r));
		goto fail;
	}
	sd_event_source_set_enabled(s->resume, SD_EVENT_OFF);
	*out = s;
	return 0;
fail:
	sd_event_source_disable_unref(s->listen_source);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
	return r;
}

int lw_server_listen_fd(const struct lw_server *s)
{
	return s->listen_fd;
}

unsigned int lw_server_connections(const struct lw_server *s)
{
	return s->nr_conns;
}

void lw_server_close(struct lw_server *s)
{
	if (!s)
		return;
	/* replies of the batch committed at the stop are not lost */
	while (!LIST_EMPTY(&s->conns))
		lw_conn_close_flushed(LIST_FIRST(&s->conns));
	while (!LIST_EMPTY(&s->refused))
		lw_refused_free(LIST_FIRST(&s->refused));
	sd_event_source_disable_unref(s->listen_source);
	sd_event_source_disable_unref(s->resume);
	close(s->listen_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}
