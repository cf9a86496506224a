// SPDX-License-Identifier: LGPL-2.1-or-later
/* The varlink server on the sd-event loop. */
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

struct lw_call {
	struct conn *c;
	bool deferred;		/* the reply comes later (lw_call_reply) */
	bool oneway;		/* and is dropped: the client wanted none */
	void (*gone)(void *ctx);
	void *gone_ctx;
};

struct conn {
	struct lw_server *srv;
	struct lw_call call;	/* the request being answered */
	int fd;
	sd_event_source *source;
	struct varlink_reader reader;
	char *out;		/* one serialized reply waiting to be written */
	size_t out_len, out_off;
	bool closing;		/* close once out is written */
	struct lw_peer peer;
	sd_event_source *idle;	/* unprivileged: closes after idle_timeout_sec without a request */
	struct conn *next, *prev;
};

/* A connection refused at accept: it got its error reply at once and
 * stays only until the client's request is read (closing earlier could
 * fail the client's send before it reads the reply), at most a second. */
struct refused {
	struct lw_server *srv;
	int fd;
	sd_event_source *io, *timer;
	struct refused *next, *prev;
};

#define REFUSED_MAX 64			/* beyond this a refusal is reply-and-close */
#define REFUSED_LINGER_USEC 1000000	/* how long one waits for the request */
#define ACCEPT_PAUSE_USEC 1000000	/* no accepting this long after EMFILE */

struct lw_server {
	struct lw_daemon *d;
	int listen_fd;
	sd_event_source *listen_source;
	sd_event_source *resume;	/* re-enables listen_source after a pause */
	int spare_fd;			/* closed to accept and refuse one client at EMFILE */
	struct conn *conns;
	unsigned int nr_conns;
	struct refused *refused;
	unsigned int nr_refused;
};

static void conn_free(struct conn *c)
{
	struct lw_server *s = c->srv;

	/* a deferred reply no one will read: its method lets go of it */
	if (c->call.deferred && c->call.gone)
		c->call.gone(c->call.gone_ctx);

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nr_conns--;
	sd_event_source_disable_unref(c->source);
	sd_event_source_disable_unref(c->idle);
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	close(c->fd);
	varlink_reader_free(&c->reader);
	free(c->out);
	free(c);
}

static void queue(struct conn *c, struct json_object *msg)
{
	if (!msg) {
		c->closing = true;	/* out of memory: better to drop this client */
		return;
	}
	if (varlink_serialize(msg, &c->out, &c->out_len) < 0)
		c->closing = true;
	c->out_off = 0;
	json_object_put(msg);
}

static struct json_object *get_info(void)
{
	struct json_object *p = json_object_new_object(), *ifaces = json_object_new_array();

	json_object_object_add(p, "vendor", json_object_new_string("lockwarden"));
	json_object_object_add(p, "product", json_object_new_string("lockwardend"));
	json_object_object_add(p, "version", json_object_new_string(LOCKWARDEN_VERSION));
	json_object_object_add(p, "url", json_object_new_string("https://github.com/lockwarden/lockwarden"));
	json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
	json_object_array_add(ifaces, json_object_new_string(LW_MANAGER_INTERFACE));
	json_object_object_add(p, "interfaces", ifaces);
	return varlink_reply_new(p, false);
}

static struct json_object *get_interface_description(struct json_object *in)
{
	struct json_object *v, *p;
	const char *text;

	if (!json_object_object_get_ex(in, "interface", &v) || !json_object_is_type(v, json_type_string))
		return varlink_error_invalid_parameter("interface");
	text = lw_interface_description(json_object_get_string(v));
	if (!text) {
		p = json_object_new_object();
		json_object_object_add(p, "interface", json_object_get(v));
		return varlink_error_new(VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
	}
	p = json_object_new_object();
	json_object_object_add(p, "description", json_object_new_string(text));
	return varlink_reply_new(p, false);
}

static struct json_object *dispatch(struct conn *c, const struct varlink_request *req)
{
	const char *dot = strrchr(req->method, '.');
	size_t iface_len = dot ? (size_t)(dot - req->method) : 0;
	struct json_object *reply = NULL, *p;

	if (dot && iface_len == strlen(LW_MANAGER_INTERFACE) &&
	    strncmp(req->method, LW_MANAGER_INTERFACE, iface_len) == 0) {
		if (!lw_peer_alive(&c->peer)) {
			lw_log(LOG_WARNING, "refusing %s from uid %u: the connecting process %d has exited",
			       req->method, c->peer.uid, c->peer.pid);
			c->closing = true;
			return lw_error_permission_denied("the connecting process has exited: "
							  "a connection acts only for the process that opened it");
		}
		reply = lw_manager_call(c->srv->d, &c->peer, dot + 1, req->parameters, &c->call);
		if (!reply && !c->call.deferred)
			reply = varlink_error_method_not_found(req->method);
		return reply;
	}
	if (strcmp(req->method, "org.varlink.service.GetInfo") == 0)
		return get_info();
	if (strcmp(req->method, "org.varlink.service.GetInterfaceDescription") == 0)
		return get_interface_description(req->parameters);
	if (dot && strncmp(req->method, "org.varlink.service.", strlen("org.varlink.service.")) == 0)
		return varlink_error_method_not_found(req->method);
	p = json_object_new_object();
	json_object_object_add(p, "interface", json_object_new_string_len(req->method, (int)iface_len));
	return varlink_error_new(VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
}

/* Handle complete requests until one produces output to write. */
static void process(struct conn *c)
{
	const char *text, *why;
	struct varlink_request req;
	size_t len;

	while (!c->out && !c->closing && !c->call.deferred && varlink_reader_next(&c->reader, &text, &len) == 1) {
		struct json_object *reply;

		if (c->idle)
			sd_event_source_set_time_relative(c->idle,
							  (uint64_t)c->srv->d->cfg->idle_timeout_sec * 1000000u);
		if (varlink_request_parse(text, len, &req, &why) < 0) {
			queue(c, varlink_error_invalid_parameter_why("request", why));
			continue;
		}
		reply = dispatch(c, &req);
		c->call.oneway = req.oneway;
		if (c->call.deferred)
			;	/* answered by lw_call_reply */
		else if (req.oneway)
			json_object_put(reply);
		else
			queue(c, reply);
		varlink_request_release(&req);
	}
}

/* Write what is pending; 0 when all is out, -EAGAIN for later, else -errno. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -EAGAIN : -errno;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/* Answer what can be answered and write it; then wait for what comes next:
 * room to write, a request, or (while a reply is deferred) the hang-up. */
static void pump(struct conn *c, uint32_t revents)
{
	int r;

	for (;;) {
		process(c);
		if (!c->out)
			break;
		r = flush(c);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			conn_free(c);
			return;
		}
	}
	if (c->closing && !c->out) {
		conn_free(c);
		return;
	}
	if (!c->out && (revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
		conn_free(c);
		return;
	}
	/* while a reply waits, read nothing more: the buffers stay bounded */
	sd_event_source_set_io_events(c->source, c->out ? EPOLLOUT : c->call.deferred ? EPOLLRDHUP : EPOLLIN);
}

void lw_call_defer(struct lw_call *call, void (*gone)(void *ctx), void *ctx)
{
	call->deferred = true;
	call->gone = gone;
	call->gone_ctx = ctx;
}

void lw_call_reply(struct lw_call *call, struct json_object *msg)
{
	struct conn *c = call->c;

	call->deferred = false;
	call->gone = NULL;
	if (call->oneway)
		json_object_put(msg);
	else
		queue(c, msg);
	if (c->idle)
		sd_event_source_set_time_relative(c->idle, (uint64_t)c->srv->d->cfg->idle_timeout_sec * 1000000u);
	/* written from the loop, not from inside the backend's callback: a
	 * connected socket is writable at once, and on_conn then goes on with
	 * the requests that waited */
	sd_event_source_set_io_events(c->source, EPOLLOUT);
}

static int on_conn(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	ssize_t n;

	(void)source;
	(void)fd;
	if (c->call.deferred) {
		/* the client went away while its reply was pending */
		if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_free(c);
		return 0;
	}
	if (!c->out && (revents & EPOLLIN)) {
		n = varlink_reader_fill(&c->reader, c->fd);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EMSGSIZE)) {
			conn_free(c);
			return 0;
		}
		if (n == -EMSGSIZE) {
			/* the stream cannot be resynchronized: answer, then hang up */
			queue(c, lw_error_invalid_parameter("request: larger than the message size limit"));
			c->closing = true;
		}
	}
	pump(c, revents);
	return 0;
}

static unsigned int conns_of_uid(const struct lw_server *s, uid_t uid)
{
	unsigned int n = 0;

	for (const struct conn *c = s->conns; c; c = c->next)
		n += c->peer.uid == uid;
	return n;
}

/* NULL if this peer may have one more connection, else an error reply. */
static struct json_object *admission(struct lw_server *s, const struct lw_peer *peer)
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

static void refused_free(struct refused *r)
{
	struct lw_server *s = r->srv;

	if (r->prev)
		r->prev->next = r->next;
	else
		s->refused = r->next;
	if (r->next)
		r->next->prev = r->prev;
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
		refused_free(userdata);
	return 0;
}

static int on_refused_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	refused_free(userdata);
	return 0;
}

/* Send the error reply now; keep the socket a moment so the client can
 * send its request and read the reply (see struct refused). */
static void refuse(struct lw_server *s, int fd, struct json_object *error)
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
	r->next = s->refused;
	if (s->refused)
		s->refused->prev = r;
	s->refused = r;
	s->nr_refused++;
}

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
	conn_free(c);
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
		lw_log(LOG_WARNING, "refusing a client of uid %u pid %d: the connecting process has exited",
		       peer.uid, peer.pid);
	} else {
		error = admission(s, &peer);
		if (error)
			lw_log(LOG_WARNING, "refusing a client of uid %u pid %d: %s", peer.uid, peer.pid,
			       json_object_get_string(json_object_object_get(
				       json_object_object_get(error, "parameters"), "reason")));
	}
	if (error) {
		if (peer.pidfd >= 0)
			close(peer.pidfd);
		refuse(s, cfd, error);
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
	if (sd_event_add_io(s->d->event, &c->source, cfd, EPOLLIN, on_conn, c) < 0 ||
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
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nr_conns++;
	return 0;
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

void lw_server_close(struct lw_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	while (s->refused)
		refused_free(s->refused);
	sd_event_source_disable_unref(s->listen_source);
	sd_event_source_disable_unref(s->resume);
	close(s->listen_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}
