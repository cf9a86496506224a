// SPDX-License-Identifier: LGPL-2.1-or-later
/* paxos: the spare agent (paxos_agent.h). One is forked while the loop has
 * nothing else to do, once the lockspace is joined and after each acquire
 * took the last one; an acquire then sends it the lease instead of forking.
 * See paxos_internal.h. */
#include <errno.h>
#include <string.h>

#include "paxos_internal.h"

static int on_refill(sd_event_source *s, void *userdata)
{
	struct paxos_backend *pb = userdata;
	struct lw_err ignored;

	(void)s;
	/* a fork that fails here fails again in the acquire, which says why */
	if (pb->spare.pidfd < 0 && lw_paxos_agent_prepare(&pb->spare, &ignored) < 0)
		pb->spare = (struct lw_paxos_agent){ .pidfd = -1, .ctl_fd = -1 };
	return 0;
}

int lw_paxos_spare_setup(struct paxos_backend *pb, struct lw_err *err)
{
	int rv;

	pb->spare = (struct lw_paxos_agent){ .pidfd = -1, .ctl_fd = -1 };
	rv = sd_event_add_defer(pb->event, &pb->refill, on_refill, pb);
	if (rv < 0)
		return lw_err_set(err, -rv, "paxos: cannot add an event source: %s", strerror(-rv));
	/* after every request that is ready: a fork never delays an answer */
	sd_event_source_set_priority(pb->refill, SD_EVENT_PRIORITY_IDLE);
	return sd_event_source_set_enabled(pb->refill, SD_EVENT_OFF);
}

void lw_paxos_spare_refill(struct paxos_backend *pb)
{
	if (pb->refill && pb->spare.pidfd < 0)
		sd_event_source_set_enabled(pb->refill, SD_EVENT_ONESHOT);
}

int lw_paxos_spare_start(struct paxos_backend *pb, const struct lw_paxos_agent_spec *spec,
			 struct lw_paxos_agent *agent, struct lw_err *err)
{
	if (pb->spare.pidfd >= 0) {
		struct lw_err ignored;

		*agent = pb->spare;
		pb->spare = (struct lw_paxos_agent){ .pidfd = -1, .ctl_fd = -1 };
		lw_paxos_spare_refill(pb);
		if (lw_paxos_agent_start(agent, spec, &ignored) == 0)
			return 0;
		lw_paxos_agent_discard(agent);	/* it died while it waited: fork one now */
	}
	lw_paxos_spare_refill(pb);
	return lw_paxos_agent_spawn(spec, agent, err);
}

void lw_paxos_spare_close(struct paxos_backend *pb)
{
	pb->refill = sd_event_source_disable_unref(pb->refill);
	if (pb->spare.pidfd >= 0)
		lw_paxos_agent_discard(&pb->spare);
}
