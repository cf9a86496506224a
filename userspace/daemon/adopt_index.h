/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An open-addressing index of an array's items by a 64-bit hash, for the
 * lookups adoption makes once a lease (kept locks by image, the kernel's
 * entries by key, holders already checked): O(1) each, so adopting N
 * leases costs O(N). The caller keeps the items and compares them; the
 * index holds item numbers. */
#ifndef LW_DAEMON_ADOPT_INDEX_H
#define LW_DAEMON_ADOPT_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct lw_index {
	uint32_t *slots;	/* 0: empty, else item number + 1 */
	size_t mask;
};

/* Room for count items (the table stays at most half full). */
int lw_index_init(struct lw_index *ix, size_t count);
void lw_index_free(struct lw_index *ix);

/* The slots to look at for hash, in order, until an empty one:
 *   for (s = lw_index_first(ix, h); *s; s = lw_index_next(ix, s))
 * A find compares item *s - 1; an insert stores item + 1 in the empty slot
 * the loop ends on. */
uint32_t *lw_index_first(const struct lw_index *ix, uint64_t hash);
uint32_t *lw_index_next(const struct lw_index *ix, uint32_t *slot);

/* A well-mixed hash of n bytes (FNV-1a, then a finalizer that spreads
 * every byte into the low bits the index uses). */
uint64_t lw_index_hash(const void *bytes, size_t n);

#endif /* LW_DAEMON_ADOPT_INDEX_H */
