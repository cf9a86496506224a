/* The varlink server: the listening socket, one bounded buffer pair per
 * connection, org.varlink.service, and dispatch to the manager. A malformed,
 * oversized or unknown request gets an error reply and touches nothing else;
 * a connection whose reply is not read yet is not read from either, so no
 * client can make the daemon buffer without bound. */
#ifndef LW_DAEMON_SERVER_H
#define LW_DAEMON_SERVER_H

#include <stddef.h>

#include "daemon.h"

/* Listen on cfg->socket, or adopt a socket passed by systemd (or by a
 * re-exec) through LISTEN_FDS. */
int lw_server_open(struct lw_daemon *d, struct lw_server **out, char *err, size_t err_size);
/* The listening socket, to hand to a re-executed daemon. */
int lw_server_listen_fd(const struct lw_server *s);
void lw_server_close(struct lw_server *s);

#endif /* LW_DAEMON_SERVER_H */
