// SPDX-License-Identifier: LGPL-2.1-or-later
/* Group commit of state changes. See commit.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "commit.h"
#include "state.h"

/* A batch older than this is flushed next, ahead of requests still
 * readable: where each request is slow (a writers walk), waiting for every
 * readable one would hold the first answers for the whole batch. */
#define BATCH_MAX_AGE_USEC 5000

struct lw_commit {
	struct lw_daemon *d;
	struct lw_commit_waiter *last;	/* the waiters, the latest first */
	uint64_t since;			/* CLOCK_MONOTONIC of the batch's first waiter */
	sd_event_source *flush;		/* idle-priority defer source, on while something waits */
};

static int on_flush(sd_event_source *s, void *userdata)
{
	struct lw_commit *c = userdata;

	(void)s;
	lw_commit_flush(c->d, NULL);
	return 0;
}

/* The loop stops: what was staged is made durable and answered, never dropped. */
static int on_exit_flush(sd_event_source *s, void *userdata)
{
	struct lw_commit *c = userdata;

	(void)s;
	lw_commit_flush(c->d, NULL);
	return 0;
}

static void free_commit(void *userdata)
{
	struct lw_commit *c = userdata;

	if (c->d->commit == c)
		c->d->commit = NULL;
	free(c);
}

int lw_commit_setup(struct lw_daemon *d, struct lw_err *err)
{
	struct lw_commit *c = calloc(1, sizeof(*c));
	sd_event_source *at_exit = NULL;
	int r;

	if (!c)
		return lw_err_set(err, ENOMEM, "group commit: out of memory");
	c->d = d;
	r = sd_event_add_defer(d->event, &c->flush, on_flush, c);
	if (r < 0) {
		free(c);
		return lw_err_set(err, -r, "group commit: cannot add its event source");
	}
	/* the loop owns both sources and frees c with the flush source */
	sd_event_source_set_destroy_callback(c->flush, free_commit);
	sd_event_source_set_floating(c->flush, 1);
	sd_event_source_unref(c->flush);
	/* below every client socket (priority 0): all readable requests first */
	sd_event_source_set_priority(c->flush, SD_EVENT_PRIORITY_IDLE);
	sd_event_source_set_enabled(c->flush, SD_EVENT_OFF);
	r = sd_event_add_exit(d->event, &at_exit, on_exit_flush, c);
	if (r < 0)
		return lw_err_set(err, -r, "group commit: cannot add its exit source");
	sd_event_source_set_floating(at_exit, 1);
	sd_event_source_unref(at_exit);
	d->commit = c;
	return 0;
}

bool lw_commit_enabled(const struct lw_daemon *d)
{
	return d->commit != NULL;
}

bool lw_commit_pending(const struct lw_daemon *d)
{
	return (d->commit && d->commit->last) || (d->state && lw_state_pending(d->state));
}

void lw_commit_wait(struct lw_daemon *d, struct lw_commit_waiter *w, lw_commit_fn done, void *ctx)
{
	struct lw_commit *c = d->commit;

	uint64_t now = 0;

	w->done = done;
	w->ctx = ctx;
	w->next = c->last;
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	if (!c->last)
		c->since = now;
	else if (now - c->since > BATCH_MAX_AGE_USEC)
		/* at the sockets' priority a defer source runs ahead of younger events */
		sd_event_source_set_priority(c->flush, SD_EVENT_PRIORITY_NORMAL);
	c->last = w;
	sd_event_source_set_enabled(c->flush, SD_EVENT_ONESHOT);
}

int lw_commit_flush(struct lw_daemon *d, struct lw_err *err)
{
	struct lw_commit *c = d->commit;
	struct lw_commit_waiter *w = NULL, *next;
	struct lw_err why = { "" };
	int r = 0;

	if (c) {
		w = c->last;
		c->last = NULL;
		sd_event_source_set_enabled(c->flush, SD_EVENT_OFF);
		sd_event_source_set_priority(c->flush, SD_EVENT_PRIORITY_IDLE);
	}
	if (d->state && lw_state_pending(d->state))
		r = lw_state_commit(d->state, d->leases, &why);
	if (r < 0)
		lw_log(LOG_ERR, "%s", why.msg);
	if (r == 0) {
		/* in the order they waited: a lease granted then ended in one
		 * batch is confirmed before its end frees it */
		struct lw_commit_waiter *first = NULL;

		for (; w; w = next) {
			next = w->next;
			w->next = first;
			first = w;
		}
		w = first;
	}
	/* a waiter may free itself (and w) */
	for (; w; w = next) {
		next = w->next;
		w->done(d, w->ctx, r, r < 0 ? &why : NULL);
	}
	if (r < 0 && err)
		*err = why;
	return r;
}
