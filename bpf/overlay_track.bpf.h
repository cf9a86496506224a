/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* Overlay names: the upper file that a copy-up makes is covered before it
 * can be opened. Part of enforcer.bpf.c (after alias_track.bpf.h).
 *
 * Userspace covers an overlay image's other names at acquire (the merged
 * inode, the upper file, the lower file the merged name shows: aliases of
 * the lease, userspace/enforcer/overlay.c). A copy-up of a covered file (the
 * first write open through the merged name of a lower-only file, or a
 * chmod, utimes, truncate...) makes a NEW upper inode. The kernel asks
 * security_inode_copy_up (the overlay dentry) first, in the copying
 * thread; then, in the same thread, it builds the copy in a file nobody
 * can name (an O_TMPFILE, or a temporary name in the work folder) and puts
 * it in place with vfs_link or vfs_rename: that hook is where the new inode
 * becomes an alias, before its upper name exists. Overlayfs is a module
 * and its own structs are not in vmlinux: only the LSM hooks' arguments
 * are used, the same on 6.1 and 6.12. */
#ifndef LW_OVERLAY_TRACK_BPF_H
#define LW_OVERLAY_TRACK_BPF_H


/* The lease whose file the thread is copying up; consumed by the thread's
 * next link or rename. Task storage: gone with the thread, and no table
 * that a flood of copy-ups could fill. */
struct lw_copy_up {
	struct lw_map_key lease;
	__u32 pending;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_copy_up);
} copy_ups SEC(".maps");

/* A copy-up of an overlay file (src: the overlay dentry; regular files and,
 * first, each parent folder not yet in the upper layer). */
SEC("lsm/inode_copy_up")
int BPF_PROG(lw_inode_copy_up, struct dentry *src, struct cred **new, int ret)
{
	struct lw_map_key key, lease_key;
	struct lw_copy_up *note;
	struct inode *inode;

	if (ret)
		return ret;
	inode = src->d_inode;
	if (!inode || (inode->i_mode & LW_S_IFMT) != LW_S_IFREG)
		return 0;
	lw_key_of_inode(inode, &key);
	if (!lease_of(&key) || !lease_key_of(&key, &lease_key))
		return 0;	/* the filter answers most: not covered */
	note = bpf_task_storage_get(&copy_ups, bpf_get_current_task_btf(), NULL,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!note)	/* no memory: refuse rather than leave the copy uncovered */
		return -EACCES;
	note->lease = lease_key;
	note->pending = 1;
	return 0;
}

/* inode (the finished copy, linked or renamed into the upper folder) is
 * an alias of the lease this thread is copying up for. */
static __always_inline void copy_up_done(const struct dentry *copy)
{
	struct lw_copy_up *note = bpf_task_storage_get(&copy_ups, bpf_get_current_task_btf(), NULL, 0);
	struct lw_map_key key, lease;
	struct inode *inode;

	if (!note || !note->pending)
		return;
	lease = note->lease;
	note->pending = 0;
	inode = copy->d_inode;
	if (!inode || (inode->i_mode & LW_S_IFMT) != LW_S_IFREG)
		return;
	lw_key_of_inode(inode, &key);
	add_alias(&key, &lease);
}

/* An O_TMPFILE copy linked into the upper folder. */
SEC("lsm/inode_link")
int BPF_PROG(lw_ovl_inode_link, struct dentry *old_dentry, struct inode *dir,
	     struct dentry *new_dentry, int ret)
{
	if (!ret)
		copy_up_done(old_dentry);
	return ret;
}

/* A copy made in the work folder renamed into the upper folder. */
SEC("lsm/inode_rename")
int BPF_PROG(lw_ovl_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (!ret)
		copy_up_done(old_dentry);
	return ret;
}

#endif
