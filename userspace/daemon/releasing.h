/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases the backend is still letting go (backend.h: a release may answer
 * later; paxos: the agent's sanlock_release, up to 2 x io_timeout), kept
 * beside the lease table like pending acquires (acquiring.h). By then the
 * lease has left the table, the state file, the kernel and the keeper; the
 * daemon's loop goes on serving others meanwhile.
 *
 * While releasing: an acquire of the image is refused as LeaseHeld with
 * "releasing": true (the backend's engine still holds it, so a new lease
 * could not be granted anyway); the Release call that ended the lease is
 * answered only when the backend let go, so a caller told "released" (a
 * migration's source, before the destination acquires) can rely on it; the
 * audit record is written then, with the backend's error if it had one. */
#ifndef LW_DAEMON_RELEASING_H
#define LW_DAEMON_RELEASING_H

#include "audit/audit.h"
#include "common/err.h"
#include "daemon.h"

struct lw_releasing;

/* The backend let go (result 0), or failed to (a negative errno with err;
 * the lease is gone all the same), or LW_RELEASE_NOT_RECORDED with err:
 * the release did not happen (its end could not be written to the state,
 * commit.h) and the holder keeps the lease. */
typedef void (*lw_released_fn)(void *ctx, int result, const struct lw_err *err);
#define LW_RELEASE_NOT_RECORDED (-4096)	/* no errno: the release was undone */

/* What to record when the backend let go: who left, why, the reason. */
struct lw_release_record {
	const struct lw_lease_holder *who;	/* NULL: nothing to audit (an acquire rolled back) */
	enum lw_lease_event why;
	const char *reason;			/* NULL: none */
};

/* Give up e's backend lock and free e (out of the table; kernel entry and
 * keeper copy gone already). 0 when done at once (audited); -EINPROGRESS
 * with *out (if out is not NULL) when the backend answers later: then
 * done(ctx, ...) unless lw_releasing_forget_caller(*out) first. */
int lw_releasing_start(struct lw_daemon *d, struct lw_lease_entry *e, const struct lw_release_record *rec,
		       lw_released_fn done, void *ctx, struct lw_releasing **out);

/* A release waiting for the group commit of its end (commit.h): the
 * caller's handle (lw_releasing_forget_caller) from the start. NULL when
 * out of memory. */
struct lw_releasing *lw_releasing_new(struct lw_daemon *d, const char *reason, lw_released_fn done, void *ctx);
/* e (the lease that ended, out of the table) counts as releasing
 * (lw_releasing_busy) while its end is committed. */
void lw_releasing_block(struct lw_releasing *r, struct lw_lease_entry *e);
/* Answer the caller (result, err as for lw_released_fn) and free r; its
 * lease, if any, is the caller's again. */
void lw_releasing_answer(struct lw_releasing *r, int result, const struct lw_err *err);
/* Its end is durable: lw_releasing_start for e with r, who left and why;
 * done is called when the backend let go, at once or later. */
void lw_releasing_continue(struct lw_releasing *r, struct lw_lease_entry *e, const struct lw_lease_holder *who,
			   enum lw_lease_event why);

/* The caller no longer waits (its connection closed): done is not called. */
void lw_releasing_forget_caller(struct lw_releasing *r);

/* Whether image, or the file of key, is still being let go. */
bool lw_releasing_busy(struct lw_daemon *d, const struct lw_image_key *key, const char *image);

/* At exit: stop waiting (the backend was closed; its releases finish by themselves). */
void lw_releasing_forget_all(struct lw_daemon *d);

#endif /* LW_DAEMON_RELEASING_H */
