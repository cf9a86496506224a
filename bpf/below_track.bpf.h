/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* A device put below a leased dm/md device after the acquire (multipathd
 * adding a path to its map, a table reload, an md member added) becomes an
 * alias of the lease for write opens only (LW_ALIAS_OPENS_ONLY: udev and
 * multipathd still send SG_IO there), like the devices that were below at
 * the acquire (userspace/enforcer/blockdev.c). One level: the partitions
 * of a disk put below, or the disk of a partition put below, are not
 * followed. Userspace drops these aliases with the lease (they name it).
 * Part of enforcer.bpf.c, through mount_guard.bpf.h. */
#ifndef LW_BELOW_TRACK_BPF_H
#define LW_BELOW_TRACK_BPF_H

/* disk (dm, md) now writes through bdev: bdev is below disk. */
SEC("fexit/bd_link_disk_holder")
int BPF_PROG(lw_below_link, struct block_device *bdev, struct gendisk *disk, int ret)
{
	struct lw_map_key below = { .dev = bdev->bd_dev }, above = {};
	struct lw_alias alias = { .count = 1, .flags = LW_ALIAS_OPENS_ONLY };

	if (ret || !disk->part0)
		return 0;
	above.dev = disk->part0->bd_dev;
	/* only below a lease itself; below an alias is another device's business */
	if (!bpf_map_lookup_elem(&leases, &above))
		return 0;
	if (bpf_map_lookup_elem(&leases, &below) || bpf_map_lookup_elem(&aliases, &below))
		return 0;	/* leased or covered already: its non-holders are refused */
	alias.lease = above;
	filter_add(&below, 1);	/* first: the programs must never skip it */
	if (bpf_map_update_elem(&aliases, &below, &alias, BPF_NOEXIST))
		filter_add(&below, -1);
	return 0;
}

#endif
