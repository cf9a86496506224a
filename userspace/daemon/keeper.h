/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keeper: a tiny process that holds a duplicate of every backend lock
 * descriptor, so the locks outlive a crash (kill -9) or a re-exec of the
 * daemon.
 *
 * Why a process: OFD locks (fcntl backend) live as long as any descriptor of
 * their open file description does. The daemon and the keeper each hold a
 * descriptor of every lock's one open file description, so the lock survives
 * either of them dying. The daemon hands each new lock to the keeper over a
 * Unix socket (SCM_RIGHTS): under BPF LSM the kernel lets only holders, the
 * daemon and the keeper named in the keeper map receive a leased image's
 * write descriptor, so the put need not be answered before the lease
 * exists (keeping.h); a restarted daemon connects to the same socket
 * (STATE_DIR/keeper.sock), takes its own copy of every lock back and
 * reconciles them with the state file. A keeper that died is replaced by one
 * that inherits the daemon's copies across fork (no socket, no kernel check).
 * Unlike the systemd fd store this works without systemd (tests,
 * containers); the keeper runs in its own session so it does not share the
 * daemon's death. It exits by itself once it holds nothing and no daemon is
 * connected, or when another keeper took its socket file. */
#ifndef LW_DAEMON_KEEPER_H
#define LW_DAEMON_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define LW_KEEPER_SOCKET "keeper.sock"

struct lw_keeper;

/* One lock to keep: the image path it is kept under and its descriptor. */
struct lw_keeper_lock {
	const char *name;
	int fd;
};

/* Connect to the keeper of state_dir, starting one if none answers. */
int lw_keeper_connect(const char *state_dir, struct lw_keeper **out, struct lw_err *err);
void lw_keeper_close(struct lw_keeper *k);
/* Start a new keeper that holds a copy of each of locks from birth
 * (inherited across fork), in place of old (dead, or alive: it is then told
 * to drop its copies and exit, after the new one holds them). old stays the
 * caller's to close. */
int lw_keeper_replace(const char *state_dir, const struct lw_keeper_lock *locks, size_t count,
		      struct lw_keeper *old, struct lw_keeper **out, struct lw_err *err);

/* Keep a duplicate of fd under name (an image path); replaces a previous one. */
int lw_keeper_put(struct lw_keeper *k, const char *name, int fd);
/* The same, without waiting for the answer (the fd is the keeper's once
 * this returns, in its socket's queue if not yet received). A refusal is
 * found as the answers are read: lw_keeper_refused. Only where the kernel
 * lets the keeper receive a leased image's write descriptor. */
int lw_keeper_send_put(struct lw_keeper *k, const char *name, int fd);
/* The name of a put sent with lw_keeper_send_put that the keeper refused
 * since the last call (valid until the next refusal), or NULL. */
const char *lw_keeper_refused(struct lw_keeper *k);
/* Close the keeper's copy for name (missing is fine). Sent without waiting
 * for the answer: the keeper closes it soon after, in order before any
 * later request. */
int lw_keeper_drop(struct lw_keeper *k, const char *name);
/* Read the answers not waited for that are there: refusals of puts (from
 * a keeper before quiet puts: every put's and drop's answer). Call when
 * the connection is readable. 0, or -errno if the keeper hung up. */
int lw_keeper_collect(struct lw_keeper *k);
/* Wait until the keeper has done every put and drop sent before (a keeper
 * of this build answers none of them: a SYNC is sent and answered; one from
 * before answers each): how many there were, 0 if none, or -errno. */
int lw_keeper_settle(struct lw_keeper *k);
/* Calls fn with a fresh duplicate of every kept descriptor (fn owns it), or
 * -1 when the kernel refused to pass it (only holders and the registered
 * daemon receive a leased image's write descriptor). The keeper's copy
 * still holds then. */
int lw_keeper_list(struct lw_keeper *k, int (*fn)(const char *name, int fd, void *ctx), void *ctx);
/* The fanotify enforcer's group and its shared table (keeper_group.h): the
 * keeper keeps copies and answers the group while no daemon is connected.
 * take stops the keeper answering and gives the daemon copies (-1 each when
 * the keeper has none; the keeper keeps its own); put gives the keeper
 * copies of a group (after take, only if it is another); drop makes it
 * close its copies (a daemon that does not use fanotify). */
int lw_keeper_put_group(struct lw_keeper *k, int group_fd, int table_fd);
int lw_keeper_take_group(struct lw_keeper *k, int *group_fd, int *table_fd);
int lw_keeper_drop_group(struct lw_keeper *k);
/* The keeper's pid (for tests and logs). */
int lw_keeper_pid(const struct lw_keeper *k);
/* Whether lw_keeper_connect found no keeper and started this one (it
 * holds none of the locks of a previous daemon). */
bool lw_keeper_started_here(const struct lw_keeper *k);
/* The connection's descriptor: it hangs up when the keeper dies. */
int lw_keeper_fd(const struct lw_keeper *k);

#endif /* LW_DAEMON_KEEPER_H */
