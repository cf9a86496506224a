// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify group: created with what the running kernel offers, answered
 * by a thread of its own (fan_events.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>

#include "fanotify/fan_handover.h"
#include "fanotify/fan_index.h"
#include "fanotify/fan_procs.h"


/* A forked child would keep the group alive after the daemon dies, with no
 * thread to answer it: every open of a leased image would then hang. So a
 * child closes its copies (a process meant to keep the group, like the
 * keeper, gets a descriptor passed on purpose). */
static pthread_mutex_t open_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lw_fan_enforcer *open_list;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void close_groups_in_child(void)
{
	for (struct lw_fan_enforcer *e = open_list; e; e = e->next_open) {
		close(e->fan_fd);
		e->fan_fd = -1;
		e->thread_started = false;	/* the thread is not in the child */
	}
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, close_groups_in_child);
}

static void track(struct lw_fan_enforcer *enf, bool add)
{
	struct lw_fan_enforcer **p;

	pthread_mutex_lock(&open_list_lock);
	if (add) {
		enf->next_open = open_list;
		open_list = enf;
	} else {
		for (p = &open_list; *p; p = &(*p)->next_open)
			if (*p == enf) {
				*p = enf->next_open;
				break;
			}
	}
	pthread_mutex_unlock(&open_list_lock);
}

const char *lw_fan_enforcer_error(const struct lw_enforcement *handle)
{
	const struct lw_fan_enforcer *enf = lw_fan_of_const(handle);

	return enf->err.msg;
}

/* Whether the kernel knows FAN_PRE_ACCESS: a mark request is checked for
 * known events before its object is looked up, so an unknown event gives
 * EINVAL and a known one EBADF for the descriptor -1. */
static bool kernel_offers_pre_access(int fan_fd)
{
	return fanotify_mark(fan_fd, FAN_MARK_ADD, FAN_PRE_ACCESS, -1, NULL) && errno == EBADF;
}

static int create_group(struct lw_fan_enforcer *enf, bool want_pre_content)
{
	const unsigned int base = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID |
				  FAN_UNLIMITED_QUEUE;	/* a full queue would allow */
	const unsigned int event_flags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;
	unsigned int classes[2] = { FAN_CLASS_PRE_CONTENT, FAN_CLASS_CONTENT };

	for (int i = want_pre_content ? 0 : 1; i < 2; i++) {
		/* FAN_ENABLE_AUDIT needs CAP_AUDIT_WRITE; denials are audited by us anyway. */
		for (int audit = 1; audit >= 0; audit--) {
			unsigned int flags = base | classes[i] | (audit ? FAN_ENABLE_AUDIT : 0);

			enf->fan_fd = fanotify_init(flags, event_flags);
			if (enf->fan_fd < 0)
				continue;
			enf->audit = audit;
			enf->pre_content = classes[i] == FAN_CLASS_PRE_CONTENT &&
					   kernel_offers_pre_access(enf->fan_fd);
			if (classes[i] == FAN_CLASS_PRE_CONTENT && !enf->pre_content) {
				close(enf->fan_fd);	/* a pre-content class without its events: no use */
				enf->fan_fd = -1;
				break;
			}
			return 0;
		}
	}
	return lw_fan_fail(enf, -errno, "fanotify permission events are not available: "
			   "fanotify_init(FAN_CLASS_CONTENT): %s", strerror(errno));
}

static void describe_limits(struct lw_fan_enforcer *enf)
{
	snprintf(enf->limits, sizeof(enf->limits),
		 "fanotify: enforcement lapses only if the daemon and its keeper both stop at once "
		 "(the keeper answers while the daemon is down; the restart reports who opened an "
		 "image for write meanwhile); "
		 "%s"
		 "unlink and rename of an image are not stopped; "
		 "writes through a descriptor opened before the lease, or through a shared "
		 "writable mapping that already exists, are not stopped; "
		 "an open whose flags the kernel does not show (openat2, io_uring, kernel threads) "
		 "is denied to non-holders even for reading; "
		 "a block device lease is refused where the kernel sends no permission events "
		 "for device nodes (6.18), and elsewhere covers the leased node only, not other "
		 "nodes of the device; writers outside any descriptor table (in-flight "
		 "descriptors, loop devices) are not seen when a lease is taken",
		 enf->pre_content ?
		 "pre-content events on: truncate(2) and writes through received descriptors "
		 "are denied, and non-holders may read a leased image only with "
		 "read/pread/readv/preadv (no mmap page faults, sendfile or copy_file_range); " :
		 "no pre-content events (not asked for, or kernel before 6.14): truncate(2) and "
		 "writes through received or inherited descriptors are not stopped; ");
}

static void init(struct lw_fan_enforcer *enf, const struct lw_fan_enforcer_opts *opts)
{
	enf->base.ops = &lw_fan_enforcer_ops;
	enf->fan_fd = enf->stop_fd = enf->events_fd = enf->table_fd = -1;
	enf->max_images = opts && opts->max_images ? opts->max_images : LW_FAN_DEFAULT_MAX_IMAGES;
	enf->events_per_sec = opts && opts->events_per_sec ? opts->events_per_sec : 10;
	enf->self = getpid();
	pthread_mutex_init(&enf->lock, NULL);
}

static int create_eventfds(struct lw_fan_enforcer *enf)
{
	enf->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	enf->events_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (enf->stop_fd < 0 || enf->events_fd < 0)
		return lw_fan_fail(enf, -errno, "cannot create an eventfd: %s", strerror(errno));
	return 0;
}

int lw_fan_enforcer_open(const struct lw_fan_enforcer_opts *opts, struct lw_enforcement **out,
			 struct lw_err *why)
{
	struct lw_fan_enforcer *enf;
	int err;

	*out = NULL;
	enf = calloc(1, sizeof(*enf));
	if (!enf)
		return lw_err_set(why, ENOMEM, "out of memory");
	init(enf, opts);
	err = create_group(enf, opts && opts->pre_content);
	if (err)
		goto fail;
	if ((err = lw_fan_table_create(enf)) || (err = create_eventfds(enf)))
		goto fail;
	describe_limits(enf);
	pthread_once(&atfork_once, register_atfork);
	track(enf, true);
	err = lw_fan_thread_start(enf);
	if (err)
		goto fail;
	*out = &enf->base;
	return 0;
fail:
	if (why)
		*why = enf->err;
	lw_fan_enforcer_close(&enf->base);
	return err;
}

void lw_fan_enforcer_close(struct lw_enforcement *handle)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	if (!enf)
		return;
	track(enf, false);
	lw_fan_thread_stop(enf);
	if (enf->table)
		lw_fan_table_leave_denials(enf);	/* for whoever answers the group next */
	/* Closing the group answers any event still pending with "allow". */
	if (enf->fan_fd >= 0)
		close(enf->fan_fd);
	if (enf->stop_fd >= 0)
		close(enf->stop_fd);
	if (enf->events_fd >= 0)
		close(enf->events_fd);
	lw_fan_table_unmap(enf);
	for (size_t i = 0; i < enf->nr_leases; i++)
		if (enf->leases[i].path_fd >= 0)
			close(enf->leases[i].path_fd);
	lw_fan_procs_free(enf);
	free(enf->leases);
	lw_fan_index_free(enf);
	pthread_mutex_destroy(&enf->lock);
	free(enf);
}

/* The leases of an adopted table, with this process's own descriptors:
 * the marked inode (to unmark it) and a pidfd for each process holder. */
static int rebuild_leases(struct lw_fan_enforcer *enf)
{
	const struct lw_fan_table *t = enf->table;
	struct lw_fan_mounts mounts = { 0 };

	enf->leases = calloc(t->nr_leases ? t->nr_leases : 1, sizeof(*enf->leases));
	if (!enf->leases)
		return lw_fan_fail(enf, -ENOMEM, "out of memory");
	for (__u32 i = 0; i < t->nr_leases; i++) {
		struct lw_fan_lease *l = &enf->leases[i];

		l->key = t->leases[i].key;
		l->st_dev = (dev_t)t->leases[i].st_dev;
		l->st_ino = (ino_t)t->leases[i].st_ino;
		l->lease = t->leases[i].lease;
		l->pre_content = enf->pre_content;
		l->events = 1;	/* its mark was proven when it was added */
		l->path_fd = lw_fan_table_reopen(&t->leases[i], &mounts);
		for (__u32 h = 0; h < l->lease.nr_holders && h < LW_MAX_HOLDERS; h++)
			l->procs[h] = lw_fan_proc_get(enf, &l->lease.holders[h]);
		enf->nr_leases++;
		if (lw_fan_index_add(enf, i)) {
			lw_fan_mounts_close(&mounts);
			return lw_fan_fail(enf, -ENOMEM, "out of memory");
		}
	}
	lw_fan_mounts_close(&mounts);
	return 0;
}

int lw_fan_enforcer_adopt(const struct lw_fan_enforcer_opts *opts, int group_fd, int table_fd,
			  struct lw_enforcement **out, struct lw_err *why)
{
	struct lw_fan_enforcer *enf;
	int err;

	*out = NULL;
	enf = calloc(1, sizeof(*enf));
	if (!enf) {
		close(group_fd);
		close(table_fd);
		return lw_err_set(why, ENOMEM, "out of memory");
	}
	init(enf, opts);
	enf->fan_fd = group_fd;	/* ours from here on, as is the table */
	if ((err = lw_fan_table_map(enf, table_fd))) {
		close(table_fd);
		goto fail;
	}
	if ((err = create_eventfds(enf)) || (err = rebuild_leases(enf)))
		goto fail;
	lw_fan_table_take_denials(enf);
	describe_limits(enf);
	pthread_once(&atfork_once, register_atfork);
	track(enf, true);
	/* before our thread reads anything: its descriptor numbers are ours */
	lw_fan_table_answer_left(enf);
	err = lw_fan_thread_start(enf);
	if (err)
		goto fail;
	*out = &enf->base;
	return 0;
fail:
	if (why)
		*why = enf->err;
	lw_fan_enforcer_close(&enf->base);
	return err;
}

void lw_fan_enforcer_pause(struct lw_enforcement *handle)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	lw_fan_thread_stop(enf);
}

int lw_fan_enforcer_resume(struct lw_enforcement *handle)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	return enf->thread_started ? 0 : lw_fan_thread_start(enf);
}

void lw_fan_enforcer_group_fds(const struct lw_enforcement *handle, int *group_fd, int *table_fd)
{
	const struct lw_fan_enforcer *enf = lw_fan_of_const(handle);

	*group_fd = enf->fan_fd;
	*table_fd = enf->table_fd;
}

bool lw_fan_enforcer_pre_content(const struct lw_enforcement *handle)
{
	const struct lw_fan_enforcer *enf = lw_fan_of_const(handle);

	return enf->pre_content;
}

const char *lw_fan_enforcer_limits(const struct lw_enforcement *handle)
{
	const struct lw_fan_enforcer *enf = lw_fan_of_const(handle);

	return enf->limits;
}

unsigned int lw_fan_enforcer_max_images(const struct lw_enforcement *handle)
{
	return lw_fan_of_const(handle)->max_images;
}
