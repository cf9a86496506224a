// SPDX-License-Identifier: GPL-2.0-only
/* Userspace's changes to the lease filter, made the way the programs make
 * theirs: an atomic add. A lookup then an update from userspace would lose
 * an add the programs make in between (alias_track.bpf.h: a loop device or
 * a copy-up tied to a lease), and a count one short lets the programs skip
 * a covered key once the other keys of its slot are gone. Run by userspace
 * (BPF_PROG_RUN), never attached. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "enforcer_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* The enforcer's lease_filter is put in its place before the load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lease_filter SEC(".maps");

SEC("syscall")
int lw_filter_change(struct lw_filter_change *change)
{
	__u32 slot = change->slot;
	__u32 *count = bpf_map_lookup_elem(&lease_filter, &slot);

	if (!count)
		return 1;	/* no such slot */
	__sync_fetch_and_add(count, change->delta);
	return 0;
}
