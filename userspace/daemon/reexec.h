/* A planned upgrade without a gap, like virtlockd on SIGUSR1: the daemon
 * re-executes its binary (the new one, if it was replaced) with the same
 * arguments, handing over the listening socket through LISTEN_FDS. The
 * leases need nothing handed over: the kernel keeps enforcing (pins), the
 * keeper keeps the backend locks, and the new process re-adopts both from
 * the state file like after a crash. */
#ifndef LW_DAEMON_REEXEC_H
#define LW_DAEMON_REEXEC_H

/* Remember the binary's path and arguments at start. */
void lw_reexec_init(int argc, char **argv);

/* The path of the daemon's binary (the new file after an upgrade). */
const char *lw_reexec_binary(void);

/* Replace this process; returns only on failure (-errno, logged). */
int lw_reexec(int listen_fd);

#endif /* LW_DAEMON_REEXEC_H */
