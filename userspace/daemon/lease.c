// SPDX-License-Identifier: LGPL-2.1-or-later
/* The lease table: two hash indexes and a list for ordered iteration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "common/holder.h"
#include "lease.h"

struct lw_lease_table {
	unsigned int nbuckets;
	unsigned int count;
	struct lw_lease_entry **by_key;
	struct lw_lease_entry **by_image;
	struct lw_lease_entry *head, *tail;
};

int lw_lease_table_new(unsigned int buckets, struct lw_lease_table **out)
{
	struct lw_lease_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->nbuckets = buckets ? buckets : 1024;
	t->by_key = calloc(t->nbuckets, sizeof(*t->by_key));
	t->by_image = calloc(t->nbuckets, sizeof(*t->by_image));
	if (!t->by_key || !t->by_image) {
		lw_lease_table_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void lw_lease_table_free(struct lw_lease_table *t)
{
	struct lw_lease_entry *e, *next;

	if (!t)
		return;
	for (e = t->head; e; e = next) {
		next = e->next;
		lw_lease_entry_free(e);
	}
	free(t->by_key);
	free(t->by_image);
	free(t);
}

struct lw_lease_entry *lw_lease_entry_new(void)
{
	struct lw_lease_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->mode = LW_LEASE_EXCLUSIVE;	/* never a mode without a name */
	/* most leases are exclusive: room for one holder, grown for shared */
	e->holders = &e->first;
	e->holders_room = 1;
	e->holders[0].pidfd = -1;
	return e;
}

void lw_lease_entry_free(struct lw_lease_entry *e)
{
	if (!e)
		return;
	if (!e->lock_id_is_image)
		free((char *)e->lock_id);
	free(e->image);
	for (unsigned int i = 0; i < e->nr_holders; i++)
		lw_cgroup_path_put(e->holders[i].cgroup);
	if (e->holders != &e->first)
		free(e->holders);
	free(e);
}

int lw_lease_set_image(struct lw_lease_entry *e, const char *image)
{
	size_t len = strnlen(image, PATH_MAX);
	char *copy;

	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	/* a lock naming itself by the old path gets its own copy of it back */
	if (e->lock && e->image && lw_backend_lock_id(e->lock) == e->image &&
	    lw_backend_lock_set_id(e->lock, e->image) < 0)
		return -ENOMEM;
	copy = strdup(image);
	if (!copy)
		return -ENOMEM;
	if (e->lock_id_is_image) {
		/* the lock keeps its name: a copy of the old path now */
		char *lock_id = strdup(e->lock_id);

		if (!lock_id) {
			free(copy);
			return -ENOMEM;
		}
		e->lock_id = lock_id;
		e->lock_id_is_image = false;
	}
	free(e->image);
	e->image = copy;
	return 0;
}

int lw_lease_set_lock_id(struct lw_lease_entry *e, const char *lock_id)
{
	bool is_image = lock_id && lock_id[0] && e->image && strcmp(lock_id, e->image) == 0;
	char *copy = NULL;

	if (lock_id && lock_id[0] && !is_image && !(copy = strdup(lock_id)))
		return -ENOMEM;
	if (!e->lock_id_is_image)
		free((char *)e->lock_id);
	e->lock_id = is_image ? e->image : copy;
	e->lock_id_is_image = is_image;
	/* fcntl's lock is named by the image: one copy of the path for both */
	if (is_image)
		lw_backend_lock_share_id(e->lock, e->image);
	return 0;
}

struct lw_lease_holder *lw_lease_new_holder(struct lw_lease_entry *e)
{
	struct lw_lease_holder *h;

	if (e->nr_holders >= LW_MAX_HOLDERS)
		return NULL;
	if (e->nr_holders == e->holders_room) {
		unsigned int room = e->holders_room * 2 > LW_MAX_HOLDERS ? LW_MAX_HOLDERS : e->holders_room * 2;
		struct lw_lease_holder *grown;

		if (e->holders == &e->first) {
			grown = malloc(room * sizeof(*grown));
			if (grown)
				grown[0] = e->first;
		} else {
			grown = realloc(e->holders, room * sizeof(*grown));
		}
		if (!grown)
			return NULL;
		e->holders = grown;
		e->holders_room = room;
	}
	h = &e->holders[e->nr_holders++];
	memset(h, 0, sizeof(*h));
	h->pidfd = -1;
	return h;
}

void lw_lease_holder_copy(struct lw_lease_holder *dst, const struct lw_lease_holder *src)
{
	lw_cgroup_path_put(dst->cgroup);
	*dst = *src;
	lw_cgroup_path_hold(dst->cgroup);
	dst->pidfd = -1;
	dst->watch = NULL;
}

static unsigned int hash_key(const struct lw_lease_table *t, const struct lw_image_key *key)
{
	uint64_t h = key->dev * 0x9e3779b97f4a7c15ull ^ key->ino * 0xc2b2ae3d27d4eb4full;

	return (unsigned int)((h ^ (h >> 29)) % t->nbuckets);
}

static unsigned int hash_image(const struct lw_lease_table *t, const char *image)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *image; image++)
		h = (h ^ (unsigned char)*image) * 1099511628211ull;
	return (unsigned int)(h % t->nbuckets);
}

static void link_hashed(struct lw_lease_table *t, struct lw_lease_entry *e)
{
	unsigned int k = hash_key(t, &e->key), i = hash_image(t, e->image);

	e->next_by_key = t->by_key[k];
	t->by_key[k] = e;
	e->next_by_image = t->by_image[i];
	t->by_image[i] = e;
}

/* Four times the buckets once there are two entries a bucket: a table
 * made small (the state's, as it is read) stays a table of short chains
 * at any size. Out of memory, it keeps its buckets: slower, still right. */
static void grow(struct lw_lease_table *t)
{
	unsigned int n = t->nbuckets * 4;
	struct lw_lease_entry **by_key = calloc(n, sizeof(*by_key)), **by_image = calloc(n, sizeof(*by_image));

	if (!by_key || !by_image || n < t->nbuckets) {
		free(by_key);
		free(by_image);
		return;
	}
	free(t->by_key);
	free(t->by_image);
	t->by_key = by_key;
	t->by_image = by_image;
	t->nbuckets = n;
	for (struct lw_lease_entry *e = t->head; e; e = e->next)
		link_hashed(t, e);
}

void lw_lease_table_insert(struct lw_lease_table *t, struct lw_lease_entry *e)
{
	if (t->count >= 2u * t->nbuckets)
		grow(t);
	link_hashed(t, e);
	e->next = NULL;
	e->prev = t->tail;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
	t->count++;
}

static void unlink_by_key(struct lw_lease_table *t, struct lw_lease_entry *e)
{
	struct lw_lease_entry **p;

	for (p = &t->by_key[hash_key(t, &e->key)]; *p; p = &(*p)->next_by_key)
		if (*p == e) {
			*p = e->next_by_key;
			break;
		}
}

void lw_lease_table_remove(struct lw_lease_table *t, struct lw_lease_entry *e)
{
	struct lw_lease_entry **p;

	unlink_by_key(t, e);
	for (p = &t->by_image[hash_image(t, e->image)]; *p; p = &(*p)->next_by_image)
		if (*p == e) {
			*p = e->next_by_image;
			break;
		}
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->next = e->prev = e->next_by_key = e->next_by_image = NULL;
	t->count--;
}

struct lw_lease_entry *lw_lease_by_key(struct lw_lease_table *t, const struct lw_image_key *key)
{
	struct lw_lease_entry *e;

	for (e = t->by_key[hash_key(t, key)]; e; e = e->next_by_key)
		if (e->key.dev == key->dev && e->key.ino == key->ino)
			return e;
	return NULL;
}

struct lw_lease_entry *lw_lease_by_image(struct lw_lease_table *t, const char *image)
{
	struct lw_lease_entry *e;

	for (e = t->by_image[hash_image(t, image)]; e; e = e->next_by_image)
		if (strcmp(e->image, image) == 0)
			return e;
	return NULL;
}

unsigned int lw_lease_count(const struct lw_lease_table *t)
{
	return t->count;
}

struct lw_lease_entry *lw_lease_first(struct lw_lease_table *t)
{
	return t->head;
}

int lw_lease_find_holder(const struct lw_lease_entry *e, const struct lw_holder *holder)
{
	for (unsigned int i = 0; i < e->nr_holders; i++)
		if (lw_holder_equal(&e->holders[i].id, holder))
			return (int)i;
	return -1;
}

void lw_lease_drop_holder(struct lw_lease_entry *e, unsigned int i)
{
	if (i >= e->nr_holders)
		return;
	lw_cgroup_path_put(e->holders[i].cgroup);
	memmove(&e->holders[i], &e->holders[i + 1], (e->nr_holders - i - 1) * sizeof(e->holders[0]));
	e->nr_holders--;
	memset(&e->holders[e->nr_holders], 0, sizeof(e->holders[0]));
	e->holders[e->nr_holders].pidfd = -1;
}

bool lw_lease_held_by_uid(const struct lw_lease_entry *e, uid_t uid)
{
	for (unsigned int i = 0; i < e->nr_holders; i++)
		if (e->holders[i].uid == uid)
			return true;
	return false;
}

unsigned int lw_lease_count_uid(struct lw_lease_table *t, uid_t uid)
{
	unsigned int n = 0;

	for (const struct lw_lease_entry *e = t->head; e; e = e->next)
		for (unsigned int i = 0; i < e->nr_holders; i++)
			n += e->holders[i].uid == uid;
	return n;
}
