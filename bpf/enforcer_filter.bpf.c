// SPDX-License-Identifier: GPL-2.0-only
/* Userspace's changes to the lease filter and to nobody's aliases, made
 * the way the programs make theirs: atomic adds. A lookup then an update
 * from userspace would lose an add the programs make in between
 * (alias_track.bpf.h: a loop device or a copy-up tied to a lease), and a
 * count one short lets the programs skip a covered key once the other keys
 * of its slot are gone. Run by userspace (BPF_PROG_RUN), never attached. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "enforcer_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* lease_filter size - 1, set before the load */
const volatile __u32 filter_mask = 0;

/* The enforcer's lease_filter is put in its place before the load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lease_filter SEC(".maps");

/* The enforcer's leases and aliases, put in their place before the load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct lw_map_key);
	__type(value, struct lw_map_lease);
} leases SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct lw_map_key);
	__type(value, struct lw_alias);
} aliases SEC(".maps");

static __always_inline int filter_add(const struct lw_map_key *key, __s32 delta)
{
	__u32 slot = lw_filter_slot(key, filter_mask);
	__u32 *count = bpf_map_lookup_elem(&lease_filter, &slot);

	if (!count)
		return 1;	/* no such slot */
	__sync_fetch_and_add(count, delta);
	return 0;
}

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

/* One key's nobody's alias once more: 0, or -errno of the insert. */
static __always_inline int nobodys_add(const struct lw_map_key *key)
{
	struct lw_alias fresh = { .count = 1, .flags = LW_ALIAS_OPENS_ONLY }, *alias;
	long err;

	if (bpf_map_lookup_elem(&leases, key))
		return 0;	/* leased itself: refused to non-holders already */
	alias = bpf_map_lookup_elem(&aliases, key);
	if (alias) {
		/* a nobody's already, with flags as strict or stricter */
		if (!alias->lease.dev && !alias->lease.ino)
			__sync_fetch_and_add(&alias->count, 1);
		return 0;	/* else another lease's: refused anyway */
	}
	/* filter first: the programs must never skip a covered node */
	filter_add(key, 1);
	err = bpf_map_update_elem(&aliases, key, &fresh, BPF_NOEXIST);
	if (err)
		filter_add(key, -1);
	return (int)err;
}

/* One key's nobody's alias once less, gone at 0. */
static __always_inline void nobodys_drop(const struct lw_map_key *key)
{
	struct lw_alias *alias = bpf_map_lookup_elem(&aliases, key);

	if (!alias || alias->lease.dev || alias->lease.ino)
		return;
	if (alias->count > 1)
		__sync_fetch_and_add(&alias->count, -1);
	else if (!bpf_map_delete_elem(&aliases, key))
		filter_add(key, -1);
}

SEC("syscall")
int lw_nobodys_change(struct lw_nobodys_change *change)
{
	__u32 n = change->n;
	__s32 delta = change->delta;
	int err = 0;
	__u32 i;

#pragma clang loop unroll(full)
	for (i = 0; i < LW_NOBODYS_MAX; i++) {
		struct lw_map_key key;

		if (i >= n)
			break;
		key = change->keys[i];
		if (delta < 0)
			nobodys_drop(&key);
		else if ((err = nobodys_add(&key)))
			break;
	}
	change->done = i;
	change->err = err;
	return 0;
}
