// SPDX-License-Identifier: LGPL-2.1-or-later
/* Pending acquires. See acquiring.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "acquiring.h"
#include "backend.h"
#include "commit.h"
#include "errors.h"
#include "holders.h"

struct lw_acquiring {
	struct lw_daemon *d;
	struct lw_lease_entry *e;	/* not in the table */
	int fd;				/* our copy of the image, for the kernel entry at grant */
	bool fd_path;			/* it is O_PATH (leasing.h, lw_leasing_grant) */
	bool force;
	struct lw_backend_pending *backend;
	lw_acquired_fn later;
	void *ctx;
	LIST_ENTRY(lw_acquiring) link;
	/* waiting for the group commit of a change made already (not listed) */
	bool committing;
	struct lw_commit_waiter wait;
	struct lw_holder who;
	lw_acquire_settle_fn settle;
};

static struct json_object *backend_error(int r, const char *image, const struct lw_err *err)
{
	const char *why = err && err->msg[0] ? err->msg : strerror(-r);

	switch (r) {
	case -EAGAIN:
		return lw_error_lease_held(image, NULL);
	case -ENOENT:
		return lw_error_image_not_found(image, why);
	default:
		return lw_error_backend_failure("%s", why);
	}
}

/* Out of the list, the holder unwatched, our descriptor closed; e stays. */
static void detach(struct lw_acquiring *a)
{
	struct lw_daemon *d = a->d;

	LIST_REMOVE(a, link);
	d->nr_acquiring--;
	lw_holder_unwatch(&a->e->holders[0]);
	close(a->fd);
}

static void backend_done(void *ctx, int result, struct lw_backend_lock *lock, const struct lw_err *err)
{
	struct lw_acquiring *a = ctx;
	struct lw_daemon *d = a->d;
	struct lw_lease_entry *e = a->e;
	struct json_object *error = NULL;
	lw_acquired_fn later = a->later;
	void *later_ctx = a->ctx;
	int fd = a->fd;

	a->fd = -1;
	detach(a);
	if (result < 0) {
		lw_log(LOG_INFO, "acquire %s: the backend refused: %s", e->image, err ? err->msg : strerror(-result));
		error = backend_error(result, e->image, err);
		lw_lease_entry_free(e);
		e = NULL;
	} else {
		/* not a request's batch: committed at once (leasing.h) */
		result = lw_leasing_grant(d, e, fd, a->fd_path, a->force, lock, NULL, NULL, &error);
		if (result < 0)
			e = NULL;	/* freed by grant */
		else
			lw_log(LOG_INFO, "acquire %s: the backend granted it", e->image);
	}
	close(fd);
	free(a);
	later(later_ctx, result, e, error);
}

static void forget(struct lw_acquiring *a)
{
	lw_backend_cancel(a->d->backend, a->backend);
	detach(a);
	lw_lease_entry_free(a->e);
	free(a);
}

struct lw_acquiring *lw_acquiring_waiter_new(struct lw_daemon *d, const struct lw_acquire_request *req)
{
	struct lw_acquiring *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->d = d;
	a->fd = -1;
	a->force = req->force;
	a->later = req->later;
	a->ctx = req->ctx;
	a->committing = true;
	return a;
}

void lw_acquiring_waiter_free(struct lw_acquiring *a)
{
	free(a);
}

static void committed(struct lw_daemon *d, void *ctx, int result, const struct lw_err *err)
{
	struct lw_acquiring *a = ctx;
	struct json_object *error = NULL;

	if (a->settle)
		a->settle(d, a->e, &a->who, a->force, result);	/* a failed grant frees e */
	if (a->later) {
		if (result < 0)
			error = lw_error_backend_failure("%s", err->msg);
		a->later(a->ctx, result, result < 0 ? NULL : a->e, error);
	}
	free(a);
}

void lw_acquiring_wait_commit(struct lw_acquiring *a, struct lw_lease_entry *e, const struct lw_holder *who,
			      lw_acquire_settle_fn settle)
{
	a->e = e;
	a->who = *who;
	a->settle = settle;
	lw_commit_wait(a->d, &a->wait, committed, a);
}

void lw_acquiring_cancel(struct lw_acquiring *a)
{
	if (a->committing) {
		/* the change is made: it commits (or not) all the same, unanswered */
		a->later = NULL;
		return;
	}
	lw_log(LOG_INFO, "acquire %s: cancelled while pending (the client went away)", a->e->image);
	forget(a);
}

void lw_acquiring_abort(struct lw_acquiring *a, struct json_object *error)
{
	lw_acquired_fn later = a->later;
	void *ctx = a->ctx;

	forget(a);
	later(ctx, -ECANCELED, NULL, error);
}

/* The holder it was for went away: nothing to hold it for. */
static void holder_exited(const struct lw_image_key *key, const struct lw_holder *holder, void *ctx)
{
	struct lw_acquiring *a = ctx;
	struct json_object *error;

	(void)key;
	if (holder->kind == LW_HOLDER_CGROUP)
		error = lw_error_invalid_parameter_why("cgroup", "%s was removed while its acquire was pending",
						       lw_lease_holder_cgroup(&a->e->holders[0]));
	else
		error = lw_error_invalid_parameter_why("pid", "process %u exited while its acquire was pending",
						       holder->pid);
	lw_log(LOG_INFO, "acquire %s: cancelled, its holder went away while pending", a->e->image);
	lw_acquiring_abort(a, error);
}

int lw_acquiring_start(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_acquire_request *req,
		       struct lw_acquiring **pending, struct json_object **error)
{
	struct lw_backend_request breq = { .image = e->image, .image_fd = req->fd, .shared = req->shared,
					    .lease = req->lease };
	struct lw_acquiring *a = calloc(1, sizeof(*a));
	struct lw_backend_lock *lock;
	struct lw_err err = { { 0 } };
	int r;

	if (!a) {
		lw_lease_entry_free(e);
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	a->d = d;
	a->e = e;
	a->fd = -1;
	a->force = req->force;
	a->later = req->later;
	a->ctx = req->ctx;
	r = lw_backend_acquire(d->backend, &breq, req->later ? backend_done : NULL, a, &lock, &a->backend, &err);
	if (r == 0) {
		free(a);
		return lw_leasing_grant(d, e, req->fd, req->key != NULL, req->force, lock, req->later ? req : NULL,
					pending, error);
	}
	if (r != -EINPROGRESS) {
		*error = backend_error(r, e->image, &err);
		goto fail;
	}
	a->fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 3);
	a->fd_path = req->key != NULL;
	if (a->fd < 0) {
		r = -errno;
		*error = lw_error_backend_failure("cannot keep the image open while the backend answers: %s",
						  strerror(errno));
		goto cancel;
	}
	r = lw_holder_watch(d->event, e, &e->holders[0], holder_exited, a);
	if (r < 0) {
		*error = lw_error_invalid_parameter_why("pid", "process %u exited", e->holders[0].id.pid);
		goto cancel;
	}
	LIST_INSERT_HEAD(&d->acquiring, a, link);
	d->nr_acquiring++;
	*pending = a;
	lw_log(LOG_INFO, "acquire %s: pending, the backend answers later", e->image);
	return -EINPROGRESS;
cancel:
	lw_backend_cancel(d->backend, a->backend);
	if (a->fd >= 0)
		close(a->fd);
fail:
	lw_lease_entry_free(e);
	free(a);
	return r;
}

struct lw_acquiring *lw_acquiring_find(struct lw_daemon *d, const struct lw_image_key *key, const char *image)
{
	struct lw_acquiring *a;

	LIST_FOREACH(a, &d->acquiring, link)
		if ((a->e->key.dev == key->dev && a->e->key.ino == key->ino) || strcmp(a->e->image, image) == 0)
			return a;
	return NULL;
}

unsigned int lw_acquiring_count_uid(struct lw_daemon *d, uid_t uid)
{
	const struct lw_acquiring *a;
	unsigned int n = 0;

	LIST_FOREACH(a, &d->acquiring, link)
		n += a->e->holders[0].uid == uid;
	return n;
}

struct lw_acquiring *lw_acquiring_first(struct lw_daemon *d)
{
	return LIST_FIRST(&d->acquiring);
}

struct lw_acquiring *lw_acquiring_next(const struct lw_acquiring *a)
{
	return LIST_NEXT(a, link);
}

const struct lw_lease_entry *lw_acquiring_entry(const struct lw_acquiring *a)
{
	return a->e;
}
