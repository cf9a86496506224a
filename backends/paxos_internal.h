/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What paxos.c (held leases, release, adopt, open) and paxos_acquire.c
 * (acquiring) share: the backend, a held lease, an acquire not answered yet. */
#ifndef LW_BACKENDS_PAXOS_INTERNAL_H
#define LW_BACKENDS_PAXOS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "backend.h"
#include "paxos_agent.h"
#include "paxos_config.h"
#include "paxos_lockspace.h"

struct paxos_lock;

/* Spare agents kept: an acquire takes one while the other comes back from a release. */
#define LW_PAXOS_SPARES 2

struct paxos_backend {
	struct lw_backend base;
	struct lw_paxos_config cfg;
	sd_event *event;
	lw_backend_lost_fn lost;
	void *lost_ctx;
	struct lw_paxos_lockspace *ls;
	struct lw_backend_pending *pendings;	/* acquires not answered yet */
	struct paxos_lock *locks;		/* held leases (for status) */
	struct paxos_lock *releasing;		/* told to let go, not exited yet */
	struct lw_paxos_agent spares[LW_PAXOS_SPARES];	/* agents that hold nothing (paxos_spare.c) */
	unsigned int nr_spares;
	sd_event_source *refill;		/* timer: forks a spare when there is none */
};

struct paxos_lock {
	struct lw_backend_lock base;	/* keep_fd: agent.ctl_fd, so a restarted daemon still hears the agent */
	struct paxos_backend *pb;
	struct lw_paxos_agent agent;
	int image_fd;			/* for fencing if the agent dies another way */
	bool shared;
	char lease[SANLK_MAX_RES_STR];	/* LOCKSPACE:RESOURCE:PATH:OFFSET */
	sd_event_source *exit_watch;	/* the agent's pidfd: the lease is gone when it fires */
	sd_event_source *ctl_watch;	/* the agent's control socket: it says when it fences */
	bool lost;			/* the daemon was told (once) */
	/* releasing (paxos_release.c): the agent's exit is the answer */
	lw_backend_released_fn released;
	void *released_ctx;
	sd_event_source *release_deadline;	/* 2 x io_timeout: then SIGKILL */
	bool killed;
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

/* Held leases (paxos.c). */
struct paxos_lock *lw_paxos_lock_new(struct paxos_backend *pb, int image_fd, bool shared);
void lw_paxos_lock_free(struct paxos_lock *l);
/* Take l out of the list at head (pb->locks, pb->releasing), if there. */
void lw_paxos_lock_unlink(struct paxos_lock **head, struct paxos_lock *l);
/* Watch the agent's exit (the lease is gone when it fires). */
int lw_paxos_lock_watch(struct paxos_lock *l, struct lw_err *err);
/* Watch the agent's control socket (it says when it fences). */
int lw_paxos_lock_hear(struct paxos_lock *l, struct lw_err *err);
/* The lock's id, from its agent's identity and the lease. */
int lw_paxos_lock_set_id(struct paxos_lock *l, struct lw_err *err);
/* The agent's control socket spoke: it fences. */
int lw_paxos_on_agent_message(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Releasing (paxos_release.c). Tell l's agent to let go: -EINPROGRESS,
 * released(ctx, ...) (if not NULL) from the loop once it exited, l freed
 * then; or a negative errno with err (the agent killed, l freed). */
int lw_paxos_let_go(struct paxos_lock *l, lw_backend_released_fn released, void *ctx, struct lw_err *err);
/* At close: stop waiting for the agents told to let go (they exit by themselves). */
void lw_paxos_forget_releasing(struct paxos_backend *pb);

/* Acquiring (paxos_acquire.c). */
int lw_paxos_acquire(struct lw_backend *be, const struct lw_backend_request *req, lw_backend_done_fn done,
		     void *ctx, struct lw_backend_lock **lock, struct lw_backend_pending **pending,
		     struct lw_err *err);
void lw_paxos_cancel(struct lw_backend *be, struct lw_backend_pending *p);
/* The lockspace changed state: start (or fail) what waited for the join. */
void lw_paxos_on_lockspace_changed(void *ctx);
/* Drop every acquire not answered yet (close): their agents let go. */
void lw_paxos_drop_pendings(struct paxos_backend *pb);

/* Spare agents (paxos_spare.c). */
int lw_paxos_spare_setup(struct paxos_backend *pb, struct lw_err *err);
/* Fork a spare, unless there is one: soon, or after a delay (an agent that
 * lets go meanwhile is the spare then). */
void lw_paxos_spare_refill(struct paxos_backend *pb, bool soon);
/* The agent of an acquire: a spare sent spec, or one forked now if there is
 * none (or they died). */
int lw_paxos_spare_start(struct paxos_backend *pb, const struct lw_paxos_agent_spec *spec,
			 struct lw_paxos_agent *agent, struct lw_err *err);
/* An agent that let go of its lease is a spare again, if there is room:
 * true (its descriptors are the spare's now, agent's are -1). */
bool lw_paxos_spare_keep(struct paxos_backend *pb, struct lw_paxos_agent *agent);
void lw_paxos_spare_close(struct paxos_backend *pb);

#endif /* LW_BACKENDS_PAXOS_INTERNAL_H */
