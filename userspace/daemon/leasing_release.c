// SPDX-License-Identifier: LGPL-2.1-or-later
/* Giving up leases: a holder's release, holders that exited (in batches),
 * and leases the backend lost. See leasing.h. */
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
#include "commit.h"
#include "common/enforcement.h"
#include "errors.h"
#include "holders.h"
#include "keeper.h"
#include "keeping.h"
#include "lease.h"
#include "leasing.h"
#include "state.h"

/* One holder leaving a lease. Release is two steps around the state file
 * (the commit point): detach takes the holder (or, for the last one, the
 * whole lease) out of the table; finish then lifts it from the kernel, the
 * keeper and the backend, and audits. */
struct leaving {
	struct lw_lease_entry *e;
	struct lw_lease_holder gone;	/* with a reference of its own to its cgroup path */
	bool ended;		/* the last holder left: e is out of the table, finish frees it */
};

static void detach(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx, struct leaving *l)
{
	l->e = e;
	lw_holder_unwatch(&e->holders[idx]);
	l->gone = e->holders[idx];
	lw_lease_holder_hold(&l->gone);
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
		lw_lease_holder_put(&l->gone);
	} else {
		h = &l->e->holders[l->e->nr_holders++];
		*h = l->gone;	/* its reference with it */
		l->gone.cgroup = NULL;
	}
	lw_holder_watch(d->event, l->e, h, lw_leasing_holder_exited, d);
}

/* Lift what detach took out of the table from the kernel and the keeper
 * (the holder's entry only while others stay, then audited). Whether the
 * lease ended and the backend must let go now. */
static bool lift(struct lw_daemon *d, struct leaving *l, enum lw_lease_event why, const char *reason)
{
	struct lw_lease_entry *e = l->e;

	if (!l->ended) {
		if (lw_enforcement_remove_holder(d->enforcer, &e->key, &l->gone.id) < 0)
			lw_log(LOG_ERR, "release %s: %s", e->image, lw_enforcement_error(d->enforcer));
		lw_leasing_audit(d, e, &l->gone, why, reason);
		return false;
	}
	if (lw_enforcement_remove_lease(d->enforcer, &e->key) < 0)
		lw_log(LOG_ERR, "release %s: %s", e->image, lw_enforcement_error(d->enforcer));
	/* the keeper may hold the only copy (e->lock NULL after a restart);
	 * a lock with nothing to keep (nop's) never had one there */
	if ((!e->lock || lw_backend_lock_keep_fd(e->lock) >= 0) && lw_keeping_drop(d, e->image) < 0)
		lw_log(LOG_ERR, "release %s: the keeper did not drop its copy of the lock", e->image);
	return true;
}

/* 0, or -EINPROGRESS with *out when the backend lets go later. */
static int finish(struct lw_daemon *d, struct leaving *l, enum lw_lease_event why, const char *reason,
		  lw_released_fn later, void *ctx, struct lw_releasing **out)
{
	struct lw_release_record rec = { .who = &l->gone, .why = why, .reason = reason };
	int r = 0;

	/* the backend's error is logged and audited: the lease is gone all the same */
	if (lift(d, l, why, reason) && lw_releasing_start(d, l->e, &rec, later, ctx, out) == -EINPROGRESS)
		r = -EINPROGRESS;
	lw_lease_holder_put(&l->gone);
	return r;
}

/* A client's release waiting for the group commit of its end. */
struct staged_release {
	struct lw_commit_waiter wait;
	struct leaving l;
	enum lw_lease_event why;
	struct lw_releasing *r;	/* the caller's handle and answer */
};

static void release_committed(struct lw_daemon *d, void *ctx, int result, const struct lw_err *err)
{
	struct staged_release *s = ctx;

	if (result < 0) {
		undo_detach(d, &s->l);
		lw_releasing_answer(s->r, LW_RELEASE_NOT_RECORDED, err);
	} else if (lift(d, &s->l, s->why, NULL)) {
		lw_releasing_continue(s->r, s->l.e, &s->l.gone, s->why);
	} else {
		lw_releasing_answer(s->r, 0, NULL);
	}
	lw_lease_holder_put(&s->l.gone);	/* none left after an undo */
	free(s);
}

static int release_staged(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx,
			  enum lw_lease_event why, const char *reason, lw_released_fn later, void *ctx,
			  struct lw_releasing **pending, struct json_object **error)
{
	struct staged_release *s = calloc(1, sizeof(*s));
	struct lw_releasing *r = lw_releasing_new(d, reason, later, ctx);
	struct lw_err err;
	int ret;

	if (!s || !r) {
		free(s);
		if (r) {
			lw_releasing_forget_caller(r);
			lw_releasing_answer(r, 0, NULL);
		}
		*error = lw_error_backend_failure("out of memory");
		return -ENOMEM;
	}
	detach(d, e, idx, &s->l);
	ret = lw_leasing_stage(d, e, &err);
	if (ret < 0) {
		undo_detach(d, &s->l);
		free(s);
		lw_releasing_forget_caller(r);
		lw_releasing_answer(r, 0, NULL);
		*error = lw_error_backend_failure("%s", err.msg);
		return ret;
	}
	if (s->l.ended)
		lw_releasing_block(r, e);	/* a new acquire of it waits (LeaseHeld, releasing) */
	s->why = why;
	s->r = r;
	lw_commit_wait(d, &s->wait, release_committed, s);
	if (pending)
		*pending = r;
	return -EINPROGRESS;
}

int lw_leasing_release(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx,
		       enum lw_lease_event why, const char *reason, lw_released_fn later, void *ctx,
		       struct lw_releasing **pending, struct json_object **error)
{
	struct leaving l;
	struct lw_err err;
	int r;

	*error = NULL;
	if (later && lw_commit_enabled(d))
		return release_staged(d, e, idx, why, reason, later, ctx, pending, error);
	detach(d, e, idx, &l);
	r = lw_leasing_save(d, e, &err);
	if (r < 0 && why != LW_LEASE_HOLDER_DEATH) {
		undo_detach(d, &l);
		*error = lw_error_backend_failure("%s", err.msg);
		return r;
	}
	return finish(d, &l, why, reason, later, ctx, pending);
}

/* Holders that exited, released a batch at a time: a holder
 * of thousands of leases must not stop the daemon answering others, and the
 * state file is written once a batch, not once a lease. */
#define EXIT_BATCH 32

struct exited {
	struct exited *next;
	struct lw_holder holder;
	struct lw_image_key key;	/* the lease's image */
};

struct lw_exit_queue {
	struct lw_daemon *d;
	struct exited *head, *tail;
	sd_event_source *source;	/* a timer due now while the queue is not empty */
};

/* A timer due at once rather than a defer source: sd-event keeps a defer
 * source ahead of every younger pending event of its priority, while a
 * timer that fires now queues behind the clients' requests already pending,
 * so batches and requests take turns. Its accuracy is 1 us: with sd-event's
 * default (250 ms, for coalescing) a batch waited for the next coalescing
 * point, and a holder of 6,000 leases took 3 s to release instead of 0.1. */
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
	/* the clients' batch first, before anything is looked up (commit.h) */
	lw_commit_flush(d, NULL);
	while (q->head && n < EXIT_BATCH) {
		struct exited *x = q->head;
		struct lw_lease_entry *e = lw_lease_by_key(d->leases, &x->key);
		int idx = e ? lw_lease_find_holder(e, &x->holder) : -1;

		q->head = x->next;
		if (!q->head)
			q->tail = NULL;
		/* gone already: released by the holder's own call, or the lease ended */
		if (idx >= 0) {
			if (x->holder.kind == LW_HOLDER_CGROUP)
				lw_log(LOG_INFO, "holder cgroup %s of %s was removed: releasing",
				       lw_lease_holder_cgroup(&e->holders[idx]), e->image);
			else
				lw_log(LOG_INFO, "holder pid %u of %s exited: releasing", x->holder.pid, e->image);
			detach(d, e, (unsigned int)idx, &batch[n++]);
			if (lw_leasing_stage(d, e, &err) < 0)
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
			finish(d, &batch[i], LW_LEASE_HOLDER_DEATH, NULL, NULL, NULL, NULL);
	for (unsigned int i = 0; i < n; i++)
		if (batch[i].ended)
			finish(d, &batch[i], LW_LEASE_HOLDER_DEATH, NULL, NULL, NULL, NULL);
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
	if (sd_event_add_time_relative(d->event, &q->source, CLOCK_MONOTONIC, 0, 1, release_exited_batch, q) < 0) {
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

/* Queue the release of holder's lease of key; false if it had to be
 * released at once (out of memory), which may have changed the table. */
static bool queue_exit(struct lw_daemon *d, const struct lw_image_key *key, const struct lw_holder *holder)
{
	struct lw_lease_entry *e = lw_lease_by_key(d->leases, key);
	struct lw_exit_queue *q = exit_queue(d);
	struct exited *x;
	struct json_object *error = NULL;

	if (!e || lw_lease_find_holder(e, holder) < 0)
		return true;
	x = q ? malloc(sizeof(*x)) : NULL;
	if (!x) {
		/* out of memory: release this one now rather than never (the
		 * clients' batch first, then e looked up again: commit.h) */
		lw_commit_flush(d, NULL);
		e = lw_lease_by_key(d->leases, key);
		if (!e || lw_lease_find_holder(e, holder) < 0)
			return false;
		lw_leasing_release(d, e, (unsigned int)lw_lease_find_holder(e, holder),
				   LW_LEASE_HOLDER_DEATH, NULL, NULL, NULL, NULL, &error);
		json_object_put(error);
		return false;
	}
	x->next = NULL;
	x->holder = *holder;
	x->key = *key;
	if (q->tail)
		q->tail->next = x;
	else
		q->head = x;
	q->tail = x;
	if (x == q->head)
		next_batch(q);
	return true;
}

void lw_leasing_holder_exited(const struct lw_image_key *key, const struct lw_holder *holder, void *ctx)
{
	struct lw_daemon *d = ctx;
	struct lw_lease_entry *e;

	if (key) {
		queue_exit(d, key, holder);
		return;
	}
	/* a process of several leases: every lease it holds, found in one
	 * pass (a release at once, out of memory, may change the table: then
	 * from the start; what is queued twice is released once) */
restart:
	for (e = lw_lease_first(d->leases); e; e = e->next) {
		struct lw_image_key key_of_e = e->key;

		if (lw_lease_find_holder(e, holder) >= 0 && !queue_exit(d, &key_of_e, holder))
			goto restart;	/* that lease is the holder's no more: this ends */
	}
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
	if (!h->cgroup || (size_t)snprintf(path, sizeof(path), "%s/cgroup.kill", h->cgroup) >= sizeof(path))
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

	lw_commit_flush(d, NULL);	/* before anything is looked up (commit.h) */
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
		if (lw_leasing_release(d, e, n - 1, LW_LEASE_FORCED_RELEASE, err->msg, NULL, NULL, NULL, &error) < 0 &&
		    error) {
			lw_log(LOG_ERR, "lease on %s lost, but its end could not be recorded", e->image);
			json_object_put(error);
			return;
		}
	}
}
