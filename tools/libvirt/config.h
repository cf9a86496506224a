/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/libvirt/qemu-lockwarden.conf: libvirt's `key = value` format, the
 * keys modelled on qemu-lockd.conf. A missing file means the defaults. */
#ifndef LW_LIBVIRT_CONFIG_H
#define LW_LIBVIRT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum lw_plugin_holder {
	LW_PLUGIN_HOLDER_PROCESS, /* the domain's QEMU process */
	LW_PLUGIN_HOLDER_CGROUP,  /* the domain's cgroup: QEMU and the helpers in it */
};

#define LW_PLUGIN_TIMEOUT_MS_DEFAULT 30000u

struct lw_plugin_config {
	bool auto_disk_leases;        /* lease every writable disk (default 1) */
	bool require_lease_for_disks; /* refuse writable disks without a lease (default !auto) */
	char socket[108];             /* lockwardend's socket */
	enum lw_plugin_holder holder;
	unsigned timeout_ms;          /* per call to lockwardend; never 0 */
};

void lw_plugin_config_defaults(struct lw_plugin_config *cfg);
/* Whether a and b set every key alike. */
bool lw_plugin_config_equal(const struct lw_plugin_config *a, const struct lw_plugin_config *b);

/* Read path over the defaults. Returns 0, or -1 with a one-line reason
 * ("PATH:LINE: ...") in err. */
int lw_plugin_config_load(struct lw_plugin_config *cfg, const char *path, char *err,
			  size_t err_size);

#endif
