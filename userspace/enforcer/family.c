// SPDX-License-Identifier: LGPL-2.1-or-later
/* The descendants a process holder already has when it takes its first
 * lease. The task_alloc program marks the tasks a holder forks while it
 * holds, and their forks; those forked before carry no mark, and the
 * ptrace hook finds them only by climbing their parent chain, which a
 * kill of any task between them and the holder cuts (they are reparented
 * to a reaper). So they are marked here, through the holder_family map
 * with a pidfd as key, once the holder_index entry exists (from then on
 * the holder's forks are marked by the kernel). Each task is marked
 * before its children are listed: a child it forks after its mark
 * inherits the mark, one forked before is in the list. Left: a task whose
 * parent exits between the parent's mark and the listing of its
 * children (the parent chain cannot reach it either), and one a long
 * children list skips while siblings exit (the kernel reads it in pieces;
 * its parent chain still finds it). Cost for a holder with no children:
 * one directory read and one small read per thread. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"
#include "common/proc.h"

#define LW_FAMILY_MAX_TASKS 4096	/* descendants marked at most: a fork storm is not walked */

struct kin {
	pid_t pid;
	pid_t parent;	/* the tgid it was listed under */
};

struct kin_queue {
	struct kin *items;
	size_t head, len, cap;
};

static int queue_push(struct kin_queue *q, pid_t pid, pid_t parent)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct kin *items;

		if (cap > LW_FAMILY_MAX_TASKS)
			return -E2BIG;
		if (!(items = realloc(q->items, cap * sizeof(*items))))
			return -ENOMEM;
		q->items = items;
		q->cap = cap;
	}
	q->items[q->len++] = (struct kin){ .pid = pid, .parent = parent };
	return 0;
}

/* Queue the pids listed in a children file (space-separated). */
static int queue_listed(struct kin_queue *q, int fd, pid_t parent)
{
	char buf[4096];
	long pid = 0;
	bool in_pid = false;
	ssize_t n;
	int err = 0;

	while (!err && (n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; !err && i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (buf[i] - '0');
				in_pid = true;
			} else if (in_pid) {
				err = queue_push(q, (pid_t)pid, parent);
				pid = 0;
				in_pid = false;
			}
		}
	if (!err && in_pid)
		err = queue_push(q, (pid_t)pid, parent);
	return err;
}

/* Queue the children of every thread of pid (the kernel lists each child
 * under the thread that forked it). A process that exited has none. The
 * folder is read with getdents64 rather than opendir: no fstat, and no
 * 32 KiB buffer, at every first lease of a holder. */
static int queue_children(struct kin_queue *q, pid_t pid)
{
	char path[64], entries[4096] __attribute__((aligned(8)));
	int err = 0, dir;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	while (!err && (n = getdents64(dir, entries, sizeof(entries))) > 0)
		for (ssize_t at = 0; !err && at < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(entries + at);
			int fd;

			at += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "%.16s/children", d->d_name);
			if ((fd = openat(dir, path, O_RDONLY | O_CLOEXEC)) < 0)
				continue;	/* the thread exited */
			err = queue_listed(q, fd, pid);
			close(fd);
		}
	close(dir);
	return err;
}

/* The parent tgid of pid (/proc/PID/stat field 4), or -1. */
static pid_t parent_of(pid_t pid)
{
	char buf[512];
	const char *fields = lw_proc_stat_fields(pid, buf, sizeof(buf));
	int parent;

	return fields && sscanf(fields, "%*c %d", &parent) == 1 ? parent : -1;
}

/* Add holder to the mark of the task behind pidfd. 0 also when the task
 * has exited meanwhile (ENOENT) or already names holder. */
static int mark_task(struct lw_enforcer *enf, int pidfd, pid_t pid, const struct lw_map_holder *holder)
{
	struct lw_family family = {};

	if (bpf_map_lookup_elem(enf->holder_family_fd, &pidfd, &family) && errno != ENOENT)
		return lw_fail(enf, -errno, "cannot read the holder mark of pid %d: %s", pid, strerror(errno));
	for (int i = 0; i < LW_FAMILY_HOLDERS; i++)
		if (!memcmp(&family.holders[i], holder, sizeof(*holder)))
			return 0;
	/* the new holder first; the farthest of four falls off */
	memmove(&family.holders[1], &family.holders[0], sizeof(family.holders[0]) * (LW_FAMILY_HOLDERS - 1));
	family.holders[0] = *holder;
	if (bpf_map_update_elem(enf->holder_family_fd, &pidfd, &family, BPF_ANY) && errno != ENOENT)
		return lw_fail(enf, -errno, "cannot mark pid %d as the family of holder %u: %s", pid,
			       holder->pid, strerror(errno));
	return 0;
}

int lw_family_mark(struct lw_enforcer *enf, const struct lw_map_holder *holder)
{
	struct kin_queue q = {};
	int err;

	err = queue_children(&q, (pid_t)holder->pid);
	for (; !err && q.head < q.len; q.head++) {
		struct kin kin = q.items[q.head];
		int pidfd = (int)syscall(SYS_pidfd_open, kin.pid, 0);

		if (pidfd < 0)
			continue;	/* exited */
		/* the pidfd holds the task; a pid reused since the listing
		 * shows another parent (or the same one: a sibling, family too) */
		if (parent_of(kin.pid) == kin.parent && !(err = mark_task(enf, pidfd, kin.pid, holder)))
			err = queue_children(&q, kin.pid);
		close(pidfd);
	}
	/* refused rather than half marked: the rest would be open to attach */
	if (err == -E2BIG)
		err = lw_fail(enf, err, "holder %u has more than %d descendants to mark as its family; "
			      "a cgroup holder needs no marks", holder->pid, LW_FAMILY_MAX_TASKS);
	else if (err == -ENOMEM)
		err = lw_fail(enf, err, "out of memory listing the family of holder %u", holder->pid);
	free(q.items);
	return err;
}
