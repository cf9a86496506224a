/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* What both BPF objects must compute the same way: the image key of an
 * inode and a process's start time. */
#ifndef LW_IMAGE_KEY_BPF_H
#define LW_IMAGE_KEY_BPF_H

#define LW_S_IFMT 00170000
#define LW_S_IFREG 0100000
#define LW_S_IFBLK 0060000
#define LW_S_IFCHR 0020000
#define LW_NSEC_PER_USER_HZ_TICK 10000000ULL	/* USER_HZ is 100 on every arch we build */

/* Block devices by i_rdev, so every device node of one disk shares a key;
 * character devices by i_rdev too (an sg node is an alias of its disk's
 * lease); everything else by the kernel's (superblock dev, inode number). */
static __always_inline void lw_key_of_inode(const struct inode *inode, struct lw_map_key *key)
{
	__u16 type = inode->i_mode & LW_S_IFMT;

	if (type == LW_S_IFBLK) {
		key->dev = inode->i_rdev;
		key->ino = 0;
	} else if (type == LW_S_IFCHR) {
		key->dev = inode->i_rdev;
		key->ino = LW_KEY_CHRDEV;
	} else {
		key->dev = inode->i_sb->s_dev;
		key->ino = inode->i_ino;
	}
}

/* The process start time as /proc/PID/stat field 22 shows it:
 * nsec_to_clock_t(group_leader->start_boottime). */
static __always_inline __u64 lw_start_time_of(const struct task_struct *task)
{
	return task->group_leader->start_boottime / LW_NSEC_PER_USER_HZ_TICK;
}

#endif
