// SPDX-License-Identifier: LGPL-2.1-or-later
/* The rules of a lease and its holders (lease_rules.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/holder.h"
#include "common/lease_rules.h"

int lw_holder_check(const struct lw_holder *holder, struct lw_err *err)
{
	if (!holder || (holder->kind != LW_HOLDER_PROCESS && holder->kind != LW_HOLDER_CGROUP))
		return lw_err_set(err, EINVAL, "holder must be a process or a cgroup");
	if (holder->kind == LW_HOLDER_PROCESS && !holder->pid)
		return lw_err_set(err, EINVAL, "process holder without a pid");
	return 0;
}

int lw_lease_init(struct lw_lease *lease, enum lw_lease_mode mode, const struct lw_holder *first,
		  struct lw_err *err)
{
	int r;

	if (mode != LW_LEASE_EXCLUSIVE && mode != LW_LEASE_SHARED)
		return lw_err_set(err, EINVAL, "lease mode must be exclusive or shared");
	if ((r = lw_holder_check(first, err)))
		return r;
	memset(lease, 0, sizeof(*lease));
	lease->mode = mode;
	lease->nr_holders = 1;
	lease->holders[0] = *first;
	return 0;
}

int lw_lease_holder_index(const struct lw_lease *lease, const struct lw_holder *holder)
{
	for (uint32_t i = 0; i < lease->nr_holders && i < LW_MAX_HOLDERS; i++)
		if (lw_holder_equal(&lease->holders[i], holder))
			return (int)i;
	return -1;
}

int lw_lease_add_holder(struct lw_lease *lease, const struct lw_holder *holder, struct lw_err *err)
{
	int r;

	if ((r = lw_holder_check(holder, err)))
		return r;
	if (lw_lease_holder_index(lease, holder) >= 0)
		return lw_err_set(err, EEXIST, "already a holder of this lease");
	if (lease->mode == LW_LEASE_EXCLUSIVE && lease->nr_holders >= 1)
		return lw_err_set(err, EINVAL, "an exclusive lease has one holder");
	if (lease->nr_holders >= LW_MAX_HOLDERS)
		return lw_err_set(err, E2BIG, "a shared lease has at most %d holders", LW_MAX_HOLDERS);
	lease->holders[lease->nr_holders] = *holder;
	return (int)lease->nr_holders++;
}

int lw_lease_find_holder_err(const struct lw_lease *lease, const struct lw_holder *holder,
			     struct lw_err *err)
{
	int i = lw_lease_holder_index(lease, holder);

	return i >= 0 ? i : lw_err_set(err, ENOENT, "not a holder of this lease");
}

void lw_lease_remove_holder_at(struct lw_lease *lease, unsigned int i)
{
	if (i >= lease->nr_holders || i >= LW_MAX_HOLDERS)
		return;
	memmove(&lease->holders[i], &lease->holders[i + 1],
		(lease->nr_holders - i - 1) * sizeof(lease->holders[0]));
	lease->nr_holders--;
	memset(&lease->holders[lease->nr_holders], 0, sizeof(lease->holders[0]));
}

void lw_image_key_name(const struct lw_image_key *key, char *buf, size_t size)
{
	snprintf(buf, size, "dev %u:%u ino %llu", lw_kdev_major(key->dev), lw_kdev_minor(key->dev),
		 (unsigned long long)key->ino);
}
