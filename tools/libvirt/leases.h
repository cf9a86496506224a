/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's conversations with lockwardend, through liblockwarden, each
 * on a connection of its own while it runs (connections.h: kept idle
 * between calls in libvirtd, never in a forked child; close-on-exec, so
 * never in the QEMU a child becomes). Every failure is reported through
 * libvirt's error API and returns -1. */
#ifndef LW_LIBVIRT_LEASES_H
#define LW_LIBVIRT_LEASES_H

#include "libvirt/config.h"
#include "libvirt/domain.h"

/* REGISTER_ONLY (QEMU about to be exec'd, paused): refuse a start whose
 * disks another holder leases, so the user reads who holds them instead of
 * QEMU's "Permission denied". Exclusive leases wait for lw_leases_acquire
 * (an incoming migration's source still holds them); <shareable/> disks
 * join their shared lease now, for this process, since QEMU opens them for
 * write before its CPUs start and the kernel would deny a non-holder. */
int lw_leases_check(const struct lw_plugin_config *cfg, const struct lw_domain *dom);

/* Lease every disk for the domain's holder. All or nothing: what this call
 * took is released again on a failure; leases the holder had before stay. */
int lw_leases_acquire(const struct lw_plugin_config *cfg, const struct lw_domain *dom);

/* Give up the domain's leases on its disks; *state (if state) gets what
 * it held, as lw_leases_inquire gives it. */
int lw_leases_release(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
		      char **state);

/* The state string: the domain's leases among its disks, as JSON. */
int lw_leases_inquire(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
		      char **state);

/* Check a state string from Inquire (or from the migration source). */
int lw_leases_state_valid(const char *state);

#endif
