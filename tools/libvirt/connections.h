/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's connections to lockwardend, kept between calls: a lease
 * taken or given up in libvirtd (a domain's CPUs started, paused, stopped,
 * migrated) reuses an idle one instead of connecting anew, which costs
 * both ends more than the call itself. A forked process (libvirt's child
 * about to exec QEMU) never touches its parent's: it connects for itself
 * and keeps nothing. All are close-on-exec. */
#ifndef LW_LIBVIRT_CONNECTIONS_H
#define LW_LIBVIRT_CONNECTIONS_H

#include <stdbool.h>

#include "libvirt/config.h"
#include "lockwarden/client.h"

/* Idle connections kept at most; more at once are closed after their call. */
#define LW_PLUGIN_IDLE_CONNECTIONS 4

/* A new connection with the configured timeout: 0, or -errno with err
 * (NULL: not said). Nothing is reported to libvirt. */
int lw_connection_new(const struct lw_plugin_config *cfg, struct lockwarden **lw, struct lockwarden_error *err);

/* An idle connection that can still carry a call, else a new one with the
 * configured timeout. 0, or -1 with the failure reported to libvirt. */
int lw_connection_take(const struct lw_plugin_config *cfg, struct lockwarden **lw);

/* Done with lw (NULL: nothing): kept for the next call if there is room,
 * else closed. One that a failed call left unusable is closed when next
 * taken. */
void lw_connection_give_back(struct lockwarden *lw);

/* Close every idle connection (drvDeinit). */
void lw_connections_close(void);

#endif
