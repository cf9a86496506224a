/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A planned upgrade without a gap, like virtlockd on SIGUSR1: the daemon
 * re-executes its binary (the new one, if it was replaced) with the same
 * arguments, handing over the listening socket through LISTEN_FDS. The
 * leases need nothing handed over: the kernel keeps enforcing (pins; under
 * fanotify the keeper keeps the group and answers it meanwhile), the keeper
 * keeps the backend locks, and the new process re-adopts both from the
 * state file like after a crash. */
#ifndef LW_DAEMON_REEXEC_H
#define LW_DAEMON_REEXEC_H

/* Remember the binary's path and arguments at start. */
void lw_reexec_init(int argc, char **argv);

/* The path of the daemon's binary (the new file after an upgrade). */
const char *lw_reexec_binary(void);

/* One part of the daemon that must come to rest before the exec (the
 * fanotify enforcer's thread: an event it had read and not answered would
 * be left to the next answerer's guesswork), and wake again if the exec
 * failed. NULL hooks: none. */
void lw_reexec_set_hooks(void (*before)(void *ctx), void (*failed)(void *ctx), void *ctx);

/* Replace this process; returns only on failure (-errno, logged). */
int lw_reexec(int listen_fd);

#endif /* LW_DAEMON_REEXEC_H */
