/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rules of a lease and its holders, the same for every enforcer: who may
 * hold one, how many, and the reasons when not. Each enforcer keeps the
 * lease where its mechanism needs it and applies these to it. */
#ifndef LW_COMMON_LEASE_RULES_H
#define LW_COMMON_LEASE_RULES_H

#include <stddef.h>
#include "common/err.h"
#include "common/lease_types.h"

/* -EINVAL unless holder is a process (with a pid) or a cgroup. */
int lw_holder_check(const struct lw_holder *holder, struct lw_err *err);
/* A new lease of mode with first as its one holder; -EINVAL for a bad mode or holder. */
int lw_lease_init(struct lw_lease *lease, enum lw_lease_mode mode, const struct lw_holder *first,
		  struct lw_err *err);
/* Index of holder in lease, or -1. */
int lw_lease_holder_index(const struct lw_lease *lease, const struct lw_holder *holder);
/* Appends holder and returns its index: -EINVAL for a bad holder or a second
 * holder of an exclusive lease, -EEXIST if it holds already, -E2BIG if full. */
int lw_lease_add_holder(struct lw_lease *lease, const struct lw_holder *holder, struct lw_err *err);
/* Index of holder, or -ENOENT with a reason. */
int lw_lease_find_holder_err(const struct lw_lease *lease, const struct lw_holder *holder,
			     struct lw_err *err);
/* Removes holders[i], keeping the order of the rest. */
void lw_lease_remove_holder_at(struct lw_lease *lease, unsigned int i);

/* "dev 8:1 ino 12", for reasons. */
void lw_image_key_name(const struct lw_image_key *key, char *buf, size_t size);

#endif /* LW_COMMON_LEASE_RULES_H */
