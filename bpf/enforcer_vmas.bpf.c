// SPDX-License-Identifier: GPL-2.0-only
/* A task_vma iterator for the busy check of a block device lease: shared
 * mappings, writable through their file, of any node of the device. Such a
 * mapping writes the device with no descriptor left open and no write
 * count (devices keep none), so only the mappings themselves tell. Runs
 * only when userspace reads it, at acquire. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "enforcer_maps.h"
#include "image_key.bpf.h"

#define LW_VM_SHARED 0x00000008

char LICENSE[] SEC("license") = "GPL";

/* The query, written by userspace (mmap'd .bss) before each read: the
 * device's keys (the lease's and its aliases'). */
struct lw_map_key query_keys[LW_VMAS_MAX_KEYS] = {};
__u32 nr_query_keys = 0;

SEC("iter/task_vma")
int lw_vmas(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct task_struct *task = ctx->task;
	struct lw_file_record record = {};
	struct file *file;
	bool match = false;

	if (!task || !vma || !(vma->vm_flags & LW_VM_SHARED))
		return 0;
	file = vma->vm_file;
	if (!file || !(file->f_mode & LW_FMODE_WRITE))
		return 0;
	lw_key_of_inode(file->f_inode, &record.key);
	for (__u32 i = 0; i < LW_VMAS_MAX_KEYS; i++) {
		if (i >= nr_query_keys)
			break;
		if (query_keys[i].dev == record.key.dev && query_keys[i].ino == record.key.ino) {
			match = true;
			break;
		}
	}
	if (!match)
		return 0;
	record.tgid = task->tgid;
	record.file_id = (__u64)file;
	record.f_mode = file->f_mode;
	record.start_time = lw_start_time_of(task);
	bpf_probe_read_kernel_str(record.comm, sizeof(record.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &record, sizeof(record));
	return 0;
}
