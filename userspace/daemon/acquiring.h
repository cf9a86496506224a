/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acquires the backend answers later (backend.h: -EINPROGRESS), kept
 * beside the lease table rather than in it: everything that trusts the
 * table (the state file, the kernel, the keeper, tamper checks, denial
 * records) sees granted leases only, and a pending acquire reaches none of
 * them before the backend grants it.
 *
 * While pending: the holder is watched (its exit cancels the acquire and
 * answers it); a second acquire of the same image is refused as LeaseHeld
 * with "pending": true; Release by the holder withdraws it; List and
 * Inquire show it with "pending": true. The client that asked gets its
 * reply when the backend answers; if it goes away first, the acquire is
 * cancelled and the backend releases whatever arrives later. */
#ifndef LW_DAEMON_ACQUIRING_H
#define LW_DAEMON_ACQUIRING_H

#include <json-c/json.h>

#include "daemon.h"
#include "leasing.h"

/* The backend step of lw_leasing_acquire for e (a new entry, not in the
 * table, which this takes over): 0 when granted at once (e in the table),
 * -EINPROGRESS with *pending, or a negative errno with *error (e freed). */
int lw_acquiring_start(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_acquire_request *req,
		       struct lw_acquiring **pending, struct json_object **error);

/* An acquire whose change is made and waits for the group commit
 * (commit.h); the caller's handle (lw_acquiring_cancel forgets the caller:
 * the change stays). NULL when out of memory. */
struct lw_acquiring *lw_acquiring_waiter_new(struct lw_daemon *d, const struct lw_acquire_request *req);
void lw_acquiring_waiter_free(struct lw_acquiring *a);

/* How leasing.c confirms (result 0) or undoes (a negative errno) the
 * change made for who in e once the batch is written or failed. */
typedef void (*lw_acquire_settle_fn)(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_holder *who,
				     bool force, int result);

/* Wait for the next flush: settle (NULL: nothing to confirm, the lease was
 * held already), then req->later with the lease or the commit's error. */
void lw_acquiring_wait_commit(struct lw_acquiring *a, struct lw_lease_entry *e, const struct lw_holder *who,
			      lw_acquire_settle_fn settle);

/* The one who asked no longer wants it (its connection closed): nothing
 * of it stays, and req->later is not called. */
void lw_acquiring_cancel(struct lw_acquiring *a);

/* Withdraw a's acquire and answer it with error (taken over). */
void lw_acquiring_abort(struct lw_acquiring *a, struct json_object *error);

/* The pending acquire of key or image, or NULL. */
struct lw_acquiring *lw_acquiring_find(struct lw_daemon *d, const struct lw_image_key *key, const char *image);

/* How many pending acquires are for holders of uid (its budget counts them). */
unsigned int lw_acquiring_count_uid(struct lw_daemon *d, uid_t uid);

/* Iteration: for (a = lw_acquiring_first(d); a; a = lw_acquiring_next(a)). */
struct lw_acquiring *lw_acquiring_first(struct lw_daemon *d);
struct lw_acquiring *lw_acquiring_next(const struct lw_acquiring *a);
/* What a asks for: image, key, mode, its one holder (not in the table). */
const struct lw_lease_entry *lw_acquiring_entry(const struct lw_acquiring *a);

#endif /* LW_DAEMON_ACQUIRING_H */
