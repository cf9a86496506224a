// SPDX-License-Identifier: LGPL-2.1-or-later
/* liblockwarden: one connection to lockwardend and the calls of the
 * io.lockwarden.Manager interface on it. */
#include "client/client_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/json_tree.h"
#include "common/terminal.h"
#include "common/varlink.h"

/* Replies may be far larger than requests (List of every lease); the
 * daemon is trusted, but a bound still stops a runaway stream. */
#define CLIENT_REPLY_MAX (16u * 1024u * 1024u)
#define METHOD_MAX 64	/* io.lockwarden.Manager.<method> */

struct lockwarden {
	int fd;
	struct varlink_reader reader;
	struct varlink_reply last; /* last successful reply, for --json */
	bool broken;               /* out of step with the daemon: no more calls */
	bool brief_refused;        /* the daemon is older than Acquire's "brief" */
	char refused[16];          /* the parameter the last InvalidParameter named */
	unsigned timeout_ms;
};

int lockwarden_connect_fd(int fd, struct lockwarden **out, struct lockwarden_error *err)
{
	struct lockwarden *lw = calloc(1, sizeof(*lw));

	*out = NULL;
	if (!lw)
		return error_set(err, -ENOMEM, "out of memory");
	lw->fd = fd;
	varlink_reader_init(&lw->reader, CLIENT_REPLY_MAX);
	*out = lw;
	if (err)
		memset(err, 0, sizeof(*err));
	return 0;
}

int lockwarden_connect(const char *socket_path, struct lockwarden **out,
		       struct lockwarden_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	*out = NULL;
	if (!socket_path)
		socket_path = LOCKWARDEN_SOCKET_DEFAULT;
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return error_set(err, -ENAMETOOLONG, "socket path too long: %s", socket_path);
	memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
	/* Close-on-exec: `lockwarden run` execs the command after acquiring. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		close(fd);
		return error_set(err, ret, "cannot connect to lockwardend at %s: %s%s", socket_path,
				 strerror(-ret),
				 ret == -ENOENT || ret == -ECONNREFUSED ?
					 " (is lockwardend running?)" : "");
	}
	ret = lockwarden_connect_fd(fd, out, err);
	if (ret < 0)
		close(fd);
	return ret;
}

void lockwarden_disconnect(struct lockwarden *lw)
{
	if (!lw)
		return;
	if (lw->fd >= 0)
		close(lw->fd);
	varlink_reader_free(&lw->reader);
	varlink_reply_release(&lw->last);
	free(lw);
}

bool lockwarden_reusable(struct lockwarden *lw)
{
	struct pollfd p = { .fd = lw ? lw->fd : -1, .events = POLLIN | POLLRDHUP };

	/* between calls nothing is due: bytes left over or arriving mean the
	 * stream is out of step, a hangup a daemon that has gone */
	return lw && !lw->broken && lw->reader.len == lw->reader.consumed && poll(&p, 1, 0) == 0;
}

int lockwarden_set_timeout(struct lockwarden *lw, unsigned timeout_ms,
			   struct lockwarden_error *err)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };

	/* replies are waited for in poll(2), bounded by the reader's wait_ms */
	if (setsockopt(lw->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return error_set(err, -errno, "cannot set a timeout: %s", strerror(errno));
	lw->timeout_ms = timeout_ms;
	lw->reader.wait_ms = timeout_ms;
	return 0;
}

/* The parameter an InvalidParameter reply names, kept for the caller to
 * tell a daemon that does not know it (acquire's "brief"). */
static void note_refused(struct lockwarden *lw, const struct varlink_reply *reply)
{
	struct json_object *v;

	if ((!strcmp(reply->error, MANAGER_ERROR("InvalidParameter")) ||
	     !strcmp(reply->error, VARLINK_ERROR_INVALID_PARAMETER)) &&
	    json_object_object_get_ex(reply->parameters, "parameter", &v) && json_object_is_type(v, json_type_string))
		snprintf(lw->refused, sizeof(lw->refused), "%s", json_object_get_string(v));
}

/* One round trip to io.lockwarden.Manager.<method>. On success the reply
 * stays in lw->last and *parameters points into it. */
/* The transport and error half of a call: ret is varlink's; 0 with *reply
 * a success, or -errno with err (reply released). */
static int take_reply(struct lockwarden *lw, const char *method, int ret, struct varlink_reply *reply,
		      struct lockwarden_error *err)
{
	if (ret < 0)
		lw->broken = true;
	if (ret == -EBADMSG)
		return error_set(err, ret, "lockwardend sent a malformed reply to %s", method);
	if (ret == -ETIMEDOUT || ret == -EAGAIN)
		return error_set(err, -ETIMEDOUT, "lockwardend did not answer %s within %u ms",
				 method, lw->timeout_ms);
	if (ret < 0)
		return error_set(err, ret, "lost connection to lockwardend: %s", strerror(-ret));
	lw->refused[0] = '\0';
	if (reply->error) {
		note_refused(lw, reply);
		ret = error_from_reply(err, reply->error, reply->parameters);
		varlink_reply_release(reply);
		return ret;
	}
	return 0;
}

/* full: room for the interface, a dot and method (one of ours: short).
 * Copied, not printed: snprintf costs about 900 instructions a call. */
static int begin(struct lockwarden *lw, const char *method, char full[static METHOD_MAX], struct json_object *in,
		 struct lockwarden_error *err)
{
	static const char prefix[] = LOCKWARDEN_INTERFACE ".";

	memcpy(full, prefix, sizeof(prefix) - 1);
	memcpy(full + sizeof(prefix) - 1, method, strnlen(method, METHOD_MAX - sizeof(prefix)) + 1);
	full[METHOD_MAX - 1] = '\0';
	if (err)
		memset(err, 0, sizeof(*err));
	if (lw->broken) {
		json_object_put(in);
		return error_set(err, -ENOTCONN, "connection to lockwardend already failed");
	}
	return 0;
}

/* The reply becomes the last one (lockwarden_last_reply_json). */
static void keep_reply(struct lockwarden *lw, struct varlink_reply *reply, struct json_object **parameters)
{
	varlink_reply_release(&lw->last);
	lw->last = *reply;
	if (parameters)
		*parameters = reply->parameters;
}

static int call(struct lockwarden *lw, const char *method, struct json_object *in,
		struct json_object **parameters, struct lockwarden_error *err)
{
	struct varlink_reply reply;
	char full[METHOD_MAX];
	int ret = begin(lw, method, full, in, err);

	if (ret < 0)
		return ret;
	ret = take_reply(lw, method, varlink_call(lw->fd, &lw->reader, full, in, &reply), &reply, err);
	if (ret < 0)
		return ret;
	keep_reply(lw, &reply, parameters);
	return 0;
}

/* A call the daemon may answer in several replies ("more"), each with an
 * array under key: the arrays are joined into the first reply's, so no one
 * reply has to fit everything under the client's cap. */
static int call_gathered(struct lockwarden *lw, const char *method, const char *key,
			 struct json_object **parameters, struct lockwarden_error *err)
{
	struct varlink_reply first, next;
	struct json_object *all, *part;
	bool continues;
	char full[METHOD_MAX];
	int ret = begin(lw, method, full, NULL, err);

	if (ret < 0)
		return ret;
	ret = take_reply(lw, method, varlink_call_more(lw->fd, &lw->reader, full, NULL, &first), &first, err);
	if (ret < 0)
		return ret;
	if (!json_object_object_get_ex(first.parameters, key, &all) || !json_object_is_type(all, json_type_array))
		goto malformed;
	for (continues = first.continues; continues;) {
		ret = take_reply(lw, method, varlink_read_reply(lw->fd, &lw->reader, &next), &next, err);
		if (ret < 0) {
			lw->broken = true;	/* the rest of the answer may still come */
			varlink_reply_release(&first);
			return ret;
		}
		continues = next.continues;
		if (!json_object_object_get_ex(next.parameters, key, &part) ||
		    !json_object_is_type(part, json_type_array)) {
			varlink_reply_release(&next);
			goto malformed;
		}
		for (size_t i = 0; i < json_object_array_length(part); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(part, i)));
		varlink_reply_release(&next);
	}
	keep_reply(lw, &first, parameters);
	return 0;
malformed:
	lw->broken = true;
	varlink_reply_release(&first);
	return error_set(err, -EBADMSG, "lockwardend sent a malformed reply to %s", method);
}

/* Varlink carries JSON, which is UTF-8: a name that is not would reach the
 * daemon as a malformed request; say what is wrong instead. */
static int check_utf8(const char *image, const char *cgroup, struct lockwarden_error *err)
{
	static const char needs[] = "is not valid UTF-8, which lockwardend's protocol needs";

	if (!lw_utf8_valid(image))
		return error_set(err, -EINVAL, "image path %s: %s", needs, image);
	if (!lw_utf8_valid(cgroup))
		return error_set(err, -EINVAL, "cgroup %s: %s", needs, cgroup);
	return 0;
}

/* The parameters of a call on image, naming its holder where given: a
 * cgroup, else a pid (0: the caller). */
static int params_new(const char *image, pid_t pid, const char *cgroup, struct json_object **in,
		      struct lockwarden_error *err)
{
	int ret = check_utf8(image, cgroup, err);

	*in = NULL;
	if (ret < 0)
		return ret;
	*in = json_object_new_object();
	if (!*in)
		return error_set(err, -ENOMEM, "out of memory");
	if (image)
		lw_json_add(*in, "image", json_object_new_string(image));
	if (cgroup)
		lw_json_add(*in, "cgroup", json_object_new_string(cgroup));
	else if (pid > 0)
		lw_json_add(*in, "pid", json_object_new_int64(pid));
	return 0;
}

/* The Acquire call with parameters in (taken), the lease into *lease if
 * asked for. */
static int acquire_call(struct lockwarden *lw, struct json_object *in, struct lockwarden_lease **lease,
			const char *image, struct lockwarden_error *err)
{
	struct json_object *out = NULL, *v;
	int ret = call(lw, "Acquire", in, &out, err);

	if (ret < 0 || !lease)
		return ret;
	if (!json_object_object_get_ex(out, "lease", &v) || !(*lease = lease_from_json(v)))
		return error_set(err, -EBADMSG, "lockwardend sent a malformed lease for %s", image);
	return 0;
}

/* Acquire for a process (cgroup NULL) or a cgroup. */
static int acquire(struct lockwarden *lw, const char *image, pid_t pid, const char *cgroup,
		   unsigned flags, const char *lease_name, struct lockwarden_lease **lease,
		   struct lockwarden_error *err)
{
	struct json_object *in;
	int ret;

	if (lease)
		*lease = NULL;
	if ((ret = params_new(image, pid, cgroup, &in, err)) < 0)
		return ret;
	if (lease_name) {
		if ((ret = check_utf8(lease_name, NULL, err)) < 0) {
			json_object_put(in);
			return ret;
		}
		lw_json_add(in, "lease", json_object_new_string(lease_name));
	}
	if (flags & LOCKWARDEN_SHARED)
		lw_json_add(in, "shared", json_object_new_boolean(1));
	if (flags & LOCKWARDEN_FORCE)
		lw_json_add(in, "force", json_object_new_boolean(1));
	if (!(flags & LOCKWARDEN_BRIEF) || lease || lw->brief_refused)
		return acquire_call(lw, in, lease, image, err);
	lw_json_add(in, "brief", json_object_new_boolean(1));
	json_object_get(in);	/* kept for the call again without it */
	ret = call(lw, "Acquire", in, NULL, err);
	if (ret == -EINVAL && !strcmp(lw->refused, "brief")) {
		/* a daemon older than the parameter: the whole reply, then */
		lw->brief_refused = true;
		json_object_object_del(in, "brief");
		return acquire_call(lw, in, NULL, image, err);
	}
	json_object_put(in);
	return ret;
}

int lockwarden_acquire(struct lockwarden *lw, const char *image, pid_t pid, unsigned flags,
		       struct lockwarden_lease **lease, struct lockwarden_error *err)
{
	return acquire(lw, image, pid, NULL, flags, NULL, lease, err);
}

int lockwarden_acquire_named(struct lockwarden *lw, const char *image, pid_t pid, unsigned flags,
			     const char *lease_name, struct lockwarden_lease **lease,
			     struct lockwarden_error *err)
{
	return acquire(lw, image, pid, NULL, flags, lease_name, lease, err);
}

int lockwarden_acquire_cgroup(struct lockwarden *lw, const char *image, const char *cgroup,
			      unsigned flags, struct lockwarden_lease **lease,
			      struct lockwarden_error *err)
{
	return acquire(lw, image, 0, cgroup, flags, NULL, lease, err);
}

int lockwarden_acquire_cgroup_named(struct lockwarden *lw, const char *image, const char *cgroup,
				    unsigned flags, const char *lease_name, struct lockwarden_lease **lease,
				    struct lockwarden_error *err)
{
	return acquire(lw, image, 0, cgroup, flags, lease_name, lease, err);
}

static int release(struct lockwarden *lw, const char *image, pid_t pid, const char *cgroup,
		   struct lockwarden_error *err)
{
	struct json_object *in;
	int ret;

	if ((ret = params_new(image, pid, cgroup, &in, err)) < 0)
		return ret;
	return call(lw, "Release", in, NULL, err);
}

int lockwarden_release(struct lockwarden *lw, const char *image, pid_t pid,
		       struct lockwarden_error *err)
{
	return release(lw, image, pid, NULL, err);
}

int lockwarden_release_cgroup(struct lockwarden *lw, const char *image, const char *cgroup,
			      struct lockwarden_error *err)
{
	return release(lw, image, 0, cgroup, err);
}

int lockwarden_inquire(struct lockwarden *lw, const char *image,
		       struct lockwarden_lease **lease, struct lockwarden_error *err)
{
	struct json_object *in, *out = NULL, *v;
	int ret;

	*lease = NULL;
	if ((ret = params_new(image, 0, NULL, &in, err)) < 0)
		return ret;
	ret = call(lw, "Inquire", in, &out, err);
	if (ret < 0)
		return ret;
	if (!json_object_object_get_ex(out, "lease", &v) || json_object_is_type(v, json_type_null))
		return 0; /* no lease on this image */
	*lease = lease_from_json(v);
	if (!*lease)
		return error_set(err, -EBADMSG, "lockwardend sent a malformed lease for %s", image);
	return 0;
}

int lockwarden_list(struct lockwarden *lw, struct lockwarden_lease ***leases, size_t *n,
		    struct lockwarden_error *err)
{
	struct json_object *out = NULL, *array;
	struct lockwarden_lease **list;
	size_t i, count;
	int ret;

	*leases = NULL;
	*n = 0;
	ret = call_gathered(lw, "List", "leases", &out, err);
	if (ret < 0)
		return ret;
	if (!json_object_object_get_ex(out, "leases", &array) ||
	    !json_object_is_type(array, json_type_array))
		return error_set(err, -EBADMSG, "lockwardend sent a malformed lease list");
	count = json_object_array_length(array);
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list)
		return error_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		list[i] = lease_from_json(json_object_array_get_idx(array, i));
		if (!list[i]) {
			lockwarden_lease_list_free(list, i);
			return error_set(err, -EBADMSG, "lockwardend sent a malformed lease list");
		}
	}
	*leases = list;
	*n = count;
	return 0;
}

int lockwarden_status(struct lockwarden *lw, struct lockwarden_status *status,
		      struct lockwarden_error *err)
{
	struct json_object *out = NULL;
	int ret;

	memset(status, 0, sizeof(*status));
	ret = call(lw, "Status", NULL, &out, err);
	if (ret < 0)
		return ret;
	if (status_from_json(out, status) < 0)
		return error_set(err, -EBADMSG, "lockwardend sent a malformed status");
	return 0;
}

const char *lockwarden_last_reply_json(struct lockwarden *lw, bool pretty)
{
	if (!lw->last.parameters)
		return NULL;
	return json_object_to_json_string_ext(lw->last.parameters,
					      (pretty ? JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_SPACED :
							JSON_C_TO_STRING_PLAIN) |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
}
