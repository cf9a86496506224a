/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fanotify enforcer's leases found by hash, not by a walk of the table:
 * by the kernel's key (acquire, release, holders) and by the fstat identity
 * a permission event names (the answering thread, at every open of a leased
 * image). A walk of 65,536 leases of 280 bytes took about 430 us natively,
 * under the lock the answering thread takes too.
 *
 * Two open-addressing tables of positions in enf->leases, grown as the
 * leases grow; every change of enf->leases goes through here, under
 * enf->lock. */
#ifndef LW_FANOTIFY_FAN_INDEX_H
#define LW_FANOTIFY_FAN_INDEX_H

#include <stddef.h>
#include <sys/types.h>

#include "common/lease_types.h"

struct lw_fan_enforcer;

#define LW_FAN_NOT_FOUND ((size_t)-1)

/* The position in enf->leases of the lease of key, or LW_FAN_NOT_FOUND. */
size_t lw_fan_index_by_key(const struct lw_fan_enforcer *enf, const struct lw_image_key *key);
/* The position of the lease of the inode (st_dev, st_ino), or LW_FAN_NOT_FOUND. */
size_t lw_fan_index_by_inode(const struct lw_fan_enforcer *enf, dev_t st_dev, ino_t st_ino);
/* enf->leases[i] is new (i == nr_leases - 1): find it from now on. 0, or
 * -ENOMEM (then it is not found; the caller takes it out again). */
int lw_fan_index_add(struct lw_fan_enforcer *enf, size_t i);
/* enf->leases[i] goes: not found from now on, and the last lease, moved
 * into its place, found there. Call before the move. */
void lw_fan_index_remove(struct lw_fan_enforcer *enf, size_t i);
void lw_fan_index_free(struct lw_fan_enforcer *enf);

#endif /* LW_FANOTIFY_FAN_INDEX_H */
