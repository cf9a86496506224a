// SPDX-License-Identifier: LGPL-2.1-or-later
/* The thread that answers the group: every permission event gets exactly
 * one answer (an unanswered one would hang its opener), FAN_DENY for a
 * non-holder that modifies a leased image, FAN_ALLOW for everything else.
 * Denials are queued as struct lw_denial for events_consume, rate
 * limited per (process, image) like the BPF programs. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "common/fd_stat.h"
#include "fanotify/fan_handover.h"
#include "fanotify/fan_index.h"

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);	/* as bpf_ktime_get_boot_ns() */
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Whether a denial of tgid on key may be sent now; lock held. When it may,
 * *suppressed is what was held back since the last one sent. */
static bool rate_allows(struct lw_fan_enforcer *enf, __u32 tgid, const struct lw_image_key *key,
			__u32 *suppressed)
{
	__u64 h = (key->dev ^ (key->ino * 0x9E3779B97F4A7C15ull)) + tgid * 0xBF58476D1CE4E5B9ull;
	struct lw_fan_rate *r = &enf->rate[(h ^ (h >> 31)) % LW_FAN_RATE_SLOTS];
	__u64 now = boot_ns();

	if (r->tgid != tgid || r->key.dev != key->dev || r->key.ino != key->ino) {
		/* A new pair (or one evicted from the slot, like an LRU entry). */
		*r = (struct lw_fan_rate){ .tgid = tgid, .key = *key, .window_start_ns = now };
	} else if (now - r->window_start_ns >= 1000000000ull) {
		r->window_start_ns = now;
		r->sent = 0;
	}
	if (r->sent >= enf->events_per_sec) {
		r->suppressed++;
		return false;
	}
	r->sent++;
	*suppressed = r->suppressed;
	r->suppressed = 0;
	return true;
}

static void record_denial(struct lw_fan_enforcer *enf, const struct lw_fan_lease *lease,
			  pid_t tid, const struct lw_fan_opener *opener, int event_fd)
{
	struct lw_denial e = { 0 };
	char link[64];
	ssize_t n = -1;
	__u64 one = 1;

	e.time_ns = boot_ns();
	lw_fan_fill_subject(tid, &e);
	e.op = opener->op;
	e.open_flags = opener->open_flags;
	e.key = lease->key;
	e.lease_mode = lease->lease.mode;
	e.holder = lease->lease.holders[0];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", event_fd);
	if (event_fd >= 0)
		n = readlink(link, e.path, sizeof(e.path) - 1);	/* the name the kernel opened */
	e.path[n > 0 ? n : 0] = 0;

	pthread_mutex_lock(&enf->lock);
	enf->denials++;
	if (!rate_allows(enf, e.tgid, &e.key, &e.suppressed)) {
		enf->suppressed++;
	} else if (enf->queue_len == LW_FAN_QUEUE_LEN) {
		enf->dropped++;	/* the daemon is not consuming: like a full ring buffer */
	} else {
		enf->queue[(enf->queue_head + enf->queue_len++) % LW_FAN_QUEUE_LEN] = e;
		if (write(enf->events_fd, &one, sizeof(one)) < 0) {
			/* eventfd counter full: it is readable anyway */
		}
	}
	pthread_mutex_unlock(&enf->lock);
}

__u32 lw_fan_decide(struct lw_fan_enforcer *enf, pid_t tid, __u64 mask, dev_t st_dev, ino_t st_ino,
		    int event_fd)
{
	struct lw_fan_lease lease;
	struct lw_fan_opener opener;
	bool found, holder = false;
	size_t i;

	pthread_mutex_lock(&enf->lock);
	i = lw_fan_index_by_inode(enf, st_dev, st_ino);
	found = i != LW_FAN_NOT_FOUND;
	if (found) {
		enf->leases[i].events++;
		lease = enf->leases[i];
		/* Under the lock: the holders' pidfds stay open meanwhile. */
		holder = lw_fan_holder_covers_tid(&enf->leases[i], tid);
	}
	pthread_mutex_unlock(&enf->lock);
	if (!found)
		return FAN_ALLOW;	/* the lease was removed while the event waited */
	if (holder || lw_fan_thread_of(tid, enf->self))
		return FAN_ALLOW;
	lw_fan_classify(tid, mask & FAN_PRE_ACCESS, &opener);
	if (opener.access == LW_FAN_READ)
		return FAN_ALLOW;
	record_denial(enf, &lease, tid, &opener, event_fd);
	return FAN_DENY | (enf->audit ? FAN_AUDIT : 0);
}

void lw_fan_answer(struct lw_fan_enforcer *enf, int event_fd, __u32 response)
{
	struct fanotify_response r = { .fd = event_fd, .response = response };

	while (write(enf->fan_fd, &r, sizeof(r)) < 0 && errno == EINTR)
		;
}

/* Note the events of one read in the shared table before deciding any, so
 * that if this process dies now the next answerer finds them (see
 * fan_handover.h); the descriptor number goes last: it marks a full slot. */
static void record_inflight(struct lw_fan_enforcer *enf, char *buf, ssize_t len)
{
	struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
	size_t slot = 0;

	for (; FAN_EVENT_OK(m, len) && slot < LW_FAN_READ_EVENTS; m = FAN_EVENT_NEXT(m, len)) {
		struct lw_fan_table_event *e = &enf->table->inflight[slot++];
		struct stat st = { 0 };

		if (m->fd < 0)
			continue;
		lw_fstat(m->fd, &st);
		e->tid = m->pid;
		e->mask = m->mask;
		e->st_dev = st.st_dev;
		e->st_ino = st.st_ino;
		__atomic_store_n(&e->fd, m->fd, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&enf->table->reading, 0, __ATOMIC_RELEASE);
}

static void handle_buffer(struct lw_fan_enforcer *enf, char *buf, ssize_t len)
{
	struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
	size_t slot = 0;

	record_inflight(enf, buf, len);
	for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len), slot++) {
		__u32 response = FAN_ALLOW;
		struct stat st;

		if (m->fd < 0)
			continue;	/* an overflow notice: nothing to answer */
		/* allowed unreadable (never hang the opener) and not ours (marks
		 * are on leased inodes only) */
		if (m->vers == FANOTIFY_METADATA_VERSION && (m->mask & (FAN_OPEN_PERM | FAN_PRE_ACCESS)) &&
		    !lw_fstat(m->fd, &st))
			response = lw_fan_decide(enf, m->pid, m->mask, st.st_dev, st.st_ino, m->fd);
		/* Closed before the answer (the kernel finds the event by its
		 * number alone): once an open of ours returns, our event's
		 * descriptor, a reader of the image, is gone, and a write lease
		 * on the lock (fan_lease_probe.c) finds no reader in its way. */
		close(m->fd);
		lw_fan_answer(enf, m->fd, response);
		if (slot < LW_FAN_READ_EVENTS)
			__atomic_store_n(&enf->table->inflight[slot].fd, -1, __ATOMIC_RELEASE);
	}
}

static void *answer_thread(void *arg)
{
	struct lw_fan_enforcer *enf = arg;
	/* no more events than the shared table has slots for */
	char buf[LW_FAN_READ_EVENTS * sizeof(struct fanotify_event_metadata)]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));

	for (;;) {
		struct pollfd fds[2] = { { enf->fan_fd, POLLIN, 0 }, { enf->stop_fd, POLLIN, 0 } };
		ssize_t len;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		__atomic_store_n(&enf->table->reading, 1, __ATOMIC_RELEASE);
		len = read(enf->fan_fd, buf, sizeof(buf));
		if (len > 0)
			handle_buffer(enf, buf, len);
		else
			__atomic_store_n(&enf->table->reading, 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

int lw_fan_thread_start(struct lw_fan_enforcer *enf)
{
	int err = pthread_create(&enf->thread, NULL, answer_thread, enf);

	if (err)
		return lw_fan_fail(enf, -err, "cannot start the fanotify thread: %s", strerror(err));
	enf->thread_started = true;
	return 0;
}

void lw_fan_thread_stop(struct lw_fan_enforcer *enf)
{
	__u64 one = 1;

	if (!enf->thread_started)
		return;
	if (write(enf->stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh eventfd; the join below would tell */
	}
	pthread_join(enf->thread, NULL);
	enf->thread_started = false;
}

int lw_fan_enforcer_events_fd(struct lw_enforcement *handle)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	return enf->events_fd;
}

int lw_fan_enforcer_events_consume(struct lw_enforcement *handle, lw_denial_fn fn, void *ctx)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_denial e;
	__u64 count;
	int n = 0, ret = 0;

	if (read(enf->events_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return lw_fan_fail(enf, -errno, "cannot read the events eventfd: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&enf->lock);
		if (!enf->queue_len) {
			pthread_mutex_unlock(&enf->lock);
			break;
		}
		e = enf->queue[enf->queue_head];
		enf->queue_head = (enf->queue_head + 1) % LW_FAN_QUEUE_LEN;
		enf->queue_len--;
		pthread_mutex_unlock(&enf->lock);
		n++;
		if (fn && (ret = fn(&e, ctx)))
			return ret;	/* as ring_buffer__consume: the callback's error stops it */
	}
	return n;
}

int lw_fan_enforcer_counters(struct lw_enforcement *handle, __u64 *denials, __u64 *suppressed,
			     __u64 *dropped)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	pthread_mutex_lock(&enf->lock);
	*denials = enf->denials;
	*suppressed = enf->suppressed;
	*dropped = enf->dropped;
	pthread_mutex_unlock(&enf->lock);
	return 0;
}
