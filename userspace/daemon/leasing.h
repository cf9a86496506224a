/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Taking and giving up leases, all or nothing.
 *
 * Acquire: backend lock (which may answer later: acquiring.h) -> keeper copy
 * of the lock -> kernel enforcement (refused while a non-holder has the image
 * open for write) -> state file (the commit point) -> reply; any failure
 * undoes what was done. Nothing reaches the kernel or the table before the
 * backend granted the lease.
 * Release: state file (commit) -> kernel entry -> keeper copy -> backend
 * lock. A crash anywhere leaves the state file right, and re-adoption
 * (adopt.h) brings the kernel, the keeper and the backend in line with it. */
#ifndef LW_DAEMON_LEASING_H
#define LW_DAEMON_LEASING_H

#include <stdbool.h>
#include <json-c/json.h>

#include "audit/audit.h"
#include "common/err.h"
#include "daemon.h"
#include "releasing.h"

struct lw_backend_lock;
struct lw_acquiring;

/* The later answer of an acquire that went pending (-EINPROGRESS): 0 with
 * e, the lease now in the table, or a negative errno with error, the
 * varlink error reply (the callee's). */
typedef void (*lw_acquired_fn)(void *ctx, int result, struct lw_lease_entry *e, struct json_object *error);

struct lw_acquire_request {
	const char *image;
	int fd;			/* the image (image_open.h), the caller's to close: O_PATH
				 * with key, else open for read (the key comes from it) */
	const struct lw_image_key *key;	/* from its stat (lw_image_key_of_stat), or NULL */
	bool privileged;	/* root or the admin group asks: may use the room kept for them */
	const struct lw_lease_holder *holder;
	bool shared, force;
	const char *lease;	/* the backend's lease by name (paxos manual mode), or NULL */
	lw_acquired_fn later;	/* called once if the backend answers later */
	void *ctx;
};

/* Leases the descriptor limit leaves room for now, with the connections
 * (two descriptors each) and holder processes (a pidfd each) there are
 * now; UINT_MAX when nothing limits them. */
unsigned int lw_leasing_descriptor_room(const struct lw_daemon *d);

/* Images of the table only root and the admin group may lease: a 64th. */
unsigned int lw_leasing_kept_for_root(const struct lw_daemon *d);

/* Take (or join, for shared) a lease on req->image for req->holder: the
 * kernel key (unless req->key) and the backend lock come from req->fd.
 * Returns 0 with *out; -EINPROGRESS when the backend answers later
 * (req->later is called then, unless lw_acquiring_cancel(*pending) first);
 * or a negative errno with *error, the varlink error reply. An image with
 * an acquire pending is refused (LeaseHeld, "pending": true), whoever
 * asks; a path leased on another file, too (InvalidParameter). */
int lw_leasing_acquire(struct lw_daemon *d, const struct lw_acquire_request *req, struct lw_lease_entry **out,
		       struct lw_acquiring **pending, struct json_object **error);

/* The backend granted lock for e (a new entry not in the table): keeper
 * copy, kernel entry (fd: the image; O_PATH if fd_path, then opened for
 * read here if the enforcer needs it), table, holder watch, state, audit.
 * On failure everything is undone, the lock released and e freed. With
 * req (a client's request) and group commit on (commit.h), the state step
 * waits for the batch: -EINPROGRESS with *pending, and req->later answers
 * (the lease, or the commit's error with everything undone). Without req
 * the pending batch is flushed first and e committed at once. */
int lw_leasing_grant(struct lw_daemon *d, struct lw_lease_entry *e, int fd, bool fd_path, bool force,
		     struct lw_backend_lock *lock, const struct lw_acquire_request *req,
		     struct lw_acquiring **pending, struct json_object **error);

/* Remove e->holders[idx]; the last holder's leaving ends the lease. why is
 * the audit event. A holder that died is removed even if the state file
 * cannot be written (error then only logged); otherwise a state failure
 * keeps everything and returns *error. -EINPROGRESS with *pending when the
 * lease ended and the backend lets go later (releasing.h): later(ctx, ...)
 * then, unless lw_releasing_forget_caller(*pending) first. With later and
 * group commit on (commit.h), the release waits for the batch: always
 * -EINPROGRESS with *pending, later(ctx, LW_RELEASE_NOT_RECORDED, err)
 * if the batch failed (the holder is back). Without later, the caller
 * flushes the pending batch before it looks e up (commit.h). */
int lw_leasing_release(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx,
		       enum lw_lease_event why, const char *reason, lw_released_fn later, void *ctx,
		       struct lw_releasing **pending, struct json_object **error);

/* lw_holder_exit_fn for holders.h: queues what a dead holder held; it is
 * released in batches of a few dozen that take turns with clients (one state
 * file write a batch), so other clients are answered meanwhile. */
void lw_leasing_holder_exited(const struct lw_image_key *key, const struct lw_holder *holder, void *ctx);

/* lw_backend_lost_fn for backend.h (ctx: the daemon): the backend lost a
 * lease by itself (paxos: sanlock could not renew it and fenced its
 * writers): every holder is stopped (SIGKILL, cgroup.kill), then the lease
 * ends for each, audited as a forced release with the backend's reason. */
void lw_leasing_lost(void *ctx, struct lw_backend_lock *lock, const struct lw_err *err);

/* Queue the record of e's change (ended when e has left the table) for
 * the next lw_leasing_save. */
int lw_leasing_stage(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err);

/* Commit e's change (its holders now, or its end if it left the table) to
 * the state journal, durably; NULL commits what is already queued. Logs
 * and returns the error. Waiters of the group commit are answered too. */
int lw_leasing_save(struct lw_daemon *d, const struct lw_lease_entry *e, struct lw_err *err);

/* Record a lease event in the audit trail (no-op without audit). */
void lw_leasing_audit(struct lw_daemon *d, const struct lw_lease_entry *e,
		      const struct lw_lease_holder *h, enum lw_lease_event what, const char *reason);

#endif /* LW_DAEMON_LEASING_H */
