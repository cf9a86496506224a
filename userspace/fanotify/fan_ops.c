// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer behind the enforcement interface
 * (common/enforcement.h): each operation is the enforcer's own call on its
 * handle. */
#include "fanotify/fan_enforcer.h"

const struct lw_enforcement_ops lw_fan_enforcer_ops = {
	.name = "fanotify",
	.readers_block_add = true,	/* fan_lease_probe.c */
	.key_of_fd = lw_fan_enforcer_key_of_fd,
	.add_lease = lw_fan_enforcer_add_lease_flags,
	.remove_lease = lw_fan_enforcer_remove_lease,
	.add_holder = lw_fan_enforcer_add_holder,
	.remove_holder = lw_fan_enforcer_remove_holder,
	.lookup = lw_fan_enforcer_lookup,
	.foreach = lw_fan_enforcer_foreach,
	.events_fd = lw_fan_enforcer_events_fd,
	.events_consume = lw_fan_enforcer_events_consume,
	.counters = lw_fan_enforcer_counters,
	.max_images = lw_fan_enforcer_max_images,
	.limits = lw_fan_enforcer_limits,
	.pin_dir = NULL,	/* nothing pinned */
	.error = lw_fan_enforcer_error,
	.close = lw_fan_enforcer_close,
	.writers = lw_fan_enforcer_writers,
	.trust_pid = lw_fan_enforcer_trust_pid,
};
