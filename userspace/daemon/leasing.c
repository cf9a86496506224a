// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lease transactions. See leasing.h for the order of steps and why. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "acquiring.h"
#include "backend.h"
#include "common/enforcement.h"
#include "errors.h"
#include "holders.h"
#include "keeper.h"
#include "keeping.h"
#include "lease.h"
#include "leasing.h"
#include "state.h"

static __u64 now_realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000u + (__u64)ts.tv_nsec / 1000u;
}

/* Queue the record of e's change: ended when e has left the table. */
static int stage(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err)
{
	if (!d->state)
		return lw_err_set(err, EBADF, "state: not open");
	return lw_state_append(d->state, e, lw_lease_by_image(d->leases, e->image) != e, err);
}

int lw_leasing_save(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err)
{
	int r = e ? stage(d, e, err) : 0;

	if (r == 0 && d->state)
		r = lw_state_commit(d->state, d->leases, err);
	if (r < 0)
		lw_log(LOG_ERR, "%s", err->msg);
	return r;
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
		.holder_cgroup = h->cgroup[0] ? h->cgroup : NULL,
		.reason = reason,
	};

	if (d->audit && lw_audit_lease_event(d->audit, &rec) < 0)
		lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
}

/* Join an existing shared lease as one more holder. */
static int join_shared(struct lw_daemon *d, struct lw_lease_entry *e,
		       const struct lw_lease_holder *holder, struct json_object **error)
{
	struct lw_lease_holder *h;
	struct lw_err err;
	int r;

	if (e->nr_holders >= LW_MAX_HOLDERS) {
		*error = lw_error_capacity_exceeded(LW_MAX_HOLDERS);
		return -E2BIG;
	}
	r = lw_enforcement_add_holder(d->enforcer, &e->key, &holder->id);
	if (r < 0) {
		*error = lw_error_backend_failure("enforcer: %s", lw_enforcement_error(d->enforcer));
		return r;
	}
	h = &e->holders[e->nr_holders++];
	*h = *holder;
	h->pidfd = -1;
	h->watch = NULL;
	r = lw_holder_watch(d->event, e, h, lw_leasing_holder_exited, d);
	if (r < 0) {
		*error = lw_error_invalid_parameter_why("pid", "process %u exited", holder->id.pid);
		goto undo;
	}
	r = lw_leasing_save(d, e, &err);
	if (r < 0) {
		*error = lw_error_backend_failure("%s", err.msg);
		goto undo;
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

int lw_leasing_grant(struct lw_daemon *d, struct lw_lease_entry *e, int fd, bool force,
		     struct lw_backend_lock *lock, struct json_object **error)
{
	int keep_fd = lw_backend_lock_keep_fd(lock);
	struct lw_writer writer = { 0 };
	bool kernel = false, kept = false, inserted = false;
	struct lw_err berr, err;
	int r = 0;

	*error = NULL;
	e->lock = lock;
	snprintf(e->lock_id, sizeof(e->lock_id), "%s", lw_backend_lock_id(lock));
	/* the keeper gets its copy before the lease exists in the kernel */
	if (keep_fd >= 0) {
		r = lw_keeping_put(d, e->image, keep_fd);
		if (r < 0) {
			*error = lw_error_backend_failure("keeper: cannot keep the lock: %s", strerror(-r));
			goto cleanup;
		}
		kept = true;
	}
	/* the enforcer's writers check counts the keeper's copy as ours */
	r = lw_enforcement_add_lease(d->enforcer, fd, e->mode, &e->holders[0].id,
				     force ? LW_LEASE_FORCE : 0, &e->key, &writer);
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
	r = lw_leasing_save(d, e, &err);
	if (r < 0) {
		*error = lw_error_backend_failure("%s", err.msg);
		goto cleanup;
	}
	lw_leasing_audit(d, e, &e->holders[0], LW_LEASE_ACQUIRE, force ? "forced" : NULL);
	return 0;
cleanup:
	/* roll back in reverse */
	lw_holder_unwatch(&e->holders[0]);
	if (inserted)
		lw_lease_table_remove(d->leases, e);
	if (kernel)
		lw_enforcement_remove_lease(d->enforcer, &e->key);
	if (kept)
		lw_keeper_drop(d->keeper, e->image);
	if (lw_backend_release(d->backend, e->lock, &berr) < 0)
		lw_log(LOG_ERR, "acquire %s: %s", e->image, berr.msg);
	free(e);
	return r;
}

/* A lease (granted or pending) on image or on the file fd names. */
static int existing(struct lw_daemon *d, const struct lw_acquire_request *req, const struct lw_image_key *key,
		    struct lw_lease_entry **out, struct json_object **error)
{
	struct lw_lease_entry *e = lw_lease_by_key(d->leases, key);
	struct lw_acquiring *p;
	int r;

	*out = NULL;
	if (!e)
		e = lw_lease_by_image(d->leases, req->image);
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
	if (lw_lease_find_holder(e, &req->holder->id) >= 0)
		r = 0;	/* asking again for what one holds is not an error */
	else if (req->shared && e->mode == LW_LEASE_SHARED)
		r = join_shared(d, e, req->holder, error);
	else {
		*error = lw_error_lease_held(req->image, e);
		r = -EAGAIN;
	}
	if (r == 0)
		*out = e;
	return r;
}

int lw_leasing_acquire(struct lw_daemon *d, const struct lw_acquire_request *req, struct lw_lease_entry **out,
		       struct lw_acquiring **pending, struct json_object **error)
{
	struct lw_image_key key;
	struct lw_lease_entry *e;
	int r;

	*error = NULL;
	*pending = NULL;
	r = lw_enforcement_key_of_fd(d->enforcer, req->fd, &key);
	if (r < 0) {
		*error = lw_error_backend_failure("enforcer: %s", lw_enforcement_error(d->enforcer));
		return r;
	}
	r = existing(d, req, &key, out, error);
	if (r <= 0)
		return r;
	if (lw_lease_count(d->leases) + d->nr_acquiring >= d->cfg->max_images) {
		*error = lw_error_capacity_exceeded(d->cfg->max_images);
		return -ENOSPC;
	}
	e = lw_lease_entry_new();
	if (!e) {
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	snprintf(e->image, sizeof(e->image), "%s", req->image);
	e->key = key;
	e->mode = req->shared ? LW_LEASE_SHARED : LW_LEASE_EXCLUSIVE;
	snprintf(e->backend, sizeof(e->backend), "%s", lw_backend_name(d->backend));
	e->acquired_usec = now_realtime_usec();
	e->holders[0] = *req->holder;
	e->holders[0].pidfd = -1;
	e->holders[0].watch = NULL;
	e->nr_holders = 1;
	/* e is the backend step's now: in the table once granted, else freed */
	r = lw_acquiring_start(d, e, req, pending, error);
	if (r == 0)
		*out = e;
	return r;
}

/* One holder leaving a lease. Release is two steps around the state file
 * (the commit point): detach takes the holder (or, for the last one, the
 * whole lease) out of the table; finish then lifts it from the kernel, the
 * keeper and the backend, and audits. */
struct leaving {
	struct lw_lease_entry *e;
	struct lw_lease_holder gone;
	bool ended;		/* the last holder left: e is out of the table, finish frees it */
};

static void detach(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx, struct leaving *l)
{
	l->e = e;
	lw_holder_unwatch(&e->holders[idx]);
	l->gone = e->holders[idx];
	l->ended = e->nr_holders == 1;
	if (l->ended)
		lw_lease_table_remove(d->leases, e);
	else
		lw_lease_drop_holder(e, idx);
}

/* The state file could not be written and the holder is alive: put it back. */
static void undo_detach(struct lw_daemon *d, struct leaving *l)
{
	struct lw_lease_holder *h;

	if (l->ended) {
		lw_lease_table_insert(d->leases, l->e);
		h = &l->e->holders[0];
	} else {
		h = &l->e->holders[l->e->nr_holders++];
		*h = l->gone;
	}
	lw_holder_watch(d->event, l->e, h, lw_leasing_holder_exited, d);
}

static void finish(struct lw_daemon *d, struct leaving *l, enum lw_lease_event why, const char *reason)
{
	struct lw_lease_entry *e = l->e;
	struct lw_err berr;

	if (!l->ended) {
		if (lw_enforcement_remove_holder(d->enforcer, &e->key, &l->gone.id) < 0)
			lw_log(LOG_ERR, "release %s: %s", e->image, lw_enforcement_error(d->enforcer));
		lw_leasing_audit(d, e, &l->gone, why, reason);
		return;
	}
	if (lw_enforcement_remove_lease(d->enforcer, &e->key) < 0)
		lw_log(LOG_ERR, "release %s: %s", e->image, lw_enforcement_error(d->enforcer));
	/* drop it always: the keeper may hold the only copy (e->lock NULL after a restart) */
	if (lw_keeper_drop(d->keeper, e->image) < 0)
		lw_log(LOG_ERR, "release %s: the keeper did not drop its copy of the lock", e->image);
	if (lw_backend_release(d->backend, e->lock, &berr) < 0)
		lw_log(LOG_ERR, "release %s: %s", e->image, berr.msg);
	e->lock = NULL;
	lw_leasing_audit(d, e, &l->gone, why, reason);
	free(e);
}

int lw_leasing_release(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx,
		       enum lw_lease_event why, const char *reason, struct json_object **error)
{
	struct leaving l;
	struct lw_err err;
	int r;

	*error = NULL;
	detach(d, e, idx, &l);
	r = lw_leasing_save(d, e, &err);
	if (r < 0 && why != LW_LEASE_HOLDER_DEATH) {
		undo_detach(d, &l);
		*error = lw_error_backend_failure("%s", err.msg);
		return r;
	}
	finish(d, &l, why, reason);
	return 0;
}

/* Holders that exited, released a batch at a time: a holder
 * of thousands of leases must not stop the daemon answering others, and the
 * state file is written once a batch, not once a lease. */
#define EXIT_BATCH 32

struct exited {
	struct exited *next;
	struct lw_holder holder;
	char image[];
};

struct lw_exit_queue {
	struct lw_daemon *d;
	struct exited *head, *tail;
	sd_event_source *source;	/* a timer due now while the queue is not empty */
};

/* A timer due at once rather than a defer source: sd-event keeps a defer
 * source ahead of every younger pending event of its priority, while a
 * timer that fires now queues behind the clients' requests already pending,
 * so batches and requests take turns. */
static void next_batch(struct lw_exit_queue *q)
{
	sd_event_source_set_time_relative(q->source, 0);
	sd_event_source_set_enabled(q->source, SD_EVENT_ONESHOT);
}

static int release_exited_batch(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_exit_queue *q = userdata;
	struct lw_daemon *d = q->d;
	struct leaving *batch = calloc(EXIT_BATCH, sizeof(*batch));
	unsigned int n = 0;
	struct lw_err err;

	(void)s;
	(void)usec;
	if (!batch) {
		next_batch(q);	/* out of memory: try again */
		return 0;
	}
	while (q->head && n < EXIT_BATCH) {
		struct exited *x = q->head;
		struct lw_lease_entry *e = lw_lease_by_image(d->leases, x->image);
		int idx = e ? lw_lease_find_holder(e, &x->holder) : -1;

		q->head = x->next;
		if (!q->head)
			q->tail = NULL;
		/* gone already: released by the holder's own call, or the lease ended */
		if (idx >= 0) {
			if (x->holder.kind == LW_HOLDER_CGROUP)
				lw_log(LOG_INFO, "holder cgroup %s of %s was removed: releasing",
				       e->holders[idx].cgroup, x->image);
			else
				lw_log(LOG_INFO, "holder pid %u of %s exited: releasing", x->holder.pid, x->image);
			detach(d, e, (unsigned int)idx, &batch[n++]);
			if (stage(d, e, &err) < 0)
				lw_log(LOG_ERR, "%s", err.msg);
		}
		free(x);
	}
	if (n)
		lw_leasing_save(d, NULL, &err);	/* dead holders go even if this fails (logged) */
	/* holders leaving a lease that stays first: an entry that ended later
	 * in the batch is freed only in the second pass */
	for (unsigned int i = 0; i < n; i++)
		if (!batch[i].ended)
			finish(d, &batch[i], LW_LEASE_HOLDER_DEATH, NULL);
	for (unsigned int i = 0; i < n; i++)
		if (batch[i].ended)
			finish(d, &batch[i], LW_LEASE_HOLDER_DEATH, NULL);
	free(batch);
	if (q->head)
		next_batch(q);
	return 0;
}

static void free_exit_queue(void *userdata)
{
	struct lw_exit_queue *q = userdata;

	while (q->head) {
		struct exited *x = q->head;

		q->head = x->next;
		free(x);
	}
	free(q);
}

static struct lw_exit_queue *exit_queue(struct lw_daemon *d)
{
	struct lw_exit_queue *q;

	if (d->exits)
		return d->exits;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	/* floating: the loop owns it and frees the queue when it goes */
	q->d = d;
	if (sd_event_add_time_relative(d->event, &q->source, CLOCK_MONOTONIC, 0, 0, release_exited_batch, q) < 0) {
		free(q);
		return NULL;
	}
	sd_event_source_set_destroy_callback(q->source, free_exit_queue);
	sd_event_source_set_enabled(q->source, SD_EVENT_OFF);
	sd_event_source_set_floating(q->source, 1);
	/* the loop's reference is the only one: q->source is borrowed from now on */
	sd_event_source_unref(q->source);
	d->exits = q;
	return q;
}

void lw_leasing_holder_exited(const char *image, const struct lw_holder *holder, void *ctx)
{
	struct lw_daemon *d = ctx;
	struct lw_lease_entry *e = lw_lease_by_image(d->leases, image);
	struct lw_exit_queue *q = exit_queue(d);
	size_t len = strlen(image) + 1;
	struct exited *x;
	struct json_object *error = NULL;

	if (!e || lw_lease_find_holder(e, holder) < 0)
		return;
	x = q ? malloc(sizeof(*x) + len) : NULL;
	if (!x) {
		/* out of memory: release this one now rather than never */
		lw_leasing_release(d, e, (unsigned int)lw_lease_find_holder(e, holder),
				   LW_LEASE_HOLDER_DEATH, NULL, &error);
		json_object_put(error);
		return;
	}
	x->next = NULL;
	x->holder = *holder;
	memcpy(x->image, image, len);
	if (q->tail)
		q->tail->next = x;
	else
		q->head = x;
	q->tail = x;
	if (x == q->head)
		next_batch(q);
}

/* SIGKILL a process holder (through its pidfd: never a reused pid) or every
 * process of a cgroup holder (cgroup.kill). */
static void stop_holder(const struct lw_lease_holder *h)
{
	char path[LW_PATH_MAX + 16];
	int fd;

	if (h->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
		return;
	}
	if (!h->cgroup[0] || (size_t)snprintf(path, sizeof(path), "%s/cgroup.kill", h->cgroup) >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			lw_log(LOG_ERR, "cannot stop the processes of cgroup %s: %s", h->cgroup, strerror(errno));
		close(fd);
	}
}

void lw_leasing_lost(void *ctx, struct lw_backend_lock *lock, const struct lw_err *err)
{
	struct lw_daemon *d = ctx;
	struct lw_lease_entry *e;
	struct json_object *error = NULL;

	for (e = lw_lease_first(d->leases); e && e->lock != lock; e = e->next)
		;
	if (!e)
		return;
	lw_log(LOG_WARNING, "lease on %s lost: %s", e->image, err->msg);
	/* fencing: the holders are stopped before their kernel entry goes */
	for (unsigned int i = 0; i < e->nr_holders; i++)
		stop_holder(&e->holders[i]);
	/* the last holder's release ends the lease and frees e */
	for (unsigned int n = e->nr_holders; n > 0; n--) {
		if (lw_leasing_release(d, e, n - 1, LW_LEASE_FORCED_RELEASE, err->msg, &error) < 0) {
			lw_log(LOG_ERR, "lease on %s lost, but its end could not be recorded", e->image);
			json_object_put(error);
			return;
		}
	}
}
