/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Group commit: the state records of every change made while the loop
 * handles the requests it has ready share one write (not synced: the
 * journal is to survive the daemon, state.h). With one client connected
 * no other request can join, and its batch is committed at once
 * (server_conn.c).
 *
 * A change is made in memory (table, kernel, keeper, holder watch), its
 * record queued (lw_leasing_stage), and a waiter registered; its answer
 * waits. A defer source at idle priority, below the client sockets, runs
 * once every readable request was handled: it writes the queued
 * records once (lw_state_commit, which may compact), then calls every
 * waiter with the result: 0 in the order they waited (the change is
 * durable: confirm and answer), or a negative errno in the reverse order
 * (undo the change as it left the table, answer the error); nothing of a
 * failed batch is acknowledged. A batch older than a few milliseconds is
 * flushed ahead of the requests still readable, so slow requests do not
 * hold the first answers for long. The loop's exit flushes a batch still
 * pending. Without lw_commit_setup (unit tests) every change commits at
 * once, as lw_leasing_save does.
 *
 * A change made outside a request (a holder's exit, a lease the backend
 * lost, a grant the backend answered later) commits at once: it flushes
 * the pending batch first, before it looks anything up, so a batch's
 * undo never meets a change made after it on the same lease. */
#ifndef LW_DAEMON_COMMIT_H
#define LW_DAEMON_COMMIT_H

#include <stdbool.h>

#include "common/err.h"
#include "daemon.h"

struct lw_commit;

/* result: 0 (durable) or a negative errno with err (nothing was written). */
typedef void (*lw_commit_fn)(struct lw_daemon *d, void *ctx, int result, const struct lw_err *err);

/* Embedded in whatever waits, so waiting cannot fail. */
struct lw_commit_waiter {
	struct lw_commit_waiter *next;
	lw_commit_fn done;
	void *ctx;
};

/* Turn group commit on for d (its event loop and state). */
int lw_commit_setup(struct lw_daemon *d, struct lw_err *err);

/* Whether group commit is on: a change may wait for the batch. */
bool lw_commit_enabled(const struct lw_daemon *d);

/* Whether changes wait for the next flush. */
bool lw_commit_pending(const struct lw_daemon *d);

/* Call done(d, ctx, result, err) at the next flush; w stays the caller's
 * and must live until then. */
void lw_commit_wait(struct lw_daemon *d, struct lw_commit_waiter *w, lw_commit_fn done, void *ctx);

/* Write and sync every queued record now and call every waiter. Returns
 * the result (logged when it failed). */
int lw_commit_flush(struct lw_daemon *d, struct lw_err *err);

#endif /* LW_DAEMON_COMMIT_H */
