// SPDX-License-Identifier: LGPL-2.1-or-later
/* varlink on a socket: serialize and send messages, and the blocking
 * request/reply round trip a client needs. */
#include "common/json_write.h"
#include "common/varlink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int varlink_serialize(struct json_object *msg, char **out, size_t *len)
{
	struct lw_json_buf text = { 0 };

	/* A NUL inside a string is written as \u0000, so the only raw NUL
	 * on the wire is the terminator. */
	if (lw_json_write(&text, msg) < 0) {
		lw_json_buf_free(&text);
		return -ENOMEM;
	}
	*out = text.text;
	*len = text.len + 1;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0 once fd has events, -ETIMEDOUT after wait_ms (0: no limit). */
static int wait_for(int fd, short events, unsigned wait_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t deadline = wait_ms ? now_ms() + wait_ms : 0;
	int n, timeout = wait_ms ? (int)wait_ms : -1;

	while ((n = poll(&pfd, 1, timeout)) < 0 && errno == EINTR)
		if (deadline && (timeout = (int)(deadline - now_ms())) < 0)
			timeout = 0;
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* len bytes of buf, the message's NUL included, however many sends that takes. */
static int send_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int ret;

	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = wait_for(fd, POLLOUT, 0);
			if (ret < 0)
				return ret;
			continue;
		}
		return -errno;
	}
	return 0;
}

int varlink_send(int fd, struct json_object *msg)
{
	char *buf = NULL;
	size_t len;
	int ret = varlink_serialize(msg, &buf, &len);

	if (ret < 0)
		return ret;
	ret = send_all(fd, buf, len);
	free(buf);
	return ret;
}

int varlink_read_reply(int fd, struct varlink_reader *r, struct varlink_reply *reply)
{
	const char *text;
	size_t len;
	ssize_t n;
	int ret;

	memset(reply, 0, sizeof(*reply));
	for (;;) {
		if (varlink_reader_next(r, &text, &len) == 1)
			return varlink_reader_parse_reply(r, text, len, reply, NULL);
		/* Wait in poll(2), not in a blocking read: the server's read of
		 * our request frees its buffer, and that wakes whatever sleeps
		 * on our socket, for write space; a read would wake for nothing
		 * (and the server pay for the wakeup), a poll for POLLIN not. */
		if ((ret = wait_for(fd, POLLIN, r->wait_ms)) < 0)
			return ret;
		n = varlink_reader_fill(r, fd);
		if (n > 0)
			continue;
		if (n == 0)
			return -ECONNRESET; /* closed before (the end of) a reply */
		if (n != -EAGAIN)
			return (int)n;
		/* EAGAIN on a blocking fd is its SO_RCVTIMEO expiring. */
		if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
			return -ETIMEDOUT;
	}
}

/* A request's text (parameters, method, more) written straight into b:
 * no tree, which costs two objects and their hash tables a call. */
static int request_text(struct lw_json_buf *b, const char *method, struct json_object *parameters, bool more)
{
	lw_json_open(b, '{');
	lw_json_key(b, "parameters");
	if (!parameters) {
		lw_json_open(b, '{');
		lw_json_close(b, '}');
	} else if (lw_json_write(b, parameters) < 0) {
		return -ENOMEM;
	}
	lw_json_key(b, "method");
	lw_json_text(b, method);
	if (more) {
		lw_json_key(b, "more");
		lw_json_bool(b, true);
	}
	lw_json_close(b, '}');
	return lw_json_end(b, 0);
}

static int send_call(int fd, struct varlink_reader *r, const char *method, struct json_object *parameters,
		     bool more, struct varlink_reply *reply)
{
	struct lw_json_buf text = { 0 };
	int ret = request_text(&text, method, parameters, more);

	memset(reply, 0, sizeof(*reply));
	json_object_put(parameters);
	if (ret == 0)
		ret = send_all(fd, text.text, text.len + 1);
	lw_json_buf_free(&text);
	return ret < 0 ? ret : varlink_read_reply(fd, r, reply);
}

int varlink_call(int fd, struct varlink_reader *r, const char *method,
		 struct json_object *parameters, struct varlink_reply *reply)
{
	return send_call(fd, r, method, parameters, false, reply);
}

int varlink_call_more(int fd, struct varlink_reader *r, const char *method,
		      struct json_object *parameters, struct varlink_reply *reply)
{
	return send_call(fd, r, method, parameters, true, reply);
}
