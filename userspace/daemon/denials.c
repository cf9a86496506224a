// SPDX-License-Identifier: LGPL-2.1-or-later
/* Denial events -> audit records, at most max_records_per_uid_per_min for
 * the processes of one uid: the kernel limits each (process, image) pair,
 * but many processes or many images of one user would still grow the
 * trail without bound. The excess is counted and written as one
 * "suppressed" record per uid when its minute ends. */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "audit/audit.h"
#include "denials.h"
#include "common/enforcement.h"
#include "uid_budget.h"

struct lw_denials {
	struct lw_uid_budget *budget;
	sd_event_source *timer;		/* armed while some uid has counted records */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void write_summary(uint32_t uid, uint64_t count, void *ctx)
{
	struct lw_daemon *d = ctx;

	lw_log(LOG_NOTICE, "audit: %llu denials of uid %u suppressed (more than %u records a minute)",
	       (unsigned long long)count, uid, d->cfg->audit.max_records_per_uid_per_min);
	if (d->audit && lw_audit_suppressed(d->audit, uid, count,
					    d->cfg->audit.max_records_per_uid_per_min) < 0)
		lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
}

static void expire_and_rearm(struct lw_daemon *d, uint64_t now)
{
	uint64_t next;

	lw_uid_budget_expire(d->denials->budget, now, write_summary, d);
	next = lw_uid_budget_next_expiry(d->denials->budget);
	if (next == UINT64_MAX) {
		sd_event_source_set_enabled(d->denials->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(d->denials->timer, next);
	sd_event_source_set_enabled(d->denials->timer, SD_EVENT_ONESHOT);
}

static int on_minute_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	expire_and_rearm(userdata, now_usec());
	return 0;
}

static int on_denial(const struct lw_denial *ev, void *ctx)
{
	struct lw_daemon *d = ctx;
	struct lw_lease_entry *e;
	struct lw_audit_lease_ctx lease = { 0 };
	uint64_t now = now_usec();

	expire_and_rearm(d, now);
	if (!lw_uid_budget_take(d->denials->budget, ev->uid, now, 1 + (uint64_t)ev->suppressed)) {
		expire_and_rearm(d, now);	/* arms the timer for this uid's summary */
		return 0;
	}
	e = lw_lease_by_key(d->leases, &ev->key);
	if (e) {
		lease.image = e->image;
		lease.holder_comm = e->holders[0].comm[0] ? e->holders[0].comm : NULL;
		lease.holder_cgroup = e->holders[0].cgroup;
	}
	if (d->audit && lw_audit_denial(d->audit, ev, &lease) < 0)
		lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
	return 0;
}

static int on_events(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lw_daemon *d = userdata;

	(void)s;
	(void)fd;
	(void)revents;
	if (lw_enforcement_events_consume(d->enforcer, on_denial, d) < 0)
		lw_log(LOG_WARNING, "denial events: %s", lw_enforcement_error(d->enforcer));
	return 0;
}

int lw_denials_start(struct lw_daemon *d)
{
	int fd = lw_enforcement_events_fd(d->enforcer);
	int r;

	if (fd < 0)
		return fd;
	d->denials = calloc(1, sizeof(*d->denials));
	if (!d->denials)
		return -ENOMEM;
	d->denials->budget = lw_uid_budget_new(d->cfg->audit.max_records_per_uid_per_min);
	if (!d->denials->budget)
		return -ENOMEM;
	r = sd_event_add_time(d->event, &d->denials->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000000,
			      on_minute_end, d);
	if (r < 0)
		return r;
	sd_event_source_set_enabled(d->denials->timer, SD_EVENT_OFF);
	return sd_event_add_io(d->event, &d->events_source, fd, EPOLLIN, on_events, d);
}

void lw_denials_stop(struct lw_daemon *d)
{
	d->events_source = sd_event_source_disable_unref(d->events_source);
	if (!d->denials)
		return;
	/* what was counted is not lost on a stop */
	if (d->denials->budget)
		lw_uid_budget_expire(d->denials->budget, UINT64_MAX / 2, write_summary, d);
	sd_event_source_disable_unref(d->denials->timer);
	lw_uid_budget_free(d->denials->budget);
	free(d->denials);
	d->denials = NULL;
}
