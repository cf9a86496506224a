// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-uid record budget: a small array, linear search (uids with denials
 * in one minute are few; each holds its entry for at most a minute). */
#include <stdlib.h>

#include "uid_budget.h"

struct entry {
	uint32_t uid;
	uint64_t window_start;	/* CLOCK_MONOTONIC usec */
	unsigned int passed;
	uint64_t counted;
};

struct lw_uid_budget {
	unsigned int per_window;
	struct entry *v;
	size_t n, cap;
};

struct lw_uid_budget *lw_uid_budget_new(unsigned int per_window)
{
	struct lw_uid_budget *b = calloc(1, sizeof(*b));

	if (b)
		b->per_window = per_window;
	return b;
}

void lw_uid_budget_free(struct lw_uid_budget *b)
{
	if (!b)
		return;
	free(b->v);
	free(b);
}

static struct entry *entry_of(struct lw_uid_budget *b, uint32_t uid, uint64_t now)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].uid == uid)
			return &b->v[i];
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct entry *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n] = (struct entry){ .uid = uid, .window_start = now };
	return &b->v[b->n++];
}

bool lw_uid_budget_take(struct lw_uid_budget *b, uint32_t uid, uint64_t now_usec, uint64_t weight)
{
	struct entry *e;

	if (!b->per_window)
		return true;
	e = entry_of(b, uid, now_usec);
	if (!e)
		return true;	/* out of memory: better a record too many than none */
	/* a minute that ended but was not expired yet (no timer ran): the
	 * caller expires first, so here it only means a fresh start */
	if (now_usec - e->window_start >= LW_UID_BUDGET_WINDOW_USEC && !e->counted) {
		e->window_start = now_usec;
		e->passed = 0;
	}
	if (e->passed < b->per_window) {
		e->passed++;
		return true;
	}
	e->counted += weight;
	return false;
}

void lw_uid_budget_expire(struct lw_uid_budget *b, uint64_t now_usec,
			  void (*fn)(uint32_t uid, uint64_t count, void *ctx), void *ctx)
{
	size_t i = 0;

	while (i < b->n) {
		struct entry *e = &b->v[i];

		if (now_usec - e->window_start < LW_UID_BUDGET_WINDOW_USEC) {
			i++;
			continue;
		}
		if (e->counted)
			fn(e->uid, e->counted, ctx);
		b->v[i] = b->v[--b->n];
	}
}

uint64_t lw_uid_budget_next_expiry(const struct lw_uid_budget *b)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].counted && b->v[i].window_start + LW_UID_BUDGET_WINDOW_USEC < next)
			next = b->v[i].window_start + LW_UID_BUDGET_WINDOW_USEC;
	return next;
}
