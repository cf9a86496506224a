/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* Aliases the kernel adds as devices appear, so a lease covers nodes made
 * after the acquire with no userspace rescan and no window: the alias is in
 * the map before the new node can be opened. Part of enforcer.bpf.c.
 *
 * - a partition made later (BLKPG, a partition scan) of a leased disk, or of
 *   a device that is itself an alias (a loop device over a leased file);
 * - a dm/md device stacked later on a leased device or on one of its aliases
 *   (bd_link_disk_holder: dm and md call it for each device below them).
 *
 * Userspace removes them with the lease (drop_aliases walks every alias that
 * names the lease). */
#ifndef LW_ALIAS_TRACK_BPF_H
#define LW_ALIAS_TRACK_BPF_H

/* The lease that covers key, in *lease_key: its own, or the one an alias
 * names. Nobody's aliases do not count: nothing made on top of them can be
 * given to a holder. */
static __always_inline bool lease_key_of(const struct lw_map_key *key, struct lw_map_key *lease_key)
{
	struct lw_alias *alias;

	if (bpf_map_lookup_elem(&leases, key)) {
		*lease_key = *key;
		return true;
	}
	alias = bpf_map_lookup_elem(&aliases, key);
	if (!alias || (!alias->lease.dev && !alias->lease.ino))
		return false;
	*lease_key = alias->lease;
	return true;
}

/* inode is a node where only write opens are refused (LW_ALIAS_OPENS_ONLY). */
static __always_inline bool opens_only(const struct inode *inode)
{
	struct lw_map_key key;
	struct lw_alias *alias;

	lw_key_of_inode(inode, &key);
	alias = bpf_map_lookup_elem(&aliases, &key);
	return alias && (alias->flags & LW_ALIAS_OPENS_ONLY);
}

static __always_inline void filter_add(const struct lw_map_key *key, int delta)
{
	__u32 slot = lw_filter_slot(key, filter_mask);
	__u32 *count = bpf_map_lookup_elem(&lease_filter, &slot);

	if (count)
		__sync_fetch_and_add(count, delta);
}

/* key becomes an alias of lease_key; the filter first, so the programs
 * never skip it. An existing alias or lease of key stays as it is. */
static __always_inline void add_alias(const struct lw_map_key *key, const struct lw_map_key *lease_key)
{
	struct lw_alias alias = { .lease = *lease_key, .count = 1 };
	__u32 zero = 0;
	__u64 *adds;

	if (bpf_map_lookup_elem(&leases, key) || bpf_map_lookup_elem(&aliases, key))
		return;
	filter_add(key, 1);
	if (bpf_map_update_elem(&aliases, key, &alias, BPF_NOEXIST)) {
		filter_add(key, -1);
		return;
	}
	if ((adds = bpf_map_lookup_elem(&alias_adds, &zero)))
		__sync_fetch_and_add(adds, 1);
}

/* Forget key's alias if it names a lease (not nobody's): the device it
 * described is gone and key now names another one. */
static __always_inline void drop_stale_alias(const struct lw_map_key *key)
{
	struct lw_alias *alias = bpf_map_lookup_elem(&aliases, key);

	if (!alias || (!alias->lease.dev && !alias->lease.ino))
		return;
	if (!bpf_map_delete_elem(&aliases, key))
		filter_add(key, -1);
}

/* Every block device (disk or partition) enters the kernel's lookup here,
 * before any node of it can be opened. */
SEC("fentry/bdev_add")
int BPF_PROG(lw_bdev_add, struct block_device *bdev, dev_t dev)
{
	struct block_device *whole = bdev->bd_disk->part0;
	struct lw_map_key key = { .dev = dev }, disk = {}, lease_key;

	/* A dev_t freed by a removed device and given to this one. */
	drop_stale_alias(&key);
	if (!whole || whole == bdev)
		return 0;
	disk.dev = whole->bd_dev;
	if (lease_key_of(&disk, &lease_key))
		add_alias(&key, &lease_key);
	return 0;
}

/* disk (dm, md) now writes through bdev. */
SEC("fexit/bd_link_disk_holder")
int BPF_PROG(lw_bd_link_disk_holder, struct block_device *bdev, struct gendisk *disk, int ret)
{
	struct lw_map_key below = { .dev = bdev->bd_dev }, above = {}, lease_key;

	if (ret || !disk->part0)
		return 0;
	above.dev = disk->part0->bd_dev;
	if (lease_key_of(&below, &lease_key))
		add_alias(&above, &lease_key);
	return 0;
}

#endif
