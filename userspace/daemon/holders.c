// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watching holders with pidfds on the daemon's sd-event loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/holder.h"
#include "common/proc.h"
#include "holders.h"

/* One per watched holder of a lease: kept small (a copy of the strings,
 * not room for the longest), as there may be 65,536. */
struct watch {
	char *image;		/* looked up again on exit: entries move in their arrays */
	struct lw_holder holder;
	lw_holder_exit_fn fn;
	void *ctx;
	int pidfd;		/* -1 for a cgroup holder */
	char *cgroup;		/* a cgroup holder's folder, NULL for a process */
};

/* A cgroup holder lives as long as its folder: cgroup v2 ids are inode
 * numbers that are not reused, so a folder of that path with another id is
 * another cgroup. */
static bool cgroup_alive(const char *path, __u64 id)
{
	struct stat st;

	return path[0] && stat(path, &st) == 0 && st.st_ino == id;
}

bool lw_holder_alive(const struct lw_holder *holder)
{
	struct lw_holder now;

	if (holder->kind != LW_HOLDER_PROCESS)
		return true;	/* cgroups: see lw_lease_holder_alive */
	return lw_holder_of_pid((int)holder->pid, &now) == 0 && now.pid == holder->pid &&
	       now.start_time == holder->start_time;
}

#define PF_KTHREAD 0x00200000	/* include/linux/sched.h: I am a kernel thread */

/* The flags field of /proc/PID/stat (the 9th); fields after comm, which
 * may itself hold spaces and parentheses, start after the last ')'. */
static int pid_flags(int pid, unsigned long *flags)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty_nr tpgid flags */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", flags) != 1)
		return -EIO;
	return 0;
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

uid_t lw_pid_uid(int pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

void lw_pid_comm(int pid, char comm[LW_COMM_LEN])
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (lw_read_text(path, comm, LW_COMM_LEN) < 0)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static int on_exit_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct watch *w = userdata;

	(void)fd;
	(void)revents;
	/* one shot: the callback releases the lease, which unwatches and frees */
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	w->fn(w->image, &w->holder, w->ctx);
	return 0;
}

static void free_watch(void *userdata)
{
	struct watch *w = userdata;

	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w->image);
	free(w->cgroup);
	free(w);
}

/* Something was removed from the cgroup's parent folder (libvirt's machine
 * scope goes at domain stop), or the parent itself went. The parent is
 * watched, not the folder: its own IN_DELETE_SELF comes only once the last
 * reference to its dentry is gone, which can be much later. */
static int on_cgroup_parent_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct watch *w = userdata;

	if (cgroup_alive(w->cgroup, w->holder.cgroup_id))
		return 0;
	(void)ev;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	w->fn(w->image, &w->holder, w->ctx);
	return 0;
}

static struct watch *watch_new(const struct lw_lease_entry *e, const struct lw_lease_holder *h,
			       lw_holder_exit_fn fn, void *ctx, int pidfd)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->image = strdup(e->image);
	if (!w->image) {
		free(w);
		return NULL;
	}
	w->holder = h->id;
	w->fn = fn;
	w->ctx = ctx;
	w->pidfd = pidfd;
	return w;
}

static int watch_cgroup(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
			lw_holder_exit_fn fn, void *ctx)
{
	struct watch *w = watch_new(e, h, fn, ctx, -1);
	char parent[LW_PATH_MAX], *slash;
	int r;

	if (!w)
		return -ENOMEM;
	w->cgroup = strdup(h->cgroup);
	if (!w->cgroup) {
		free_watch(w);
		return -ENOMEM;
	}
	snprintf(parent, sizeof(parent), "%s", h->cgroup);
	slash = strrchr(parent, '/');
	if (!slash || h->cgroup[0] != '/') {
		free_watch(w);
		return -EINVAL;	/* a relative path would depend on the daemon's folder */
	}
	*slash = '\0';
	r = sd_event_add_inotify(event, &h->watch, parent[0] ? parent : "/",
				 IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR, on_cgroup_parent_event, w);
	/* the watch is set first, so a folder removed after it is seen */
	if (r == 0 && !cgroup_alive(w->cgroup, h->id.cgroup_id))
		r = -ESRCH;
	if (r < 0) {
		h->watch = sd_event_source_disable_unref(h->watch);
		free_watch(w);
		return r == -ENOENT ? -ESRCH : r;
	}
	sd_event_source_set_destroy_callback(h->watch, free_watch);
	return 0;
}

bool lw_lease_holder_alive(const struct lw_lease_holder *h)
{
	if (h->id.kind == LW_HOLDER_CGROUP)
		return cgroup_alive(h->cgroup, h->id.cgroup_id);
	return lw_holder_alive(&h->id);
}

int lw_holder_watch(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
		    lw_holder_exit_fn fn, void *ctx)
{
	struct watch *w;
	int pidfd, r;

	if (h->watch)
		return 0;
	if (h->id.kind == LW_HOLDER_CGROUP)
		return watch_cgroup(event, e, h, fn, ctx);
	if (h->id.kind != LW_HOLDER_PROCESS)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)h->id.pid, 0);
	if (pidfd < 0)
		return -errno;
	/* the pidfd is taken first, so a match now means it is this process */
	if (!lw_holder_alive(&h->id)) {
		close(pidfd);
		return -ESRCH;
	}
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	w = watch_new(e, h, fn, ctx, pidfd);
	if (!w) {
		close(pidfd);
		return -ENOMEM;
	}
	r = sd_event_add_io(event, &h->watch, pidfd, EPOLLIN, on_exit_readable, w);
	if (r < 0) {
		free_watch(w);
		h->watch = NULL;
		return r;
	}
	sd_event_source_set_destroy_callback(h->watch, free_watch);
	h->pidfd = pidfd;
	if (h->comm[0] == '\0')
		lw_pid_comm((int)h->id.pid, h->comm);
	return 0;
}

void lw_holder_unwatch(struct lw_lease_holder *h)
{
	/* the destroy callback closes the pidfd */
	h->watch = sd_event_source_disable_unref(h->watch);
	h->pidfd = -1;
}
