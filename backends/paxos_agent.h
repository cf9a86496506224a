/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registered sanlock client of one paxos lease at a time: a small
 * process the daemon forks. Sent a lease (lw_paxos_agent_start), it
 * registers with sanlock (once), takes the lease (a sanlock acquire blocks
 * for seconds: here it blocks nobody), reports the result on its control
 * socket, then holds the lease until told to let go. Then it says so and,
 * if the daemon tells it to stay, waits for its next lease: the daemon
 * keeps such agents as spares (paxos_spare.c), so an acquire + release
 * costs no fork, registration or exit (in the guest, raw sanlock ran 1.72x
 * faster than lockwardend with an agent forked per lease, 1.27x with spares).
 *
 * Why a process per held lease: sanlock ties every lease to a registered
 * client process and, when it can no longer renew this host's lockspace
 * lease, kills that client. The agent turns that kill into fencing: on
 * SIGTERM from sanlock it stops every process that has the leased image
 * open for write (the local holders) and only then exits, which frees the
 * lease. The agent lives in its own session, so a daemon crash or restart
 * leaves the lease held and still fenced (docs/paxos.md).
 *
 * Signals it takes while it holds a lease: SIGUSR1 = release, then
 * LW_PAXOS_AGENT_LET_GO (or exit, LW_PAXOS_AGENT_RELEASED, when nobody
 * listens); SIGTERM from sanlock = fence and exit (LW_PAXOS_AGENT_FENCED). */
#ifndef LW_PAXOS_AGENT_H
#define LW_PAXOS_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct sanlk_resource;

/* Exit statuses, for the daemon that waits for its agent. */
enum {
	LW_PAXOS_AGENT_RELEASED = 0,		/* released on request */
	LW_PAXOS_AGENT_NOT_ACQUIRED = 10,	/* the acquire failed (reported first) */
	LW_PAXOS_AGENT_FENCED = 11,		/* sanlock lost the lease: holders stopped */
	LW_PAXOS_AGENT_RELEASE_FAILED = 12,	/* sanlock_release failed (sanlock frees it on exit) */
};

struct lw_paxos_agent_spec {
	const struct sanlk_resource *res;	/* one disk; SANLK_RES_SHARED for shared */
	int image_fd;		/* the leased image (fencing finds its writers by it) */
	const char *owner;	/* shown by `sanlock client status` */
	bool create;		/* automatic mode: create and initialise the lease file if missing */
};

struct lw_paxos_agent {
	pid_t pid;
	int pidfd;	/* readable once the agent exited */
	int ctl_fd;	/* readable once the acquire result is there */
	uint64_t start_time;	/* its /proc start time, read at the fork (0: unread) */
};

/* Fork a spare agent: it waits, holding nothing, for lw_paxos_agent_start,
 * so that an acquire does not wait for a fork. It exits by itself when the
 * daemon's end of ctl_fd closes before that (the daemon died or re-executed). */
int lw_paxos_agent_prepare(struct lw_paxos_agent *spare, struct lw_err *err);

/* Send a spare its lease: from then on it is that lease's agent, as if
 * spawned for it. Fails (the spare is of no more use) if it is gone. */
int lw_paxos_agent_start(const struct lw_paxos_agent *spare, const struct lw_paxos_agent_spec *spec,
			 struct lw_err *err);

/* Fork an agent that acquires spec->res (prepare, then start). The result
 * comes later on ctl_fd (lw_paxos_agent_result). */
int lw_paxos_agent_spawn(const struct lw_paxos_agent_spec *spec, struct lw_paxos_agent *agent,
			 struct lw_err *err);

/* Tell an agent that let go of its lease to wait for another (it exits
 * otherwise, a second after its LW_PAXOS_AGENT_LET_GO). */
#define LW_PAXOS_AGENT_STAY 's'
int lw_paxos_agent_keep(const struct lw_paxos_agent *agent);

/* Close the daemon's end of the agent's socket: one waiting for a lease
 * exits, one holding or releasing a lease exits after its release (once
 * the keeper, if it holds a copy of that end, has dropped it too). */
void lw_paxos_agent_hang_up(struct lw_paxos_agent *agent);

/* Kill a spare (or an agent that holds nothing), reap it, close its descriptors. */
void lw_paxos_agent_discard(struct lw_paxos_agent *agent);

/* After the acquire result, the messages an agent may send: sanlock
 * ordered it to fence (it is stopping the writers); sanlock let the lease
 * go on the daemon's request (it then waits a second for
 * LW_PAXOS_AGENT_STAY, else exits). */
#define LW_PAXOS_AGENT_FENCING 1
#define LW_PAXOS_AGENT_LET_GO 2

/* Read the acquire result: 0 (held), or a negative errno with the reason
 * (-EAGAIN: held by another client or host); later LW_PAXOS_AGENT_FENCING
 * or LW_PAXOS_AGENT_LET_GO. */
int lw_paxos_agent_result(int ctl_fd, struct lw_err *err);

/* Exit status of our own child agent once pidfd is readable: the status,
 * or -1 if it is not our child (after a restart) or died of a signal. */
int lw_paxos_agent_reap(int pidfd);

/* Tell the agent to release (SIGUSR1) and wait up to timeout_ms for it to
 * exit; SIGKILL then (sanlock frees the lease of a dead client itself).
 * Returns the exit status as lw_paxos_agent_reap, or -ETIMEDOUT. */
int lw_paxos_agent_release(int pidfd, int timeout_ms);

#endif /* LW_PAXOS_AGENT_H */
