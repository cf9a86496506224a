// SPDX-License-Identifier: LGPL-2.1-or-later
/* Letting a paxos lease go without stopping the daemon's loop: the agent is
 * told (SIGUSR1), its sanlock_release is one write to shared storage
 * (bounded by io_timeout, more when storage is slow or failing), and its
 * word that sanlock let go (LW_PAXOS_AGENT_LET_GO) or else its exit, seen
 * on its pidfd from the loop, is the answer. An agent that let go goes
 * back among the spares (paxos_spare.c), or exits and is reaped. An agent that has
 * not exited after 2 x io_timeout (at least RELEASE_FLOOR_SEC: its exit is a
 * process teardown too, slow on a loaded host) is killed: sanlock frees a
 * dead client's leases itself. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "paxos_internal.h"

#define RELEASE_FLOOR_SEC 10u

static unsigned int release_deadline_sec(const struct paxos_backend *pb)
{
	return 2 * pb->cfg.io_timeout > RELEASE_FLOOR_SEC ? 2 * pb->cfg.io_timeout : RELEASE_FLOOR_SEC;
}

static int on_agent_gone(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct paxos_lock *l = userdata;
	int status = lw_paxos_agent_reap(l->agent.pidfd), rv = 0;
	lw_backend_released_fn released = l->released;
	void *ctx = l->released_ctx;
	struct lw_err err = { "" };

	(void)s;
	(void)fd;
	(void)revents;
	if (l->killed)
		rv = lw_err_set(&err, ETIMEDOUT, "paxos: the agent of %s did not release within %u s and was "
				"killed (sanlock frees a dead client's lease)", l->lease, release_deadline_sec(l->pb));
	else if (status == LW_PAXOS_AGENT_RELEASE_FAILED)
		rv = lw_err_set(&err, EIO, "paxos: sanlock could not release %s (it freed it as the agent exited)",
				l->lease);
	lw_paxos_lock_unlink(&l->pb->releasing, l);
	lw_paxos_lock_free(l);
	if (released)
		released(ctx, rv, &err);
	return 0;
}

/* sanlock let go: answered now. The agent then goes back among the spares
 * if there is room, or else is told to exit (its end of the socket closed)
 * and on_agent_gone reaps it. Anything else: its exit tells. */
static int on_agent_let_go(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct paxos_lock *l = userdata;
	lw_backend_released_fn released = l->released;
	void *ctx = l->released_ctx;
	struct lw_err err = { "" };

	(void)revents;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (lw_paxos_agent_result(fd, &err) != LW_PAXOS_AGENT_LET_GO || !released || l->killed)
		return 0;
	l->released = NULL;
	if (lw_paxos_spare_keep(l->pb, &l->agent)) {
		lw_paxos_lock_unlink(&l->pb->releasing, l);
		lw_paxos_lock_free(l);
	} else {
		l->ctl_watch = sd_event_source_disable_unref(l->ctl_watch);
		lw_paxos_agent_hang_up(&l->agent);
	}
	released(ctx, 0, &err);
	return 0;
}

static int on_release_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct paxos_lock *l = userdata;

	(void)s;
	(void)usec;
	fprintf(stderr, "lockwardend: paxos: the agent of %s did not release in time: killing it\n", l->lease);
	l->killed = true;
	syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGKILL, NULL, 0);
	return 0;
}

int lw_paxos_let_go(struct paxos_lock *l, lw_backend_released_fn released, void *ctx, struct lw_err *err)
{
	struct paxos_backend *pb = l->pb;
	int rv;

	lw_paxos_lock_unlink(&pb->locks, l);
	/* from now on its exit is the release's answer, not a lost lease */
	sd_event_source_disable_unref(l->exit_watch);
	sd_event_source_disable_unref(l->ctl_watch);
	l->exit_watch = l->ctl_watch = NULL;
	l->released = released;
	l->released_ctx = ctx;
	if (syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGUSR1, NULL, 0) < 0 && errno != ESRCH) {
		rv = lw_err_set(err, errno, "paxos: cannot tell the agent of %s to release: %s", l->lease,
				strerror(errno));
		goto fail;
	}
	if (!released)	/* nobody waits for the word: the agent exits after its release */
		lw_paxos_agent_hang_up(&l->agent);
	rv = sd_event_add_io(pb->event, &l->exit_watch, l->agent.pidfd, EPOLLIN, on_agent_gone, l);
	if (rv >= 0 && released && l->agent.ctl_fd >= 0)	/* an answer is awaited */
		rv = sd_event_add_io(pb->event, &l->ctl_watch, l->agent.ctl_fd, EPOLLIN, on_agent_let_go, l);
	if (rv >= 0)
		rv = sd_event_add_time_relative(pb->event, &l->release_deadline, CLOCK_MONOTONIC,
						(uint64_t)release_deadline_sec(pb) * 1000000u, 0, on_release_deadline, l);
	if (rv < 0) {
		lw_err_set(err, -rv, "paxos: cannot watch the agent of %s release: %s", l->lease, strerror(-rv));
		goto fail;
	}
	l->next = pb->releasing;
	pb->releasing = l;
	return -EINPROGRESS;
fail:
	/* the lease must not outlive this: sanlock frees a dead client's lease */
	syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGKILL, NULL, 0);
	lw_paxos_lock_free(l);
	return rv;
}

void lw_paxos_forget_releasing(struct paxos_backend *pb)
{
	while (pb->releasing) {
		struct paxos_lock *l = pb->releasing;

		pb->releasing = l->next;
		lw_paxos_lock_free(l);	/* told already: the agent lets go and exits by itself */
	}
}
