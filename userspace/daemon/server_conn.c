// SPDX-License-Identifier: LGPL-2.1-or-later
/* One client connection: its bounded buffers, org.varlink.service, dispatch
 * to the manager, replies now or deferred. See server.h. */
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
#include "commit.h"
#include "errors.h"
#include "holders.h"
#include "interface.h"
#include "manager.h"
#include "peer.h"
#include "server.h"
#include "server_socket.h"
#include "server_internal.h"

void lw_conn_free(struct conn *c)
{
	struct lw_server *s = c->srv;

	/* a deferred reply no one will read: its method lets go of it */
	if (c->call.deferred && c->call.gone)
		c->call.gone(c->call.gone_ctx);

	LIST_REMOVE(c, link);
	s->nr_conns--;
	sd_event_source_disable_unref(c->source);
	sd_event_source_disable_unref(c->idle);
	lw_holder_watch_release(c->peer.watch);
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	close(c->fd);
	varlink_reader_free(&c->reader);
	free(c->out);
	free(c);
}

static int flush(struct conn *c);

void lw_conn_close_flushed(struct conn *c)
{
	if (c->out)
		flush(c);
	lw_conn_free(c);
}

/* Append msg (taken over) to what waits to be written. */
static void queue(struct conn *c, struct json_object *msg)
{
	char *text = NULL;
	size_t len;

	if (!msg || varlink_serialize(msg, &text, &len) < 0) {
		c->closing = true;	/* out of memory: better to drop this client */
		json_object_put(msg);
		return;
	}
	json_object_put(msg);
	if (!c->out) {
		c->out = text;
		c->out_len = c->out_cap = len;
		c->out_off = 0;
		return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = 2 * c->out_cap > c->out_len + len ? 2 * c->out_cap : c->out_len + len;
		char *grown = realloc(c->out, cap);

		if (!grown) {
			free(text);
			c->closing = true;
			return;
		}
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	free(text);
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
		if (!c->peer.watch) {	/* the peer became a holder: its watch outlives its leases */
			struct lw_holder self = lw_peer_holder(&c->peer);

			c->peer.watch = lw_holder_watch_keep(c->srv->d->event, &self);
		}
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
		if (varlink_reader_parse_request(&c->reader, text, len, &req, &why) < 0) {
			queue(c, varlink_error_invalid_parameter_why("request", why));
			continue;
		}
		c->call.more = req.more && !req.oneway;
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
	c->out_len = c->out_off = c->out_cap = 0;
	return 0;
}

/* Answer what can be answered and write it; then wait for what comes next:
 * room to write, a request, or (while a reply is deferred) the hang-up. */
static void pump(struct conn *c, uint32_t revents)
{
	int r;

	for (;;) {
		process(c);
		/* The only client: no other request can join the batch its
		 * request waits in, so it is committed and answered now rather
		 * than one loop pass later (which also leaves the socket's
		 * events as they were). A request still buffered goes next. */
		if (c->call.deferred && c->srv->nr_conns == 1 && lw_commit_pending(c->srv->d)) {
			lw_commit_flush(c->srv->d, NULL);
			if (!c->call.deferred)
				continue;
		}
		if (!c->out)
			break;
		r = flush(c);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			lw_conn_free(c);
			return;
		}
	}
	if (c->closing && !c->out) {
		lw_conn_free(c);
		return;
	}
	if (!c->out && (revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
		lw_conn_free(c);
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

bool lw_call_wants_more(const struct lw_call *call)
{
	return call->more;
}

void lw_call_continue(struct lw_call *call, struct json_object *msg)
{
	queue(call->c, msg);
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
	/* A connected socket takes a short reply at once: sent here, the loop
	 * need not wake for EPOLLOUT first. Only when no request waits in the
	 * reader: those go on from the loop, as does a reply not sent whole
	 * or a send that failed (pump frees the connection then). */
	if (c->out && !c->closing && !varlink_reader_has_partial(&c->reader) && flush(c) == 0) {
		sd_event_source_set_io_events(c->source, EPOLLIN);
		return;
	}
	sd_event_source_set_io_events(c->source, EPOLLOUT);
}

int lw_conn_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	ssize_t n;

	(void)source;
	(void)fd;
	if (c->call.deferred) {
		/* the client went away while its reply was pending */
		if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			lw_conn_free(c);
		return 0;
	}
	if (!c->out && (revents & EPOLLIN)) {
		n = varlink_reader_fill(&c->reader, c->fd);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EMSGSIZE)) {
			lw_conn_free(c);
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
