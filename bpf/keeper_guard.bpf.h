/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* The daemon's keeper may receive a leased image's write descriptor: the
 * copy of a backend lock it keeps through a restart of the daemon. Known by
 * tgid and start time (a reused pid never matches), written by the daemon.
 * So the daemon need not wait for the keeper to take its copy before the
 * lease exists in the kernel. Holding a write descriptor of every leased
 * image, it is guarded as the daemon is (hardened mode). Part of
 * enforcer.bpf.c, after guard.bpf.h. */
#ifndef LW_KEEPER_GUARD_BPF_H
#define LW_KEEPER_GUARD_BPF_H

/* One entry: struct lw_map_holder, LW_MAP_HOLDER_NONE while no keeper runs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_map_holder);
} keeper SEC(".maps");

static __always_inline bool is_running_keeper(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct lw_map_holder *k = bpf_map_lookup_elem(&keeper, &zero);

	return k && k->kind == LW_MAP_HOLDER_PROCESS && k->pid == tgid && k->start_time == lw_start_time_of(task);
}

/* Hardened: attach-mode access to the keeper (ptrace, /proc/PID/mem,
 * process_vm_writev, pidfd_getfd) would let another process write leased
 * images through the keeper's descriptors. Only the daemon may. Called by
 * the ptrace_access_check program (holder_guard.bpf.h). */
static __always_inline int guard_ptrace_keeper(struct task_struct *child)
{
	struct lw_guard *g = guard_on();
	struct lw_map_holder *k;
	__u32 zero = 0;

	if (!g)
		return 0;
	k = bpf_map_lookup_elem(&keeper, &zero);
	if (!k || k->kind != LW_MAP_HOLDER_PROCESS || (__u32)child->tgid != k->pid ||
	    k->start_time != lw_start_time_of(child) || is_daemon(g))
		return 0;
	report_guard(g, LW_MAP_OP_BPF, child->tgid, "ptrace");
	return -EPERM;
}

#endif
