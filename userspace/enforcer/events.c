// SPDX-License-Identifier: LGPL-2.1-or-later
/* Denial events (the ring buffer) and the kernel's denial counters. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"

static int on_event(void *ctx, void *data, size_t size)
{
	struct lw_enforcer *enf = ctx;
	struct lw_map_denial event;
	struct lw_denial denial;

	if (size < sizeof(event) || !enf->event_fn)
		return 0;	/* a short record cannot come from our programs: skip it */
	memcpy(&event, data, sizeof(event));	/* the ring buffer gives 8-byte alignment only */
	lw_from_map_denial(&event, &denial);
	return enf->event_fn(&denial, enf->event_ctx);
}

int lw_enforcer_events_fd(struct lw_enforcement *handle)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	if (!enf->events) {
		enf->events = ring_buffer__new(enf->events_map_fd, on_event, enf, NULL);
		if (!enf->events)
			return lw_fail(enf, -errno, "cannot map the events ring buffer: %s", strerror(errno));
	}
	return ring_buffer__epoll_fd(enf->events);
}

int lw_enforcer_events_consume(struct lw_enforcement *handle, lw_denial_fn fn, void *ctx)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	int fd = lw_enforcer_events_fd(&enf->base), n;

	if (fd < 0)
		return fd;
	enf->event_fn = fn;
	enf->event_ctx = ctx;
	n = ring_buffer__consume(enf->events);
	enf->event_fn = NULL;
	if (n < 0)
		return lw_fail(enf, n, "cannot read denial events: %s", strerror(-n));
	return n;
}

void lw_events_close(struct lw_enforcer *enf)
{
	ring_buffer__free(enf->events);
	enf->events = NULL;
}

static int sum_counter(struct lw_enforcer *enf, __u32 index, __u64 *total)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *values;

	if (cpus < 0)
		return lw_fail(enf, cpus, "cannot count CPUs: %s", strerror(-cpus));
	values = calloc(cpus, sizeof(*values));
	if (!values)
		return lw_fail(enf, -ENOMEM, "out of memory");
	if (bpf_map_lookup_elem(enf->counters_fd, &index, values)) {
		free(values);
		return lw_fail(enf, -errno, "cannot read the counters: %s", strerror(errno));
	}
	*total = 0;
	for (int i = 0; i < cpus; i++)
		*total += values[i];
	free(values);
	return 0;
}

int lw_enforcer_counters(struct lw_enforcement *handle, __u64 *denials, __u64 *suppressed,
			 __u64 *dropped)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	__u64 unused;
	int err;

	if ((err = sum_counter(enf, LW_COUNTER_DENIALS, denials ? denials : &unused)) ||
	    (err = sum_counter(enf, LW_COUNTER_SUPPRESSED, suppressed ? suppressed : &unused)) ||
	    (err = sum_counter(enf, LW_COUNTER_DROPPED, dropped ? dropped : &unused)))
		return err;
	return 0;
}
