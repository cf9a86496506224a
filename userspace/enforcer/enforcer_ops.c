// SPDX-License-Identifier: LGPL-2.1-or-later
/* The BPF LSM enforcer behind the enforcement interface (common/enforcement.h):
 * each operation is the enforcer's own call on its handle. */
#include "enforcer/enforcer.h"

const char *lw_enforcer_limits(const struct lw_enforcement *handle)
{
	(void)handle;
	return "pinned in bpffs: enforcement stays while the daemon is down; denies open for write, "
	       "truncate, unlink and rename of a leased image through any name";
}

const struct lw_enforcement_ops lw_enforcer_ops = {
	.name = "bpf-lsm",
	.key_of_fd = lw_enforcer_key_of_fd,
	.add_lease = lw_enforcer_add_lease_flags,
	.remove_lease = lw_enforcer_remove_lease,
	.add_holder = lw_enforcer_add_holder,
	.remove_holder = lw_enforcer_remove_holder,
	.lookup = lw_enforcer_lookup,
	.foreach = lw_enforcer_foreach,
	.events_fd = lw_enforcer_events_fd,
	.events_consume = lw_enforcer_events_consume,
	.counters = lw_enforcer_counters,
	.max_images = lw_enforcer_max_images,
	.limits = lw_enforcer_limits,
	.pin_dir = lw_enforcer_pin_dir,
	.error = lw_enforcer_error,
	.close = lw_enforcer_close,
	.writers = NULL,	/* the daemon asks through tamper.c */
	.trust_pid = lw_enforcer_trust_pid,
};
