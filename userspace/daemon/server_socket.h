/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listening socket of the varlink server. */
#ifndef LW_DAEMON_SERVER_SOCKET_H
#define LW_DAEMON_SERVER_SOCKET_H

#include <stddef.h>

#include "common/err.h"
#include "daemon.h"

/* The socket passed by systemd (socket activation) or by a re-exec through
 * LISTEN_FDS, else a new one on cfg->socket with socket_mode and
 * socket_group (a stale socket file is replaced; one a live daemon answers
 * on is not). Returns the descriptor (non-blocking, close-on-exec), or
 * -errno with err saying why. */
int lw_server_socket(const struct lw_daemon *d, struct lw_err *err);

#endif /* LW_DAEMON_SERVER_SOCKET_H */
