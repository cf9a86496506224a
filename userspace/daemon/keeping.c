// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's link to its keeper. See keeping.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>

#include "backend.h"
#include "enforcer_choice.h"
#include "keeper.h"
#include "keeping.h"

/* Every lock the daemon holds, plus extra (a lock not yet in the table). */
static struct lw_keeper_lock *daemon_locks(struct lw_daemon *d, const struct lw_keeper_lock *extra,
					   size_t *count)
{
	struct lw_keeper_lock *locks = calloc(lw_lease_count(d->leases) + 1, sizeof(*locks));
	size_t n = 0;

	if (!locks)
		return NULL;
	for (struct lw_lease_entry *e = lw_lease_first(d->leases); e; e = e->next) {
		int fd = lw_backend_lock_keep_fd(e->lock);

		if (fd >= 0)
			locks[n++] = (struct lw_keeper_lock){ .name = e->image, .fd = fd };
		else if (!e->lock)	/* adopt.c: the keeper's copy did not pass back */
			lw_log(LOG_ERR, "keeper: the daemon has no copy of the backend lock of %s;"
			       " it lives only as long as the old keeper", e->image);
	}
	if (extra)
		locks[n++] = *extra;
	*count = n;
	return locks;
}

static int replace(struct lw_daemon *d, const struct lw_keeper_lock *extra, const char *why)
{
	struct lw_keeper *fresh;
	struct lw_keeper_lock *locks;
	size_t count;
	struct lw_err err;
	int r, old_pid = lw_keeper_pid(d->keeper);

	locks = daemon_locks(d, extra, &count);
	if (!locks)
		return -ENOMEM;
	r = lw_keeper_replace(d->cfg->state_dir, locks, count, d->keeper, &fresh, &err);
	free(locks);
	if (r < 0) {
		lw_log(LOG_ERR, "%s", err.msg);
		return r;
	}
	/* unwatched before its descriptor closes (the number may come back) */
	d->keeper_source = sd_event_source_disable_unref(d->keeper_source);
	lw_keeper_close(d->keeper);
	d->keeper = fresh;
	lw_enforcement_keep(d->enforcer, d->keeper);	/* fanotify: the group, to the new one */
	/* logged once the new keeper holds what the old one did, the group too */
	lw_log(LOG_WARNING, "keeper: %s: keeper pid %d replaced pid %d and holds %zu lock(s)", why,
	       lw_keeper_pid(fresh), old_pid, count);
	return lw_keeping_watch(d);
}

int lw_keeping_renew(struct lw_daemon *d, const char *why)
{
	return replace(d, NULL, why);
}

/* A put the keeper refused (out of memory or descriptors): the daemon's
 * own copy still holds the lock, but a restart would lose it. A new keeper
 * gets every lock (extra too, if not yet in the table). */
static void renew_if_refused(struct lw_daemon *d, const struct lw_keeper_lock *extra)
{
	const char *refused = lw_keeper_refused(d->keeper);

	if (!refused)
		return;
	lw_log(LOG_ERR, "keeper: it refused its copy of the lock of %s; replacing it", refused);
	replace(d, extra, "it refused a copy of a lock");
}

int lw_keeping_put(struct lw_daemon *d, const char *image, int fd)
{
	struct lw_keeper_lock lock = { .name = image, .fd = fd };
	int r = d->keeper_receives ? lw_keeper_send_put(d->keeper, image, fd) : lw_keeper_put(d->keeper, image, fd);

	if (r == 0)
		renew_if_refused(d, &lock);
	if (r != -ECONNRESET && r != -EPIPE && r != -ENOTCONN)
		return r;
	/* the new keeper inherits this one with the others */
	return replace(d, &lock, "the keeper died");
}

int lw_keeping_settle(struct lw_daemon *d)
{
	int waited = lw_keeper_settle(d->keeper);

	if (waited > 0)
		renew_if_refused(d, NULL);
	return waited;
}

int lw_keeping_drop(struct lw_daemon *d, const char *image)
{
	int r = lw_keeper_drop(d->keeper, image);

	if (r == 0)
		renew_if_refused(d, NULL);
	return r;
}

static int keeper_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lw_daemon *d = userdata;

	(void)s;
	(void)fd;
	if (!(revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && lw_keeper_collect(d->keeper) == 0) {
		renew_if_refused(d, NULL);
		return 0;
	}
	if (replace(d, NULL, "the keeper died") < 0) {
		/* try again at the next put; meanwhile the daemon's copies hold */
		sd_event_source_set_enabled(d->keeper_source, SD_EVENT_OFF);
	}
	return 0;
}

int lw_keeping_watch(struct lw_daemon *d)
{
	int r;

	d->keeper_source = sd_event_source_disable_unref(d->keeper_source);
	/* its descriptors are copies of ours: no writers check counts them */
	d->keeper_receives = lw_enforcement_trust_pid(d->enforcer, lw_keeper_pid(d->keeper));
	if (!d->keeper_receives)
		lw_log(LOG_WARNING, "keeper: %s; each lock is handed to it before its lease exists",
		       lw_enforcement_error(d->enforcer));
	/* EPOLLIN: a refusal of a put (from a keeper before quiet puts: the
	 * answers to puts and drops); every other is read where it is asked for */
	r = sd_event_add_io(d->event, &d->keeper_source, lw_keeper_fd(d->keeper), EPOLLIN | EPOLLRDHUP,
			    keeper_event, d);
	if (r < 0)
		lw_log(LOG_ERR, "keeper: cannot watch its connection: %s", strerror(-r));
	return r;
}
