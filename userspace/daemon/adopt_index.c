// SPDX-License-Identifier: LGPL-2.1-or-later
/* Adoption's hashed lookups. See adopt_index.h. */
#include <errno.h>
#include <stdlib.h>

#include "adopt_index.h"

int lw_index_init(struct lw_index *ix, size_t count)
{
	size_t size = 16;

	while (size < 2 * count) {
		if (size > SIZE_MAX / 4)
			return -ENOMEM;
		size *= 2;
	}
	ix->slots = calloc(size, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->mask = size - 1;
	return 0;
}

void lw_index_free(struct lw_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->mask = 0;
}

uint32_t *lw_index_first(const struct lw_index *ix, uint64_t hash)
{
	return &ix->slots[hash & ix->mask];
}

uint32_t *lw_index_next(const struct lw_index *ix, uint32_t *slot)
{
	return &ix->slots[(size_t)(slot - ix->slots + 1) & ix->mask];
}

uint64_t lw_index_hash(const void *bytes, size_t n)
{
	const unsigned char *b = bytes;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	/* murmur3's fmix64 */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb93a34fe63ull;
	h ^= h >> 33;
	return h;
}
