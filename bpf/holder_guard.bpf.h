/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* The holder's process is part of the lease: a non-holder gets no
 * attach-mode access to a live holder (ptrace attach, /proc/PID/mem
 * writes, process_vm_writev, pidfd_getfd), else it could take the
 * holder's descriptors and io_uring rings or write its shared mappings of
 * the image. Nor to the tasks the holder forked, which inherit all of
 * those (holder_family.bpf.h). Part of enforcer.bpf.c; one program on the hook serves the
 * hardened daemon guard too.
 *
 * Leases are keyed by image, so userspace keeps a second map keyed by
 * holder (holder_index, lease_tables.bpf.h): one lookup for a process, one
 * per cgroup level for the target's cgroups. (Walking the leases map instead cost 2.5 ms
 * per check with one lease in the VM: bpf_for_each_map_elem visits every
 * bucket.) Read-mode checks (/proc/PID/stat and the like) leave at the
 * first test. */
#ifndef LW_HOLDER_GUARD_BPF_H
#define LW_HOLDER_GUARD_BPF_H

#define LW_MAX_CGROUP_WALK 64	/* levels climbed from the target's cgroup */

/* holder's entry if it holds a lease now, else NULL. */
static __always_inline struct lw_holder_ref *holding(const struct lw_map_holder *holder)
{
	struct lw_holder_ref *ref = bpf_map_lookup_elem(&holder_index, holder);

	return ref && ref->count ? ref : NULL;
}

#include "holder_family.bpf.h"

struct holder_probe {
	__u64 ancestors[LW_MAX_CGROUP_DEPTH];	/* the target's cgroup ids by level; 0: none */
};

/* The target's cgroup v2 ancestors by level, as in_cgroup_subtree sees
 * the current task's. */
static __always_inline void target_cgroups(struct task_struct *child, struct holder_probe *probe)
{
	struct cgroup *cgrp = child->cgroups->dfl_cgrp;

	for (int i = 0; i < LW_MAX_CGROUP_WALK; i++) {
		struct cgroup_subsys_state *parent;
		int level;

		if (!cgrp)
			break;
		level = cgrp->level;
		if (level >= 0 && level < LW_MAX_CGROUP_DEPTH)
			probe->ancestors[level] = cgrp->kn->id;
		parent = cgrp->self.parent;
		if (!parent || level <= 0)
			break;
		cgrp = parent->cgroup;
	}
}

/* The holder entry that shields child from the current task, or NULL. */
static __always_inline struct lw_holder_ref *shield_of(struct task_struct *child)
{
	struct lw_map_holder holder = { .kind = LW_MAP_HOLDER_PROCESS };
	struct holder_probe probe = {};
	struct lw_holder_ref *ref;

	holder.pid = child->tgid;
	holder.start_time = lw_start_time_of(child);
	/* the kernel never asks for the target's own threads */
	if ((ref = holding(&holder)))
		return ref;
	if ((ref = family_shield_of(child)))	/* forked by a holder, or by its family */
		return ref;
	if ((ref = ancestor_shield_of(child)))	/* forked before the lease */
		return ref;
	target_cgroups(child, &probe);
	holder.kind = LW_MAP_HOLDER_CGROUP;
	holder.pid = 0;
	holder.start_time = 0;
	for (int level = 0; level < LW_MAX_CGROUP_DEPTH; level++) {
		if (!probe.ancestors[level])
			break;
		holder.cgroup_id = probe.ancestors[level];
		ref = holding(&holder);
		/* a task of the same cgroup holder is the holder too */
		if (ref && !in_cgroup_subtree(holder.cgroup_id))
			return ref;
	}
	return NULL;
}

static __always_inline int guard_holder(struct task_struct *child, unsigned int mode)
{
	struct lw_map_denial *event;
	struct lw_map_key key;
	struct lw_holder_ref *ref;
	struct lw_map_lease *lease;
	struct lw_guard *g;
	__u32 zero = 0;

	g = bpf_map_lookup_elem(&guard, &zero);
	if (g && (g->flags & LW_GUARD_HOLDERS_DEBUGGABLE))
		return 0;
	if (is_running_daemon())
		return 0;
	ref = shield_of(child);
	if (!ref)
		return 0;
	key = ref->key;
	lease = bpf_map_lookup_elem(&leases, &key);
	event = begin_report(&key, lease ? lease : (struct lw_map_lease *)&nobody_lease, LW_MAP_OP_PTRACE, mode);
	if (event) {
		bpf_probe_read_kernel_str(event->path, sizeof(event->path), child->comm);
		bpf_ringbuf_submit(event, 0);
	}
	return -EPERM;
}

/* Read-mode checks (/proc/PID/stat, status, ...) leave at the first test. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(lw_ptrace_access, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	if (!(mode & LW_PTRACE_MODE_ATTACH))
		return 0;
	ret = guard_ptrace(child);
	return ret ? ret : guard_holder(child, mode);
}

#endif
