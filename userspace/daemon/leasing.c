// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lease transactions: taking leases, and the state and audit steps every
 * transaction shares (giving them up: leasing_release.c). See leasing.h for
 * the order of steps and why. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/fd_reopen.h"
#include "common/fd_stat.h"
#include "acquiring.h"
#include "backend.h"
#include "commit.h"
#include "common/enforcement.h"
#include "errors.h"
#include "holders.h"
#include "image_open.h"
#include "keeper.h"
#include "keeping.h"
#include "lease.h"
#include "leasing.h"
#include "server.h"
#include "state.h"

/* The wall clock when the loop woke for this change: sd-event read it
 * already (else a read of our own). */
static __u64 now_realtime_usec(const struct lw_daemon *d)
{
	struct timespec ts;
	uint64_t usec;

	if (d->event && sd_event_now(d->event, CLOCK_REALTIME, &usec) >= 0)
		return usec;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000u + (__u64)ts.tv_nsec / 1000u;
}

/* Queue the record of e's change: ended when e has left the table. */
int lw_leasing_stage(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err)
{
	if (!d->state)
		return lw_err_set(err, EBADF, "state: not open");
	return lw_state_append(d->state, e, lw_lease_by_image(d->leases, e->image) != e, err);
}

int lw_leasing_save(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err)
{
	int r = e ? lw_leasing_stage(d, e, err) : 0;

	if (r < 0) {
		lw_log(LOG_ERR, "%s", err->msg);
		return r;
	}
	return d->state ? lw_commit_flush(d, err) : 0;
}

void lw_leasing_audit(struct lw_daemon *d, const struct lw_lease_entry *e,
		      const struct lw_lease_holder *h, enum lw_lease_event what, const char *reason)
{
	struct lw_audit_lease_record rec = {
		.event = what,
		.image = e->image,
		.key = &e->key,
		.mode = e->mode,
		.holder = &h->id,
		.holder_comm = h->comm[0] ? h->comm : NULL,
		.holder_cgroup = h->cgroup,
		.reason = reason,
		.time_ns = (int64_t)now_realtime_usec(d) * 1000,
	};

	if (d->audit && lw_audit_lease_event(d->audit, &rec) < 0)
		lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
}

/* The group commit's word on a join (acquiring.h). */
static void settle_join(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_holder *who, bool force,
			int result)
{
	int idx = lw_lease_find_holder(e, who);

	(void)force;
	if (idx < 0)
		return;
	if (result == 0) {
		lw_leasing_audit(d, e, &e->holders[idx], LW_LEASE_ACQUIRE, NULL);
		return;
	}
	lw_holder_unwatch(&e->holders[idx]);
	lw_enforcement_remove_holder(d->enforcer, &e->key, who);
	lw_lease_drop_holder(e, (unsigned int)idx);
}

/* Join an existing shared lease as one more holder; with a waiter a (group
 * commit), -EINPROGRESS once the change is staged. */
static int join_shared(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_lease_holder *holder,
		       struct lw_acquiring *a, struct json_object **error)
{
	struct lw_lease_holder *h;
	struct lw_err err;
	int r;

	if (e->nr_holders >= LW_MAX_HOLDERS) {
		*error = lw_error_capacity_exceeded_why(LW_MAX_HOLDERS, "the shared lease of %s has %u holders, "
							"the most one lease may have", e->image, LW_MAX_HOLDERS);
		return -E2BIG;
	}
	r = lw_enforcement_add_holder(d->enforcer, &e->key, &holder->id);
	if (r < 0) {
		*error = lw_error_backend_failure("enforcer: %s", lw_enforcement_error(d->enforcer));
		return r;
	}
	h = lw_lease_new_holder(e);
	if (!h) {
		lw_enforcement_remove_holder(d->enforcer, &e->key, &holder->id);
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	lw_lease_holder_copy(h, holder);
	r = lw_holder_watch(d->event, e, h, lw_leasing_holder_exited, d);
	if (r < 0) {
		*error = lw_error_invalid_parameter_why("pid", "process %u exited", holder->id.pid);
		goto undo;
	}
	r = a ? lw_leasing_stage(d, e, &err) : lw_leasing_save(d, e, &err);
	if (r < 0) {
		*error = lw_error_backend_failure("%s", err.msg);
		goto undo;
	}
	if (a) {
		lw_acquiring_wait_commit(a, e, &holder->id, settle_join);
		return -EINPROGRESS;
	}
	lw_leasing_audit(d, e, h, LW_LEASE_ACQUIRE, NULL);
	return 0;
undo:
	lw_holder_unwatch(h);
	lw_enforcement_remove_holder(d->enforcer, &e->key, &holder->id);
	lw_lease_drop_holder(e, e->nr_holders - 1);
	return r;
}

static struct json_object *enforcer_error(struct lw_daemon *d, int r, const char *image,
					  const struct lw_writer *writer)
{
	switch (r) {
	case -EBUSY:
		if (!writer->pid)
			return lw_error_image_busy(image, 0, "(a writer in no descriptor table, e.g. a shared writable mapping)");
		return lw_error_image_busy(image, (int)writer->pid, writer->comm);
	case -EEXIST:
		return lw_error_lease_held(image, NULL);
	case -ENOSPC:
		return lw_error_capacity_exceeded(lw_enforcement_max_images(d->enforcer));
	case -EOPNOTSUPP:	/* e.g. a block device under fanotify */
		return lw_error_invalid_parameter_why("image", "the %s enforcer cannot guard this image: %s",
						      lw_enforcement_name(d->enforcer),
						      lw_enforcement_error(d->enforcer));
	default:
		return lw_error_backend_failure("enforcer: %s", lw_enforcement_error(d->enforcer));
	}
}

/* The descriptor the enforcer adds the lease with. The lock's, when it is
 * the image itself open for write (the fcntl backend in direct mode, which
 * says so): the enforcer's writers check then sees that the image's one
 * write opener is ours without walking every open file on the host. Else
 * the image's, opened for read now if it is O_PATH (fd_path; *opened then,
 * to close), after the lease checks. Where readers matter (the fanotify
 * enforcer's write lease on the lock, fan_lease_probe.c) an image
 * descriptor open for read becomes an O_PATH one at the same number, which
 * opens nothing; if that fails, the enforcer only walks /proc. */
static int enforcement_fd(const struct lw_daemon *d, int image_fd, bool fd_path,
			  const struct lw_backend_lock *lock, int *opened)
{
	int name;

	*opened = -1;
	if (!lw_backend_lock_writes_image(lock))
		return fd_path ? (*opened = lw_image_open_read(image_fd)) : image_fd;
	if (!fd_path && lw_enforcement_readers_block_add(d->enforcer)) {
		name = lw_reopen(image_fd, O_PATH | O_CLOEXEC);
		if (name >= 0) {
			dup3(name, image_fd, O_CLOEXEC);
			close(name);
		}
	}
	return lw_backend_lock_keep_fd(lock);
}

/* Undo a grant in reverse and free e (the backend lets go of its lock
 * first; nothing to audit: the lease never was). */
static void ungrant(struct lw_daemon *d, struct lw_lease_entry *e, bool kernel, bool kept, bool inserted)
{
	for (unsigned int i = 0; i < e->nr_holders; i++)
		lw_holder_unwatch(&e->holders[i]);
	if (inserted)
		lw_lease_table_remove(d->leases, e);
	if (kernel)
		lw_enforcement_remove_lease(d->enforcer, &e->key);
	if (kept)
		lw_keeping_drop(d, e->image);
	/* the image stays refused until the backend let go; frees e */
	lw_releasing_start(d, e, &(struct lw_release_record){ .who = NULL }, NULL, NULL, NULL);
}

/* The group commit's word on a grant (acquiring.h). */
static void settle_grant(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_holder *who, bool force,
			 int result)
{
	(void)who;
	if (result == 0)
		lw_leasing_audit(d, e, &e->holders[0], LW_LEASE_ACQUIRE, force ? "forced" : NULL);
	else
		ungrant(d, e, true, lw_backend_lock_keep_fd(e->lock) >= 0, true);
}

int lw_leasing_grant(struct lw_daemon *d, struct lw_lease_entry *e, int fd, bool fd_path, bool force,
		     struct lw_backend_lock *lock, const struct lw_acquire_request *req,
		     struct lw_acquiring **pending, struct json_object **error)
{
	int keep_fd = lw_backend_lock_keep_fd(lock), enforced_fd, opened;
	unsigned int flags;
	struct lw_writer writer = { 0 };
	bool kernel = false, kept = false, inserted = false;
	struct lw_acquiring *a = NULL;
	struct lw_err err;
	int r = 0;

	*error = NULL;
	e->lock = lock;
	r = lw_lease_set_lock_id(e, lw_backend_lock_id(lock));
	if (r < 0) {
		*error = lw_error_backend_failure("out of memory");
		goto cleanup;
	}
	if (req && pending && lw_commit_enabled(d)) {
		a = lw_acquiring_waiter_new(d, req);
		if (!a) {
			r = -ENOMEM;
			*error = lw_error_backend_failure("out of memory");
			goto cleanup;
		}
	} else if (lw_commit_enabled(d)) {
		/* committed at once: the batch before it first (commit.h) */
		lw_commit_flush(d, NULL);
	}
	/* the keeper gets its copy before the lease exists in the kernel, or
	 * sent unanswered where it may receive it later (keeping.h) */
	if (keep_fd >= 0) {
		r = lw_keeping_put(d, e->image, keep_fd);
		if (r < 0) {
			*error = lw_error_backend_failure("keeper: cannot keep the lock: %s", strerror(-r));
			goto cleanup;
		}
		kept = true;
	}
	/* the enforcer's writers check counts the keeper's copy as ours */
	enforced_fd = enforcement_fd(d, fd, fd_path, lock, &opened);
	if (enforced_fd < 0) {
		r = enforced_fd;
		*error = lw_error_image_not_found(e->image, strerror(-r));
		goto cleanup;
	}
	/* e->key: fd's, from lw_leasing_acquire (enforced_fd is the same file) */
	flags = LW_LEASE_KEYED | (force ? LW_LEASE_FORCE : 0);
	r = lw_enforcement_add_lease(d->enforcer, enforced_fd, e->mode, &e->holders[0].id, flags, &e->key,
				     &writer);
	/* a copy of an earlier lock of this image may still be on its way to
	 * the keeper (in no descriptor table) or not yet dropped: once the
	 * keeper has answered everything, look again */
	if (r == -EBUSY && lw_keeping_settle(d) > 0)
		r = lw_enforcement_add_lease(d->enforcer, enforced_fd, e->mode, &e->holders[0].id, flags,
					     &e->key, &writer);
	if (opened >= 0)
		close(opened);
	if (r < 0) {
		*error = enforcer_error(d, r, e->image, &writer);
		goto cleanup;
	}
	kernel = true;
	lw_lease_table_insert(d->leases, e);
	inserted = true;
	r = lw_holder_watch(d->event, e, &e->holders[0], lw_leasing_holder_exited, d);
	if (r < 0) {
		*error = lw_error_invalid_parameter_why("pid", "process %u exited", e->holders[0].id.pid);
		goto cleanup;
	}
	r = a ? lw_leasing_stage(d, e, &err) : lw_leasing_save(d, e, &err);
	if (r < 0) {
		*error = lw_error_backend_failure("%s", err.msg);
		goto cleanup;
	}
	if (a) {
		lw_acquiring_wait_commit(a, e, &e->holders[0].id, settle_grant);
		*pending = a;
		return -EINPROGRESS;
	}
	lw_leasing_audit(d, e, &e->holders[0], LW_LEASE_ACQUIRE, force ? "forced" : NULL);
	return 0;
cleanup:
	if (a)
		lw_acquiring_waiter_free(a);
	ungrant(d, e, kernel, kept, inserted);
	return r;
}

/* A lease (granted or pending) on image or on the file fd names. */
static int existing(struct lw_daemon *d, const struct lw_acquire_request *req, const struct lw_image_key *key,
		    struct lw_lease_entry **out, struct lw_acquiring **pending, struct json_object **error)
{
	struct lw_acquiring *waiter = NULL;
	struct lw_lease_entry *e = lw_lease_by_key(d->leases, key);
	struct lw_acquiring *p;
	int r;

	*out = NULL;
	/* a lease taken under this path on another file (since renamed away
	 * or replaced): never joined nor answered as this file's, which would
	 * leave this one unprotected; the table keeps one lease a path */
	if (!e && (e = lw_lease_by_image(d->leases, req->image))) {
		*error = lw_error_invalid_parameter_why("image", "%s names another file than the one leased under "
							"this path (renamed or replaced since): release that lease "
							"first", req->image);
		return -EEXIST;
	}
	/* a named lease reaches the backend only with a new lease: a join
	 * would ignore it, so it is refused here instead */
	if (e && req->lease && req->lease[0] && lw_lease_find_holder(e, &req->holder->id) < 0) {
		struct lw_err why;

		if (lw_backend_check_lease(d->backend, req->lease, &why) < 0)
			*error = lw_error_backend_failure("%s", why.msg);
		else if (req->shared && e->mode == LW_LEASE_SHARED)
			*error = lw_error_backend_failure("%s is leased already: join its shared lease without lease=",
							  req->image);
		if (*error)
			return -EINVAL;
	}
	if (!e && lw_releasing_busy(d, key, req->image)) {
		*error = lw_error_lease_held(req->image, NULL);
		if (*error)
			json_object_object_add(json_object_object_get(*error, "parameters"), "releasing",
					       json_object_new_boolean(1));
		return -EAGAIN;
	}
	if (!e) {
		p = lw_acquiring_find(d, key, req->image);
		if (!p)
			return 1;
		*error = lw_error_lease_held(req->image, lw_acquiring_entry(p));
		if (*error)
			json_object_object_add(json_object_object_get(*error, "parameters"), "pending",
					       json_object_new_boolean(1));
		return -EAGAIN;
	}
	/* a change, or an answer about one, waits for the batch (commit.h) */
	if (req->later && lw_commit_enabled(d) &&
	    (lw_commit_pending(d) || lw_lease_find_holder(e, &req->holder->id) < 0)) {
		waiter = lw_acquiring_waiter_new(d, req);
		if (!waiter) {
			*error = lw_error_backend_failure("out of memory");
			return -ENOMEM;
		}
	}
	if (lw_lease_find_holder(e, &req->holder->id) >= 0) {
		/* asking again for what one holds is not an error */
		r = 0;
		if (waiter) {
			lw_acquiring_wait_commit(waiter, e, &req->holder->id, NULL);
			r = -EINPROGRESS;
		}
	} else if (req->shared && e->mode == LW_LEASE_SHARED) {
		r = join_shared(d, e, req->holder, waiter, error);
	} else {
		*error = lw_error_lease_held(req->image, e);
		r = -EAGAIN;
	}
	if (r == -EINPROGRESS)
		*pending = waiter;
	else if (waiter)
		lw_acquiring_waiter_free(waiter);
	if (r == 0)
		*out = e;
	return r;
}

unsigned int lw_leasing_descriptor_room(const struct lw_daemon *d)
{
	unsigned long long kept, room;

	if (!d->fd_limit)
		return UINT_MAX;
	kept = d->fd_reserved + (d->server ? 2ull * lw_server_connections(d->server) : 0) +
	       (unsigned long long)d->fd_per_holder * lw_holder_watch_pidfds();
	if (d->fd_limit <= kept)
		return 0;
	if (!d->fd_per_lease)
		return UINT_MAX;
	room = (d->fd_limit - kept) / d->fd_per_lease;
	return room < UINT_MAX ? (unsigned int)room : UINT_MAX;
}

unsigned int lw_leasing_kept_for_root(const struct lw_daemon *d)
{
	return d->cfg->max_images > 1 ? (d->cfg->max_images + 63) / 64 : 0;
}

int lw_leasing_acquire(struct lw_daemon *d, const struct lw_acquire_request *req, struct lw_lease_entry **out,
		       struct lw_acquiring **pending, struct json_object **error)
{
	struct lw_image_key key;
	struct lw_lease_entry *e;
	unsigned int room;
	int r;

	*error = NULL;
	*pending = NULL;
	if (req->key)
		key = *req->key;
	else if ((r = lw_enforcement_key_of_fd(d->enforcer, req->fd, &key)) < 0) {
		*error = lw_error_backend_failure("enforcer: %s", lw_enforcement_error(d->enforcer));
		return r;
	}
	r = existing(d, req, &key, out, pending, error);
	if (r <= 0)
		return r;
	if (lw_lease_count(d->leases) + d->nr_acquiring >= d->cfg->max_images) {
		*error = lw_error_capacity_exceeded(d->cfg->max_images);
		return -ENOSPC;
	}
	/* users together (each is capped: max_leases_per_uid) leave the last
	 * images of the table to root and the admin group */
	if (!req->privileged &&
	    lw_lease_count(d->leases) + d->nr_acquiring >= d->cfg->max_images - lw_leasing_kept_for_root(d)) {
		*error = lw_error_capacity_exceeded_why(d->cfg->max_images, "the last %u of %u images are kept for "
							"root and the admin group", lw_leasing_kept_for_root(d),
							d->cfg->max_images);
		return -ENOSPC;
	}
	room = lw_leasing_descriptor_room(d);
	if (lw_lease_count(d->leases) + d->nr_acquiring >= room) {
		lw_log(LOG_ERR, "acquire %s refused: the descriptor limit %llu leaves room for %u leases "
		       "(lockwardend(8), descriptors): raise LimitNOFILE (ulimit -n)", req->image, d->fd_limit, room);
		*error = lw_error_resource_limit("the descriptor limit (%llu) leaves room for %u leases: "
						 "raise lockwardend's LimitNOFILE (ulimit -n)", d->fd_limit, room);
		return -ENOSPC;
	}
	e = lw_lease_entry_new();
	if (!e) {
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	if (lw_lease_set_image(e, req->image) < 0) {
		lw_lease_entry_free(e);
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	e->key = key;
	e->mode = req->shared ? LW_LEASE_SHARED : LW_LEASE_EXCLUSIVE;
	snprintf(e->backend, sizeof(e->backend), "%s", lw_backend_name(d->backend));
	e->acquired_usec = now_realtime_usec(d);
	lw_lease_holder_copy(&e->holders[0], req->holder);
	e->nr_holders = 1;
	/* e is the backend step's now: in the table once granted, else freed */
	r = lw_acquiring_start(d, e, req, pending, error);
	if (r == 0)
		*out = e;
	return r;
}
