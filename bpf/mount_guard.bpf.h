/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* No new mount of a leased block device or of a node it covers (a
 * partition of a leased disk, the disk under a leased partition, a loop
 * device over a leased file, a dm/md device stacked on any of them), by
 * anyone, holder included: a mounted filesystem writes the device on
 * behalf of every process that writes its files. The daemon's exclusive
 * claim refuses mounts of the leased devices themselves while it runs;
 * these programs also cover the nodes the programs made aliases of (no
 * claim there) and the time the daemon is down. Part of enforcer.bpf.c.
 *
 * The rule, by what the device is in the maps:
 * - a lease, or an alias without LW_ALIAS_OPENS_ONLY: refused;
 * - an LW_ALIAS_OPENS_ONLY alias is the device under a filesystem that is
 *   already mounted and holds leased images (or a device below a leased
 *   dm/md device): a second mount of that filesystem gets the superblock
 *   already mounted, writes nothing new, and must keep working (bind
 *   mounts into containers, a second mount point); allowed;
 * - anything else: allowed.
 *
 * Two hooks, because a mount writes before the VFS asks about it:
 * - inode_alloc_security while the superblock is not yet born: the
 *   filesystem's fill_super reads its first inodes (ext4: the journal's,
 *   before replaying it and before writing its superblock's mount count)
 *   before it writes anything; refused there, the mount fails clean.
 * - sb_set_mnt_opts: vfs_get_tree calls it after get_tree for mount(2)
 *   and fsconfig(FSCONFIG_CMD_CREATE) alike (sb_kern_mount is only on the
 *   mount(2) path, not fsmount(2)); it catches a filesystem that allocates
 *   no inode before it is set up, and the kernel drops the new superblock
 *   (fc_drop_locked) when it refuses.
 * Filesystems that open more devices than sb->s_bdev (btrfs devices, an
 * ext4 or xfs external journal) are not seen here: while the daemon runs,
 * its claim refuses them (docs/routes.md). */
#ifndef LW_MOUNT_GUARD_BPF_H
#define LW_MOUNT_GUARD_BPF_H

#define EBUSY 16
#define LW_SB_BORN (1 << 29)	/* include/linux/fs.h: set once get_tree is done */

/* The lease that forbids mounting sb's block device, with its key in
 * *key; NULL if none (see the rule above). */
static __always_inline struct lw_map_lease *mount_forbidden(const struct super_block *sb,
							     struct lw_map_key *key)
{
	struct block_device *bdev = sb->s_bdev;
	struct lw_map_lease *lease;
	struct lw_alias *alias;

	if (!bdev)	/* tmpfs, overlayfs, btrfs: no single block device */
		return NULL;
	key->dev = bdev->bd_dev;
	key->ino = 0;
	lease = lease_of(key);
	if (!lease)
		return NULL;
	alias = bpf_map_lookup_elem(&aliases, key);
	if (alias && (alias->flags & LW_ALIAS_OPENS_ONLY))
		return NULL;
	return lease;
}

static __always_inline int refuse_mount(const struct super_block *sb)
{
	struct lw_map_key key;
	struct lw_map_lease *lease = mount_forbidden(sb, &key);
	struct lw_map_denial *event;

	if (!lease)
		return 0;
	event = begin_report(&key, lease, LW_MAP_OP_MOUNT, 0);
	if (event) {	/* path: the device's name, as the kernel calls it */
		bpf_probe_read_kernel_str(event->path, sizeof(event->path), sb->s_id);
		bpf_ringbuf_submit(event, 0);
	}
	return -EBUSY;	/* what the daemon's claim answers */
}

/* Every inode allocated on the host passes here: a born superblock (every
 * mounted filesystem, sockets, pipes) leaves after one test. */
SEC("lsm/inode_alloc_security")
int BPF_PROG(lw_mount_inode_alloc, struct inode *inode, int ret)
{
	struct super_block *sb;

	if (ret)
		return ret;
	sb = inode->i_sb;
	if (!sb || (sb->s_flags & LW_SB_BORN))
		return 0;
	return refuse_mount(sb);
}

SEC("lsm/sb_set_mnt_opts")
int BPF_PROG(lw_mount_set_opts, struct super_block *sb, void *mnt_opts, unsigned long kern_flags,
	     unsigned long *set_kern_flags, int ret)
{
	return ret ? ret : refuse_mount(sb);
}

#endif
