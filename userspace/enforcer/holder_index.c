// SPDX-License-Identifier: LGPL-2.1-or-later
/* The holder index rebuilt at open from the leases map: counted here and
 * written in batches. One system call a holder and a lease made a restart
 * at 65,536 leases pay some 260,000 of them before the daemon answered.
 * Families are not marked again: they were marked when the leases were
 * taken, and the marks are pinned (family.c). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enforcer/enforcer_internal.h"

#define BATCH 4096

struct counted {
	struct lw_map_holder k;
	struct lw_holder_ref ref;
	size_t order;	/* among every holder of every lease, in the walk */
};

struct counting {
	struct counted *items;
	size_t count, cap;
};

static int note_holders(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx)
{
	struct counting *c = ctx;

	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++) {
		if (c->count == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 1024;
			struct counted *grown = realloc(c->items, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			c->items = grown;
			c->cap = cap;
		}
		lw_index_key(&lease->holders[i], &c->items[c->count].k);
		c->items[c->count].ref = (struct lw_holder_ref){ .count = 1, .key = *key };
		c->items[c->count].order = c->count;
		c->count++;
	}
	return 0;
}

/* By holder, then in the walk's order: a holder's first lease leads. */
static int compare_counted(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;
	int by_key = memcmp(&x->k, &y->k, sizeof(x->k));

	return by_key ? by_key : (x->order > y->order) - (x->order < y->order);
}

/* Empty it: a previous daemon's counts may be off. */
static int clear_index(struct lw_enforcer *enf)
{
	struct lw_map_holder *keys = malloc(BATCH * sizeof(*keys));
	struct lw_holder_ref *refs = malloc(BATCH * sizeof(*refs));
	__u32 out, count;
	int err = 0;

	if (!keys || !refs) {
		err = lw_fail(enf, -ENOMEM, "out of memory clearing the holder index");
		goto cleanup;
	}
	do {
		count = BATCH;
		/* from the start each time: what was read is gone */
		if (bpf_map_lookup_and_delete_batch(enf->holder_index_fd, NULL, &out, keys, refs, &count, NULL) &&
		    errno != ENOENT) {
			err = lw_fail(enf, -errno, "cannot clear the holder index: %s", strerror(errno));
			break;
		}
	} while (count);
cleanup:
	free(keys);
	free(refs);
	return err;
}

int lw_index_rebuild(struct lw_enforcer *enf)
{
	struct counting c = { 0 };
	struct lw_map_holder *keys = NULL;
	struct lw_holder_ref *refs = NULL;
	size_t n = 0;
	int err;

	if ((err = clear_index(enf)) || (err = lw_map_foreach(enf, note_holders, &c)))
		goto cleanup;
	qsort(c.items, c.count, sizeof(*c.items), compare_counted);
	keys = malloc((c.count ? c.count : 1) * sizeof(*keys));
	refs = malloc((c.count ? c.count : 1) * sizeof(*refs));
	if (!keys || !refs) {
		err = lw_fail(enf, -ENOMEM, "out of memory rebuilding the holder index");
		goto cleanup;
	}
	for (size_t i = 0; i < c.count; i++) {
		if (n && !memcmp(&keys[n - 1], &c.items[i].k, sizeof(keys[0]))) {
			refs[n - 1].count++;
			continue;
		}
		keys[n] = c.items[i].k;
		refs[n++] = c.items[i].ref;
	}
	for (size_t at = 0; at < n && !err;) {
		__u32 count = n - at < BATCH ? (__u32)(n - at) : BATCH;

		if (bpf_map_update_batch(enf->holder_index_fd, keys + at, refs + at, &count, NULL))
			err = lw_fail(enf, -errno, "cannot rebuild the holder index: %s", strerror(errno));
		at += count;
	}
cleanup:
	free(c.items);
	free(keys);
	free(refs);
	return err;
}
