// SPDX-License-Identifier: LGPL-2.1-or-later
/* Re-adoption of leases at start. See adopt.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "enforcer/enforcer.h"
#include "backend.h"
#include "common/enforcement.h"
#include "holders.h"
#include "image_open.h"
#include "keeper.h"
#include "keeping.h"
#include "leasing.h"
#include "adopt.h"
#include "adopt_index.h"
#include "releasing.h"
#include "state.h"
#include "tamper.h"

struct kept_lock {
	char *name;
	int fd;		/* -1: kept, but the kernel would not pass it back */
	bool claimed;	/* a lease in the state file owns it */
};

/* What the keeper kept, found by image through a hash index (built once
 * all are in: the array may move while it grows). */
struct kept_list {
	struct kept_lock *items;
	size_t count, cap;
	struct lw_index by_image;
	bool retaken;	/* a lock was taken anew: the keeper has no copy of it */
};

static int collect_kept(const char *name, int fd, void *ctx)
{
	struct kept_list *l = ctx;

	if (l->count == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct kept_lock *grown = realloc(l->items, cap * sizeof(*grown));

		if (!grown) {
			close(fd);
			return -ENOMEM;
		}
		l->items = grown;
		l->cap = cap;
	}
	l->items[l->count].name = strdup(name);
	l->items[l->count].claimed = false;
	l->items[l->count++].fd = fd;
	return 0;
}

/* The first kept lock for image, or NULL. */
static struct kept_lock *find_kept(struct kept_list *l, const char *image)
{
	for (uint32_t *s = lw_index_first(&l->by_image, lw_index_hash(image, strlen(image))); *s;
	     s = lw_index_next(&l->by_image, s))
		if (strcmp(l->items[*s - 1].name, image) == 0)
			return &l->items[*s - 1];
	return NULL;
}

static int hash_kept(struct kept_list *l)
{
	int r = lw_index_init(&l->by_image, l->count);

	for (size_t i = 0; r == 0 && i < l->count; i++) {
		uint32_t *s;

		if (!l->items[i].name)
			return -ENOMEM;
		/* a second copy under one name stays unclaimed: dropped as stale */
		if (find_kept(l, l->items[i].name))
			continue;
		s = lw_index_first(&l->by_image, lw_index_hash(l->items[i].name, strlen(l->items[i].name)));
		while (*s)
			s = lw_index_next(&l->by_image, s);
		*s = (uint32_t)i + 1;
	}
	return r;
}

/* Claim the kept lock for image: true if the keeper has one; *fd gets our
 * own copy of it, or -1 if the kernel would not pass it back. */
static bool take_kept(struct kept_list *l, const char *image, int *fd)
{
	struct kept_lock *k = find_kept(l, image);

	*fd = -1;
	if (!k || k->claimed)
		return false;
	*fd = k->fd;
	k->fd = -1;
	k->claimed = true;
	return true;
}

/* The kernel's entries as adoption began, by key: one walk of the
 * enforcer instead of a lookup a lease (the fanotify enforcer's lookup is
 * a search of its table). Adoption is the only one to change the entries
 * of leases not adopted yet, so the copy stays true for them. */
struct kernel_entries {
	struct lw_image_key *keys;
	struct lw_lease *leases;
	size_t count, cap;
	struct lw_index by_key;
	bool loaded;		/* else each lease is looked up in the enforcer */
};

static uint64_t key_hash(const struct lw_image_key *key)
{
	__u64 k[2] = { key->dev, key->ino };

	return lw_index_hash(k, sizeof(k));
}

static int collect_kernel(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx)
{
	struct kernel_entries *k = ctx;

	if (k->count == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 256;
		struct lw_image_key *keys = realloc(k->keys, cap * sizeof(*keys));
		struct lw_lease *leases;

		if (!keys)
			return -ENOMEM;
		k->keys = keys;
		leases = realloc(k->leases, cap * sizeof(*leases));
		if (!leases)
			return -ENOMEM;
		k->leases = leases;
		k->cap = cap;
	}
	k->keys[k->count] = *key;
	k->leases[k->count++] = *lease;
	return 0;
}

static const struct lw_lease *kernel_entry(const struct kernel_entries *k, const struct lw_image_key *key)
{
	if (!k->by_key.slots)
		return NULL;
	for (uint32_t *s = lw_index_first(&k->by_key, key_hash(key)); *s; s = lw_index_next(&k->by_key, s))
		if (k->keys[*s - 1].dev == key->dev && k->keys[*s - 1].ino == key->ino)
			return &k->leases[*s - 1];
	return NULL;
}

static int load_kernel(struct lw_daemon *d, struct kernel_entries *k)
{
	int r = lw_enforcement_foreach(d->enforcer, collect_kernel, k);

	if (r >= 0)
		r = lw_index_init(&k->by_key, k->count);
	for (size_t i = 0; r >= 0 && i < k->count; i++) {
		uint32_t *s = lw_index_first(&k->by_key, key_hash(&k->keys[i]));

		while (*s)
			s = lw_index_next(&k->by_key, s);
		*s = (uint32_t)i + 1;
	}
	k->loaded = r >= 0;
	return r < 0 ? r : 0;
}

static void free_kernel(struct kernel_entries *k)
{
	lw_index_free(&k->by_key);
	free(k->keys);
	free(k->leases);
	memset(k, 0, sizeof(*k));
}

/* Process holders found alive so far: a holder of many leases is looked
 * up in /proc once. Its watch (lw_holder_watch, a pidfd that proves the
 * identity) then catches an exit after the look-up. */
struct alive_holders {
	struct lw_holder *items;
	size_t count, cap;
	struct lw_index by_id;
};

static uint64_t holder_hash(const struct lw_holder *h)
{
	__u64 k[2] = { h->pid, h->start_time };

	return lw_index_hash(k, sizeof(k));
}

static bool holder_alive(struct alive_holders *a, const struct lw_lease_holder *h)
{
	uint32_t *s;

	if (h->id.kind != LW_HOLDER_PROCESS || !a->by_id.slots)
		return lw_lease_holder_alive(h);
	for (s = lw_index_first(&a->by_id, holder_hash(&h->id)); *s; s = lw_index_next(&a->by_id, s))
		if (lw_holder_equal(&a->items[*s - 1], &h->id))
			return true;
	if (!lw_lease_holder_alive(h))
		return false;
	if (a->count < a->cap) {	/* full: looked up every time, as before */
		a->items[a->count] = h->id;
		*s = (uint32_t)++a->count;
	}
	return true;
}

struct lw_adopt_waiter {
	void (*fn)(void *ctx);
	void *ctx;
	TAILQ_ENTRY(lw_adopt_waiter) link;
};

struct lw_adoption {
	struct lw_lease_table *pending;	/* loaded from the state, not adopted yet */
	struct kept_list kept;
	struct kernel_entries kernel;	/* as adoption began */
	struct alive_holders alive;
	unsigned int adopted, total, chunk;
	bool finished;			/* the requests that waited are being answered */
	int keeper_pid;			/* a keeper replaced meanwhile lacks the later locks */
	uint64_t start_usec;
	sd_event_source *pass;		/* idle-priority defer source, or the gate's */
	int gate_fd;
	void (*done)(struct lw_daemon *d, int result, const struct lw_err *err);
	TAILQ_HEAD(, lw_adopt_waiter) waiters;
};

/* A lookup as a holder that is not root takes the holder's identity, so it
 * runs in a thread of its own; adoption waits for it at most
 * lookup_timeout_sec (the holder's FUSE server may never answer) and then
 * leaves it to end on its own, if ever: the last of the two frees it. */
struct holder_lookup {
	struct lw_image_lookup l;
	char *path;
	int done_fd;		/* eventfd, written once the lookup ended */
	atomic_int refs;
};

static void holder_lookup_put(struct holder_lookup *h)
{
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	lw_image_lookup_release(&h->l);
	if (h->done_fd >= 0)
		close(h->done_fd);
	free(h->path);
	free(h);
}

static void *holder_lookup_run(void *arg)
{
	struct holder_lookup *h = arg;

	lw_image_lookup_run(&h->l);
	eventfd_write(h->done_fd, 1);
	holder_lookup_put(h);
	return NULL;
}

/* lw_image_open of path as caller; in a thread waited for at most
 * timeout_sec if in_thread (a user's path may be its FUSE mount, which
 * may never answer). */
static int image_open_as(const char *path, const struct lw_image_caller *caller, bool in_thread,
			 unsigned int timeout_sec, struct lw_image *image, const char **why)
{
	struct holder_lookup *h = calloc(1, sizeof(*h));
	struct pollfd ready;
	pthread_attr_t attr;
	pthread_t thread;
	int r;

	image->fd = -1;
	if (!h || !(h->path = strdup(path))) {
		free(h);
		*why = "out of memory";
		return -ENOMEM;
	}
	h->done_fd = -1;
	atomic_init(&h->refs, 1);
	r = lw_image_lookup_prepare(&h->l, h->path, caller);
	if (r == 0 && !in_thread)
		lw_image_lookup_run(&h->l);
	else if (r == 0) {
		h->done_fd = eventfd(0, EFD_CLOEXEC);
		if (h->done_fd < 0) {
			r = -errno;
			*why = strerror(errno);
			holder_lookup_put(h);
			return r;
		}
		atomic_init(&h->refs, 2);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&thread, &attr, holder_lookup_run, h);
		pthread_attr_destroy(&attr);
		if (r < 0) {
			atomic_init(&h->refs, 1);
			*why = strerror(-r);
			holder_lookup_put(h);
			return r;
		}
		ready = (struct pollfd){ .fd = h->done_fd, .events = POLLIN };
		do
			r = poll(&ready, 1, (int)timeout_sec * 1000);
		while (r < 0 && errno == EINTR);
		if (r != 1) {
			*why = "its lookup did not answer within lookup_timeout_sec";
			holder_lookup_put(h);
			return -ETIMEDOUT;
		}
	}
	r = lw_image_open(&h->l, caller, image, why);
	holder_lookup_put(h);
	return r;
}

int lw_adopt_image(struct lw_daemon *d, const struct lw_lease_entry *e, int *fd, bool *fd_path, const char **why)
{
	/* as the daemon: the key check below keeps the lease on its file, and
	 * a lease root took for a user's process (libvirt's QEMU) may be on an
	 * image that user neither owns nor may write */
	const struct lw_image_caller root = { .privileged = true };
	struct lw_image image;
	struct lw_image_key key;
	bool users = false;
	int r;

	for (unsigned int i = 0; i < e->nr_holders; i++)
		users |= e->holders[i].uid != 0;
	r = image_open_as(e->image, &root, users, d->cfg->lookup_timeout_sec, &image, why);
	if (r < 0)
		return r;
	*fd = image.fd;
	*fd_path = true;
	if (lw_image_key_of_stat(&image.st, image.fs_magic, &key) < 0) {
		/* checked an image above: opening it for read neither waits nor acts */
		*fd = lw_image_open_read(image.fd);
		close(image.fd);
		if (*fd < 0) {
			*why = strerror(-*fd);
			return *fd;
		}
		*fd_path = false;
		if ((r = lw_enforcement_key_of_fd(d->enforcer, *fd, &key)) < 0) {
			*why = lw_enforcement_error(d->enforcer);
			close(*fd);
			return r;
		}
	}
	if (key.dev != e->key.dev || key.ino != e->key.ino) {
		*why = "the path now names another file than the one leased";
		close(*fd);
		return -ESTALE;
	}
	return 0;
}

/* The backend lock for e: the kept one if it still holds, else taken anew
 * if it is free (the backend never waits here). */
static int adopt_lock(struct lw_daemon *d, struct lw_lease_entry *e, int image_fd, struct kept_list *kept,
		      struct lw_err *err)
{
	struct lw_backend_request req = { .image = e->image, .image_fd = image_fd,
					  .shared = e->mode == LW_LEASE_SHARED };
	bool had_copy;
	int fd, r;

	had_copy = take_kept(kept, e->image, &fd);
	if (had_copy && fd < 0) {
		/* the kernel would not pass the daemon (registered by
		 * lw_tamper_open) its copy: the keeper's still holds the lock,
		 * release drops it there */
		lw_log(LOG_ERR, "adopt %s: the keeper's copy of the lock did not pass; only the keeper holds it",
		       e->image);
		e->lock = NULL;
		return 0;
	}
	/* The lease stays enforced meanwhile: the kernel lets the daemon
	 * (registered by lw_tamper_open) open the image for write. */
	r = lw_backend_adopt(d->backend, &req, e->lock_id, fd, &e->lock, err);
	if (r < 0)
		return r;
	r = lw_lease_set_lock_id(e, lw_backend_lock_id(e->lock));
	if (r < 0)
		return lw_err_set(err, -r, "out of memory");
	if (fd < 0 && lw_backend_lock_keep_fd(e->lock) >= 0) {
		lw_log(LOG_WARNING, "adopt %s: the backend lock was lost with the keeper; took it again", e->image);
		kept->retaken = true;
	}
	return 0;
}

/* Put the kernel's entry for e in line with e's holders; image_fd is e's
 * image (lw_adopt_image), O_PATH if fd_path. */
static int adopt_kernel(struct lw_daemon *d, struct lw_lease_entry *e, int image_fd, bool fd_path)
{
	const struct lw_lease *kernel = kernel_entry(&d->adoption->kernel, &e->key);
	struct lw_lease looked_up;
	struct lw_image_key key;
	int r, fd;

	/* the walk at the start failed: ask for this one */
	if (!d->adoption->kernel.loaded && lw_enforcement_lookup(d->enforcer, &e->key, &looked_up) == 0)
		kernel = &looked_up;

	if (kernel && kernel->mode == (__u32)e->mode) {
		for (__u32 i = 0; i < kernel->nr_holders && i < LW_MAX_HOLDERS; i++)
			if (lw_lease_find_holder(e, &kernel->holders[i]) < 0)
				lw_enforcement_remove_holder(d->enforcer, &e->key, &kernel->holders[i]);
		for (unsigned int i = 0; i < e->nr_holders; i++) {
			bool found = false;

			for (__u32 j = 0; j < kernel->nr_holders && j < LW_MAX_HOLDERS; j++)
				found |= lw_holder_equal(&kernel->holders[j], &e->holders[i].id) != 0;
			if (!found && (r = lw_enforcement_add_holder(d->enforcer, &e->key, &e->holders[i].id)) < 0)
				return r;
		}
		return 0;
	}
	if (kernel)
		lw_enforcement_remove_lease(d->enforcer, &e->key);
	/* Not enforced (pins were lost while the daemon was down, or a crash
	 * mid-way): enforce it again first, so no new writer gets in, then
	 * report who opened it for write in the gap. Those keep their
	 * descriptors (the holder's lease stands), but not silently. */
	lw_log(LOG_WARNING, "adopt %s: the kernel did not enforce this lease; enforcing it again", e->image);
	lw_tamper_report_unenforced(d, e);
	fd = fd_path ? lw_image_open_read(image_fd) : image_fd;
	if (fd < 0)
		return fd;
	r = lw_enforcement_add_lease(d->enforcer, fd, e->mode, &e->holders[0].id, LW_LEASE_FORCE, &key, NULL);
	if (r == 0 && (key.dev != e->key.dev || key.ino != e->key.ino)) {
		/* lw_adopt_image found e's key by stat: the enforcer's own says otherwise */
		lw_enforcement_remove_lease(d->enforcer, &key);
		r = -ESTALE;
	}
	if (r == 0) {
		for (unsigned int i = 1; i < e->nr_holders; i++)
			lw_enforcement_add_holder(d->enforcer, &e->key, &e->holders[i].id);
		lw_tamper_report_writers(d, e, fd, "at start, after a gap in enforcement");
	}
	if (fd != image_fd)
		close(fd);
	return r;
}

/* Release e everywhere while adopting (it is not watched yet). */
static void drop_lease(struct lw_daemon *d, struct lw_lease_entry *e, enum lw_lease_event why,
		       const struct lw_lease_holder *who, const char *reason)
{
	struct lw_release_record rec = { .who = who, .why = why, .reason = reason };

	lw_lease_table_remove(d->leases, e);
	lw_enforcement_remove_lease(d->enforcer, &e->key);
	lw_keeper_drop(d->keeper, e->image);
	lw_releasing_start(d, e, &rec, NULL, NULL, NULL);	/* frees e */
}

/* Drop e while adopting, who and why recorded: the backend takes its lock
 * back only to release it, without the image (nothing opens its path). */
static void drop_adopted(struct lw_daemon *d, struct lw_lease_entry *e, enum lw_lease_event why,
			 const struct lw_lease_holder *who, const char *reason)
{
	struct lw_backend_request req = { .image = e->image, .image_fd = -1, .shared = e->mode == LW_LEASE_SHARED };
	struct lw_err err = { { 0 } };
	int fd;

	/* a kept copy the kernel would not pass: the keeper's drop gives it up */
	if (take_kept(&d->adoption->kept, e->image, &fd) && fd < 0)
		e->lock = NULL;
	else if (lw_backend_adopt(d->backend, &req, e->lock_id, fd, &e->lock, &err) < 0) {
		/* the backend lost it first (paxos: fenced while the daemon was
		 * down; fcntl: no kept copy, and no image to take it on) */
		e->lock = NULL;
		if (why == LW_LEASE_HOLDER_DEATH) {
			drop_lease(d, e, LW_LEASE_FORCED_RELEASE, who, err.msg);
			return;
		}
	}
	drop_lease(d, e, why, who, reason);
}

static void adopt_lease(struct lw_daemon *d, struct lw_lease_entry *e)
{
	struct kept_list *kept = &d->adoption->kept;
	struct lw_lease_holder last = { .pidfd = -1 };	/* the last that exited, its own reference */
	struct lw_err err = { { 0 } };
	const char *why;
	bool fd_path;
	int image_fd, r;

	for (unsigned int i = 0; i < e->nr_holders;) {
		if (holder_alive(&d->adoption->alive, &e->holders[i])) {
			i++;
			continue;
		}
		lw_log(LOG_INFO, "adopt %s: holder pid %u exited while the daemon was down",
		       e->image, e->holders[i].id.pid);
		lw_lease_holder_put(&last);
		last = e->holders[i];
		lw_lease_holder_hold(&last);
		if (e->nr_holders > 1)
			lw_leasing_audit(d, e, &e->holders[i], LW_LEASE_HOLDER_DEATH, "exited while the daemon was down");
		lw_lease_drop_holder(e, i);
	}
	if (e->nr_holders == 0) {
		drop_adopted(d, e, LW_LEASE_HOLDER_DEATH, &last, "exited while the daemon was down");
		lw_lease_holder_put(&last);
		return;
	}
	lw_lease_holder_put(&last);
	r = lw_adopt_image(d, e, &image_fd, &fd_path, &why);
	if (r < 0) {
		char reason[200];

		snprintf(reason, sizeof(reason), "cannot open its image after a restart: %s", why);
		lw_log(LOG_WARNING, "adopt %s: %s; the lease is dropped", e->image, reason);
		drop_adopted(d, e, LW_LEASE_FORCED_RELEASE, &e->holders[0], reason);
		return;
	}
	r = adopt_lock(d, e, image_fd, kept, &err);
	if (r < 0) {
		close(image_fd);
		lw_log(LOG_ERR, "adopt %s: backend lock lost: %s", e->image, err.msg);
		e->lock = NULL;
		drop_lease(d, e, LW_LEASE_FORCED_RELEASE, &e->holders[0], "backend lock lost while the daemon was down");
		return;
	}
	r = adopt_kernel(d, e, image_fd, fd_path);
	close(image_fd);
	if (r < 0) {
		lw_log(LOG_ERR, "adopt %s: cannot enforce it again: %s", e->image, lw_enforcement_error(d->enforcer));
		drop_lease(d, e, LW_LEASE_FORCED_RELEASE, &e->holders[0], "cannot enforce it after a restart");
		return;
	}
	for (unsigned int i = 0; i < e->nr_holders;) {
		if (lw_holder_watch(d->event, e, &e->holders[i], lw_leasing_holder_exited, d) == 0) {
			i++;
			continue;
		}
		/* died just now: the general path releases it */
		struct lw_holder gone = e->holders[i].id;

		lw_leasing_holder_exited(&e->key, &gone, d);
		return;
	}
}

struct stale_keys {
	struct lw_image_key *keys;
	size_t count, cap;
	struct lw_lease_table *leases;
};

static int collect_stale(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx)
{
	struct stale_keys *s = ctx;

	(void)lease;
	if (lw_lease_by_key(s->leases, key))
		return 0;
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct lw_image_key *grown = realloc(s->keys, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->keys = grown;
		s->cap = cap;
	}
	s->keys[s->count++] = *key;
	return 0;
}

/* Leases per pass of the loop: small enough that a request waits a few
 * milliseconds at most, large enough that the passes cost nothing. */
#define ADOPT_CHUNK 256
/* Test and tuning knobs (lockwardend(8)): leases per pass, and a FIFO
 * each byte written to which allows one pass (adoption made observable
 * without any assumption of speed). */
#define ADOPT_CHUNK_ENV "LOCKWARDEND_ADOPT_CHUNK"
#define ADOPT_GATE_ENV "LOCKWARDEND_ADOPT_GATE"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void free_kept(struct kept_list *kept)
{
	for (size_t i = 0; i < kept->count; i++) {
		if (kept->items[i].fd >= 0)
			close(kept->items[i].fd);
		free(kept->items[i].name);
	}
	lw_index_free(&kept->by_image);
	free(kept->items);
	memset(kept, 0, sizeof(*kept));
}

static void free_adoption(struct lw_daemon *d)
{
	struct lw_adoption *a = d->adoption;
	struct lw_lease_entry *e;

	if (!a)
		return;
	sd_event_source_disable_unref(a->pass);
	if (a->gate_fd >= 0)
		close(a->gate_fd);
	while ((e = lw_lease_first(a->pending))) {
		lw_lease_table_remove(a->pending, e);
		lw_lease_entry_free(e);
	}
	lw_lease_table_free(a->pending);
	free_kept(&a->kept);
	free_kernel(&a->kernel);
	lw_index_free(&a->alive.by_id);
	free(a->alive.items);
	free(a);
	d->adoption = NULL;
}

/* Once every lease is adopted: what the state does not list goes, the
 * keeper is made whole, the state is written again. */
static int finish(struct lw_daemon *d, struct lw_err *err)
{
	struct lw_adoption *a = d->adoption;
	struct kept_list *kept = &a->kept;
	struct stale_keys stale = { .leases = d->leases };
	int r;

	r = lw_enforcement_foreach(d->enforcer, collect_stale, &stale);
	for (size_t i = 0; r >= 0 && i < stale.count; i++) {
		lw_log(LOG_INFO, "removing a stale kernel lease (dev %llu ino %llu) the state does not list",
		       (unsigned long long)stale.keys[i].dev, (unsigned long long)stale.keys[i].ino);
		lw_enforcement_remove_lease(d->enforcer, &stale.keys[i]);
	}
	free(stale.keys);
	for (size_t i = 0; i < kept->count; i++)
		if (!kept->items[i].claimed) {
			/* kept for a lease the state does not list: an acquire that never committed */
			lw_log(LOG_INFO, "dropping a stale kept lock for %s", kept->items[i].name);
			lw_keeper_drop(d->keeper, kept->items[i].name);
			/* the last copy of a keep_fd: closing it gives the lock up (backend.h) */
			if (kept->items[i].fd >= 0)
				close(kept->items[i].fd);
			kept->items[i].fd = -1;
		}
	/* a lock taken anew cannot be passed to the keeper now that its lease
	 * is in the kernel, and a keeper started meanwhile lacks the locks
	 * adopted after it: a new keeper inherits every lock instead */
	if (kept->retaken)
		lw_keeping_renew(d, "locks were taken again at start");
	else if (lw_keeper_pid(d->keeper) != a->keeper_pid)
		lw_keeping_renew(d, "the keeper was replaced while leases were adopted");
	/* a fresh snapshot of what was adopted; changes go to its journal */
	lw_state_close(d->state);
	d->state = NULL;
	r = lw_state_open(d->cfg->state_dir, d->leases, &d->state, err);
	if (r == 0)
		r = lw_keeping_watch(d);
	else
		return r;
	if (r < 0)
		lw_err_set(err, -r, "keeper: cannot watch its connection: %s", strerror(-r));
	return r;
}

static void end(struct lw_daemon *d)
{
	struct lw_adoption *a = d->adoption;
	struct lw_adopt_waiter *w;
	struct lw_err err = { { 0 } };
	uint64_t took;
	int r;

	a->pass = sd_event_source_disable_unref(a->pass);
	r = finish(d, &err);
	a->finished = true;
	took = now_usec() - a->start_usec;
	if (r == 0 && a->total)
		lw_log(LOG_INFO, "adopted %u lease(s) of %u in %llu.%03llu s", lw_lease_count(d->leases), a->total,
		       (unsigned long long)(took / 1000000u), (unsigned long long)(took / 1000u % 1000u));
	a->done(d, r, &err);
	if (r < 0)
		return;	/* the daemon stops: the waiting connections close */
	/* the requests that waited, in order (each may start more work) */
	while ((w = TAILQ_FIRST(&a->waiters))) {
		TAILQ_REMOVE(&a->waiters, w, link);
		w->fn(w->ctx);
		free(w);
	}
	free_adoption(d);
}

/* Adopt up to n leases; true once none is left. */
static bool adopt_some(struct lw_daemon *d, unsigned int n)
{
	struct lw_adoption *a = d->adoption;
	struct lw_lease_entry *e;

	while (n-- && (e = lw_lease_first(a->pending))) {
		/* in the daemon's table first: a release from here on finds it there */
		lw_lease_table_remove(a->pending, e);
		lw_lease_table_insert(d->leases, e);
		a->adopted++;
		adopt_lease(d, e);
	}
	return !lw_lease_first(a->pending);
}

static int on_pass(sd_event_source *s, void *userdata)
{
	struct lw_daemon *d = userdata;

	(void)s;
	if (adopt_some(d, d->adoption->chunk))
		end(d);
	return 0;
}

static int on_gate(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lw_daemon *d = userdata;
	char bytes[64];
	ssize_t n;

	(void)s;
	(void)revents;
	n = read(fd, bytes, sizeof(bytes));
	for (ssize_t i = 0; i < n; i++)
		if (adopt_some(d, d->adoption->chunk)) {
			end(d);
			break;
		}
	return 0;
}

/* Whether the keeper may lack the lock of a lease of the state: it was
 * started just now (the previous one died with the daemon), or it keeps
 * locks (the backend has descriptors to keep) but not one of a lease. */
static bool keeper_may_lack_locks(struct lw_daemon *d)
{
	struct lw_adoption *a = d->adoption;

	if (!a->total)
		return false;
	if (lw_keeper_started_here(d->keeper))
		return true;
	for (struct lw_lease_entry *e = lw_lease_first(a->pending); a->kept.count && e; e = e->next)
		if (!find_kept(&a->kept, e->image))
			return true;
	return false;
}

static unsigned int chunk_from_env(void)
{
	const char *v = getenv(ADOPT_CHUNK_ENV);
	char *rest;
	unsigned long n;

	if (!v)
		return ADOPT_CHUNK;
	errno = 0;
	n = strtoul(v, &rest, 10);
	if (errno || rest == v || *rest || n < 1 || n > UINT_MAX) {
		lw_log(LOG_WARNING, "%s=\"%s\" is not a count of leases from 1: using %u", ADOPT_CHUNK_ENV, v,
		       ADOPT_CHUNK);
		return ADOPT_CHUNK;
	}
	return (unsigned int)n;
}

static int start_passes(struct lw_daemon *d, struct lw_err *err)
{
	struct lw_adoption *a = d->adoption;
	const char *gate = getenv(ADOPT_GATE_ENV);
	int r;

	a->chunk = chunk_from_env();
	if (gate) {
		/* read-write: the FIFO always has a writer, so it never reads as hung up */
		a->gate_fd = open(gate, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (a->gate_fd < 0)
			return lw_err_set(err, errno, "%s: cannot open %s: %s", ADOPT_GATE_ENV, gate, strerror(errno));
		lw_log(LOG_WARNING, "adopting %u lease(s) a byte written to %s (%s)", a->chunk, gate, ADOPT_GATE_ENV);
		r = sd_event_add_io(d->event, &a->pass, a->gate_fd, EPOLLIN, on_gate, d);
	} else {
		r = sd_event_add_defer(d->event, &a->pass, on_pass, d);
		if (r >= 0)
			r = sd_event_source_set_priority(a->pass, SD_EVENT_PRIORITY_IDLE);
		if (r >= 0)
			r = sd_event_source_set_enabled(a->pass, SD_EVENT_ON);
	}
	if (r < 0)
		return lw_err_set(err, -r, "cannot schedule the adoption: %s", strerror(-r));
	return 0;
}

int lw_adopt_start(struct lw_daemon *d, void (*done)(struct lw_daemon *d, int result, const struct lw_err *err),
		   struct lw_err *err)
{
	struct lw_adoption *a = calloc(1, sizeof(*a));
	bool earlier_boot;
	int r;

	if (!a)
		return lw_err_set(err, ENOMEM, "out of memory");
	a->gate_fd = -1;
	a->done = done;
	a->start_usec = now_usec();
	a->keeper_pid = lw_keeper_pid(d->keeper);
	TAILQ_INIT(&a->waiters);
	d->adoption = a;
	r = lw_lease_table_new(d->cfg->max_images, &a->pending);
	if (r < 0) {
		lw_err_set(err, -r, "out of memory");
		goto fail;
	}
	r = lw_state_load(d->cfg->state_dir, a->pending, &earlier_boot, err);
	if (r < 0)
		goto fail;
	if (earlier_boot)
		lw_log(LOG_NOTICE, "the state file is from an earlier boot: its leases are dropped, "
		       "their holders and locks ended with it");
	r = lw_keeper_list(d->keeper, collect_kept, &a->kept);
	if (r < 0) {
		lw_err_set(err, -r, "keeper: cannot list the kept locks: %s", strerror(-r));
		goto fail;
	}
	r = hash_kept(&a->kept);
	if (r < 0) {
		lw_err_set(err, -r, "keeper: cannot index the kept locks: %s", strerror(-r));
		goto fail;
	}
	a->total = lw_lease_count(a->pending);
	r = load_kernel(d, &a->kernel);
	if (r < 0) {
		lw_log(LOG_WARNING, "cannot walk the kernel's lease entries (%s): looking each lease up instead",
		       strerror(-r));
		free_kernel(&a->kernel);
	}
	/* holders: at most one a lease */
	a->alive.items = calloc(a->total ? a->total : 1, sizeof(*a->alive.items));
	a->alive.cap = a->alive.items ? a->total : 0;
	if (!a->alive.items || lw_index_init(&a->alive.by_id, a->total) < 0) {
		r = lw_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (a->total || a->kept.count)
		lw_log(LOG_INFO, "adopting %u lease(s) from the state file, %zu kept lock(s)", a->total,
		       a->kept.count);
	if (keeper_may_lack_locks(d)) {
		/* The keeper died with the daemon: the locks taken anew live only
		 * in this process until a new keeper inherits them, as adoption
		 * ends. Adopt everything before answering, so that once the
		 * daemon answers every lock is kept, as after any start. */
		lw_log(LOG_WARNING, "the keeper may lack locks of the %u lease(s): adopting every lease before answering",
		       a->total);
		adopt_some(d, UINT_MAX);
		end(d);
		return 0;
	}
	r = start_passes(d, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	free_adoption(d);
	return r;
}

bool lw_adopt_running(const struct lw_daemon *d, unsigned int *adopted, unsigned int *total)
{
	if (adopted)
		*adopted = d->adoption ? d->adoption->adopted : 0;
	if (total)
		*total = d->adoption ? d->adoption->total : 0;
	return d->adoption && !d->adoption->finished;
}

struct lw_adopt_waiter *lw_adopt_wait(struct lw_daemon *d, void (*fn)(void *ctx), void *ctx)
{
	struct lw_adopt_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fn = fn;
	w->ctx = ctx;
	TAILQ_INSERT_TAIL(&d->adoption->waiters, w, link);
	return w;
}

void lw_adopt_cancel(struct lw_daemon *d, struct lw_adopt_waiter *w)
{
	TAILQ_REMOVE(&d->adoption->waiters, w, link);
	free(w);
}

void lw_adopt_abandon(struct lw_daemon *d)
{
	struct lw_adopt_waiter *w;

	if (!d->adoption)
		return;
	/* waiters belong to connections, closed (and cancelled) before this */
	while ((w = TAILQ_FIRST(&d->adoption->waiters))) {
		TAILQ_REMOVE(&d->adoption->waiters, w, link);
		free(w);
	}
	free_adoption(d);
}
