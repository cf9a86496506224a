// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer's leases found by hash. See fan_index.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fanotify/fan_index.h"
#include "fanotify/fan_internal.h"

#define MIN_SLOTS 64

static uint64_t mix(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ dev * 0xc2b2ae3d27d4eb4full;

	return h ^ (h >> 29);
}

static uint64_t hash_of(const struct lw_fan_enforcer *enf, const struct lw_fan_hash *t, size_t i)
{
	const struct lw_fan_lease *l = &enf->leases[i];

	return t == &enf->by_key ? mix(l->key.dev, l->key.ino) : mix(l->st_dev, l->st_ino);
}

static bool same(const struct lw_fan_enforcer *enf, const struct lw_fan_hash *t, size_t i, uint64_t dev,
		 uint64_t ino)
{
	const struct lw_fan_lease *l = &enf->leases[i];

	return t == &enf->by_key ? l->key.dev == dev && l->key.ino == ino : l->st_dev == dev && l->st_ino == ino;
}

static size_t find(const struct lw_fan_enforcer *enf, const struct lw_fan_hash *t, uint64_t dev, uint64_t ino)
{
	if (!t->slots)
		return LW_FAN_NOT_FOUND;
	for (size_t s = mix(dev, ino) & t->mask; t->slots[s]; s = (s + 1) & t->mask)
		if (same(enf, t, t->slots[s] - 1, dev, ino))
			return t->slots[s] - 1;
	return LW_FAN_NOT_FOUND;
}

size_t lw_fan_index_by_key(const struct lw_fan_enforcer *enf, const struct lw_image_key *key)
{
	return find(enf, &enf->by_key, key->dev, key->ino);
}

size_t lw_fan_index_by_inode(const struct lw_fan_enforcer *enf, dev_t st_dev, ino_t st_ino)
{
	return find(enf, &enf->by_inode, st_dev, st_ino);
}

static void place(const struct lw_fan_enforcer *enf, struct lw_fan_hash *t, size_t i)
{
	size_t s = hash_of(enf, t, i) & t->mask;

	while (t->slots[s])
		s = (s + 1) & t->mask;
	t->slots[s] = (uint32_t)i + 1;
}

/* At most half full: enf->leases[0..nr_leases) placed again in a larger table. */
static int grow(const struct lw_fan_enforcer *enf, struct lw_fan_hash *t)
{
	size_t size = t->slots ? t->mask + 1 : MIN_SLOTS;
	uint32_t *slots;

	while (size < 2 * enf->nr_leases)
		size *= 2;
	if (!(slots = calloc(size, sizeof(*slots))))
		return -ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->mask = size - 1;
	for (size_t i = 0; i < enf->nr_leases; i++)
		place(enf, t, i);
	return 0;
}

int lw_fan_index_add(struct lw_fan_enforcer *enf, size_t i)
{
	struct lw_fan_hash *tables[] = { &enf->by_key, &enf->by_inode };

	for (size_t n = 0; n < 2; n++) {
		struct lw_fan_hash *t = tables[n];

		if (!t->slots || 2 * enf->nr_leases > t->mask + 1) {
			int err = grow(enf, t);	/* places i too */

			if (err) {
				if (n)
					lw_fan_index_remove(enf, i);	/* in neither */
				return err;
			}
		} else {
			place(enf, t, i);
		}
	}
	return 0;
}

/* The slot that holds position i. */
static size_t slot_of(const struct lw_fan_enforcer *enf, const struct lw_fan_hash *t, size_t i)
{
	size_t s = hash_of(enf, t, i) & t->mask;

	while (t->slots[s] && t->slots[s] != i + 1)
		s = (s + 1) & t->mask;
	return s;
}

/* Empty slot s, moving back what a probe would no longer reach. */
static void unplace(const struct lw_fan_enforcer *enf, struct lw_fan_hash *t, size_t s)
{
	for (size_t j = (s + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
		size_t home = hash_of(enf, t, t->slots[j] - 1) & t->mask;

		if (((j - home) & t->mask) >= ((j - s) & t->mask)) {
			t->slots[s] = t->slots[j];
			s = j;
		}
	}
	t->slots[s] = 0;
}

void lw_fan_index_remove(struct lw_fan_enforcer *enf, size_t i)
{
	struct lw_fan_hash *tables[] = { &enf->by_key, &enf->by_inode };
	size_t last = enf->nr_leases - 1;

	for (size_t n = 0; n < 2; n++) {
		struct lw_fan_hash *t = tables[n];
		size_t s;

		if (!t->slots)
			continue;
		if (t->slots[s = slot_of(enf, t, i)])
			unplace(enf, t, s);
		if (i != last && t->slots[s = slot_of(enf, t, last)])
			t->slots[s] = (uint32_t)i + 1;
	}
}

void lw_fan_index_free(struct lw_fan_enforcer *enf)
{
	free(enf->by_key.slots);
	free(enf->by_inode.slots);
	enf->by_key = enf->by_inode = (struct lw_fan_hash){ 0 };
}
