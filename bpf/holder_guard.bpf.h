/* The holder's process is part of the lease: a non-holder gets no
 * attach-mode access to a live holder (ptrace attach, /proc/PID/mem
 * writes, process_vm_writev, pidfd_getfd), else it could take the
 * holder's descriptors and io_uring rings or write its shared mappings of
 * the image. Part of lockwarden.bpf.c; one program on the hook serves the
 * hardened daemon guard too.
 *
 * Leases are keyed by image, so the check walks the leases map
 * (bpf_for_each_map_elem): attach-mode checks are rare (read-mode ones,
 * /proc/PID/stat and the like, leave at the first test), and walking needs
 * no second index that could drift from the leases. */
#ifndef LW_HOLDER_GUARD_BPF_H
#define LW_HOLDER_GUARD_BPF_H

#define LW_MAX_CGROUP_WALK 64	/* levels climbed from the target's cgroup */

/* The target of the access, and the first lease it is protected by. */
struct holder_probe {
	__u32 tgid;
	__u32 found;
	__u64 start_time;
	__u64 ancestors[LW_MAX_CGROUP_DEPTH];	/* the target's cgroup ids by level; 0: none */
	struct lw_image_key key;
};

/* Whether holder covers the target but not the current task. */
static __always_inline bool shields_target(const struct lw_holder *holder,
					   const struct holder_probe *probe)
{
	if (holder->kind == LW_HOLDER_PROCESS)
		/* the kernel never asks for the target's own threads */
		return holder->pid == probe->tgid && holder->start_time == probe->start_time;
	if (holder->kind != LW_HOLDER_CGROUP || !holder->cgroup_id)
		return false;
	for (int level = 0; level < LW_MAX_CGROUP_DEPTH; level++)
		if (probe->ancestors[level] == holder->cgroup_id)
			/* a task of the same cgroup holder is the holder too */
			return !in_cgroup_subtree(holder->cgroup_id);
	return false;
}

static long probe_lease(struct bpf_map *map, const struct lw_image_key *key,
			struct lw_lease *lease, struct holder_probe *probe)
{
	__u32 nr = lease->nr_holders;

	for (__u32 i = 0; i < LW_MAX_HOLDERS; i++) {
		if (i >= nr)
			break;
		if (shields_target(&lease->holders[i], probe)) {
			probe->found = 1;
			probe->key = *key;
			return 1;	/* stop */
		}
	}
	return 0;
}

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

static __always_inline int guard_holder(struct task_struct *child, unsigned int mode)
{
	struct holder_probe probe = {};
	struct lw_denial_event *event;
	struct lw_lease *lease;
	struct lw_guard *g;
	__u32 zero = 0;

	g = bpf_map_lookup_elem(&guard, &zero);
	if (g && (g->flags & LW_GUARD_HOLDERS_DEBUGGABLE))
		return 0;
	if (is_running_daemon())
		return 0;
	probe.tgid = child->tgid;
	probe.start_time = lw_start_time_of(child);
	target_cgroups(child, &probe);
	bpf_for_each_map_elem(&leases, probe_lease, &probe, 0);
	if (!probe.found)
		return 0;
	lease = bpf_map_lookup_elem(&leases, &probe.key);
	if (!lease)	/* released meanwhile */
		return 0;
	event = begin_report(&probe.key, lease, LW_OP_PTRACE, mode);
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
	ret = guard_ptrace_daemon(child);
	return ret ? ret : guard_holder(child, mode);
}

#endif
