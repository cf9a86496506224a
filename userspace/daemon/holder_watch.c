// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watching holders on the daemon's sd-event loop. See holders.h.
 *
 * A process is watched once however many leases it holds: one pidfd and one
 * event source, shared, and one counted interest for each callback and
 * context that watch it (the daemon's leases share one; a pending acquire
 * has its own). A holder of thousands of leases thus costs a few blocks,
 * not thousands of descriptors, sources or blocks: at its exit the callback
 * is told the holder and finds its leases itself (in one pass), or, for a
 * process that held one lease only, is told that lease.
 * Cgroup holders are rare and keep one inotify source a lease, in a block
 * of their own that names its lease by key, with a reference to the
 * interned path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/holder.h"
#include "common/live_procs.h"
#include "holders.h"

struct proc_watch;

/* A cgroup holder's own watch of its folder's parent. */
struct cgroup_watch {
	sd_event_source *inotify;
	struct lw_holder holder;
	const char *path;		/* the cgroup's folder: a reference to the interned path */
};

/* What h->watch points to. A process holder's is shared by every holder
 * watched with the same callback and context; a cgroup holder's is its own. */
struct lw_holder_watch {
	struct proc_watch *proc;	/* the shared process watch; NULL for a cgroup */
	struct lw_holder_watch *next;	/* in proc's interests */
	unsigned int holders;		/* process: the holders it stands for */
	bool told;			/* process: fn was called, the process exited */
	bool one_lease;			/* process: it has stood for key's holder alone */
	struct cgroup_watch *cgroup;	/* a cgroup holder's; NULL for a process */
	lw_holder_exit_fn fn;
	void *ctx;
	struct lw_image_key key;	/* its lease while one_lease, or a cgroup's: looked up
					 * again on exit (holders move in their arrays, and
					 * the lease may have ended) */
};

/* One watched process, shared by the leases it holds. */
struct proc_watch {
	struct lw_holder holder;
	sd_event *event;
	sd_event_source *source;	/* the pidfd, readable once the process exited */
	int pidfd;
	bool exited;
	bool hashed;			/* in by_holder (a new watch replaces an exited one) */
	unsigned int refs;		/* interests, and a dispatch under way */
	struct lw_holder_watch *interests;
	struct proc_watch *next_hashed;
};

/* Watched processes by pid and start time. The daemon has one event loop,
 * so one table; the event is part of the key all the same. */
#define PROC_BUCKETS 256
static struct proc_watch *by_holder[PROC_BUCKETS];

static unsigned int bucket_of(const struct lw_holder *holder)
{
	return lw_holder_hash(holder) % PROC_BUCKETS;
}

static struct proc_watch *proc_find(sd_event *event, const struct lw_holder *holder)
{
	for (struct proc_watch *p = by_holder[bucket_of(holder)]; p; p = p->next_hashed)
		if (p->event == event && lw_holder_equal(&p->holder, holder))
			return p;
	return NULL;
}

static void proc_unhash(struct proc_watch *p)
{
	struct proc_watch **pp;

	if (!p->hashed)
		return;
	for (pp = &by_holder[bucket_of(&p->holder)]; *pp; pp = &(*pp)->next_hashed)
		if (*pp == p) {
			*pp = p->next_hashed;
			break;
		}
	p->hashed = false;
}

static unsigned int nr_pidfds;	/* open now: the descriptor room counts them */

static void proc_put(struct proc_watch *p)
{
	if (--p->refs)
		return;
	proc_unhash(p);
	sd_event_source_disable_unref(p->source);
	if (p->pidfd >= 0) {
		close(p->pidfd);
		nr_pidfds--;
	}
	free(p);
}

unsigned int lw_holder_watch_pidfds(void)
{
	return nr_pidfds;
}

/* The process exited: tell each interest once, with its lease's key if it
 * stood for one lease only (the callback need not look for it among all).
 * A callback only queues the releases (leasing_release.c releases in
 * batches), so this is quick even for a holder of thousands of leases; it
 * may also unwatch at once, which may free that interest: the list is
 * walked again from its head after each call. */
static int on_exit_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proc_watch *p = userdata;
	struct lw_holder_watch *w;
	struct lw_image_key key;

	(void)fd;
	(void)revents;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	p->exited = true;
	lw_live_proc_exited(&p->holder);	/* its kept pidfd, if any, goes too */
	proc_unhash(p);	/* a new watch of this holder would see it exited anyway */
	p->refs++;	/* kept while callbacks unwatch */
	for (;;) {
		for (w = p->interests; w && w->told; w = w->next)
			;
		if (!w)
			break;
		w->told = true;
		key = w->key;	/* the callback may free w */
		w->fn(w->one_lease ? &key : NULL, &p->holder, w->ctx);
	}
	proc_put(p);
	return 0;
}

static int proc_new(sd_event *event, const struct lw_holder *holder, struct proc_watch **out)
{
	struct proc_watch *p;
	int pidfd, r;

	/* a pidfd proven to be the holder's: same pid, same start time, alive */
	pidfd = lw_live_proc_pidfd(holder);
	if (pidfd < 0)
		return pidfd;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(pidfd);
		return -ENOMEM;
	}
	p->holder = *holder;
	p->event = event;
	p->pidfd = pidfd;
	r = sd_event_add_io(event, &p->source, pidfd, EPOLLIN, on_exit_readable, p);
	if (r < 0) {
		close(pidfd);
		free(p);
		return r;
	}
	p->next_hashed = by_holder[bucket_of(holder)];
	by_holder[bucket_of(holder)] = p;
	p->hashed = true;
	nr_pidfds++;
	*out = p;
	return 0;
}

static struct lw_holder_watch *sub_new(lw_holder_exit_fn fn, void *ctx)
{
	struct lw_holder_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

static void sub_free(struct lw_holder_watch *w)
{
	if (w->cgroup)
		/* sd-event keeps a source it is dispatching until its callback returns */
		sd_event_source_disable_unref(w->cgroup->inotify);
	if (w->cgroup)
		lw_cgroup_path_put(w->cgroup->path);
	free(w->cgroup);
	free(w);
}

/* p's interest for fn and ctx, made if it has none yet; NULL if out of memory. */
static struct lw_holder_watch *interest_of(struct proc_watch *p, lw_holder_exit_fn fn, void *ctx)
{
	struct lw_holder_watch *w;

	for (w = p->interests; w; w = w->next)
		if (w->fn == fn && w->ctx == ctx && !w->told)
			return w;
	w = sub_new(fn, ctx);
	if (!w)
		return NULL;
	w->proc = p;
	w->next = p->interests;
	p->interests = w;
	p->refs++;
	return w;
}

static int watch_process(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
			 lw_holder_exit_fn fn, void *ctx)
{
	struct proc_watch *p = proc_find(event, &h->id);
	struct lw_holder_watch *w;
	int r;

	/* its pidfd proves the identity; readable, the process is gone */
	if (p && lw_pidfd_exited(p->pidfd))
		return -ESRCH;
	if (!p && (r = proc_new(event, &h->id, &p)) < 0)
		return r;
	w = interest_of(p, fn, ctx);
	if (!w) {
		if (!p->refs) {
			p->refs = 1;
			proc_put(p);
		}
		return -ENOMEM;
	}
	/* a second holder ends the hint for good: which one an unwatch left is not known */
	w->one_lease = w->holders++ == 0;
	if (w->one_lease)
		w->key = e->key;
	h->watch = w;
	h->pidfd = p->pidfd;	/* borrowed: stop_holder signals through it */
	if (h->comm[0] == '\0')
		lw_pid_comm((int)h->id.pid, h->comm);
	return 0;
}

/* Something was removed from the cgroup's parent folder (libvirt's machine
 * scope goes at domain stop), or the parent itself went. The parent is
 * watched, not the folder: its own IN_DELETE_SELF comes only once the last
 * reference to its dentry is gone, which can be much later. */
static int on_cgroup_parent_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct lw_holder_watch *w = userdata;
	struct lw_holder holder = w->cgroup->holder;	/* the callback may free w */
	struct lw_image_key key = w->key;

	(void)ev;
	if (lw_cgroup_alive(w->cgroup->path, holder.cgroup_id))
		return 0;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	/* the callback may unwatch, which frees w */
	w->fn(&key, &holder, w->ctx);
	return 0;
}

static int watch_cgroup(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
			lw_holder_exit_fn fn, void *ctx)
{
	struct lw_holder_watch *w;
	char parent[LW_PATH_MAX], *slash;
	int r;

	if (!h->cgroup || h->cgroup[0] != '/')
		return -EINVAL;	/* a relative path would depend on the daemon's folder */
	snprintf(parent, sizeof(parent), "%s", h->cgroup);
	slash = strrchr(parent, '/');
	*slash = '\0';
	w = sub_new(fn, ctx);
	if (w) {
		w->key = e->key;
		w->cgroup = calloc(1, sizeof(*w->cgroup));
	}
	if (!w || !w->cgroup) {
		if (w)
			sub_free(w);
		return -ENOMEM;
	}
	w->cgroup->holder = h->id;
	w->cgroup->path = h->cgroup;
	lw_cgroup_path_hold(h->cgroup);
	r = sd_event_add_inotify(event, &w->cgroup->inotify, parent[0] ? parent : "/",
				 IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR, on_cgroup_parent_event, w);
	/* the watch is set first, so a folder removed after it is seen */
	if (r == 0 && !lw_cgroup_alive(w->cgroup->path, h->id.cgroup_id))
		r = -ESRCH;
	if (r < 0) {
		sub_free(w);
		return r == -ENOENT ? -ESRCH : r;
	}
	h->watch = w;
	return 0;
}

/* A keep is one more reference to the process watch: with no interest
 * left, the watch only waits, and at the process's exit tells no one. */
struct lw_holder_keep *lw_holder_watch_keep(sd_event *event, const struct lw_holder *holder)
{
	struct proc_watch *p = holder->kind == LW_HOLDER_PROCESS ? proc_find(event, holder) : NULL;

	if (!p)
		return NULL;
	p->refs++;
	return (struct lw_holder_keep *)p;
}

void lw_holder_watch_release(struct lw_holder_keep *keep)
{
	if (keep)
		proc_put((struct proc_watch *)keep);
}

int lw_holder_watch(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
		    lw_holder_exit_fn fn, void *ctx)
{
	if (h->watch)
		return 0;
	if (h->id.kind == LW_HOLDER_CGROUP)
		return watch_cgroup(event, e, h, fn, ctx);
	if (h->id.kind != LW_HOLDER_PROCESS)
		return 0;
	return watch_process(event, e, h, fn, ctx);
}

void lw_holder_unwatch(struct lw_lease_holder *h)
{
	struct lw_holder_watch *w = h->watch;

	h->watch = NULL;
	h->pidfd = -1;
	if (!w)
		return;
	if (w->proc) {
		struct proc_watch *p = w->proc;
		struct lw_holder_watch **pw;

		if (--w->holders)
			return;
		for (pw = &p->interests; *pw; pw = &(*pw)->next)
			if (*pw == w) {
				*pw = w->next;
				break;
			}
		free(w);
		proc_put(p);
		return;
	}
	sub_free(w);
}
