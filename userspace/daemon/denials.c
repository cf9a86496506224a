/* Denial events -> audit records. */
#include <errno.h>
#include <syslog.h>

#include "audit/audit.h"
#include "denials.h"
#include "enforcer/enforcer.h"

static int on_denial(const struct lw_denial_event *ev, void *ctx)
{
	struct lw_daemon *d = ctx;
	struct lw_lease_entry *e = lw_lease_by_key(d->leases, &ev->key);
	struct lw_audit_lease_ctx lease = { 0 };

	if (e) {
		lease.image = e->image;
		lease.holder_comm = e->holders[0].comm[0] ? e->holders[0].comm : NULL;
		lease.holder_cgroup = e->holders[0].cgroup[0] ? e->holders[0].cgroup : NULL;
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
	if (lw_enforcer_events_consume(d->enforcer, on_denial, d) < 0)
		lw_log(LOG_WARNING, "denial events: %s", lw_enforcer_error(d->enforcer));
	return 0;
}

int lw_denials_start(struct lw_daemon *d)
{
	int fd = lw_enforcer_events_fd(d->enforcer);

	if (fd < 0)
		return fd;
	return sd_event_add_io(d->event, &d->events_source, fd, EPOLLIN, on_events, d);
}

void lw_denials_stop(struct lw_daemon *d)
{
	d->events_source = sd_event_source_disable_unref(d->events_source);
}
