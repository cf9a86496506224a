// SPDX-License-Identifier: LGPL-2.1-or-later
/* paxos: acquiring a lease. An acquire starts the lease's agent (or waits
 * for the lockspace's join, up to join_wait_sec) and is answered when the
 * agent says it holds the lease or failed. See paxos.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "paxos_internal.h"
#include "paxos_lease.h"

static void pending_free(struct lw_backend_pending *p)
{
	sd_event_source_disable_unref(p->answer);
	sd_event_source_disable_unref(p->deadline);
	if (p->image_fd >= 0)
		close(p->image_fd);
	free(p->res);
	free(p);
}

static void unlist(struct lw_backend_pending *p)
{
	for (struct lw_backend_pending **q = &p->pb->pendings; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	p->next = NULL;
}

/* A cancelled acquire's agent: if the lease arrived, it is released (the
 * agent takes SIGUSR1 after its acquire); reaped when it exits. */
static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct paxos_lock *l = userdata;

	(void)s;
	(void)fd;
	(void)revents;
	lw_paxos_agent_reap(l->agent.pidfd);
	lw_paxos_lock_free(l);
	return 0;
}

static void finish(struct lw_backend_pending *p, int result, struct paxos_lock *lock, const struct lw_err *err)
{
	lw_backend_done_fn done = p->done;
	void *ctx = p->ctx;

	unlist(p);
	pending_free(p);
	done(ctx, result, lock ? &lock->base : NULL, err);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lw_backend_pending *p = userdata;
	struct paxos_lock *l = p->lock;
	struct paxos_backend *pb = p->pb;
	struct lw_err err = { "" };
	int rv;

	(void)s;
	(void)revents;
	rv = lw_paxos_agent_result(fd, &err);
	/* the agent's one more message, if ever, is heard by lw_paxos_lock_hear */
	p->answer = sd_event_source_disable_unref(p->answer);
	if (rv == 0)
		rv = lw_paxos_lock_set_id(l, &err);
	if (rv == 0)
		rv = lw_paxos_lock_watch(l, &err);
	if (rv < 0) {
		struct lw_err ignored;

		/* a failed agent exits by itself; one that got the lease is told
		 * to let go, and nobody waits for it */
		lw_paxos_let_go(l, NULL, NULL, &ignored);
		lw_err_prefix(&err, "paxos");
		finish(p, rv, NULL, &err);
		return 0;
	}
	if (lw_paxos_lock_hear(l, &err) < 0) {
		lw_paxos_agent_hang_up(&l->agent);	/* it goes on without it; its exit still tells */
	}
	l->base.keep_fd = l->agent.ctl_fd;	/* the keeper keeps it across a restart */
	l->next = pb->locks;
	pb->locks = l;
	p->lock = NULL;
	finish(p, 0, l, NULL);
	return 0;
}

static int start_agent(struct lw_backend_pending *p, struct lw_err *err)
{
	struct paxos_backend *pb = p->pb;
	struct lw_paxos_agent_spec spec = {
		.res = p->res, .image_fd = p->image_fd, .owner = p->owner, .create = p->create,
	};
	struct paxos_lock *l = lw_paxos_lock_new(pb, p->image_fd, p->res->flags & SANLK_RES_SHARED);
	int rv;

	if (!l)
		return lw_err_set(err, ENOMEM, "out of memory");
	rv = lw_paxos_lease_text(p->res, l->lease, sizeof(l->lease), err);
	if (rv == 0)
		rv = lw_paxos_spare_start(pb, &spec, &l->agent, err);
	if (rv == 0) {
		rv = sd_event_add_io(pb->event, &p->answer, l->agent.ctl_fd, EPOLLIN, on_answer, p);
		if (rv < 0) {
			lw_paxos_agent_release(l->agent.pidfd, 1000);
			lw_err_set(err, -rv, "cannot watch the sanlock agent: %s", strerror(-rv));
		}
	}
	if (rv < 0) {
		lw_paxos_lock_free(l);
		return rv;
	}
	p->lock = l;
	return 0;
}

static int on_join_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_backend_pending *p = userdata;
	struct lw_err err;

	(void)s;
	(void)usec;
	lw_err_set(&err, ETIMEDOUT, "paxos: lockspace %s is still joining after %u s", p->pb->cfg.lockspace,
		   p->pb->cfg.join_wait_sec);
	finish(p, -ETIMEDOUT, NULL, &err);
	return 0;
}

void lw_paxos_on_lockspace_changed(void *ctx)
{
	struct paxos_backend *pb = ctx;
	enum lw_paxos_ls_state state = lw_paxos_lockspace_state(pb->ls);

	struct lw_backend_pending *p, *next;

	if (state == LW_PAXOS_LS_JOINING)
		return;
	if (state == LW_PAXOS_LS_JOINED)
		lw_paxos_spare_refill(pb, true);
	for (p = pb->pendings; p; p = next) {
		struct lw_err err;
		int rv;

		next = p->next;
		if (p->lock)
			continue;	/* its agent is at work already */
		sd_event_source_disable_unref(p->deadline);
		p->deadline = NULL;
		if (state == LW_PAXOS_LS_JOINED)
			rv = start_agent(p, &err);
		else
			rv = lw_err_set(&err, EIO, "lockspace %s failed: %s", pb->cfg.lockspace,
					lw_paxos_lockspace_reason(pb->ls));
		if (rv < 0) {
			lw_err_prefix(&err, "paxos");
			finish(p, rv, NULL, &err);
		}
	}
}

int lw_paxos_acquire(struct lw_backend *be, const struct lw_backend_request *req, lw_backend_done_fn done,
		     void *ctx, struct lw_backend_lock **lock, struct lw_backend_pending **pending,
		     struct lw_err *err)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;
	enum lw_paxos_ls_state state = lw_paxos_lockspace_state(pb->ls);
	struct lw_backend_pending *p;
	const char *base;
	bool ours;
	int rv;

	*lock = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return lw_err_set(err, ENOMEM, "out of memory");
	p->pb = pb;
	p->done = done;
	p->ctx = ctx;
	p->image_fd = -1;
	if (req->lease && req->lease[0]) {
		rv = lw_paxos_lease_manual(req->lease, pb->cfg.lockspace, req->shared, &p->res, err);
	} else {
		p->create = true;
		rv = lw_paxos_lease_auto(pb->cfg.lockspace, pb->cfg.lease_dir, req->image_fd, req->image, req->shared,
					 &p->res, err);
	}
	if (rv == 0 && req->image_fd >= 0 && (p->image_fd = fcntl(req->image_fd, F_DUPFD_CLOEXEC, 3)) < 0)
		rv = lw_err_set(err, errno, "paxos: dup: %s", strerror(errno));
	/* a manual lease may be in a lockspace sanlock joined for someone else:
	 * only the daemon's own lockspace has a join to wait for */
	ours = rv == 0 && strncmp(p->res->lockspace_name, pb->cfg.lockspace, SANLK_NAME_LEN) == 0;
	if (rv == 0 && ours && state == LW_PAXOS_LS_FAILED)
		rv = lw_err_set(err, EIO, "paxos: lockspace %s failed: %s", pb->cfg.lockspace,
				lw_paxos_lockspace_reason(pb->ls));
	else if (rv == 0 && ours && state == LW_PAXOS_LS_JOINING && pb->cfg.join_wait_sec == 0)
		rv = lw_err_set(err, EBUSY, "paxos: lockspace %s is joining, try again in a few seconds",
				pb->cfg.lockspace);
	if (rv < 0) {
		pending_free(p);
		return rv;
	}
	base = strrchr(req->image, '/') ? strrchr(req->image, '/') + 1 : req->image;
	snprintf(p->owner, sizeof(p->owner), "lockwarden %s", base);

	if (!ours || state == LW_PAXOS_LS_JOINED) {
		rv = start_agent(p, err);
	} else {
		rv = sd_event_add_time_relative(pb->event, &p->deadline, CLOCK_MONOTONIC,
						(uint64_t)pb->cfg.join_wait_sec * 1000000ULL, 0, on_join_deadline, p);
		if (rv < 0)
			lw_err_set(err, -rv, "cannot add a timer: %s", strerror(-rv));
	}
	if (rv == 0) {
		p->next = pb->pendings;
		pb->pendings = p;
	}
	if (rv < 0) {
		lw_err_prefix(err, "paxos");
		pending_free(p);
		return rv;
	}
	*pending = p;
	return -EINPROGRESS;
}

void lw_paxos_cancel(struct lw_backend *be, struct lw_backend_pending *p)
{
	struct paxos_lock *l = p->lock;

	(void)be;
	unlist(p);
	if (l) {
		/* the agent lets go as soon as its acquire returns, then exits;
		 * reaped when it does */
		p->answer = sd_event_source_disable_unref(p->answer);
		syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGUSR1, NULL, 0);
		lw_paxos_agent_hang_up(&l->agent);
		if (sd_event_add_io(p->pb->event, &l->exit_watch, l->agent.pidfd, EPOLLIN, on_orphan_exit, l) < 0) {
			syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGKILL, NULL, 0);
			lw_paxos_lock_free(l);	/* killed: sanlock frees a dead client's lease */
		}
	}
	pending_free(p);
}

void lw_paxos_drop_pendings(struct paxos_backend *pb)
{
	while (pb->pendings) {
		struct lw_backend_pending *p = pb->pendings;

		unlist(p);
		if (p->lock) {
			/* its agent lets go of whatever it gets */
			syscall(SYS_pidfd_send_signal, p->lock->agent.pidfd, SIGUSR1, NULL, 0);
			lw_paxos_lock_free(p->lock);
		}
		pending_free(p);
	}
}
