/* SPDX-License-Identifier: GPL-2.0-only */
/* The key probe: the daemon asks the kernel for the image key and write
 * count of one of its own descriptors with an ioctl on it, answered here in
 * constant time, instead of a files-iterator walk over every open file on
 * the host (which grew with the number of leases). Part of enforcer.bpf.c,
 * called from its file_ioctl program; every other ioctl pays one compare. */
#ifndef LW_KEY_PROBE_BPF_H
#define LW_KEY_PROBE_BPF_H

/* Key: the caller's nonce (the ioctl's argument); value: the answer. LRU:
 * a flood of probes by others only evicts, and the daemon then falls back
 * to the iterator. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct lw_key_probe);
} key_probes SEC(".maps");

/* Answers a probe, and lets it through: the first LSM program to fail a
 * call ends it, and every enforcer attached (other pin folders: several
 * daemons on one host, or tests) must answer into its own map. The file
 * then fails the unassigned command itself (ENOTTY). */
static __always_inline void key_probe(struct file *file, unsigned long arg)
{
	struct inode *inode = file->f_inode;
	struct lw_key_probe answer = {};
	__u64 nonce = arg;

	/* A tagged, non-canonical argument: no driver's pointer looks so. */
	if ((nonce & LW_KEY_PROBE_TAG_MASK) != LW_KEY_PROBE_TAG)
		return;
	lw_key_of_inode(inode, &answer.key);
	answer.writecount = inode->i_writecount.counter;
	answer.f_mode = file->f_mode;
	bpf_map_update_elem(&key_probes, &nonce, &answer, BPF_ANY);
}

/* The writers probe's verdict, as the ioctl's error; 0 (let through) for
 * a call without the tag. */
static __always_inline int writers_probe(struct file *file, unsigned long arg)
{
	if ((arg & LW_KEY_PROBE_TAG_MASK) != LW_KEY_PROBE_TAG)
		return 0;
	if (file->f_inode->i_writecount.counter <= ((file->f_mode & LW_FMODE_WRITE) ? 1 : 0))
		return -LW_WRITERS_OWN_ONLY;
	return -LW_WRITERS_OTHERS;
}

#endif
