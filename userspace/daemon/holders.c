// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watching holders with pidfds on the daemon's sd-event loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/holder.h"
#include "common/proc.h"
#include "holders.h"

bool lw_cgroup_alive(const char *path, __u64 id)
{
	struct stat st;

	return path && path[0] && stat(path, &st) == 0 && st.st_ino == id;
}

bool lw_holder_alive(const struct lw_holder *holder)
{
	if (holder->kind != LW_HOLDER_PROCESS)
		return true;	/* cgroups: see lw_lease_holder_alive */
	return lw_holder_process_alive(holder);
}

#define PF_KTHREAD 0x00200000	/* include/linux/sched.h: I am a kernel thread */

/* The flags field of /proc/PID/stat (the 9th). */
static int pid_flags(int pid, unsigned long *flags)
{
	char buf[1024];
	const char *fields = lw_proc_stat_fields(pid, buf, sizeof(buf));

	if (!fields)
		return -errno;
	/* state ppid pgrp session tty_nr tpgid flags */
	return sscanf(fields, "%*c %*d %*d %*d %*d %*d %lu", flags) == 1 ? 0 : -EIO;
}

const char *lw_pid_refusal(int pid)
{
	unsigned long flags;

	if (pid == 1)
		return "pid 1 (init) never exits: a lease it held would never end";
	if (pid_flags(pid, &flags) == 0 && (flags & PF_KTHREAD))
		return "a kernel thread cannot hold a lease";
	return NULL;
}

void lw_pid_comm(int pid, char comm[LW_COMM_LEN])
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (lw_read_text(path, comm, LW_COMM_LEN) < 0)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

bool lw_lease_holder_alive(const struct lw_lease_holder *h)
{
	if (h->id.kind == LW_HOLDER_CGROUP)
		return lw_cgroup_alive(h->cgroup, h->id.cgroup_id);
	return lw_holder_alive(&h->id);
}
