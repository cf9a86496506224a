// SPDX-License-Identifier: LGPL-2.1-or-later
/* paxos: leases as sanlock disk-paxos leases on shared block storage.
 *
 * sanlock does the agreement (delta leases for host ids, paxos leases for
 * resources); this backend joins one lockspace (paxos_lockspace.c), names
 * the lease of an image (paxos_lease.c) and takes it through a per-lease
 * agent process registered with sanlock (paxos_agent.c), which also fences
 * the holders when sanlock cannot renew. docs/paxos.md has the design and
 * the timings.
 *
 * Config, section [paxos]:
 *   lockspace = NAME            sanlock lockspace name (required)
 *   lockspace_path = PATH       its storage: a shared LUN or file (required)
 *   lockspace_offset = BYTES    where in PATH (default 0)
 *   host_id = 1..2000           this host's id, unique per host (required)
 *   io_timeout = SEC            sanlock's io timeout for the lockspace (default 10)
 *   lease_dir = PATH            automatic mode: a lease file per image here
 *   join_wait_sec = SEC         an acquire during the join waits this long (default 60; 0: fail at once) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "backend.h"
#include "enforcer/enforcer.h"
#include "paxos_agent.h"
#include "paxos_config.h"
#include "paxos_fence.h"
#include "paxos_lease.h"
#include "paxos_lockspace.h"

#define FENCE_WAIT_MS 10000

struct paxos_lock;

struct paxos_backend {
	struct lw_backend base;
	struct lw_paxos_config cfg;
	sd_event *event;
	lw_backend_lost_fn lost;
	void *lost_ctx;
	struct lw_paxos_lockspace *ls;
	struct lw_backend_pending *pendings;	/* acquires not answered yet */
	struct paxos_lock *locks;		/* held leases (for status) */
};

struct paxos_lock {
	struct lw_backend_lock base;	/* keep_fd -1: sanlock holds the lease for the agent */
	struct paxos_backend *pb;
	struct lw_paxos_agent agent;
	int image_fd;			/* for fencing if the agent dies another way */
	bool shared;
	char lease[SANLK_MAX_RES_STR];	/* LOCKSPACE:RESOURCE:PATH:OFFSET */
	sd_event_source *exit_watch;	/* the agent's pidfd: the lease is gone when it fires */
	sd_event_source *ctl_watch;	/* the agent's control socket: it says when it fences */
	bool lost;			/* the daemon was told (once) */
	struct paxos_lock *next;
};

struct lw_backend_pending {
	struct paxos_backend *pb;
	lw_backend_done_fn done;
	void *ctx;
	struct sanlk_resource *res;
	bool create;			/* automatic mode: lease file made on demand */
	int image_fd;
	char owner[SANLK_NAME_LEN];
	struct paxos_lock *lock;	/* the agent, once started */
	sd_event_source *answer;	/* the agent's result */
	sd_event_source *deadline;	/* waiting for the join */
	struct lw_backend_pending *next;
};

/* ---- held leases ---------------------------------------------------------- */

static void lock_unlink(struct paxos_lock *l)
{
	for (struct paxos_lock **p = &l->pb->locks; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	l->next = NULL;
}

static void lock_free(struct paxos_lock *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->exit_watch);
	sd_event_source_disable_unref(l->ctl_watch);
	if (l->agent.pidfd >= 0)
		close(l->agent.pidfd);
	if (l->agent.ctl_fd >= 0)
		close(l->agent.ctl_fd);
	if (l->image_fd >= 0)
		close(l->image_fd);
	free(l);
}

static struct paxos_lock *lock_new(struct paxos_backend *pb, int image_fd, bool shared)
{
	struct paxos_lock *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->pb = pb;
	l->base.keep_fd = -1;
	l->agent.pidfd = l->agent.ctl_fd = -1;
	l->image_fd = image_fd >= 0 ? fcntl(image_fd, F_DUPFD_CLOEXEC, 3) : -1;
	l->shared = shared;
	return l;
}

static void report_lost(struct paxos_lock *l, const struct lw_err *err)
{
	if (l->lost)
		return;
	l->lost = true;
	fprintf(stderr, "lockwardend: paxos: %s\n", err->msg);
	if (l->pb->lost)
		l->pb->lost(l->pb->lost_ctx, &l->base, err);	/* may release (and free) l */
}

/* The agent says sanlock ordered it to fence: the daemon hears it before
 * the holders die, so it stops them itself and records why. */
static int on_agent_message(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct paxos_lock *l = userdata;
	struct lw_err err;

	(void)s;
	(void)revents;
	sd_event_source_set_enabled(l->ctl_watch, SD_EVENT_OFF);
	if (lw_paxos_agent_result(fd, &err) != LW_PAXOS_AGENT_FENCING)
		return 0;	/* the agent ended: its pidfd says how */
	lw_err_set(&err, EIO, "sanlock lost the lease %s (lockspace renewal failed): its writers were stopped",
		   l->lease);
	report_lost(l, &err);
	return 0;
}

/* The agent of a held lease exited without being asked: sanlock lost the
 * lease (it fenced the writers, then exited) or someone killed it. */
static int on_agent_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct paxos_lock *l = userdata;
	struct lw_err err;
	int status = lw_paxos_agent_reap(l->agent.pidfd), stopped = 0;

	(void)s;
	(void)fd;
	(void)revents;
	sd_event_source_set_enabled(l->exit_watch, SD_EVENT_OFF);
	if (l->lost)
		return 0;
	if (status != LW_PAXOS_AGENT_FENCED && l->image_fd >= 0)
		stopped = lw_paxos_fence_writers(l->image_fd, FENCE_WAIT_MS);	/* nobody fenced yet */
	if (status == LW_PAXOS_AGENT_FENCED)
		lw_err_set(&err, EIO, "sanlock lost the lease %s (lockspace renewal failed): its writers were stopped",
			   l->lease);
	else
		lw_err_set(&err, EIO, "the sanlock agent of lease %s ended (%s %d): the lease is gone, %d writer(s) stopped",
			   l->lease, status < 0 ? "killed or not ours," : "status", status, stopped < 0 ? 0 : stopped);
	report_lost(l, &err);
	return 0;
}

static int watch_agent(struct paxos_lock *l, struct lw_err *err)
{
	int rv = sd_event_add_io(l->pb->event, &l->exit_watch, l->agent.pidfd, EPOLLIN, on_agent_exit, l);

	if (rv < 0)
		return lw_err_set(err, -rv, "cannot watch the sanlock agent: %s", strerror(-rv));
	return 0;
}

static int set_id(struct paxos_lock *l, struct lw_err *err)
{
	struct lw_holder agent;
	int rv = lw_holder_of_pid(l->agent.pid, &agent);

	if (rv < 0)
		return lw_err_set(err, -rv, "the sanlock agent %d is gone", (int)l->agent.pid);
	if ((size_t)snprintf(l->base.id, sizeof(l->base.id), "agent=%d start=%llu %s %s", (int)l->agent.pid,
			     (unsigned long long)agent.start_time, l->shared ? "shared" : "exclusive",
			     l->lease) >= sizeof(l->base.id))
		return lw_err_set(err, ENAMETOOLONG, "lease name too long");
	return 0;
}

/* ---- acquiring ------------------------------------------------------------ */

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
	lock_free(l);
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
	if (rv == 0)
		rv = set_id(l, &err);
	if (rv == 0)
		rv = watch_agent(l, &err);
	if (rv < 0) {
		/* a failed agent exits by itself; one that got the lease is told to let go */
		lw_paxos_agent_release(l->agent.pidfd, (int)pb->cfg.io_timeout * 2000);
		lock_free(l);
		lw_err_prefix(&err, "paxos");
		finish(p, rv, NULL, &err);
		return 0;
	}
	/* the agent's one more message, if ever: it fences */
	sd_event_source_disable_unref(p->answer);
	p->answer = NULL;
	if (sd_event_add_io(pb->event, &l->ctl_watch, l->agent.ctl_fd, EPOLLIN, on_agent_message, l) < 0) {
		close(l->agent.ctl_fd);	/* the agent goes on without it; its exit still tells */
		l->agent.ctl_fd = -1;
	}
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
	struct paxos_lock *l = lock_new(pb, p->image_fd, p->res->flags & SANLK_RES_SHARED);
	int rv;

	if (!l)
		return lw_err_set(err, ENOMEM, "out of memory");
	rv = lw_paxos_lease_text(p->res, l->lease, sizeof(l->lease), err);
	if (rv == 0)
		rv = lw_paxos_agent_spawn(&spec, &l->agent, err);
	if (rv == 0) {
		rv = sd_event_add_io(pb->event, &p->answer, l->agent.ctl_fd, EPOLLIN, on_answer, p);
		if (rv < 0) {
			lw_paxos_agent_release(l->agent.pidfd, 1000);
			lw_err_set(err, -rv, "cannot watch the sanlock agent: %s", strerror(-rv));
		}
	}
	if (rv < 0) {
		lock_free(l);
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

/* The lockspace changed state: start (or fail) what waited for the join. */
static void on_lockspace_changed(void *ctx)
{
	struct paxos_backend *pb = ctx;
	enum lw_paxos_ls_state state = lw_paxos_lockspace_state(pb->ls);

	struct lw_backend_pending *p, *next;

	if (state == LW_PAXOS_LS_JOINING)
		return;
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

static int paxos_acquire(struct lw_backend *be, const struct lw_backend_request *req, lw_backend_done_fn done,
			 void *ctx, struct lw_backend_lock **lock, struct lw_backend_pending **pending,
			 struct lw_err *err)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;
	enum lw_paxos_ls_state state = lw_paxos_lockspace_state(pb->ls);
	struct lw_backend_pending *p;
	const char *base;
	int rv;

	*lock = NULL;
	if (state == LW_PAXOS_LS_FAILED)
		return lw_err_set(err, EIO, "paxos: lockspace %s failed: %s", pb->cfg.lockspace,
				  lw_paxos_lockspace_reason(pb->ls));
	if (state == LW_PAXOS_LS_JOINING && pb->cfg.join_wait_sec == 0)
		return lw_err_set(err, EBUSY, "paxos: lockspace %s is joining, try again in a few seconds",
				  pb->cfg.lockspace);
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
	if (rv < 0) {
		pending_free(p);
		return rv;
	}
	base = strrchr(req->image, '/') ? strrchr(req->image, '/') + 1 : req->image;
	snprintf(p->owner, sizeof(p->owner), "lockwarden %s", base);

	if (state == LW_PAXOS_LS_JOINED) {
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

static void paxos_cancel(struct lw_backend *be, struct lw_backend_pending *p)
{
	struct paxos_lock *l = p->lock;

	(void)be;
	unlist(p);
	if (l) {
		/* the agent lets go as soon as its acquire returns; reaped when it exits */
		syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGUSR1, NULL, 0);
		if (sd_event_add_io(p->pb->event, &l->exit_watch, l->agent.pidfd, EPOLLIN, on_orphan_exit, l) < 0) {
			syscall(SYS_pidfd_send_signal, l->agent.pidfd, SIGKILL, NULL, 0);
			lock_free(l);	/* killed: sanlock frees a dead client's lease */
		}
	}
	pending_free(p);
}

/* ---- releasing, adopting -------------------------------------------------- */

static int paxos_release(struct lw_backend *be, struct lw_backend_lock *lock, struct lw_err *err)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;
	struct paxos_lock *l = (struct paxos_lock *)lock;
	int status, rv = 0;

	lock_unlink(l);
	sd_event_source_set_enabled(l->exit_watch, SD_EVENT_OFF);
	/* a sanlock release is one write to the lease: bounded by io_timeout */
	status = lw_paxos_agent_release(l->agent.pidfd, (int)pb->cfg.io_timeout * 2000);
	if (status == -ETIMEDOUT)
		rv = lw_err_set(err, ETIMEDOUT, "paxos: the agent of %s did not release in time and was killed "
				"(sanlock frees a dead client's lease)", l->lease);
	else if (status == LW_PAXOS_AGENT_RELEASE_FAILED)
		rv = lw_err_set(err, EIO, "paxos: sanlock could not release %s (it is freed as the agent exits)",
				l->lease);
	lock_free(l);
	return rv;
}

static void paxos_forget(struct lw_backend *be, struct lw_backend_lock *lock)
{
	struct paxos_lock *l = (struct paxos_lock *)lock;

	(void)be;
	lock_unlink(l);
	lock_free(l);	/* the agent goes on holding the lease */
}

/* Whether sanlock has the resource lease among those of client pid. */
static bool sanlock_holds(pid_t pid, const char *lease)
{
	char *state = NULL, prefix[SANLK_NAME_LEN * 2 + 3];
	const char *colon = strchr(lease, ':');
	int count = 0;
	bool held;

	colon = colon ? strchr(colon + 1, ':') : NULL;
	if (!colon || sanlock_inquire(-1, pid, 0, &count, &state) < 0 || !state)
		return false;
	/* sanlock's state string lists LOCKSPACE:RESOURCE:... of each lease */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - lease + 1), lease);
	held = strstr(state, prefix) != NULL;
	free(state);
	return held;
}

static int paxos_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id, int kept_fd,
		       struct lw_backend_lock **lock, struct lw_err *err)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;
	unsigned long long start;
	char mode[16];
	struct lw_holder now;
	struct paxos_lock *l;
	int pid, used = 0, rv;

	if (kept_fd >= 0)
		close(kept_fd);
	if (sscanf(id, "agent=%d start=%llu %15s %n", &pid, &start, mode, &used) != 3 || !used || pid <= 1)
		return lw_err_set(err, EINVAL, "paxos: lock \"%s\" is not a paxos lock", id);
	l = lock_new(pb, req->image_fd, !strcmp(mode, "shared"));
	if (!l)
		return lw_err_set(err, ENOMEM, "out of memory");
	snprintf(l->lease, sizeof(l->lease), "%s", id + used);
	snprintf(l->base.id, sizeof(l->base.id), "%s", id);
	l->agent.pid = pid;
	l->agent.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (l->agent.pidfd < 0 || lw_holder_of_pid(pid, &now) < 0 || now.start_time != start) {
		lock_free(l);
		return lw_err_set(err, EAGAIN, "paxos: the agent of %s is gone: the lease was lost meanwhile",
				  id + used);
	}
	if (!sanlock_holds(pid, l->lease)) {
		lock_free(l);
		return lw_err_set(err, EAGAIN, "paxos: sanlock no longer holds %s for its agent", id + used);
	}
	rv = watch_agent(l, err);
	if (rv < 0) {
		lock_free(l);
		return rv;
	}
	l->next = pb->locks;
	pb->locks = l;
	*lock = &l->base;
	return 0;
}

/* sanlock's state string of the agent's lease (sanlock_inquire): what a
 * migration hands to the destination (libvirt's sanlock plugin does the same). */
static char *paxos_lock_state(struct lw_backend *be, struct lw_backend_lock *lock)
{
	struct paxos_lock *l = (struct paxos_lock *)lock;
	char *state = NULL;
	int count = 0;

	(void)be;
	if (sanlock_inquire(-1, l->agent.pid, 0, &count, &state) < 0)
		return NULL;
	return state;
}

/* ---- open, status, close -------------------------------------------------- */

static int paxos_open(const struct lw_backend_setup *setup, struct lw_backend **out, struct lw_err *err)
{
	struct paxos_backend *pb = calloc(1, sizeof(*pb));
	struct lw_paxos_lockspace_config lc;
	int rv = 0;

	if (!pb)
		return lw_err_set(err, ENOMEM, "out of memory");
	pb->base.ops = &lw_backend_paxos;
	rv = lw_paxos_config_parse(setup->options, setup->nr_options, &pb->cfg, err);
	if (rv < 0) {
		free(pb);
		return rv;
	}
	pb->event = sd_event_ref(setup->event);
	pb->lost = setup->lost;
	pb->lost_ctx = setup->lost_ctx;
	lc = (struct lw_paxos_lockspace_config){
		.name = pb->cfg.lockspace, .path = pb->cfg.lockspace_path, .offset = pb->cfg.lockspace_offset,
		.host_id = pb->cfg.host_id, .io_timeout = pb->cfg.io_timeout,
	};
	rv = lw_paxos_lockspace_open(&lc, pb->event, on_lockspace_changed, pb, &pb->ls, err);
	if (rv < 0) {
		sd_event_unref(pb->event);
		free(pb);
		return rv;
	}
	*out = &pb->base;
	return 0;
}

static struct json_object *paxos_status(struct lw_backend *be)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;
	struct json_object *o = json_object_new_object(), *lss = json_object_new_array(),
			   *leases = json_object_new_array();
	unsigned int waiting = 0, acquiring = 0;

	if (!o || !lss || !leases) {
		json_object_put(o);
		json_object_put(lss);
		json_object_put(leases);
		return NULL;
	}
	json_object_array_add(lss, lw_paxos_lockspace_status(pb->ls));
	json_object_object_add(o, "lockspaces", lss);
	for (struct paxos_lock *l = pb->locks; l; l = l->next) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "lease", json_object_new_string(l->lease));
		json_object_object_add(e, "mode", json_object_new_string(l->shared ? "shared" : "exclusive"));
		json_object_object_add(e, "agent_pid", json_object_new_int(l->agent.pid));
		json_object_array_add(leases, e);
	}
	json_object_object_add(o, "leases", leases);
	for (struct lw_backend_pending *p = pb->pendings; p; p = p->next)
		*(p->lock ? &acquiring : &waiting) += 1;
	json_object_object_add(o, "waiting_for_join", json_object_new_int((int)waiting));
	json_object_object_add(o, "acquiring", json_object_new_int((int)acquiring));
	return o;
}

static void paxos_close(struct lw_backend *be)
{
	struct paxos_backend *pb = (struct paxos_backend *)be;

	while (pb->pendings) {
		struct lw_backend_pending *p = pb->pendings;

		unlist(p);
		if (p->lock) {
			/* its agent lets go of whatever it gets */
			syscall(SYS_pidfd_send_signal, p->lock->agent.pidfd, SIGUSR1, NULL, 0);
			lock_free(p->lock);
		}
		pending_free(p);
	}
	/* held leases stay with their agents (a restart re-adopts them) */
	while (pb->locks)
		paxos_forget(be, &pb->locks->base);
	lw_paxos_lockspace_close(pb->ls);
	sd_event_unref(pb->event);
	free(pb);
}

const struct lw_backend_ops lw_backend_paxos = {
	.name = "paxos",
	.named_leases = true,
	.check_option = lw_paxos_config_check_option,
	.open = paxos_open,
	.acquire = paxos_acquire,
	.cancel = paxos_cancel,
	.release = paxos_release,
	.forget = paxos_forget,
	.adopt = paxos_adopt,
	.status = paxos_status,
	.lock_state = paxos_lock_state,
	.close = paxos_close,
};
