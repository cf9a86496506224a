// SPDX-License-Identifier: GPL-2.0-only
/* A task_file iterator that answers the enforcer's questions about open
 * files with the kernel's own view: the key of one descriptor, and who has an
 * image open for write. Runs only when userspace reads it; never on a hot path. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "enforcer_maps.h"
#include "image_key.bpf.h"

/* BPF_PROG hands every hook argument over, used or not. */
#pragma clang diagnostic ignored "-Wunused-parameter"


char LICENSE[] SEC("license") = "GPL";

/* The query, written by userspace (mmap'd .bss) before each read. */
__u32 query = 0;		/* enum lw_files_query */
__u32 query_tgid = 0;		/* LW_FILES_KEY_OF_FD: the process */
__u32 query_fd = 0;		/* LW_FILES_KEY_OF_FD: its descriptor */
struct lw_map_key query_key = {};	/* LW_FILES_WRITERS: the image */

SEC("iter/task_file")
int lw_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct lw_file_record record = {};

	if (!task || !file)
		return 0;
	/* The asker's own descriptor: its key, and for LW_FILES_WRITERS the
	 * inode's write count read after every other record could appear. */
	bool anchor = (__u32)task->tgid == query_tgid && ctx->fd == query_fd;

	if (query == LW_FILES_KEY_OF_FD && !anchor)
		return 0;
	lw_key_of_inode(file->f_inode, &record.key);
	if (query == LW_FILES_WRITERS && !anchor &&
	    (!(file->f_mode & LW_FMODE_WRITE) || record.key.dev != query_key.dev ||
	     record.key.ino != query_key.ino))
		return 0;

	record.tgid = task->tgid;
	record.fd = ctx->fd;
	record.file_id = (__u64)file;
	record.writecount = file->f_inode->i_writecount.counter;
	record.f_mode = file->f_mode;
	record.start_time = lw_start_time_of(task);
	bpf_probe_read_kernel_str(record.comm, sizeof(record.comm), task->comm);
	bpf_seq_write(seq, &record, sizeof(record));
	return 0;
}
