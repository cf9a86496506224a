// SPDX-License-Identifier: LGPL-2.1-or-later
/* paxos: spare agents (paxos_agent.h), up to LW_PAXOS_SPARES of them. An
 * acquire sends a spare its lease instead of forking an agent; an agent
 * that let go of its lease goes back among the spares (or exits if they are
 * full), so that acquire + release cycles fork nothing and exit nothing.
 * When an acquire takes the last spare, one is forked REFILL_DELAY_USEC
 * later unless an agent came back meanwhile; once the lockspace is joined,
 * at once. See paxos_internal.h. */
#include <errno.h>
#include <string.h>

#include "paxos_internal.h"

#define REFILL_DELAY_USEC 250000

static int on_refill(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct paxos_backend *pb = userdata;
	struct lw_err ignored;

	(void)s;
	(void)usec;
	/* a fork that fails here fails again in the acquire, which says why */
	if (pb->nr_spares == 0 && lw_paxos_agent_prepare(&pb->spares[0], &ignored) == 0)
		pb->nr_spares = 1;
	return 0;
}

int lw_paxos_spare_setup(struct paxos_backend *pb, struct lw_err *err)
{
	/* due at once, accurate to 1 us (sd-event's default would wait up to 250 ms) */
	int rv = sd_event_add_time_relative(pb->event, &pb->refill, CLOCK_MONOTONIC, 0, 1, on_refill, pb);

	pb->nr_spares = 0;
	if (rv < 0)
		return lw_err_set(err, -rv, "paxos: cannot add a timer: %s", strerror(-rv));
	/* after every request that is ready: a fork never delays an answer */
	sd_event_source_set_priority(pb->refill, SD_EVENT_PRIORITY_IDLE);
	return sd_event_source_set_enabled(pb->refill, SD_EVENT_OFF);
}

void lw_paxos_spare_refill(struct paxos_backend *pb, bool soon)
{
	if (!pb->refill || pb->nr_spares > 0)
		return;
	sd_event_source_set_time_relative(pb->refill, soon ? 0 : REFILL_DELAY_USEC);
	sd_event_source_set_enabled(pb->refill, SD_EVENT_ONESHOT);
}

int lw_paxos_spare_start(struct paxos_backend *pb, const struct lw_paxos_agent_spec *spec,
			 struct lw_paxos_agent *agent, struct lw_err *err)
{
	while (pb->nr_spares > 0) {
		struct lw_err ignored;

		*agent = pb->spares[--pb->nr_spares];
		if (lw_paxos_agent_start(agent, spec, &ignored) == 0) {
			lw_paxos_spare_refill(pb, false);
			return 0;
		}
		lw_paxos_agent_discard(agent);	/* it died while it waited */
	}
	lw_paxos_spare_refill(pb, false);
	return lw_paxos_agent_spawn(spec, agent, err);
}

bool lw_paxos_spare_keep(struct paxos_backend *pb, struct lw_paxos_agent *agent)
{
	if (pb->nr_spares == LW_PAXOS_SPARES || !pb->refill || lw_paxos_agent_keep(agent) < 0)
		return false;
	pb->spares[pb->nr_spares++] = *agent;
	agent->pidfd = agent->ctl_fd = -1;
	sd_event_source_set_enabled(pb->refill, SD_EVENT_OFF);	/* no fork needed now */
	return true;
}

void lw_paxos_spare_close(struct paxos_backend *pb)
{
	pb->refill = sd_event_source_disable_unref(pb->refill);
	while (pb->nr_spares > 0)
		lw_paxos_agent_discard(&pb->spares[--pb->nr_spares]);
}
