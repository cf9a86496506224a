// SPDX-License-Identifier: LGPL-2.1-or-later
/* Holder processes' pidfds, shared by their leases. See fan_procs.h. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/holder.h"
#include "common/live_procs.h"
#include "fanotify/fan_internal.h"
#include "fanotify/fan_procs.h"

#define BUCKETS 4096

static struct lw_fan_proc **bucket(struct lw_fan_enforcer *enf, const struct lw_holder *holder)
{
	return &enf->procs[lw_holder_hash(holder) % BUCKETS];
}

struct lw_fan_proc *lw_fan_proc_get(struct lw_fan_enforcer *enf, const struct lw_holder *holder)
{
	struct lw_fan_proc **head, *p;

	if (holder->kind != LW_HOLDER_PROCESS)
		return NULL;
	if (!enf->procs && !(enf->procs = calloc(BUCKETS, sizeof(*enf->procs))))
		return NULL;
	head = bucket(enf, holder);
	for (p = *head; p; p = p->next)
		if (lw_holder_equal(&p->id, holder)) {
			p->refs++;
			return p;
		}
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->id = *holder;
	p->pidfd = lw_live_proc_pidfd(holder);	/* proven the holder's, close-on-exec */
	if (p->pidfd < 0)
		p->pidfd = -1;
	p->refs = 1;
	p->next = *head;
	*head = p;
	return p;
}

void lw_fan_proc_put(struct lw_fan_enforcer *enf, struct lw_fan_proc *p)
{
	struct lw_fan_proc **pp;

	if (!p || --p->refs)
		return;
	for (pp = bucket(enf, &p->id); *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}

bool lw_fan_proc_alive(const struct lw_fan_proc *p)
{
	return p && p->pidfd >= 0 && !lw_pidfd_exited(p->pidfd);
}

void lw_fan_procs_free(struct lw_fan_enforcer *enf)
{
	for (size_t b = 0; enf->procs && b < BUCKETS; b++)
		while (enf->procs[b]) {
			struct lw_fan_proc *p = enf->procs[b];

			enf->procs[b] = p->next;
			if (p->pidfd >= 0)
				close(p->pidfd);
			free(p);
		}
	free(enf->procs);
	enf->procs = NULL;
}
