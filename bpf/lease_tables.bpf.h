/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* The lease table the programs enforce and the daemon writes: the leases,
 * the other nodes of leased devices, the lease filter and the holder index.
 * Declared once for both objects that use them: enforcer.bpf.c, which
 * creates and pins them, and enforcer_filter.bpf.c, the daemon's own
 * programs, which are given the pinned maps before their load. */
#ifndef LW_LEASE_TABLES_BPF_H
#define LW_LEASE_TABLES_BPF_H

/* lease_filter size - 1 (a power of two), set by userspace before load */
const volatile __u32 filter_mask = 0;

/* The leased images. Key: the kernel's image key; value: who may write it.
 * max_entries is set by userspace (opts.max_images).
 * Why not BPF inode storage: measured in the VM it costs about what the
 * lease filter costs on a miss, but it lives on the in-memory inode, so an
 * ext4 image nobody has open loses its lease when the inode is evicted
 * (seen with drop_caches), and a second device node of a disk is another
 * inode. A hash map keyed by (s_dev, ino) or i_rdev has neither hole. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);	/* default; userspace sets opts.max_images */
	__type(key, struct lw_map_key);
	__type(value, struct lw_map_lease);
} leases SEC(".maps");

/* Other nodes of leased block devices: partitions of a leased disk, the
 * disk of a leased partition, their SCSI generic and bsg nodes. Written by
 * userspace with the lease (add_lease/remove_lease); each alias key counts
 * in the lease filter like a lease. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct lw_map_key);
	__type(value, struct lw_alias);
} aliases SEC(".maps");

/* Key: lw_filter_slot(image key); value: how many leases hash there.
 * Zero means "not leased" without a hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 131072);	/* userspace sets it: enforcer.c, filter_entries */
	__type(key, __u32);
	__type(value, __u32);
} lease_filter SEC(".maps");

/* Key: a holder with only its kind's fields set; value: how many leases
 * name it. Kept by userspace beside the leases map (leases.c), which keeps
 * a few process holders whose last lease went at count 0: what they fork
 * is still marked (task_alloc), but they shield nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct lw_map_holder);
	__type(value, struct lw_holder_ref);
} holder_index SEC(".maps");

/* How many aliases the programs have added, ever (entry 0): bumped after
 * each insert (alias_track.bpf.h), so a walk of the aliases map that began
 * before it sees it moved. Userspace skips that walk at a release of a
 * file while no alias names a file's lease and this has not moved
 * (userspace/enforcer/blockdev.c); lw_lease_release reads it for it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} alias_adds SEC(".maps");

#endif
