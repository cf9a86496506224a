/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The interface descriptions GetInterfaceDescription returns. */
#ifndef LW_DAEMON_INTERFACE_H
#define LW_DAEMON_INTERFACE_H

/* The text of interface name, or NULL if the daemon does not serve it. */
const char *lw_interface_description(const char *name);

#endif /* LW_DAEMON_INTERFACE_H */
