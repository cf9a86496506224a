/* Taking and giving up leases, all or nothing.
 *
 * Acquire: backend lock -> keeper copy of the lock -> kernel enforcement
 * (refused while a non-holder has the image open for write) -> state file (the
 * commit point) -> reply; any failure undoes what was done.
 * Release: state file (commit) -> kernel entry -> keeper copy -> backend
 * lock. A crash anywhere leaves the state file right, and re-adoption
 * (adopt.h) brings the kernel, the keeper and the backend in line with it. */
#ifndef LW_DAEMON_LEASING_H
#define LW_DAEMON_LEASING_H

#include <stdbool.h>
#include <json-c/json.h>

#include "audit/audit.h"
#include "daemon.h"

/* Take (or join, for shared) a lease on image for holder. fd is the image
 * as image_open.h opened it: the kernel key and the backend lock come from
 * that same file (it stays the caller's to close). On failure returns a
 * negative errno and *error gets the varlink error reply. */
int lw_leasing_acquire(struct lw_daemon *d, const char *image, int fd, const struct lw_lease_holder *holder,
		       bool shared, bool force, struct lw_lease_entry **out, struct json_object **error);

/* Remove e->holders[idx]; the last holder's leaving ends the lease. why is
 * the audit event. A holder that died is removed even if the state file
 * cannot be written (error then only logged); otherwise a state failure
 * keeps everything and returns *error. */
int lw_leasing_release(struct lw_daemon *d, struct lw_lease_entry *e, unsigned int idx,
		       enum lw_lease_event why, const char *reason, struct json_object **error);

/* lw_holder_exit_fn for holders.h: queues what a dead holder held; it is
 * released in batches of a few dozen that take turns with clients (one state
 * file write a batch), so other clients are answered meanwhile. */
void lw_leasing_holder_exited(const char *image, const struct lw_holder *holder, void *ctx);

/* Commit e's change (its holders now, or its end if it left the table) to
 * the state journal, durably; NULL commits what is already queued. Logs
 * and returns the error. */
int lw_leasing_save(struct lw_daemon *d, const struct lw_lease_entry *e, char *err, size_t err_size);

/* Record a lease event in the audit trail (no-op without audit). */
void lw_leasing_audit(struct lw_daemon *d, const struct lw_lease_entry *e,
		      const struct lw_lease_holder *h, enum lw_lease_event what, const char *reason);

#endif /* LW_DAEMON_LEASING_H */
