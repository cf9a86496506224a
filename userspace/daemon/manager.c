// SPDX-License-Identifier: LGPL-2.1-or-later
/* io.lockwarden.Manager: Acquire, Release, Inquire, List, Status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "acquiring.h"
#include "adopt.h"
#include "backend.h"
#include "common/json_tree.h"
#include "common/live_procs.h"
#include "common/varlink.h"
#include "common/version.h"
#include "common/enforcement.h"
#include "errors.h"
#include "holders.h"
#include "image_open.h"
#include "lease_json.h"
#include "looking_up.h"
#include "peer.h"
#include "leasing.h"
#include "manager.h"
#include "server.h"
#include "tamper.h"

/* Parameters of one call, checked against what the method accepts. */
struct params {
	const char *image;
	bool has_pid;
	int pid;
	const char *cgroup;
	bool shared;
	bool force;
	const char *lease;
	bool brief;
};

enum {
	PARAM_IMAGE = 1 << 0,
	PARAM_PID = 1 << 1,
	PARAM_CGROUP = 1 << 2,
	PARAM_SHARED = 1 << 3,
	PARAM_FORCE = 1 << 4,
	PARAM_LEASE = 1 << 5,
	PARAM_BRIEF = 1 << 6,
};

/* A string parameter as C code sees it: refused if a NUL inside it would cut it short. */
static bool whole_string(struct json_object *value)
{
	return json_object_is_type(value, json_type_string) &&
	       strlen(json_object_get_string(value)) == (size_t)json_object_get_string_len(value);
}

/* NULL on success, else the name of the offending parameter. */
static const char *parse_params(struct json_object *in, unsigned int allowed, unsigned int required,
				struct params *p)
{
	memset(p, 0, sizeof(*p));
	json_object_object_foreach(in, name, value) {
		bool is_null = json_object_is_type(value, json_type_null);

		if (json_object_is_type(value, json_type_string) && !whole_string(value))
			return name;
		if (strcmp(name, "image") == 0 && (allowed & PARAM_IMAGE)) {
			if (!json_object_is_type(value, json_type_string))
				return "image";
			p->image = json_object_get_string(value);
			if (p->image[0] != '/' || strlen(p->image) >= PATH_MAX)
				return "image";
		} else if (strcmp(name, "pid") == 0 && (allowed & PARAM_PID)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_int))
				return "pid";
			int64_t v = json_object_get_int64(value);

			if (v <= 0 || v > INT32_MAX)
				return "pid";
			p->has_pid = true;
			p->pid = (int)v;
		} else if (strcmp(name, "cgroup") == 0 && (allowed & PARAM_CGROUP)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_string) ||
			    strlen(json_object_get_string(value)) >= LW_PATH_MAX)
				return "cgroup";
			p->cgroup = json_object_get_string(value);
		} else if (strcmp(name, "shared") == 0 && (allowed & PARAM_SHARED)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_boolean))
				return "shared";
			p->shared = json_object_get_boolean(value);
		} else if (strcmp(name, "force") == 0 && (allowed & PARAM_FORCE)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_boolean))
				return "force";
			p->force = json_object_get_boolean(value);
		} else if (strcmp(name, "lease") == 0 && (allowed & PARAM_LEASE)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_string) || !json_object_get_string_len(value) ||
			    json_object_get_string_len(value) >= PATH_MAX)
				return "lease";
			p->lease = json_object_get_string(value);
		} else if (strcmp(name, "brief") == 0 && (allowed & PARAM_BRIEF)) {
			if (is_null)
				continue;
			if (!json_object_is_type(value, json_type_boolean))
				return "brief";
			p->brief = json_object_get_boolean(value);
		} else {
			return name;	/* unknown parameter */
		}
	}
	if ((required & PARAM_IMAGE) && !p->image)
		return "image";
	if (p->has_pid && p->cgroup)
		return "cgroup";
	return NULL;
}

/* The error for parameter bad of in, with the reason when one is plain. */
static struct json_object *bad_param(struct json_object *in, const char *bad)
{
	struct json_object *v;

	if (json_object_object_get_ex(in, bad, &v) && json_object_is_type(v, json_type_string)) {
		if (!whole_string(v))
			return lw_error_invalid_parameter_why(bad, "contains a NUL character (\\u0000)");
		if (strcmp(bad, "image") == 0 && json_object_get_string(v)[0] != '/')
			return lw_error_invalid_parameter_why(bad, "not an absolute path");
	}
	return lw_error_invalid_parameter(bad);
}

static struct lw_image_caller caller_of(const struct lw_peer *peer)
{
	return (struct lw_image_caller){
		.pid = peer->pid, .uid = peer->uid, .gid = peer->gid, .privileged = peer->privileged,
	};
}

/* What an unprivileged caller may see: leases with a holder of its own uid. */
static bool visible(const struct lw_peer *peer, const struct lw_lease_entry *e)
{
	return peer->privileged || lw_lease_held_by_uid(e, peer->uid);
}

/* Who the call is for: the given pid or cgroup, else the caller itself.
 * Only privileged peers may name anyone else. A cgroup holder's path is a
 * reference of h's own (lw_lease_holder_put). */
static struct json_object *resolve_holder(const struct lw_peer *peer, const struct params *p,
					  struct lw_lease_holder *h)
{
	int r;

	memset(h, 0, sizeof(*h));
	h->pidfd = -1;
	if (p->cgroup) {
		if (!peer->privileged)
			return lw_error_permission_denied("only root or the admin group may act for a cgroup");
		if (lw_holder_of_cgroup(p->cgroup, &h->id) < 0)
			return lw_error_invalid_parameter_why("cgroup", "%s is not a cgroup v2 folder", p->cgroup);
		r = lw_cgroup_path_intern(p->cgroup, &h->cgroup);
		if (r == -ENAMETOOLONG)
			return lw_error_invalid_parameter_why("cgroup", "%s: longer than %d characters", p->cgroup,
							      LW_PATH_MAX - 1);
		if (r < 0)
			return lw_error_backend_failure("out of memory");
		h->uid = peer->uid;
		return NULL;
	}
	int pid = p->has_pid ? p->pid : peer->pid;
	const char *refusal;
	uint64_t start_time;
	uid_t ruid, euid;
	int pidfd;

	if (pid != peer->pid && !peer->privileged)
		return lw_error_permission_denied("only root or the admin group may act for another process");
	if (pid == peer->pid && pid != 1) {
		/* the caller itself: identified at connect (SO_PEERCRED names a
		 * process, not a thread), and its pidfd, polled before every
		 * call, says it has not exited since */
		h->id = lw_peer_holder(peer);
		h->uid = peer->uid;
		memcpy(h->comm, peer->comm, sizeof(h->comm));
		return NULL;
	}
	/* another process (a privileged caller's choice): everything about it
	 * is read while a pidfd holds it, and the pidfd polled after, so its
	 * start time, uid and comm are of one process, not of one that took
	 * its pid meanwhile */
	pidfd = lw_live_proc_prove(pid, &start_time, h->comm);
	if (pidfd == -EINVAL && lw_holder_of_pid(pid, &h->id) == 0 && (int)h->id.pid != pid)
		return lw_error_invalid_parameter_why("pid", "%d is a thread of process %u: leases belong to processes",
						      pid, h->id.pid);
	if (lw_lookup_failed_here(pidfd))
		return lw_error_resource_limit("cannot look at process %d: %s", pid, strerror(-pidfd));
	if (pidfd < 0)
		return lw_error_invalid_parameter_why("pid", "no process %d", pid);
	refusal = lw_pid_refusal(pid);
	r = lw_pidfd_uids(pidfd, pid, &ruid, &euid);	/* polls the pidfd: refusal's read counts too */
	close(pidfd);
	if (lw_lookup_failed_here(r))
		return lw_error_resource_limit("cannot look at process %d: %s", pid, strerror(-r));
	if (r < 0)
		return lw_error_invalid_parameter_why("pid", "no process %d", pid);
	if (refusal)
		return lw_error_invalid_parameter_why("pid", "%d: %s", pid, refusal);
	h->id = (struct lw_holder){ .kind = LW_HOLDER_PROCESS, .pid = (uint32_t)pid, .start_time = start_time };
	h->uid = euid;
	return NULL;
}

/* A lease as clients see it, its text written once, placed in the reply
 * as it is; one the backend has not granted yet says so. b: room for the
 * text, reused. NULL when out of memory. */
static struct json_object *lease_json(struct lw_json_buf *b, const struct lw_lease_entry *e, bool pending)
{
	b->len = 0;
	lw_lease_json_put(b, e, false, pending);
	return lw_json_end(b, 0) < 0 ? NULL : lw_json_new_raw(b->text, b->len);
}

static struct json_object *reply_lease(const struct lw_lease_entry *e, bool pending)
{
	struct json_object *p = json_object_new_object();
	struct lw_json_buf text = { 0 };

	lw_json_add(p, "lease", e ? lease_json(&text, e, pending) : NULL);
	lw_json_buf_free(&text);
	return varlink_reply_new(p, false);
}

/* An acquire's reply: the lease, or nothing for a caller that asked for a
 * brief one (writing and parsing the lease is most of a round trip's JSON). */
static struct json_object *reply_acquired(const struct lw_lease_entry *e, bool brief)
{
	return brief ? varlink_reply_empty() : reply_lease(e, false);
}

static struct json_object *manager_call(struct lw_daemon *d, const struct lw_peer *peer, const char *member,
					struct json_object *parameters, struct lw_call *call, struct lw_image_lookup *found);

/* A call whose image path is looked up as an unprivileged caller
 * (looking_up.h): asked again with what the lookup found. */
struct looking {
	struct lw_daemon *d;
	const struct lw_peer *peer;	/* the connection's: it outlives the call */
	struct lw_call *call;
	struct json_object *parameters;
	struct lw_looking_up *lookup;
	char member[16];
};

static void looking_free(struct looking *w)
{
	json_object_put(w->parameters);
	free(w);
}

static void looked_up(void *ctx, struct lw_image_lookup *l, struct json_object *error)
{
	struct looking *w = ctx;
	struct json_object *reply = l ? manager_call(w->d, w->peer, w->member, w->parameters, w->call, l) : error;

	/* else the method deferred it again, with its own gone callback */
	if (reply)
		lw_call_reply(w->call, reply);
	looking_free(w);
}

static void looking_gone(void *ctx)
{
	struct looking *w = ctx;

	lw_looking_up_cancel(w->lookup);
	looking_free(w);
}

/* The lookup of image as an unprivileged caller: in a thread the loop does
 * not wait for (a FUSE server of the caller's may never answer it). The
 * call is deferred and asked again once the lookup is done. */
static struct json_object *look_up_first(struct lw_daemon *d, const struct lw_peer *peer, const char *member,
					 const char *image, struct json_object *parameters, struct lw_call *call)
{
	struct lw_image_caller caller = caller_of(peer);
	struct json_object *error = NULL;
	struct looking *w = calloc(1, sizeof(*w));

	if (!w || strlen(member) >= sizeof(w->member)) {
		free(w);
		return lw_error_resource_limit("out of memory");
	}
	*w = (struct looking){ .d = d, .peer = peer, .call = call, .parameters = json_object_get(parameters) };
	strcpy(w->member, member);
	w->lookup = lw_looking_up_start(d, image, &caller, looked_up, w, &error);
	if (!w->lookup) {
		looking_free(w);
		return error;
	}
	lw_call_defer(call, looking_gone, w);
	return NULL;
}

/* The backend answered an acquire that was pending. */
static void acquired_later(void *ctx, int result, struct lw_lease_entry *e, struct json_object *error)
{
	lw_call_reply(ctx, result < 0 ? error : reply_acquired(e, false));
}

static void acquired_later_brief(void *ctx, int result, struct lw_lease_entry *e, struct json_object *error)
{
	lw_call_reply(ctx, result < 0 ? error : reply_acquired(e, true));
}

static void call_gone(void *ctx)
{
	lw_acquiring_cancel(ctx);
}


/* An acquire that ran out of descriptors (any step: the image, the lock, the
 * enforcer's) is told so, as a resource limit rather than what the step
 * would call it ("image not found"), and the operator sees it in the log. */
static struct json_object *out_of_descriptors(const char *image, int r, struct json_object *step_error)
{
	json_object_put(step_error);
	lw_log(LOG_ERR, "acquire %s refused: out of file descriptors (%s): raise LimitNOFILE (ulimit -n) "
	       "or lower max_images", image, strerror(-r));
	return lw_error_resource_limit("lockwardend is out of file descriptors (%s)", strerror(-r));
}

/* An acquire for holder h, its parameters p (of in) checked; the image's
 * lookup as the caller done (found) or not yet (NULL). */
static struct json_object *acquire_as(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in,
				      const struct params *p, struct lw_lease_holder *h, struct lw_call *call,
				      struct lw_image_lookup *found)
{
	struct lw_image_caller caller = caller_of(peer);
	struct lw_lease_entry *e = NULL;
	struct json_object *error;
	struct lw_acquiring *pending;
	struct lw_acquire_request req;
	struct lw_image_lookup here;
	struct lw_image image;
	struct lw_image_key key;
	const char *why;
	bool keyed;
	int fd, r;

	/* one user must not fill the table root relies on (pending acquires count) */
	if (!peer->privileged &&
	    lw_lease_count_uid(d->leases, peer->uid) + lw_acquiring_count_uid(d, peer->uid) >= d->cfg->max_leases_per_uid)
		return lw_error_capacity_exceeded_why(d->cfg->max_leases_per_uid,
						      "uid %u holds %u leases already (max_leases_per_uid)",
						      (unsigned int)peer->uid, d->cfg->max_leases_per_uid);
	if (!found && !peer->privileged)
		return look_up_first(d, peer, "Acquire", p->image, in, call);
	if (!found) {
		/* root's and the admin group's: here and now, as the daemon */
		found = &here;
		lw_image_lookup_prepare(found, p->image, &caller);
		lw_image_lookup_run(found);
	}
	r = lw_image_open(found, &caller, &image, &why);
	if (found == &here)
		lw_image_lookup_release(&here);
	if (r == -EMFILE || r == -ENFILE)
		return out_of_descriptors(p->image, r, NULL);
	if (r == -EINVAL)
		return lw_error_invalid_parameter_why("image", "%s: %s", p->image, why);
	if (r == -EPERM)
		return lw_error_permission_denied(why);
	if (r < 0)
		return lw_error_image_not_found(p->image, why);
	/* where stat does not tell the key, the enforcer asks a descriptor
	 * open for read, which the later steps then use too */
	fd = image.fd;
	keyed = lw_image_key_of_stat(&image.st, image.fs_magic, &key) == 0;
	if (!keyed) {
		fd = lw_image_open_read(image.fd);
		close(image.fd);
		if (fd == -EMFILE || fd == -ENFILE)
			return out_of_descriptors(p->image, fd, NULL);
		if (fd < 0)
			return lw_error_image_not_found(p->image, strerror(-fd));
	}
	req = (struct lw_acquire_request){
		.image = p->image, .fd = fd, .key = keyed ? &key : NULL, .privileged = peer->privileged,
		.holder = h, .shared = p->shared, .force = p->force, .lease = p->lease,
		.later = p->brief ? acquired_later_brief : acquired_later, .ctx = call,
	};
	r = lw_leasing_acquire(d, &req, &e, &pending, &error);
	close(fd);
	if (r == -EINPROGRESS) {
		lw_call_defer(call, call_gone, pending);
		return NULL;
	}
	if (r == -EMFILE || r == -ENFILE)
		return out_of_descriptors(p->image, r, error);
	if (r < 0)
		return error;
	return reply_acquired(e, p->brief);
}

static struct json_object *acquire(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in,
				   struct lw_call *call, struct lw_image_lookup *found)
{
	struct json_object *reply;
	struct lw_lease_holder h;
	struct params p;
	const char *bad;

	bad = parse_params(in, PARAM_IMAGE | PARAM_PID | PARAM_CGROUP | PARAM_SHARED | PARAM_FORCE | PARAM_LEASE |
				       PARAM_BRIEF,
			   PARAM_IMAGE, &p);
	if (bad)
		return bad_param(in, bad);
	/* a named lease is storage the backend writes to: management applications only */
	if (p.lease && !peer->privileged)
		return lw_error_permission_denied("only root or the admin group may name a lease");
	reply = resolve_holder(peer, &p, &h);
	if (reply)
		return reply;
	reply = acquire_as(d, peer, in, &p, &h, call, found);
	lw_lease_holder_put(&h);	/* a lease it made has its own reference */
	return reply;
}

/* Whether find_lease needs image looked up as the caller first (in a
 * thread the loop does not wait for: look_up_first). */
static bool needs_lookup(struct lw_daemon *d, const struct lw_peer *peer, const char *image)
{
	return !peer->privileged && !lw_lease_by_image(d->leases, image);
}

/* The lease named by image: by the path it was taken with, else by the
 * kernel's key for whatever the path names now (a hard link, another name),
 * looked up as the caller into an O_PATH descriptor, which opens nothing:
 * no device is ever opened on a caller's behalf. NULL also for a lease the
 * caller may not see, so "not yours" and "no such file" look the same.
 * Else the acquire of it still pending, in *pending. The lookup: found,
 * else done here for a privileged caller; for another, by the path alone. */
static struct lw_lease_entry *find_lease(struct lw_daemon *d, const struct lw_peer *peer, const char *image,
					 struct lw_image_lookup *found, struct lw_acquiring **pending)
{
	struct lw_image_caller caller = caller_of(peer);
	struct lw_lease_entry *e = lw_lease_by_image(d->leases, image);
	struct lw_image_key key = { 0 };
	struct lw_image_lookup here;
	bool keyed = false;

	*pending = NULL;
	if (!e && !found && peer->privileged) {
		found = &here;
		lw_image_lookup_prepare(found, image, &caller);
		lw_image_lookup_run(found);
	}
	if (!e && found && found->err == 0) {
		keyed = lw_enforcement_key_of_fd(d->enforcer, found->fd, &key) == 0;
		if (keyed)
			e = lw_lease_by_key(d->leases, &key);
	}
	if (found == &here)
		lw_image_lookup_release(&here);
	if (!e && d->nr_acquiring) {
		struct lw_acquiring *a = lw_acquiring_find(d, keyed ? &key : &(struct lw_image_key){ 0 }, image);

		/* a zero key names no image: only the path can match then */
		if (a && visible(peer, lw_acquiring_entry(a)) &&
		    (keyed || strcmp(lw_acquiring_entry(a)->image, image) == 0))
			*pending = a;
		return NULL;
	}
	return e && visible(peer, e) ? e : NULL;
}

/* Index of the holder a Release names in e, or -1. */
static int named_holder(const struct lw_lease_entry *e, const struct params *p, int pid)
{
	for (unsigned int i = 0; e && i < e->nr_holders; i++) {
		const struct lw_lease_holder *h = &e->holders[i];

		/* holders are live processes (dead ones are released at once), so the pid names one */
		if (p->cgroup ? h->id.kind == LW_HOLDER_CGROUP && strcmp(lw_lease_holder_cgroup(h), p->cgroup) == 0
			      : h->id.kind == LW_HOLDER_PROCESS && (int)h->id.pid == pid)
			return (int)i;
	}
	return -1;
}

/* The backend let go of a lease a Release ended: the answer (the lease is
 * gone even if the backend had an error, which is logged and audited). */
static void released_later(void *ctx, int result, const struct lw_err *err)
{
	/* its end could not be written to the state: the holder keeps the lease */
	if (result == LW_RELEASE_NOT_RECORDED) {
		lw_call_reply(ctx, lw_error_backend_failure("%s", err->msg));
		return;
	}
	lw_call_reply(ctx, varlink_reply_empty());
}

static void release_call_gone(void *ctx)
{
	lw_releasing_forget_caller(ctx);
}

static struct json_object *release(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in,
				   struct lw_call *call, struct lw_image_lookup *found)
{
	struct lw_releasing *releasing;
	struct lw_acquiring *pending;
	struct lw_lease_entry *e;
	struct json_object *error = NULL;
	struct params p;
	const char *bad;
	int idx, r;

	bad = parse_params(in, PARAM_IMAGE | PARAM_PID | PARAM_CGROUP, PARAM_IMAGE, &p);
	if (bad)
		return bad_param(in, bad);
	if (p.cgroup && !peer->privileged)
		return lw_error_permission_denied("only root or the admin group may act for a cgroup");
	int pid = p.has_pid ? p.pid : peer->pid;

	if (!p.cgroup && pid != peer->pid && !peer->privileged)
		return lw_error_permission_denied("only root or the admin group may act for another process");
	if (!found && needs_lookup(d, peer, p.image))
		return look_up_first(d, peer, "Release", p.image, in, call);
	e = find_lease(d, peer, p.image, found, &pending);
	if (pending && named_holder(lw_acquiring_entry(pending), &p, pid) == 0) {
		/* withdraw it: the pending Acquire is answered, nothing was held */
		lw_acquiring_abort(pending, lw_error_backend_failure(
			"the acquire of %s was withdrawn by a Release before the backend granted it", p.image));
		return varlink_reply_empty();
	}
	idx = named_holder(e, &p, pid);
	if (idx < 0)
		return lw_error_not_holder(p.image);
	r = lw_leasing_release(d, e, (unsigned int)idx, LW_LEASE_RELEASE, NULL, released_later, call, &releasing,
			       &error);
	if (r == -EINPROGRESS) {
		/* answered once the backend let go: "released" must be true when said */
		lw_call_defer(call, release_call_gone, releasing);
		return NULL;
	}
	if (r < 0)
		return error;
	return varlink_reply_empty();
}

static struct json_object *inquire(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in,
				   struct lw_call *call, struct lw_image_lookup *found)
{
	struct json_object *reply, *out;
	char *state;
	struct lw_acquiring *pending;
	struct lw_lease_entry *e;
	struct params p;
	const char *bad = parse_params(in, PARAM_IMAGE, PARAM_IMAGE, &p);

	if (bad)
		return bad_param(in, bad);
	if (!found && needs_lookup(d, peer, p.image))
		return look_up_first(d, peer, "Inquire", p.image, in, call);
	e = find_lease(d, peer, p.image, found, &pending);
	if (pending)
		return reply_lease(lw_acquiring_entry(pending), true);
	reply = reply_lease(e, false);
	/* the backend engine's own state of the lease (paxos: sanlock's, for migration) */
	state = e ? lw_backend_lock_state(d->backend, e->lock) : NULL;
	if (state && reply && json_object_object_get_ex(reply, "parameters", &out))
		json_object_object_add(out, "backend_state", json_object_new_string(state));
	free(state);
	return reply;
}

/* Leases per reply when the caller wants more: a lease's JSON is at most a
 * few KiB (a 4 KiB path, 8 holders), so a reply stays far below a client's
 * cap (16 MiB in liblockwarden) however long the paths, at any table size. */
#define LIST_CHUNK 256

/* List's leases so far; with "more", each full chunk goes out as one reply. */
struct list_out {
	struct lw_call *call;
	struct json_object *leases;
	unsigned int n;
};

static struct json_object *list_reply(struct json_object *leases, bool continues)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "leases", leases);
	return varlink_reply_new(p, continues);
}

static void list_add(struct list_out *out, struct json_object *lease)
{
	if (lw_call_wants_more(out->call) && out->n == LIST_CHUNK) {
		lw_call_continue(out->call, list_reply(out->leases, true));
		out->leases = json_object_new_array();
		out->n = 0;
	}
	json_object_array_add(out->leases, lease);
	out->n++;
}

static struct json_object *list(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in,
				struct lw_call *call)
{
	struct list_out out = { .call = call, .leases = json_object_new_array() };
	struct lw_json_buf text = { 0 };
	struct params unused;
	const char *bad = parse_params(in, 0, 0, &unused);

	if (bad) {
		json_object_put(out.leases);
		return bad_param(in, bad);
	}
	for (struct lw_lease_entry *e = lw_lease_first(d->leases); e; e = e->next)
		if (visible(peer, e))
			list_add(&out, lease_json(&text, e, false));
	for (struct lw_acquiring *a = lw_acquiring_first(d); a; a = lw_acquiring_next(a))
		if (visible(peer, lw_acquiring_entry(a)))
			list_add(&out, lease_json(&text, lw_acquiring_entry(a), true));
	lw_json_buf_free(&text);
	return list_reply(out.leases, false);
}

/* The writers found in a gap of enforcement name images: a caller sees
 * those of the leases it may see only (visible()). */
static void hide_unseen_gap_writers(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *reply)
{
	struct json_object *all = json_object_object_get(reply, "gap_writers"), *seen = json_object_new_array();

	for (size_t i = 0; all && i < json_object_array_length(all); i++) {
		struct json_object *w = json_object_array_get_idx(all, i);
		const struct lw_lease_entry *e =
			lw_lease_by_image(d->leases, json_object_get_string(json_object_object_get(w, "image")));

		if (e && visible(peer, e))
			json_object_array_add(seen, json_object_get(w));
	}
	json_object_object_add(reply, "gap_writers", seen);
}

static struct json_object *status(struct lw_daemon *d, const struct lw_peer *peer, struct json_object *in)
{
	__u64 denials = 0, suppressed = 0, dropped = 0;
	unsigned int adopted, total, max_images, room;
	struct json_object *p, *backend;
	struct params unused;
	struct timespec ts;
	const char *bad = parse_params(in, 0, 0, &unused);

	if (bad)
		return bad_param(in, bad);
	lw_enforcement_counters(d->enforcer, &denials, &suppressed, &dropped);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p = json_object_new_object();
	json_object_object_add(p, "version", json_object_new_string(LOCKWARDEN_VERSION));
	json_object_object_add(p, "backend", json_object_new_string(lw_backend_name(d->backend)));
	json_object_object_add(p, "enforcer", json_object_new_string(lw_enforcement_name(d->enforcer)));
	json_object_object_add(p, "enforcer_limits", json_object_new_string(lw_enforcement_limits(d->enforcer)));
	json_object_object_add(p, "pin_dir", json_object_new_string(lw_enforcement_pin_dir(d->enforcer)));
	json_object_object_add(p, "leases", json_object_new_int64(lw_lease_count(d->leases)));
	if (lw_adopt_running(d, &adopted, &total)) {
		/* after a restart: "leases" counts those adopted so far */
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "adopted", json_object_new_int64(adopted));
		json_object_object_add(a, "total", json_object_new_int64(total));
		json_object_object_add(p, "adopting", a);
	}
	json_object_object_add(p, "pending_acquires", json_object_new_int64(d->nr_acquiring));
	backend = lw_backend_status(d->backend);
	if (backend)
		json_object_object_add(p, "backend_status", backend);
	/* what can be held now: the kernel's table, max_images, or the room
	 * the descriptor limit leaves, whichever is least */
	max_images = lw_enforcement_max_images(d->enforcer);
	if (d->cfg->max_images < max_images)
		max_images = d->cfg->max_images;
	room = lw_leasing_descriptor_room(d);
	if (room < max_images)
		max_images = room;
	json_object_object_add(p, "max_images", json_object_new_int64(max_images));
	json_object_object_add(p, "denials", json_object_new_int64((int64_t)denials));
	json_object_object_add(p, "suppressed", json_object_new_int64((int64_t)suppressed));
	json_object_object_add(p, "ringbuf_dropped", json_object_new_int64((int64_t)dropped));
	json_object_object_add(p, "uptime_usec",
			       json_object_new_int64(((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) -
						     (int64_t)d->start_usec));
	lw_tamper_status(d, p);
	if (!peer->privileged)
		hide_unseen_gap_writers(d, peer, p);
	return varlink_reply_new(p, false);
}

/* A request that waits for the adoption to end (adopt.h). */
struct waiting {
	struct lw_daemon *d;
	const struct lw_peer *peer;	/* the connection's: it outlives the call */
	struct lw_call *call;
	struct json_object *parameters;
	struct lw_adopt_waiter *waiter;
	char member[16];
};

static void waiting_free(struct waiting *w)
{
	json_object_put(w->parameters);
	free(w);
}

static void adoption_over(void *ctx)
{
	struct waiting *w = ctx;
	struct json_object *reply = manager_call(w->d, w->peer, w->member, w->parameters, w->call, NULL);

	/* else the method deferred it again, with its own gone callback */
	if (reply)
		lw_call_reply(w->call, reply);
	waiting_free(w);
}

static void waiting_gone(void *ctx)
{
	struct waiting *w = ctx;

	lw_adopt_cancel(w->d, w->waiter);
	waiting_free(w);
}

/* While leases are adopted after a restart, a request whose answer
 * depends on a lease not yet adopted waits: every change, List, and an
 * Inquire of an image whose lease is not adopted yet (it may yet be
 * dropped). Status, and an Inquire of an adopted lease, are answered. */
static bool waits_for_adoption(struct lw_daemon *d, const struct lw_peer *peer, const char *member,
			       struct json_object *parameters)
{
	struct json_object *image;
	struct lw_acquiring *pending;

	if (!lw_adopt_running(d, NULL, NULL) || strcmp(member, "Status") == 0)
		return false;
	if (strcmp(member, "Inquire") != 0)
		return true;
	/* a malformed Inquire is answered by inquire() itself */
	if (!json_object_object_get_ex(parameters, "image", &image) || !json_object_is_type(image, json_type_string))
		return false;
	/* (another user's lookup is not waited for here: it waits then) */
	return !find_lease(d, peer, json_object_get_string(image), NULL, &pending);
}

static struct json_object *wait_for_adoption(struct lw_daemon *d, const struct lw_peer *peer, const char *member,
					     struct json_object *parameters, struct lw_call *call)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (!w || strlen(member) >= sizeof(w->member)) {
		free(w);
		return lw_error_resource_limit("out of memory");
	}
	*w = (struct waiting){ .d = d, .peer = peer, .call = call, .parameters = json_object_get(parameters) };
	strcpy(w->member, member);
	w->waiter = lw_adopt_wait(d, adoption_over, w);
	if (!w->waiter) {
		waiting_free(w);
		return lw_error_resource_limit("out of memory");
	}
	lw_call_defer(call, waiting_gone, w);
	return NULL;
}

/* The call, with its image's lookup as the caller when done (found), else NULL. */
static struct json_object *manager_call(struct lw_daemon *d, const struct lw_peer *peer, const char *member,
					struct json_object *parameters, struct lw_call *call, struct lw_image_lookup *found)
{
	static const char *const methods[] = { "Acquire", "Release", "Inquire", "List", "Status" };
	bool known = false;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		known |= strcmp(member, methods[i]) == 0;
	if (known && waits_for_adoption(d, peer, member, parameters))
		return wait_for_adoption(d, peer, member, parameters, call);
	if (strcmp(member, "Acquire") == 0)
		return acquire(d, peer, parameters, call, found);
	if (strcmp(member, "Release") == 0)
		return release(d, peer, parameters, call, found);
	if (strcmp(member, "Inquire") == 0)
		return inquire(d, peer, parameters, call, found);
	if (strcmp(member, "List") == 0)
		return list(d, peer, parameters, call);
	if (strcmp(member, "Status") == 0)
		return status(d, peer, parameters);
	return NULL;
}

struct json_object *lw_manager_call(struct lw_daemon *d, const struct lw_peer *peer,
				    const char *member, struct json_object *parameters, struct lw_call *call)
{
	return manager_call(d, peer, member, parameters, call, NULL);
}
