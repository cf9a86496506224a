// SPDX-License-Identifier: GPL-2.0-only
/* Bench only (bench/enforce_lookup_compare.c), never loaded by the enforcer:
 * the lease lookups we could use in file_open, each alone in a program, so
 * bpf_stats can compare them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "enforcer_maps.h"

/* BPF_PROG hands every hook argument over, used or not. */
#pragma clang diagnostic ignored "-Wunused-parameter"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 filter_mask = 131071;

/* As the enforcer's leases map: key the image key, value the lease. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct lw_map_key);
	__type(value, struct lw_map_lease);
} leases SEC(".maps");

/* As the enforcer's lease filter: slot -> leases hashing there. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 131072);
	__type(key, __u32);
	__type(value, __u32);
} lease_filter SEC(".maps");

/* The alternative: the lease stored on the inode itself. */
struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_map_lease);
} inode_leases SEC(".maps");

__u64 found;	/* keeps the lookups from being optimised away */

SEC("lsm/file_open")
int BPF_PROG(empty, struct file *file)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(hash_lookup, struct file *file)
{
	struct lw_map_key key = { .dev = file->f_inode->i_sb->s_dev, .ino = file->f_inode->i_ino };

	if (bpf_map_lookup_elem(&leases, &key))
		found++;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(filter_then_hash, struct file *file)
{
	struct lw_map_key key = { .dev = file->f_inode->i_sb->s_dev, .ino = file->f_inode->i_ino };
	__u32 slot = lw_filter_slot(&key, filter_mask);
	__u32 *count = bpf_map_lookup_elem(&lease_filter, &slot);

	if (count && *count && bpf_map_lookup_elem(&leases, &key))
		found++;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(inode_storage, struct file *file)
{
	if (bpf_inode_storage_get(&inode_leases, file->f_inode, 0, 0))
		found++;
	return 0;
}
