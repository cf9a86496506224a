/* The varlink server on the sd-event loop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/varlink.h"
#include "common/version.h"
#include "errors.h"
#include "interface.h"
#include "manager.h"
#include "mkdirs.h"
#include "server.h"

struct conn {
	struct lw_server *srv;
	int fd;
	sd_event_source *source;
	struct varlink_reader reader;
	char *out;		/* one serialized reply waiting to be written */
	size_t out_len, out_off;
	bool closing;		/* close once out is written */
	struct lw_peer peer;
	struct conn *next, *prev;
};

struct lw_server {
	struct lw_daemon *d;
	int listen_fd;
	sd_event_source *listen_source;
	struct conn *conns;
	unsigned int nr_conns;
};

static void conn_free(struct conn *c)
{
	struct lw_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nr_conns--;
	sd_event_source_disable_unref(c->source);
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
		reply = lw_manager_call(c->srv->d, &c->peer, dot + 1, req->parameters);
		if (!reply)
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

	while (!c->out && !c->closing && varlink_reader_next(&c->reader, &text, &len) == 1) {
		struct json_object *reply;

		if (varlink_request_parse(text, len, &req, &why) < 0) {
			queue(c, varlink_error_invalid_parameter_why("request", why));
			continue;
		}
		reply = dispatch(c, &req);
		if (req.oneway)
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

static int on_conn(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	ssize_t n;
	int r;

	(void)source;
	(void)fd;
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
	for (;;) {
		process(c);
		if (!c->out)
			break;
		r = flush(c);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			conn_free(c);
			return 0;
		}
	}
	if (c->closing && !c->out) {
		conn_free(c);
		return 0;
	}
	if (!c->out && (revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
		conn_free(c);
		return 0;
	}
	/* while a reply waits, read nothing more: the buffers stay bounded */
	sd_event_source_set_io_events(c->source, c->out ? EPOLLOUT : EPOLLIN);
	return 0;
}

static bool in_group(gid_t group, gid_t gid, const gid_t *groups, int n)
{
	if (gid == group)
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return true;
	return false;
}

static void peer_credentials(struct lw_server *s, struct conn *c)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	int n = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.uid = (uid_t)-1;	/* unknown: no privileges */
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		n = (int)(glen / sizeof(gid_t));
	c->peer.privileged = cred.uid == 0 ||
		(s->d->has_admin_group && in_group(s->d->admin_gid, cred.gid, groups, n));
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct lw_server *s = userdata;
	struct conn *c;
	int cfd;

	(void)source;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	if (s->nr_conns >= s->d->cfg->max_clients) {
		lw_log(LOG_WARNING, "refusing a client: %u connections already (max_clients)", s->nr_conns);
		close(cfd);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return 0;
	}
	c->srv = s;
	c->fd = cfd;
	varlink_reader_init(&c->reader, 0);
	peer_credentials(s, c);
	if (sd_event_add_io(s->d->event, &c->source, cfd, EPOLLIN, on_conn, c) < 0) {
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

static int create_socket(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_size, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	r = lw_mkdirs_for(path);
	if (r < 0) {
		snprintf(err, err_size, "cannot create the folder of %s: %s", path, strerror(-r));
		return r;
	}
	/* a live daemon on this path keeps it; a stale socket file goes */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		snprintf(err, err_size, "another lockwardend answers on %s", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		snprintf(err, err_size, "cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

int lw_server_open(struct lw_daemon *d, struct lw_server **out, char *err, size_t err_size)
{
	struct lw_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->listen_fd = -1;
	/* socket activation, or our own socket handed over a re-exec */
	if (sd_listen_fds(1) >= 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) > 0) {
		s->listen_fd = SD_LISTEN_FDS_START;
		fcntl(s->listen_fd, F_SETFD, FD_CLOEXEC);
		fcntl(s->listen_fd, F_SETFL, fcntl(s->listen_fd, F_GETFL) | O_NONBLOCK);
	} else {
		s->listen_fd = create_socket(d->cfg->socket, err, err_size);
		if (s->listen_fd < 0) {
			r = s->listen_fd;
			free(s);
			return r;
		}
	}
	r = sd_event_add_io(d->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
	if (r < 0) {
		snprintf(err, err_size, "cannot watch the socket: %s", strerror(-r));
		close(s->listen_fd);
		free(s);
		return r;
	}
	*out = s;
	return 0;
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
	sd_event_source_disable_unref(s->listen_source);
	close(s->listen_fd);
	free(s);
}
