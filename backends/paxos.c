// SPDX-License-Identifier: LGPL-2.1-or-later
/* paxos: leases as sanlock disk-paxos leases on shared block storage.
 *
 * sanlock does the agreement (delta leases for host ids, paxos leases for
 * resources); this backend joins one lockspace (paxos_lockspace.c), names
 * the lease of an image (paxos_lease.c) and takes it through a per-lease
 * agent process registered with sanlock (paxos_agent.c), which also fences
 * the holders when sanlock cannot renew. This file keeps the held leases,
 * release, adopt, open and status; acquiring is in paxos_acquire.c.
 * docs/paxos.md has the design and the timings.
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

#include "enforcer/enforcer.h"
#include "paxos_internal.h"
#include "paxos_fence.h"
#include "paxos_lease.h"

#define FENCE_WAIT_MS 10000

/* ---- held leases ---------------------------------------------------------- */

void lw_paxos_lock_unlink(struct paxos_lock **head, struct paxos_lock *l)
{
	for (struct paxos_lock **p = head; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	l->next = NULL;
}

void lw_paxos_lock_free(struct paxos_lock *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->exit_watch);
	sd_event_source_disable_unref(l->ctl_watch);
	sd_event_source_disable_unref(l->release_deadline);
	if (l->agent.pidfd >= 0)
		close(l->agent.pidfd);
	if (l->agent.ctl_fd >= 0)
		close(l->agent.ctl_fd);
	if (l->image_fd >= 0)
		close(l->image_fd);
	lw_backend_lock_clear(&l->base);
	free(l);
}

struct paxos_lock *lw_paxos_lock_new(struct paxos_backend *pb, int image_fd, bool shared)
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
int lw_paxos_on_agent_message(sd_event_source *s, int fd, uint32_t revents, void *userdata)
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

int lw_paxos_lock_watch(struct paxos_lock *l, struct lw_err *err)
{
	int rv = sd_event_add_io(l->pb->event, &l->exit_watch, l->agent.pidfd, EPOLLIN, on_agent_exit, l);

	if (rv < 0)
		return lw_err_set(err, -rv, "cannot watch the sanlock agent: %s", strerror(-rv));
	return 0;
}

int lw_paxos_lock_hear(struct paxos_lock *l, struct lw_err *err)
{
	int rv = sd_event_add_io(l->pb->event, &l->ctl_watch, l->agent.ctl_fd, EPOLLIN, lw_paxos_on_agent_message, l);

	if (rv < 0)
		return lw_err_set(err, -rv, "cannot watch the sanlock agent's socket: %s", strerror(-rv));
	return 0;
}

int lw_paxos_lock_set_id(struct paxos_lock *l, struct lw_err *err)
{
	char id[LW_BACKEND_LOCK_ID_MAX];
	struct lw_holder agent = { .start_time = l->agent.start_time };
	int rv = agent.start_time ? 0 : lw_holder_of_pid(l->agent.pid, &agent);

	if (rv < 0)
		return lw_err_set(err, -rv, "the sanlock agent %d is gone", (int)l->agent.pid);
	if ((size_t)snprintf(id, sizeof(id), "agent=%d start=%llu %s %s", (int)l->agent.pid,
			     (unsigned long long)agent.start_time, l->shared ? "shared" : "exclusive",
			     l->lease) >= sizeof(id))
		return lw_err_set(err, ENAMETOOLONG, "lease name too long");
	if ((rv = lw_backend_lock_set_id(&l->base, id)) < 0)
		return lw_err_set(err, -rv, "out of memory");
	return 0;
}

/* ---- releasing, adopting -------------------------------------------------- */

static int paxos_release(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
			 void *ctx, struct lw_err *err)
{
	(void)be;
	return lw_paxos_let_go((struct paxos_lock *)lock, released, ctx, err);
}

static void paxos_forget(struct lw_backend *be, struct lw_backend_lock *lock)
{
	struct paxos_lock *l = (struct paxos_lock *)lock;

	(void)be;
	lw_paxos_lock_unlink(&l->pb->locks, l);
	lw_paxos_lock_free(l);	/* the agent goes on holding the lease */
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

	if (sscanf(id, "agent=%d start=%llu %15s %n", &pid, &start, mode, &used) != 3 || !used || pid <= 1) {
		if (kept_fd >= 0)
			close(kept_fd);
		return lw_err_set(err, EINVAL, "paxos: lock \"%s\" is not a paxos lock", id);
	}
	l = lw_paxos_lock_new(pb, req->image_fd, !strcmp(mode, "shared"));
	if (!l) {
		if (kept_fd >= 0)
			close(kept_fd);
		return lw_err_set(err, ENOMEM, "out of memory");
	}
	/* the agent's control socket, kept by the keeper across the restart */
	l->agent.ctl_fd = l->base.keep_fd = kept_fd;
	snprintf(l->lease, sizeof(l->lease), "%s", id + used);
	if ((rv = lw_backend_lock_set_id(&l->base, id)) < 0) {
		lw_paxos_lock_free(l);
		return lw_err_set(err, -rv, "paxos: lock \"%.64s...\" is too long or memory ran out", id);
	}
	l->agent.pid = pid;
	l->agent.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (l->agent.pidfd < 0 || lw_holder_of_pid(pid, &now) < 0 || now.start_time != start) {
		/* what it said before it went, if the keeper kept its socket */
		if (l->agent.ctl_fd >= 0 && lw_paxos_agent_result(l->agent.ctl_fd, err) == LW_PAXOS_AGENT_FENCING)
			rv = lw_err_set(err, EAGAIN, "paxos: sanlock lost the lease %s while the daemon was down "
					"(lockspace renewal failed): its writers were stopped", id + used);
		else
			rv = lw_err_set(err, EAGAIN, "paxos: the agent of %s is gone: the lease was lost meanwhile",
					id + used);
		lw_paxos_lock_free(l);
		return rv;
	}
	if (!sanlock_holds(pid, l->lease)) {
		lw_paxos_lock_free(l);
		return lw_err_set(err, EAGAIN, "paxos: sanlock no longer holds %s for its agent", id + used);
	}
	rv = lw_paxos_lock_watch(l, err);
	if (rv == 0 && l->agent.ctl_fd >= 0)
		rv = lw_paxos_lock_hear(l, err);
	if (rv < 0) {
		lw_paxos_lock_free(l);
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
	rv = lw_paxos_spare_setup(pb, err);
	if (rv == 0)
		rv = lw_paxos_lockspace_open(&lc, pb->event, lw_paxos_on_lockspace_changed, pb, &pb->ls, err);
	if (rv < 0) {
		lw_paxos_spare_close(pb);
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

	lw_paxos_drop_pendings(pb);
	lw_paxos_forget_releasing(pb);
	/* held leases stay with their agents (a restart re-adopts them) */
	while (pb->locks)
		paxos_forget(be, &pb->locks->base);
	lw_paxos_spare_close(pb);
	lw_paxos_lockspace_close(pb->ls);
	sd_event_unref(pb->event);
	free(pb);
}

const struct lw_backend_ops lw_backend_paxos = {
	.name = "paxos",
	.named_leases = true,
	.check_option = lw_paxos_config_check_option,
	.open = paxos_open,
	.acquire = lw_paxos_acquire,
	.cancel = lw_paxos_cancel,
	.release = paxos_release,
	.forget = paxos_forget,
	.adopt = paxos_adopt,
	.status = paxos_status,
	.lock_state = paxos_lock_state,
	.close = paxos_close,
};
