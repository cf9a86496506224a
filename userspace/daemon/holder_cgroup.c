// SPDX-License-Identifier: LGPL-2.1-or-later
/* Cgroup holders' paths, interned: one copy a distinct path, counted, however
 * many leases its cgroup holds (a VM's scope holds each of its disks), and
 * none for a process holder. A holder used to carry LW_PATH_MAX bytes for it
 * whatever its kind: most of a lease's memory at 65,536 leases. The daemon
 * has one loop, so one table. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"

struct interned {
	struct interned *next;
	unsigned int refs;
	uint32_t hash;
	char path[];
};

static struct {
	struct interned **buckets;
	unsigned int nbuckets;	/* a power of two; 0 while nothing is interned */
	unsigned int count;
} pool;

static uint32_t hash_path(const char *path)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 16777619u;
	return h;
}

static struct interned *of_path(const char *path)
{
	return (struct interned *)(path - offsetof(struct interned, path));
}

/* Room for one more: buckets double past one entry a bucket. */
static int grow(void)
{
	unsigned int n = pool.nbuckets ? pool.nbuckets * 2 : 64;
	struct interned **b;

	if (pool.count < pool.nbuckets)
		return 0;
	b = calloc(n, sizeof(*b));
	if (!b)
		return pool.nbuckets ? 0 : -ENOMEM;	/* longer chains, still correct */
	for (unsigned int i = 0; i < pool.nbuckets; i++)
		while (pool.buckets[i]) {
			struct interned *x = pool.buckets[i];

			pool.buckets[i] = x->next;
			x->next = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
		}
	free(pool.buckets);
	pool.buckets = b;
	pool.nbuckets = n;
	return 0;
}

int lw_cgroup_path_intern(const char *path, const char **out)
{
	size_t len = path ? strnlen(path, LW_PATH_MAX) : 0;
	struct interned *x;
	uint32_t h;

	*out = NULL;
	if (len == 0)
		return 0;
	if (len >= LW_PATH_MAX)
		return -ENAMETOOLONG;
	h = hash_path(path);
	for (x = pool.nbuckets ? pool.buckets[h & (pool.nbuckets - 1)] : NULL; x; x = x->next)
		if (x->hash == h && strcmp(x->path, path) == 0) {
			x->refs++;
			*out = x->path;
			return 0;
		}
	if (grow() < 0 || !(x = malloc(sizeof(*x) + len + 1)))
		return -ENOMEM;
	x->refs = 1;
	x->hash = h;
	memcpy(x->path, path, len + 1);
	x->next = pool.buckets[h & (pool.nbuckets - 1)];
	pool.buckets[h & (pool.nbuckets - 1)] = x;
	pool.count++;
	*out = x->path;
	return 0;
}

void lw_cgroup_path_hold(const char *path)
{
	if (path)
		of_path(path)->refs++;
}

void lw_cgroup_path_put(const char *path)
{
	struct interned *x, **p;

	if (!path || --(x = of_path(path))->refs)
		return;
	for (p = &pool.buckets[x->hash & (pool.nbuckets - 1)]; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	free(x);
	/* the last one gone: nothing is left allocated (a leak check sees none) */
	if (--pool.count == 0) {
		free(pool.buckets);
		pool.buckets = NULL;
		pool.nbuckets = 0;
	}
}

unsigned int lw_cgroup_path_count(void)
{
	return pool.count;
}
