/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The nodes of a block device, from sysfs (blockdev_nodes.c), for the
 * block device leases of blockdev.c. */
#ifndef LW_ENFORCER_BLOCKDEV_NODES_H
#define LW_ENFORCER_BLOCKDEV_NODES_H

#include <stddef.h>
#include <linux/types.h>

#include "enforcer_maps.h"

#define LW_MAX_RELATED 64

struct related {
	struct lw_map_key keys[LW_MAX_RELATED];
	size_t n;
};

/* The other nodes of block device rdev: covered ones (they write only the
 * leased sectors or more of them through it) and nobody's ones (a whole
 * disk, or its passthrough nodes, under a leased partition). */
void lw_related_nodes(__u64 rdev, struct related *covered, struct related *nobodys);

/* The devices below block device rdev (sysfs slaves/ of a dm or md
 * device, recursively: multipath paths, LVM physical volumes, md members)
 * and, as lw_related_nodes does for a lease: below gets each of them and
 * the partitions of a whole disk among them, nobodys the whole disk of a
 * partition among them. */
void lw_below_nodes(__u64 rdev, struct related *below, struct related *nobodys);

/* The block nodes that write the sectors of the filesystem on block
 * device dev: dev, and its whole disk or its partitions. None if dev is no
 * block device (tmpfs, btrfs and overlayfs have anonymous devices).
 * Not the SCSI generic nodes nor the devices below a dm/md dev (LVM
 * physical volumes, multipath paths): LVM must still write its metadata
 * there, multipathd and udev must still send SCSI commands
 * (docs/routes.md). */
void lw_fs_device_nodes(__u64 dev, struct related *all);

#endif /* LW_ENFORCER_BLOCKDEV_NODES_H */
