/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* The daemon's keeper may receive a leased image's write descriptor: the
 * copy of a backend lock it keeps through a restart of the daemon. Known by
 * tgid and start time (a reused pid never matches), written by the daemon.
 * So the daemon need not wait for the keeper to take its copy before the
 * lease exists in the kernel. Part of enforcer.bpf.c. */
#ifndef LW_KEEPER_RECEIVE_BPF_H
#define LW_KEEPER_RECEIVE_BPF_H

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

#endif
