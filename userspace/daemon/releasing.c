// SPDX-License-Identifier: LGPL-2.1-or-later
/* Leases the backend is still letting go. See releasing.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "backend.h"
#include "leasing.h"
#include "releasing.h"

struct lw_releasing {
	struct lw_daemon *d;
	struct lw_lease_entry *e;	/* out of the table: ours to free */
	struct lw_lease_holder who;	/* with a reference of its own to its cgroup path */
	bool audit;
	enum lw_lease_event why;
	char *reason;
	lw_released_fn done;
	void *ctx;
	bool listed;	/* in d->releasing */
	LIST_ENTRY(lw_releasing) link;
};

static void releasing_free(struct lw_releasing *r)
{
	lw_lease_holder_put(&r->who);
	free(r->reason);
	free(r);
}

/* The audit record of the end, with the backend's error beside the reason. */
static void record(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_release_record *rec,
		   int result, const struct lw_err *err)
{
	char reason[LW_ERR_MAX + 256];
	const char *text = rec->reason;

	if (result < 0) {
		lw_log(LOG_ERR, "release %s: %s", e->image, err->msg);
		snprintf(reason, sizeof(reason), "%s%s%s", rec->reason ? rec->reason : "", rec->reason ? "; " : "",
			 err->msg);
		text = reason;
	}
	if (rec->who)
		lw_leasing_audit(d, e, rec->who, rec->why, text);
}

static void backend_released(void *ctx, int result, const struct lw_err *err)
{
	struct lw_releasing *r = ctx;
	struct lw_release_record rec = { .who = r->audit ? &r->who : NULL, .why = r->why, .reason = r->reason };

	LIST_REMOVE(r, link);
	r->listed = false;
	lw_log(LOG_INFO, "release %s: the backend let go", r->e->image);
	record(r->d, r->e, &rec, result, err);
	if (r->done)
		r->done(r->ctx, result, err);
	lw_lease_entry_free(r->e);
	releasing_free(r);
}

int lw_releasing_start(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_release_record *rec,
		       lw_released_fn done, void *ctx, struct lw_releasing **out)
{
	struct lw_releasing *r = calloc(1, sizeof(*r));
	struct lw_err err = { "" };
	int result;

	if (out)
		*out = NULL;
	if (r && rec->reason && !(r->reason = strdup(rec->reason))) {
		free(r);
		r = NULL;
	}
	/* out of memory: nothing can wait, but the lease is still given up */
	result = lw_backend_release(d->backend, e->lock, r ? backend_released : NULL, r, &err);
	e->lock = NULL;
	if (result != -EINPROGRESS || !r) {
		record(d, e, rec, result == -EINPROGRESS ? 0 : result, &err);
		if (r)
			free(r->reason);
		free(r);
		lw_lease_entry_free(e);
		return result == -EINPROGRESS ? 0 : result;
	}
	r->d = d;
	r->e = e;
	r->audit = rec->who != NULL;
	if (rec->who) {
		r->who = *rec->who;
		lw_lease_holder_hold(&r->who);
	}
	r->why = rec->why;
	r->done = done;
	r->ctx = ctx;
	LIST_INSERT_HEAD(&d->releasing, r, link);
	r->listed = true;
	if (out)
		*out = r;
	lw_log(LOG_INFO, "release %s: the backend lets go later", e->image);
	return -EINPROGRESS;
}

struct lw_releasing *lw_releasing_new(struct lw_daemon *d, const char *reason, lw_released_fn done, void *ctx)
{
	struct lw_releasing *r = calloc(1, sizeof(*r));

	if (r && reason && !(r->reason = strdup(reason))) {
		free(r);
		return NULL;
	}
	if (r) {
		r->d = d;
		r->done = done;
		r->ctx = ctx;
	}
	return r;
}

void lw_releasing_block(struct lw_releasing *r, struct lw_lease_entry *e)
{
	r->e = e;
	LIST_INSERT_HEAD(&r->d->releasing, r, link);
	r->listed = true;
}

static void unlist(struct lw_releasing *r)
{
	if (r->listed)
		LIST_REMOVE(r, link);
	r->listed = false;
}

void lw_releasing_answer(struct lw_releasing *r, int result, const struct lw_err *err)
{
	unlist(r);
	if (r->done)
		r->done(r->ctx, result, err);
	releasing_free(r);
}

void lw_releasing_continue(struct lw_releasing *r, struct lw_lease_entry *e, const struct lw_lease_holder *who,
			   enum lw_lease_event why)
{
	struct lw_daemon *d = r->d;
	struct lw_err err = { "" };
	int result;

	unlist(r);
	r->e = e;
	r->audit = true;
	r->who = *who;
	lw_lease_holder_hold(&r->who);
	r->why = why;
	result = lw_backend_release(d->backend, e->lock, backend_released, r, &err);
	e->lock = NULL;
	if (result != -EINPROGRESS) {
		struct lw_release_record rec = { .who = &r->who, .why = why, .reason = r->reason };

		record(d, e, &rec, result, &err);
		lw_lease_entry_free(e);	/* its image, lock name and holders too */
		r->e = NULL;
		/* the lease is gone even if the backend failed (logged, audited) */
		lw_releasing_answer(r, result, &err);
		return;
	}
	LIST_INSERT_HEAD(&d->releasing, r, link);
	r->listed = true;
	lw_log(LOG_INFO, "release %s: the backend lets go later", e->image);
}

void lw_releasing_forget_caller(struct lw_releasing *r)
{
	r->done = NULL;
}

bool lw_releasing_busy(struct lw_daemon *d, const struct lw_image_key *key, const char *image)
{
	const struct lw_releasing *r;

	LIST_FOREACH(r, &d->releasing, link)
		if ((r->e->key.dev == key->dev && r->e->key.ino == key->ino) || strcmp(r->e->image, image) == 0)
			return true;
	return false;
}

void lw_releasing_forget_all(struct lw_daemon *d)
{
	while (!LIST_EMPTY(&d->releasing)) {
		struct lw_releasing *r = LIST_FIRST(&d->releasing);

		LIST_REMOVE(r, link);
		lw_lease_entry_free(r->e);
		releasing_free(r);
	}
}
