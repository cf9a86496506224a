/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who is at the other end of a client connection. */
#ifndef LW_DAEMON_PEER_H
#define LW_DAEMON_PEER_H

#include <stdbool.h>

#include "daemon.h"
#include "manager.h"

/* Who connected on fd: credentials, groups (root or d's admin group is
 * privileged), and a pidfd of the process with its start time. The start
 * time is read after pidfd_open and the pidfd checked alive after that, so
 * both name the same process; and that process is the one that connected,
 * not one that took its pid after it exited: the kernel's pidfd of the
 * connecting process (SO_PEERPIDFD, Linux 6.5+) is still alive, or, before
 * 6.5, the process runs as SO_PEERCRED's uid (real and effective). 0, or
 * -ESRCH when the connecting process is gone already, -EPERM when its pid
 * runs another uid's process now, or -errno (EMFILE...). */
int lw_peer_identify(const struct lw_daemon *d, int fd, struct lw_peer *peer);

/* Is the process that connected still there? Its pidfd turns readable
 * when it exits; from then on its pid may name another process, so the
 * connection may not act for anyone. */
bool lw_peer_alive(const struct lw_peer *peer);

/* The connecting process as a holder: its pid and the start time read at
 * connect (SO_PEERCRED names a process, not a thread). */
static inline struct lw_holder lw_peer_holder(const struct lw_peer *peer)
{
	return (struct lw_holder){ .kind = LW_HOLDER_PROCESS, .pid = (uint32_t)peer->pid,
				   .start_time = peer->start_time };
}

#endif /* LW_DAEMON_PEER_H */
