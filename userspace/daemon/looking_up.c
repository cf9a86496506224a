// SPDX-License-Identifier: LGPL-2.1-or-later
/* Path lookups of unprivileged callers, off the event loop. See looking_up.h.
 *
 * The daemon owns each lookup's memory, the thread only borrows it: the
 * thread's last act is to write the lookup's eventfd, and the loop frees
 * the lookup when it reads that, whether the call was answered long ago
 * (timed out), its caller went away, or it is answered now. So a stalled
 * thread never touches freed memory, and nothing it finds late reaches a
 * caller: only the loop answers. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <syslog.h>
#include <unistd.h>

#include "errors.h"
#include "looking_up.h"

struct lw_looking_up {
	LIST_ENTRY(lw_looking_up) link;	/* d->looking_up: running or waiting to */
	struct lw_daemon *d;
	uid_t uid;
	char *path;
	struct lw_image_lookup lookup;	/* the thread's until it writes done_fd */
	unsigned long long seq;		/* the order lookups are started in */
	bool running;			/* its thread is (counts against the limits) */
	int done_fd;			/* eventfd: the thread is done */
	sd_event_source *done_source;
	sd_event_source *timer;
	lw_looked_up_fn found;		/* NULL once answered (timed out) or cancelled */
	void *ctx;
};

static void *run(void *arg)
{
	struct lw_looking_up *j = arg;
	int done_fd = j->done_fd;

	lw_image_lookup_run(&j->lookup);
	/* the last touch: the loop may free j as soon as this is written */
	eventfd_write(done_fd, 1);
	return NULL;
}

static void lookup_free(struct lw_looking_up *j)
{
	sd_event_source_disable_unref(j->done_source);
	sd_event_source_disable_unref(j->timer);
	if (j->done_fd >= 0)
		close(j->done_fd);
	lw_image_lookup_release(&j->lookup);
	free(j->path);
	free(j);
}

static unsigned int running_of_uid(struct lw_daemon *d, uid_t uid)
{
	struct lw_looking_up *j;
	unsigned int n = 0;

	LIST_FOREACH(j, &d->looking_up, link)
		n += j->running && j->uid == uid;
	return n;
}

static bool may_run(struct lw_daemon *d, uid_t uid)
{
	return d->nr_looking_up < LW_LOOKUPS_MAX && running_of_uid(d, uid) < LW_LOOKUPS_PER_UID;
}

static int start_thread(struct lw_looking_up *j)
{
	pthread_attr_t attr;
	pthread_t thread;
	int r = pthread_attr_init(&attr);

	if (r)
		return -r;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&thread, &attr, run, j);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	j->running = true;
	j->d->nr_looking_up++;
	return 0;
}

static void answer(struct lw_looking_up *j, struct lw_image_lookup *l, struct json_object *error)
{
	lw_looked_up_fn found = j->found;

	j->found = NULL;
	if (found)
		found(j->ctx, l, error);
	else
		json_object_put(error);
}

/* A lookup ended: start those waiting that the limits let run now, oldest first. */
static void start_waiting(struct lw_daemon *d)
{
	for (;;) {
		struct lw_looking_up *j, *next = NULL;
		int r;

		LIST_FOREACH(j, &d->looking_up, link)
			if (!j->running && (!next || j->seq < next->seq) && may_run(d, j->uid))
				next = j;
		if (!next)
			return;
		r = start_thread(next);
		if (r < 0) {
			LIST_REMOVE(next, link);
			answer(next, NULL, lw_error_resource_limit("cannot look %s up: %s", next->path, strerror(-r)));
			lookup_free(next);
		}
	}
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lw_looking_up *j = userdata;
	struct lw_daemon *d = j->d;
	eventfd_t n;

	(void)s, (void)revents;
	if (eventfd_read(fd, &n) < 0)
		return 0;	/* spurious: the thread writes once */
	LIST_REMOVE(j, link);
	d->nr_looking_up--;
	if (j->found)
		answer(j, &j->lookup, NULL);
	else
		lw_log(LOG_INFO, "the lookup of %s for uid %u ended, after its call was answered or gone",
		       j->path, (unsigned int)j->uid);
	lookup_free(j);
	start_waiting(d);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_looking_up *j = userdata;
	unsigned int timeout = j->d->cfg->lookup_timeout_sec;

	(void)s, (void)usec;
	if (!j->running) {
		/* it never started: the uid's, or all, lookups under way stall */
		LIST_REMOVE(j, link);
		lw_log(LOG_WARNING, "the lookup of %s for uid %u waited %u s for others to end: refused",
		       j->path, (unsigned int)j->uid, timeout);
		answer(j, NULL, running_of_uid(j->d, j->uid) >= LW_LOOKUPS_PER_UID ?
			lw_error_resource_limit("uid %u has %u path lookups under way that did not end within %u s "
						"(a filesystem on its paths does not answer): try again later",
						(unsigned int)j->uid, LW_LOOKUPS_PER_UID, timeout) :
			lw_error_resource_limit("%u path lookups of users are under way and none ended within %u s: "
						"try again later", LW_LOOKUPS_MAX, timeout));
		lookup_free(j);
		return 0;
	}
	lw_log(LOG_WARNING, "the lookup of %s for uid %u did not finish within %u s: its filesystem does not "
	       "answer (it counts against the uid's lookups until it ends)", j->path, (unsigned int)j->uid, timeout);
	if (j->found) {
		char why[PATH_MAX + 160];

		snprintf(why, sizeof(why), "%s does not answer: its lookup did not finish within %u s (a FUSE or "
			 "network filesystem on the path that does not reply?)", j->path, timeout);
		answer(j, NULL, lw_error_image_not_found(j->path, why));
	}
	return 0;
}

struct lw_looking_up *lw_looking_up_start(struct lw_daemon *d, const char *path, const struct lw_image_caller *caller,
					  lw_looked_up_fn found, void *ctx, struct json_object **error)
{
	static unsigned long long seq;
	struct lw_looking_up *j = calloc(1, sizeof(*j));
	int r;

	if (!j || !(j->path = strdup(path))) {
		free(j);
		*error = lw_error_resource_limit("out of memory");
		return NULL;
	}
	j->d = d;
	j->uid = caller->uid;
	j->seq = ++seq;
	j->found = found;
	j->ctx = ctx;
	lw_image_lookup_prepare(&j->lookup, j->path, caller);
	j->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->done_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(d->event, &j->done_source, j->done_fd, EPOLLIN, on_done, j);
	if (r >= 0)
		r = sd_event_add_time_relative(d->event, &j->timer, CLOCK_MONOTONIC,
					       (uint64_t)d->cfg->lookup_timeout_sec * 1000000u, 0, on_timeout, j);
	if (r >= 0 && may_run(d, j->uid))
		r = start_thread(j);
	if (r < 0)
		goto fail;
	LIST_INSERT_HEAD(&d->looking_up, j, link);
	return j;
fail:
	*error = lw_error_resource_limit("cannot look %s up: %s", path, strerror(-r));
	lookup_free(j);
	return NULL;
}

void lw_looking_up_cancel(struct lw_looking_up *j)
{
	j->found = NULL;
	if (j->running) {
		/* the thread still borrows it: freed once it is done */
		sd_event_source_set_enabled(j->timer, SD_EVENT_OFF);
		return;
	}
	LIST_REMOVE(j, link);
	lookup_free(j);
}
