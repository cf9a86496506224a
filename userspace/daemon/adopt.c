// SPDX-License-Identifier: LGPL-2.1-or-later
/* Re-adoption of leases at start. See adopt.h. */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "enforcer/enforcer.h"
#include "backend.h"
#include "common/enforcement.h"
#include "holders.h"
#include "keeper.h"
#include "keeping.h"
#include "leasing.h"
#include "adopt.h"
#include "releasing.h"
#include "state.h"
#include "tamper.h"

struct kept_lock {
	char *name;
	int fd;		/* -1: kept, but the kernel would not pass it back */
	bool claimed;	/* a lease in the state file owns it */
};

/* What the keeper kept, found by image through a hash table (built once
 * all are in: the array may move while it grows). */
struct kept_list {
	struct kept_lock *items;
	size_t count, cap;
	struct hsearch_data by_image;
	bool hashed;
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

static int hash_kept(struct kept_list *l)
{
	if (!hcreate_r(l->count * 2 + 1, &l->by_image))
		return -errno;
	l->hashed = true;
	for (size_t i = 0; i < l->count; i++) {
		ENTRY item = { .key = l->items[i].name, .data = &l->items[i] }, *found;

		if (!item.key)
			return -ENOMEM;
		if (!hsearch_r(item, ENTER, &found, &l->by_image))
			return -errno;
	}
	return 0;
}

/* Claim the kept lock for image: true if the keeper has one; *fd gets our
 * own copy of it, or -1 if the kernel would not pass it back. */
static bool take_kept(struct kept_list *l, const char *image, int *fd)
{
	ENTRY want = { .key = (char *)image }, *found;
	struct kept_lock *k;

	*fd = -1;
	if (!hsearch_r(want, FIND, &found, &l->by_image))
		return false;
	k = found->data;
	if (k->claimed)
		return false;
	*fd = k->fd;
	k->fd = -1;
	k->claimed = true;
	return true;
}

/* The backend lock for e: the kept one if it still holds, else taken anew
 * if it is free (the backend never waits here). */
static int adopt_lock(struct lw_daemon *d, struct lw_lease_entry *e, struct kept_list *kept, struct lw_err *err)
{
	struct lw_backend_request req = { .image = e->image, .image_fd = -1, .shared = e->mode == LW_LEASE_SHARED };
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

/* Put the kernel's entry for e in line with e's holders. */
static int adopt_kernel(struct lw_daemon *d, struct lw_lease_entry *e)
{
	struct lw_lease kernel;
	struct lw_image_key key;
	int r, fd;

	r = lw_enforcement_lookup(d->enforcer, &e->key, &kernel);
	if (r == 0 && kernel.mode == (__u32)e->mode) {
		for (__u32 i = 0; i < kernel.nr_holders && i < LW_MAX_HOLDERS; i++)
			if (lw_lease_find_holder(e, &kernel.holders[i]) < 0)
				lw_enforcement_remove_holder(d->enforcer, &e->key, &kernel.holders[i]);
		for (unsigned int i = 0; i < e->nr_holders; i++) {
			bool found = false;

			for (__u32 j = 0; j < kernel.nr_holders && j < LW_MAX_HOLDERS; j++)
				found |= lw_holder_equal(&kernel.holders[j], &e->holders[i].id) != 0;
			if (!found && (r = lw_enforcement_add_holder(d->enforcer, &e->key, &e->holders[i].id)) < 0)
				return r;
		}
		return 0;
	}
	if (r == 0)
		lw_enforcement_remove_lease(d->enforcer, &e->key);
	/* Not enforced (pins were lost while the daemon was down, or a crash
	 * mid-way): enforce it again first, so no new writer gets in, then
	 * report who opened it for write in the gap. Those keep their
	 * descriptors (the holder's lease stands), but not silently. */
	lw_log(LOG_WARNING, "adopt %s: the kernel did not enforce this lease; enforcing it again", e->image);
	fd = open(e->image, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = lw_enforcement_add_lease(d->enforcer, fd, e->mode, &e->holders[0].id, LW_LEASE_FORCE, &key, NULL);
	close(fd);
	if (r < 0)
		return r;
	if (key.dev != e->key.dev || key.ino != e->key.ino) {
		lw_log(LOG_WARNING, "adopt %s: the path now names another file; following it", e->image);
		e->key = key;
	}
	for (unsigned int i = 1; i < e->nr_holders; i++)
		lw_enforcement_add_holder(d->enforcer, &e->key, &e->holders[i].id);
	lw_tamper_report_writers(d, e, "at start, after a gap in enforcement");
	return 0;
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

static void adopt_lease(struct lw_daemon *d, struct lw_lease_entry *e, struct kept_list *kept)
{
	struct lw_lease_holder last = e->holders[0];
	struct lw_err err = { { 0 } };
	int r;

	for (unsigned int i = 0; i < e->nr_holders;) {
		if (lw_lease_holder_alive(&e->holders[i])) {
			i++;
			continue;
		}
		lw_log(LOG_INFO, "adopt %s: holder pid %u exited while the daemon was down",
		       e->image, e->holders[i].id.pid);
		last = e->holders[i];
		if (e->nr_holders > 1)
			lw_leasing_audit(d, e, &e->holders[i], LW_LEASE_HOLDER_DEATH, "exited while the daemon was down");
		lw_lease_drop_holder(e, i);
	}
	if (e->nr_holders == 0) {
		/* the backend takes its kept lock back only to release it */
		struct lw_backend_request req = { .image = e->image, .image_fd = -1,
						  .shared = e->mode == LW_LEASE_SHARED };
		int fd;

		/* a kept copy the kernel would not pass: the keeper's drop gives it up */
		if (take_kept(kept, e->image, &fd) && fd < 0)
			e->lock = NULL;
		else if (lw_backend_adopt(d->backend, &req, e->lock_id, fd, &e->lock, &err) < 0) {
			/* the backend lost it first (paxos: fenced while the daemon was down) */
			e->lock = NULL;
			drop_lease(d, e, LW_LEASE_FORCED_RELEASE, &last, err.msg);
			return;
		}
		drop_lease(d, e, LW_LEASE_HOLDER_DEATH, &last, "exited while the daemon was down");
		return;
	}
	r = adopt_lock(d, e, kept, &err);
	if (r < 0) {
		lw_log(LOG_ERR, "adopt %s: backend lock lost: %s", e->image, err.msg);
		e->lock = NULL;
		drop_lease(d, e, LW_LEASE_FORCED_RELEASE, &e->holders[0], "backend lock lost while the daemon was down");
		return;
	}
	r = adopt_kernel(d, e);
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

		lw_leasing_holder_exited(e->image, &gone, d);
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

int lw_adopt(struct lw_daemon *d, struct lw_err *err)
{
	struct kept_list kept = { 0 };
	struct stale_keys stale = { .leases = d->leases };
	struct lw_lease_entry *e, *next;
	int r;

	r = lw_state_load(d->cfg->state_dir, d->leases, err);
	if (r < 0)
		return r;
	r = lw_keeper_list(d->keeper, collect_kept, &kept);
	if (r < 0) {
		lw_err_set(err, -r, "keeper: cannot list the kept locks: %s", strerror(-r));
		goto cleanup;
	}
	r = hash_kept(&kept);
	if (r < 0) {
		lw_err_set(err, -r, "keeper: cannot index the kept locks: %s", strerror(-r));
		goto cleanup;
	}
	if (lw_lease_count(d->leases) || kept.count)
		lw_log(LOG_INFO, "adopting %u lease(s) from the state file, %zu kept lock(s)",
		       lw_lease_count(d->leases), kept.count);
	for (e = lw_lease_first(d->leases); e; e = next) {
		next = e->next;
		adopt_lease(d, e, &kept);
	}
	r = lw_enforcement_foreach(d->enforcer, collect_stale, &stale);
	for (size_t i = 0; r >= 0 && i < stale.count; i++) {
		lw_log(LOG_INFO, "removing a stale kernel lease (dev %llu ino %llu) the state does not list",
		       (unsigned long long)stale.keys[i].dev, (unsigned long long)stale.keys[i].ino);
		lw_enforcement_remove_lease(d->enforcer, &stale.keys[i]);
	}
	r = 0;
	for (size_t i = 0; i < kept.count; i++)
		if (!kept.items[i].claimed) {
			/* kept for a lease the state does not list: an acquire that never committed */
			lw_log(LOG_INFO, "dropping a stale kept lock for %s", kept.items[i].name);
			lw_keeper_drop(d->keeper, kept.items[i].name);
			/* the last copy of a keep_fd: closing it gives the lock up (backend.h) */
			if (kept.items[i].fd >= 0)
				close(kept.items[i].fd);
			kept.items[i].fd = -1;
		}
	/* a lock taken anew cannot be passed to the keeper now that its lease
	 * is in the kernel: a new keeper inherits every lock instead */
	if (kept.retaken)
		lw_keeping_renew(d, "locks were taken again at start");
	/* a fresh snapshot of what was adopted; changes go to its journal */
	lw_state_close(d->state);
	d->state = NULL;
	r = lw_state_open(d->cfg->state_dir, d->leases, &d->state, err);
	if (r == 0)
		r = lw_keeping_watch(d);
cleanup:
	for (size_t i = 0; i < kept.count; i++) {
		if (kept.items[i].fd >= 0)
			close(kept.items[i].fd);
		free(kept.items[i].name);
	}
	if (kept.hashed)
		hdestroy_r(&kept.by_image);
	free(kept.items);
	free(stale.keys);
	return r;
}
