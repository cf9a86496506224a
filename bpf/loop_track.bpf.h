/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* Loop devices and leases, as a loop device is attached (LOOP_SET_FD,
 * LOOP_CONFIGURE: an ioctl on /dev/loopN carrying the backing file's
 * descriptor). Part of enforcer.bpf.c, called from its file_ioctl program.
 *
 * - attached to a leased file (or to any alias of a lease): the loop device
 *   becomes an alias of that lease, so writes through /dev/loopN are the
 *   holder's only. A non-holder cannot attach one read-write anyway: the
 *   kernel makes the loop device read-only unless the descriptor was opened
 *   for write, and file_open refuses it that;
 * - a leased loop device attached to a file: the file becomes an alias of
 *   the loop device's lease (the daemon does the same at acquire for a loop
 *   device attached before).
 * An alias from an earlier attachment is dropped when the loop device,
 * unbound again, is attached anew. */
#ifndef LW_LOOP_TRACK_BPF_H
#define LW_LOOP_TRACK_BPF_H

#define EFAULT 14
#define LW_LOOP_MAJOR 7
#define LW_LOOP_SET_FD 0x4c00
#define LW_LOOP_CLR_FD 0x4c01
#define LW_LOOP_SET_STATUS 0x4c02
#define LW_LOOP_SET_STATUS64 0x4c04
#define LW_LOOP_CHANGE_FD 0x4c06
#define LW_LOOP_SET_CAPACITY 0x4c07
#define LW_LOOP_SET_DIRECT_IO 0x4c08
#define LW_LOOP_SET_BLOCK_SIZE 0x4c09
#define LW_LOOP_CONFIGURE 0x4c0a

static __always_inline bool is_loop_attach(unsigned int cmd)
{
	return cmd == LW_LOOP_SET_FD || cmd == LW_LOOP_CONFIGURE;
}

static __always_inline bool is_loop_device(const struct inode *inode)
{
	return (inode->i_mode & LW_S_IFMT) == LW_S_IFBLK && (inode->i_rdev >> 20) == LW_LOOP_MAJOR;
}

/* Sectors of the whole disk behind an open block device file: 0 for a loop
 * device with nothing attached. */
static __always_inline __u64 disk_sectors(struct file *file)
{
	unsigned long host = (unsigned long)BPF_CORE_READ(file, f_mapping, host);
	struct block_device *bdev;

	if (!host)
		return 0;
	/* the inode is bdev_inode.vfs_inode (I_BDEV) */
	bdev = (struct block_device *)(host - bpf_core_field_offset(struct bdev_inode, vfs_inode) +
				       bpf_core_field_offset(struct bdev_inode, bdev));
	return BPF_CORE_READ(bdev, bd_disk, part0, bd_nr_sectors);
}

/* The image key of the file behind descriptor fd of the current task
 * (read with CO-RE: the descriptor table is not a BTF pointer walk). */
static __always_inline bool key_of_fd(int fd, struct lw_map_key *key)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct inode *inode;
	__u16 mode;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return false;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return false;
	mode = BPF_CORE_READ(inode, i_mode) & LW_S_IFMT;
	if (mode == LW_S_IFBLK) {
		key->dev = BPF_CORE_READ(inode, i_rdev);
		key->ino = 0;
	} else {
		key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
		key->ino = BPF_CORE_READ(inode, i_ino);
	}
	return true;
}

/* The backing file's descriptor an attach ioctl carries; false if none. */
static __always_inline bool attach_fd(unsigned int cmd, unsigned long arg, int *fd)
{
	__u32 config_fd;	/* struct loop_config starts with it */

	if (cmd == LW_LOOP_SET_FD) {
		*fd = (int)arg;
		return true;
	}
	if (bpf_probe_read_user(&config_fd, sizeof(config_fd), (void *)arg))
		return false;
	*fd = (int)config_fd;
	return true;
}

/* Before the denial check: an unbound loop device keeps no alias of the
 * file it was attached to before. */
static __always_inline void loop_forget_old_file(struct file *file, unsigned int cmd)
{
	struct lw_map_key key;

	if (!is_loop_attach(cmd) || !is_loop_device(file->f_inode) || disk_sectors(file))
		return;
	lw_key_of_inode(file->f_inode, &key);
	drop_stale_alias(&key);
}

/* After the attach was allowed: tie the loop device and its file. False
 * if the attach ioctl's argument cannot be read. */
static __always_inline bool loop_track_attach(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct lw_map_key loop, backing, lease_key;
	int fd;

	if (!is_loop_attach(cmd) || !is_loop_device(file->f_inode))
		return true;
	if (!attach_fd(cmd, arg, &fd))
		return false;
	if (!key_of_fd(fd, &backing))	/* not a descriptor: the kernel refuses it */
		return true;
	lw_key_of_inode(file->f_inode, &loop);
	if (lease_key_of(&backing, &lease_key))
		add_alias(&loop, &lease_key);
	else if (bpf_map_lookup_elem(&leases, &loop))
		add_alias(&backing, &loop);
	return true;
}

#endif
