// SPDX-License-Identifier: GPL-2.0-only
/* The daemon's changes to the lease table (lease_tables.bpf.h), one system
 * call each, made the way the programs make theirs: atomic adds. A lookup
 * then an update from userspace would lose an add the programs make in
 * between (alias_track.bpf.h: a loop device or a copy-up tied to a lease),
 * and a count one short lets the programs skip a covered key once the
 * other keys of its slot are gone. Run by userspace (BPF_PROG_RUN), never
 * attached; the maps are the enforcer's, given before the load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "enforcer_maps.h"
#include "lease_tables.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define EEXIST 17	/* no errno.h in a BPF program */

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

/* One holder counted out: a process's entry stays at 0 (userspace keeps a
 * few so: LW_LINGERING), another's goes. 1 if it stays at 0. */
static __always_inline int holder_out(const struct lw_map_holder *k)
{
	struct lw_holder_ref *ref = bpf_map_lookup_elem(&holder_index, k);

	if (!ref || !ref->count)
		return 0;
	if (ref->count == 1 && k->kind != LW_MAP_HOLDER_PROCESS) {
		bpf_map_delete_elem(&holder_index, k);
		return 0;
	}
	ref->count--;
	return !ref->count;
}

/* One holder counted in: 1 if it had an entry, 0 if one is made, or the
 * insert's -errno. A holder's first lease is the one its entry names. */
static __always_inline int holder_in(const struct lw_map_holder *k, const struct lw_map_key *key)
{
	struct lw_holder_ref *ref = bpf_map_lookup_elem(&holder_index, k);
	struct lw_holder_ref fresh = { .count = 1, .key = *key };

	if (ref) {
		if (!ref->count)
			ref->key = *key;
		ref->count++;
		return 1;
	}
	return (int)bpf_map_update_elem(&holder_index, k, &fresh, BPF_NOEXIST);
}

/* Holders in, all or none: those counted in before a failed insert are
 * counted out again (the process entries made for them stay at 0: the
 * caller removes them, told which by *known_out and *reached). Nothing
 * here branches on which holders were known: the verifier would walk
 * every combination. 0, or -errno. */
static __always_inline int holders_in(const struct lw_map_key *key, const struct lw_map_lease *lease,
				      __u32 *known_out, __u32 *reached)
{
	__u32 n = lease->nr_holders, known = 0, i;
	int r = 0;

#pragma clang loop unroll(full)
	for (i = 0; i < LW_MAP_MAX_HOLDERS; i++) {
		struct lw_map_holder k;

		if (i >= n)
			break;
		lw_index_key(&lease->holders[i], &k);
		r = holder_in(&k, key);
		if (r < 0)
			break;
		known |= (__u32)r << i;
	}
	*known_out = known;
	*reached = i;
	if (r >= 0)
		return 0;
#pragma clang loop unroll(full)
	for (__u32 j = 0; j < LW_MAP_MAX_HOLDERS; j++) {
		struct lw_map_holder k;

		if (j >= i)
			break;
		lw_index_key(&lease->holders[j], &k);
		holder_out(&k);
	}
	return r;
}

/* Holders out: bit i of the result, holder i's entry stays at 0. */
static __always_inline __u32 holders_out(const struct lw_map_lease *lease)
{
	__u32 n = lease->nr_holders, emptied = 0, i;

#pragma clang loop unroll(full)
	for (i = 0; i < LW_MAP_MAX_HOLDERS; i++) {
		struct lw_map_holder k;

		if (i >= n)
			break;
		lw_index_key(&lease->holders[i], &k);
		if (holder_out(&k))
			emptied |= 1u << i;
	}
	return emptied;
}

/* A file's nobody's aliases nobodys[0..n) once more (add) or once less.
 * 0, or a failed add's -errno, n then the keys added before it (userspace
 * takes them back). One copy of the loop for both: the programs are
 * verified at every start. */
static __always_inline long nobodys_walk(struct lw_lease_release *release, bool add)
{
	__u32 n = release->n, i;
	long err = 0;

#pragma clang loop unroll(full)
	for (i = 0; i < LW_NOBODYS_MAX; i++) {
		struct lw_map_key key;

		if (i >= n)
			break;
		key = release->nobodys[i];
		if (!add)
			nobodys_drop(&key);
		else if ((err = nobodys_add(&key))) {
			release->n = i;
			break;
		}
	}
	return err;
}

/* Every op takes a struct lw_lease_release: its tail only LW_LEASE_INSERT
 * and LW_LEASE_FORGET read (n 0 for the others). */
SEC("syscall")
int lw_lease_change(struct lw_lease_release *release)
{
	struct lw_lease_change req, *change = &release->change;
	__u32 known = 0, emptied = 0, failed = 0, reached = 0, zero = 0;
	struct lw_alias *alias;
	__u64 *adds;
	bool insert;
	long err = 0;

	/* the whole request onto the stack: the context is read at fixed
	 * offsets only, and the code below takes addresses in it */
	if (bpf_probe_read_kernel(&req, sizeof(req), change))
		return 1;
	insert = req.op == LW_LEASE_INSERT;
	if (insert) {
		if ((alias = bpf_map_lookup_elem(&aliases, &req.key))) {
			/* a node of a leased device, a loop device's backing
			 * file, an overlay name of a leased file: that lease's */
			release->alias_dev = alias->lease.dev;
			release->alias_ino = alias->lease.ino;
			change->err = -EEXIST;
			change->failed = 3;
			return 0;
		}
		/* filter first: the programs must never skip a leased image */
		if (filter_add(&req.key, 1))
			return 1;
		err = bpf_map_update_elem(&leases, &req.key, &req.lease, BPF_NOEXIST);
		if (err) {
			filter_add(&req.key, -1);
			failed = 1;
		}
	} else if (req.op == LW_LEASE_FORGET) {
		filter_add(&req.key, -1);	/* the lease is out of the map already */
		nobodys_walk(release, false);
		adds = bpf_map_lookup_elem(&alias_adds, &zero);
		release->alias_adds = adds ? *adds : 0;
	} else if (req.op != LW_LEASE_HOLDERS)
		return 1;
	/* one copy of each holders loop, whatever the op: the programs are
	 * verified and compiled at every daemon start */
	if (!err && (insert || (req.op == LW_LEASE_HOLDERS && req.delta > 0))) {
		err = holders_in(&req.key, &req.lease, &known, &reached);
		if (err && insert) {
			bpf_map_delete_elem(&leases, &req.key);
			filter_add(&req.key, -1);	/* after: never a leased image skipped */
			failed = 2;
		}
	} else if (!err)
		emptied = holders_out(&req.lease);
	/* the lease and its holders are in: userspace takes them out again
	 * (with the process entries made) if the nodes fail */
	if (!err && insert && (err = nobodys_walk(release, true)))
		failed = 4;
	change->err = (__s32)err;
	change->failed = failed;
	change->known = known;
	change->emptied = emptied;
	change->reached = reached;
	return 0;
}
