/* The keeper: a tiny process that holds a duplicate of every backend lock
 * descriptor, so the locks outlive a crash (kill -9) or a re-exec of the
 * daemon.
 *
 * Why a process: OFD locks (fcntl backend) live as long as any descriptor of
 * their open file description does. The daemon hands each lock descriptor to
 * the keeper over a Unix socket (SCM_RIGHTS) before it commits the lease to
 * the state file; a restarted daemon connects to the same socket
 * (STATE_DIR/keeper.sock), takes duplicates of all of them back and
 * reconciles them with the state file. Unlike the systemd fd store this
 * works without systemd (tests, containers); the keeper runs in its own
 * session so it does not share the daemon's death. It exits by itself once
 * it holds nothing and no daemon is connected. */
#ifndef LW_DAEMON_KEEPER_H
#define LW_DAEMON_KEEPER_H

#include <stddef.h>

#define LW_KEEPER_SOCKET "keeper.sock"

struct lw_keeper;

/* Connect to the keeper of state_dir, starting one if none answers. */
int lw_keeper_connect(const char *state_dir, struct lw_keeper **out, char *err, size_t err_size);
void lw_keeper_close(struct lw_keeper *k);

/* Keep a duplicate of fd under name (an image path); replaces a previous one. */
int lw_keeper_put(struct lw_keeper *k, const char *name, int fd);
/* Close the keeper's copy for name (missing is fine). */
int lw_keeper_drop(struct lw_keeper *k, const char *name);
/* Calls fn with a fresh duplicate of every kept descriptor (fn owns it), or
 * -1 when the kernel refused to pass it: the write descriptor of an image
 * under a lease goes to holders only. The keeper's copy still holds then. */
int lw_keeper_list(struct lw_keeper *k, int (*fn)(const char *name, int fd, void *ctx), void *ctx);
/* The keeper's pid (for tests and logs). */
int lw_keeper_pid(const struct lw_keeper *k);

#endif /* LW_DAEMON_KEEPER_H */
