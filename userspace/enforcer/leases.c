// SPDX-License-Identifier: LGPL-2.1-or-later
/* The kernel's table of leases: the leases hash map, and the lease filter
 * that lets the programs skip it for unleased images. One writer at a time
 * (the daemon). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd_stat.h"
#include "enforcer/blockdev_nodes.h"
#include "enforcer/enforcer_internal.h"

/* A process holder whose last lease goes keeps its holder_index entry, at
 * count 0, while it is among the LW_LINGERING last to go: task_alloc asks
 * only whether a holder has an entry, so what it forks meanwhile is marked,
 * and its next first lease finds its family complete without walking it
 * again (7 system calls and more). The shield counts only entries above 0.
 * The oldest is dropped for a new one unless it holds again. */
static void linger(struct lw_enforcer *enf, const struct lw_map_holder *k)
{
	struct lw_map_holder *slot;
	struct lw_holder_ref ref;

	for (unsigned int i = 0; i < LW_LINGERING; i++)
		if (!memcmp(&enf->lingering[i], k, sizeof(*k)))
			return;
	slot = &enf->lingering[enf->lingering_next++ % LW_LINGERING];
	if (slot->kind && !bpf_map_lookup_elem(enf->holder_index_fd, slot, &ref) && !ref.count)
		bpf_map_delete_elem(enf->holder_index_fd, slot);
	*slot = *k;
}

/* Room for holders that hold: every lingering entry goes. */
static void forget_lingering(struct lw_enforcer *enf)
{
	for (unsigned int i = 0; i < LW_LINGERING; i++) {
		struct lw_holder_ref ref;

		if (enf->lingering[i].kind &&
		    !bpf_map_lookup_elem(enf->holder_index_fd, &enf->lingering[i], &ref) && !ref.count)
			bpf_map_delete_elem(enf->holder_index_fd, &enf->lingering[i]);
		enf->lingering[i].kind = 0;
	}
}

/* After holders were counted in: a process holder's first entry marks the
 * descendants it has now (family.c). */
static int mark_families(struct lw_enforcer *enf, const struct lw_map_lease *lease, __u32 known)
{
	int err = 0;

	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS && !err; i++) {
		struct lw_map_holder k;

		lw_index_key(&lease->holders[i], &k);
		/* its children from before: the kernel marks only what it forks from now */
		if (!(known & (1u << i)) && k.kind == LW_MAP_HOLDER_PROCESS)
			err = lw_family_mark(enf, &k);
	}
	return err;
}

/* After holders were counted out again (a walk failed, or the count in
 * did): the process entries made for the first upto of them go too, so
 * that the next first lease walks the family again. */
static void drop_made(struct lw_enforcer *enf, const struct lw_map_lease *lease, __u32 known, __u32 upto)
{
	for (__u32 i = 0; i < upto && i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++) {
		struct lw_map_holder k;

		lw_index_key(&lease->holders[i], &k);
		if (!(known & (1u << i)) && k.kind == LW_MAP_HOLDER_PROCESS)
			bpf_map_delete_elem(enf->holder_index_fd, &k);
	}
}

/* Holders counted out to 0: a process's lingers. */
static void linger_emptied(struct lw_enforcer *enf, const struct lw_map_lease *lease, __u32 emptied)
{
	struct lw_map_holder k;

	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++)
		if (emptied & (1u << i)) {
			lw_index_key(&lease->holders[i], &k);
			linger(enf, &k);
		}
}

/* A change that counts holders in; on failure the process entries it made
 * are removed (the program leaves them at 0). */
static int count_in(struct lw_enforcer *enf, struct lw_lease_release *release)
{
	struct lw_lease_change *change = &release->change;
	int err = lw_lease_release_run(enf, release);

	if (err && change->err && change->failed == 2)
		drop_made(enf, &change->lease, change->known, change->reached);
	return err;
}

/* count_in, tried again once the lingering entries made room if the holder
 * index was full. */
static int change_counting_in(struct lw_enforcer *enf, struct lw_lease_release *release)
{
	int err = count_in(enf, release);

	if (err == -E2BIG && release->change.failed == 2) {	/* the holder index: full */
		forget_lingering(enf);
		err = count_in(enf, release);
	}
	return err;
}

/* Count lease's holders in (delta 1: all or none) or out (-1) of the
 * holder index, in one system call. */
int lw_index_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
		   const struct lw_map_lease *lease, int delta)
{
	struct lw_lease_release release = { .change = { .op = LW_LEASE_HOLDERS, .delta = delta, .key = *key,
							.lease = *lease } };
	struct lw_lease_change change;
	struct lw_err reason;
	int err = delta > 0 ? change_counting_in(enf, &release) : lw_lease_release_run(enf, &release);

	change = release.change;

	if (err)
		return change.err ? lw_fail(enf, err, "cannot update the holder index: %s", strerror(-err))
				  : err;
	if (delta < 0) {
		linger_emptied(enf, lease, change.emptied);
		return 0;
	}
	if (!(err = mark_families(enf, lease, change.known)))
		return 0;
	reason = enf->err;
	change.delta = -1;
	lw_lease_change(enf, &change);
	drop_made(enf, lease, change.known, LW_MAP_MAX_HOLDERS);
	enf->err = reason;
	return err;
}

/* key's lease out of the map's reach: its filter count and its holders
 * (lease: as it was), once the lease is out of the map. */
static int forget_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
			const struct lw_map_lease *lease)
{
	struct lw_lease_change change = { .op = LW_LEASE_FORGET, .key = *key, .lease = *lease };
	int err = lw_lease_change(enf, &change);

	if (!err)
		linger_emptied(enf, lease, change.emptied);
	return err;
}

/* An acquire undone after its lease went in; the reason of the failure
 * kept. */
static void unlease(struct lw_enforcer *enf, const struct lw_map_key *key, const struct lw_map_lease *lease)
{
	struct lw_err reason = enf->err;

	if (!bpf_map_delete_elem(enf->leases_fd, key))
		forget_lease(enf, key, lease);
	enf->err = reason;
}

/* A lease inserted, taken out again because a later step failed: the
 * first n of its file system's nodes (nobody's once less), its entry, its
 * holders; the failure's reason kept. */
static void take_back(struct lw_enforcer *enf, const struct lw_map_key *key, const struct lw_map_lease *lease,
		      const struct related *nodes, size_t n)
{
	struct lw_err reason = enf->err;
	size_t done;

	if (n)
		lw_nobodys_change(enf, nodes->keys, n, -1, &done);
	unlease(enf, key, lease);
	enf->err = reason;
}

/* key's lease into the map, with its filter count, its holders and (a
 * file) its file system's nodes as nobody's, in one system call; refused
 * if key is another lease's alias. Then its holders' families marked. */
static int insert_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
			const struct lw_map_lease *lease, const struct related *nodes)
{
	struct lw_lease_release release = { .change = { .op = LW_LEASE_INSERT, .key = *key, .lease = *lease } };
	const struct lw_lease_change *change = &release.change;
	size_t first = nodes->n < LW_NOBODYS_MAX ? nodes->n : LW_NOBODYS_MAX;
	char name[96];
	int err;

	release.n = (__u32)first;
	memcpy(release.nobodys, nodes->keys, first * sizeof(*nodes->keys));
	if (!(err = change_counting_in(enf, &release))) {
		/* more nodes than one call takes: the rest in calls of their own */
		if ((nodes->n > first && (err = lw_nobodys_add(enf, nodes->keys + first, nodes->n - first))) ||
		    (err = mark_families(enf, lease, change->known))) {
			take_back(enf, key, lease, nodes, first);
			drop_made(enf, lease, change->known, LW_MAP_MAX_HOLDERS);
		}
		return err;
	}
	if (!change->err)
		return err;
	if (change->failed == 3)
		return lw_refuse_alias(enf, key, release.alias_dev, release.alias_ino);
	if (change->failed == 4) {	/* release.n: the nodes made nobody's before */
		take_back(enf, key, lease, nodes, release.n);
		drop_made(enf, lease, change->known, LW_MAP_MAX_HOLDERS);
		return lw_fail(enf, err, "cannot insert an alias: %s", strerror(-err));
	}
	if (change->failed == 2)
		return lw_fail(enf, err, "cannot update the holder index: %s", strerror(-err));
	lw_map_key_name(key, name, sizeof(name));	/* named only for the error */
	if (err == -EEXIST)
		return lw_fail(enf, -EEXIST, "image (%s) is already leased", name);
	if (err == -E2BIG || err == -ENOMEM)
		return lw_fail(enf, -ENOSPC, "lease table is full (%u images); raise max_images",
			       enf->max_images);
	return lw_fail(enf, err, "cannot insert the lease: %s", strerror(-err));
}

int lw_enforcer_add_lease_flags(struct lw_enforcement *handle, int fd, enum lw_lease_mode mode,
				const struct lw_holder *first_holder, unsigned int flags,
				struct lw_image_key *key_out, struct lw_writer *writer)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct related nodes = { .n = 0 };
	struct lw_map_lease lease;
	struct lw_lease wanted;
	struct lw_map_key key;
	struct stat st;
	int err;

	if ((err = lw_lease_init(&wanted, mode, first_holder, &enf->err)))
		return err;
	if (lw_fstat(fd, &st))
		return lw_fail(enf, -errno, "cannot stat the image descriptor: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return lw_fail(enf, -EINVAL, "an image must be a regular file or a block device");
	if (flags & LW_LEASE_KEYED)
		key = lw_to_map_key(key_out);
	else if ((err = lw_map_key_of_fd(enf, fd, &key)))
		return err;
	/* a file's file system devices: nobody's while it is leased */
	if (S_ISREG(st.st_mode))
		lw_file_nodes(enf, key.dev, &nodes);

	lease = lw_to_map_lease(&wanted);
	if ((err = insert_lease(enf, &key, &lease, &nodes)))
		return err;
	/* Roll back on failure; keep the reason given. */
	if (!(flags & LW_LEASE_FORCE) &&
	    (err = lw_check_writers(enf, fd, &key, &lease, S_ISREG(st.st_mode), writer))) {
		take_back(enf, &key, &lease, &nodes, nodes.n);
		return err;
	}
	/* a file's other overlay names */
	if (S_ISREG(st.st_mode) && (err = lw_overlay_lease(enf, fd, &key, &lease, flags, writer))) {
		take_back(enf, &key, &lease, &nodes, nodes.n);
		return err;
	}
	/* the other nodes of a block device, and its exclusive claim */
	if (S_ISBLK(st.st_mode) && (err = lw_blockdev_lease(enf, &key, flags))) {
		unlease(enf, &key, &lease);
		return err;
	}
	if (key_out)
		*key_out = lw_from_map_key(&key);
	return 0;
}

int lw_enforcer_add_lease(struct lw_enforcement *handle, int fd, enum lw_lease_mode mode,
			  const struct lw_holder *first_holder, struct lw_image_key *key_out)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	return lw_enforcer_add_lease_flags(&enf->base, fd, mode, first_holder, 0, key_out, NULL);
}

static int remove_lease(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct lw_map_lease old;
	char name[96];

	/* the holders to count out come with the removal */
	if (bpf_map_lookup_and_delete_elem(enf->leases_fd, key, &old)) {
		int e = errno;

		lw_map_key_name(key, name, sizeof(name));	/* named only for the error */
		if (e == ENOENT)
			return lw_fail(enf, -ENOENT, "image (%s) is not leased", name);
		return lw_fail(enf, -e, "cannot remove the lease of %s: %s", name, strerror(e));
	}
	if (key->ino != 0) {	/* a file: the common case, in one system call */
		struct lw_lease_release release = { .change = { .op = LW_LEASE_FORGET, .key = *key, .lease = old } };

		if (!lw_file_release(enf, &release)) {
			linger_emptied(enf, &old, release.change.emptied);
			return 0;
		}
	}
	forget_lease(enf, key, &old);
	lw_blockdev_release(enf, key);
	return 0;
}

int lw_enforcer_remove_lease(struct lw_enforcement *handle, const struct lw_image_key *key)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);

	return remove_lease(enf, &k);
}

int lw_map_lookup(struct lw_enforcer *enf, const struct lw_map_key *key, struct lw_map_lease *lease)
{
	char name[96];

	if (!bpf_map_lookup_elem(enf->leases_fd, key, lease))
		return 0;
	lw_map_key_name(key, name, sizeof(name));
	if (errno == ENOENT)
		return lw_fail(enf, -ENOENT, "image (%s) is not leased", name);
	return lw_fail(enf, -errno, "cannot read the lease of %s: %s", name, strerror(errno));
}

int lw_enforcer_lookup(struct lw_enforcement *handle, const struct lw_image_key *key,
		       struct lw_lease *lease)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);
	struct lw_map_lease m;
	int err = lw_map_lookup(enf, &k, &m);

	if (!err)
		lw_from_map_lease(&m, lease);
	return err;
}

/* Write back a lease changed by the rules (lease_rules.h), and count holder
 * in or out of the holder index. */
static int update_lease(struct lw_enforcer *enf, const struct lw_map_key *k,
			const struct lw_lease *lease, const struct lw_holder *holder, int delta)
{
	struct lw_map_lease m = lw_to_map_lease(lease), one = { .nr_holders = 1 };

	if (bpf_map_update_elem(enf->leases_fd, k, &m, BPF_EXIST))
		return lw_fail(enf, -errno, "cannot update the lease: %s", strerror(errno));
	one.holders[0] = lw_to_map_holder(holder);
	return lw_index_lease(enf, k, &one, delta);
}

int lw_enforcer_add_holder(struct lw_enforcement *handle, const struct lw_image_key *key,
			   const struct lw_holder *holder)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);
	struct lw_map_lease m;
	struct lw_lease lease;
	int err;

	if ((err = lw_holder_check(holder, &enf->err)) || (err = lw_map_lookup(enf, &k, &m)))
		return err;
	lw_from_map_lease(&m, &lease);
	if ((err = lw_lease_add_holder(&lease, holder, &enf->err)) < 0)
		return err;
	return update_lease(enf, &k, &lease, holder, 1);
}

int lw_enforcer_remove_holder(struct lw_enforcement *handle, const struct lw_image_key *key,
			      const struct lw_holder *holder)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);
	struct lw_map_lease m;
	struct lw_lease lease;
	int err, i;

	if ((err = lw_map_lookup(enf, &k, &m)))
		return err;
	lw_from_map_lease(&m, &lease);
	if ((i = lw_lease_find_holder_err(&lease, holder, &enf->err)) < 0)
		return i;
	if (lease.nr_holders == 1)
		return remove_lease(enf, &k);
	lw_lease_remove_holder_at(&lease, (unsigned int)i);
	return update_lease(enf, &k, &lease, holder, -1);
}

/* Entries read per system call: the once-a-second tamper check walks the
 * whole map, and one lookup per entry cost 2 system calls a lease. */
#define FOREACH_BATCH 1024

int lw_map_foreach(struct lw_enforcer *enf,
		   int (*fn)(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx),
		   void *ctx)
{
	struct lw_map_key *keys = malloc(FOREACH_BATCH * sizeof(*keys));
	struct lw_map_lease *leases = malloc(FOREACH_BATCH * sizeof(*leases));
	__u32 in = 0, out = 0, count;
	bool first = true, last = false;
	int ret = 0;

	if (!keys || !leases) {
		ret = lw_fail(enf, -ENOMEM, "out of memory walking the leases");
		goto cleanup;
	}
	while (!last && !ret) {
		count = FOREACH_BATCH;
		/* the hash map's batch token is a bucket index: a __u32 */
		if (bpf_map_lookup_batch(enf->leases_fd, first ? NULL : &in, &out, keys, leases, &count, NULL)) {
			if (errno != ENOENT) {
				ret = lw_fail(enf, -errno, "cannot walk the leases: %s", strerror(errno));
				break;
			}
			last = true;	/* count holds the final entries, maybe none */
		}
		for (__u32 i = 0; i < count && !ret; i++)
			ret = fn(&keys[i], &leases[i], ctx);
		in = out;
		first = false;
	}
cleanup:
	free(keys);
	free(leases);
	return ret;
}

struct foreach_ctx {
	int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx);
	void *ctx;
};

static int foreach_one(const struct lw_map_key *key, const struct lw_map_lease *m, void *ctx)
{
	const struct foreach_ctx *f = ctx;
	struct lw_image_key k = lw_from_map_key(key);
	struct lw_lease lease;

	lw_from_map_lease(m, &lease);
	return f->fn(&k, &lease, f->ctx);
}

int lw_enforcer_foreach(struct lw_enforcement *handle,
			int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx),
			void *ctx)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct foreach_ctx f = { fn, ctx };

	return lw_map_foreach(enf, foreach_one, &f);
}

int lw_enforcer_put_lease(struct lw_enforcement *handle, const struct lw_image_key *key,
			  enum lw_lease_mode mode, const struct lw_holder *holders, unsigned int n)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_lease lease = { .mode = lw_to_map_mode(mode) }, old;
	struct lw_map_key k = lw_to_map_key(key);
	bool had;
	int err;

	if (n == 0 || n > LW_MAP_MAX_HOLDERS)
		return lw_fail(enf, -EINVAL, "a lease has 1 to %d holders", LW_MAP_MAX_HOLDERS);
	lease.nr_holders = n;
	for (unsigned int i = 0; i < n; i++)
		lease.holders[i] = lw_to_map_holder(&holders[i]);
	had = !bpf_map_lookup_elem(enf->leases_fd, &k, &old);
	if (bpf_map_update_elem(enf->leases_fd, &k, &lease, BPF_ANY))
		return lw_fail(enf, -errno, "cannot write the lease: %s", strerror(errno));
	/* new counts first: a holder in both never drops out meanwhile */
	if ((err = lw_index_lease(enf, &k, &lease, 1)))
		return err;
	if (had)
		lw_index_lease(enf, &k, &old, -1);
	return 0;
}

int lw_enforcer_drop_entry(struct lw_enforcement *handle, const struct lw_image_key *key)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);
	struct lw_map_lease old;
	bool had = !bpf_map_lookup_elem(enf->leases_fd, &k, &old);

	if (bpf_map_delete_elem(enf->leases_fd, &k) && errno != ENOENT)
		return lw_fail(enf, -errno, "cannot remove the entry: %s", strerror(errno));
	if (had)
		lw_index_lease(enf, &k, &old, -1);
	return 0;
}

static int compare_slots(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Every counter of the filter, read in batches into counts. */
static int read_filter(struct lw_enforcer *enf, __u32 *counts)
{
	__u32 size = enf->filter_mask + 1, done = 0, in = 0, out = 0, count;
	__u32 *slots = malloc(size * sizeof(*slots));
	int ret = 0;

	if (!slots)
		return lw_fail(enf, -ENOMEM, "out of memory checking the lease filter");
	while (done < size) {
		count = size - done;
		if (bpf_map_lookup_batch(enf->filter_fd, done ? &in : NULL, &out, slots, counts + done, &count, NULL) &&
		    errno != ENOENT) {
			ret = lw_fail(enf, -errno, "cannot read the lease filter: %s", strerror(errno));
			break;
		}
		if (!count)
			break;
		/* an array's batch comes back in slot order */
		done += count;
		in = out;
	}
	free(slots);
	return ret;
}

/* The whole filter is read at once instead of one lookup per slot once
 * the leases are more than a quarter of its slots: the kernel copies an
 * array's batch an element at a time, and natively reading all of it cost
 * what a lookup system call for every 4.6th slot did (0.22 against 1 us). */
#define FILTER_BATCH_SHIFT 2

int lw_enforcer_repair_filter(struct lw_enforcement *handle, const struct lw_image_key *keys, size_t n)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	__u32 *slots = malloc((n ? n : 1) * sizeof(*slots)), *counts = NULL, count;
	int repaired = 0, err;

	if (!slots)
		return lw_fail(enf, -ENOMEM, "out of memory checking the lease filter");
	if (n > ((size_t)enf->filter_mask + 1) >> FILTER_BATCH_SHIFT) {
		counts = malloc(((size_t)enf->filter_mask + 1) * sizeof(*counts));
		repaired = counts ? read_filter(enf, counts)
				  : lw_fail(enf, -ENOMEM, "out of memory checking the lease filter");
	}
	for (size_t i = 0; i < n; i++) {
		struct lw_map_key k = lw_to_map_key(&keys[i]);

		slots[i] = lw_filter_slot(&k, enf->filter_mask);
	}
	qsort(slots, n, sizeof(*slots), compare_slots);
	for (size_t i = 0, run; i < n && repaired >= 0; i += run) {
		__u32 want;

		for (run = 1; i + run < n && slots[i + run] == slots[i]; run++)
			;
		want = (__u32)run;
		if (counts) {
			count = counts[slots[i]];
		} else if (bpf_map_lookup_elem(enf->filter_fd, &slots[i], &count)) {
			repaired = lw_fail(enf, -errno, "cannot read the lease filter: %s", strerror(errno));
			break;
		}
		if (count >= want)	/* more is only slower; fewer lets the programs skip a lease */
			continue;
		/* added, not written: the programs may add to it meanwhile */
		if ((err = lw_filter_add_slot(enf, slots[i], (int)(want - count)))) {
			repaired = err;
			break;
		}
		repaired++;
	}
	free(counts);
	free(slots);
	return repaired;
}
