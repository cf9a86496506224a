// SPDX-License-Identifier: LGPL-2.1-or-later
/* Who has an image open for write, seen from /proc (BPF walks the kernel's
 * task files instead). Each task's descriptor table (/proc/PID/task/TID/fd:
 * a thread may have unshared its table) with the open mode from fdinfo, and
 * each process's shared writable mappings (/proc/PID/maps). Best effort: a
 * descriptor in flight (SCM_RIGHTS not yet received), an io_uring
 * registered file, a loop device's backing file or any other writer the
 * kernel holds outside a descriptor table is not seen, nor one moved
 * between tables while the scan runs. The caller's own open file
 * descriptions, and copies of them in other processes (a lock descriptor
 * handed to the daemon's keeper), are not foreign writers, as on the BPF
 * side; kcmp(2) tells a copy from another open. The walk costs tens of
 * milliseconds on a busy host, so the kernel's own count of writers is asked
 * first (fan_lease_probe.c) and the walk runs only when that count cannot
 * rule a writer out: there is one to name, or (given our own lock
 * descriptor, open for write) a reader is in the way of the write lease. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <stdatomic.h>

#include "common/fd_stat.h"
#include "common/self_pid.h"
#include "fanotify/fan_internal.h"

static atomic_ulong walks;

unsigned long lw_fan_writer_walks(void)
{
	return atomic_load(&walks);
}

struct target {
	const struct lw_image_key *key;
	dev_t st_dev;
	ino_t st_ino;
	bool blockdev;
	pid_t self;
	pid_t trusted;		/* its descriptors are the caller's (the keeper), or 0 */
	int own_fds[16];	/* the caller's descriptors open for write on the image */
	size_t nr_own;
};

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool same_image(const struct target *t, const struct stat *st)
{
	if (t->blockdev)
		return S_ISBLK(st->st_mode) && lw_fan_kdev(st->st_rdev) == t->key->dev;
	return st->st_dev == t->st_dev && st->st_ino == t->st_ino;
}

static bool fd_open_for_write(const char *task_dir, int fd)
{
	char path[320], line[128];
	unsigned int flags;
	bool write = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fdinfo/%d", task_dir, fd);
	f = fopen(path, "re");
	if (!f)
		return false;	/* closed meanwhile */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1) {
			write = (flags & O_ACCMODE) != O_RDONLY;
			break;
		}
	fclose(f);
	return write;
}

static bool is_own_file(const struct target *t, int pid, int fd)
{
	for (size_t i = 0; i < t->nr_own; i++)
		if (syscall(SYS_kcmp, t->self, pid, KCMP_FILE, t->own_fds[i], fd) == 0)
			return true;
	return false;
}

/* The first descriptor of the task open for write on the image that is not
 * the caller's, or -1. */
static int task_writer_fd(const char *task_dir, int pid, const struct target *t)
{
	char path[320];
	struct dirent *d;
	struct stat st;
	int found = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/fd", task_dir);
	dir = opendir(path);
	if (!dir)
		return -1;	/* gone, or a kernel thread */
	while (found < 0 && (d = readdir(dir))) {
		if (!is_number(d->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/fd/%d", task_dir, atoi(d->d_name));
		if (stat(path, &st) || !same_image(t, &st))
			continue;
		if (!fd_open_for_write(task_dir, atoi(d->d_name)))
			continue;
		if (!is_own_file(t, pid, atoi(d->d_name)))
			found = atoi(d->d_name);
	}
	closedir(dir);
	return found;
}

/* Whether the process maps the image shared and writable (its writes reach
 * the file without a descriptor). /proc/PID/maps prints the superblock's
 * dev, i.e. the key's, in hex. */
static bool process_maps_for_write(const char *proc_dir, const struct target *t)
{
	char path[320], line[512], perms[8];
	unsigned int maj, min;
	unsigned long long ino;
	bool found = false;
	FILE *f;

	if (t->blockdev)
		return false;	/* a mapping shows the device node's inode, not i_rdev */
	snprintf(path, sizeof(path), "%s/maps", proc_dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu", perms, &maj, &min, &ino) != 4)
			continue;
		found = perms[1] == 'w' && perms[3] == 's' && ino == t->key->ino &&
			(((__u64)maj << 20) | min) == t->key->dev;
	}
	fclose(f);
	return found;
}

static void name_writer(struct lw_writer *w, const char *proc_dir, int pid, int fd)
{
	char path[320];
	FILE *f;

	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->fd = (__u32)fd;	/* UINT32_MAX: a shared writable mapping, no descriptor */
	snprintf(path, sizeof(path), "%s/comm", proc_dir);
	f = fopen(path, "re");
	if (f) {
		if (fgets(w->comm, sizeof(w->comm), f))
			w->comm[strcspn(w->comm, "\n")] = 0;
		fclose(f);
	}
}

static bool process_writer(int pid, struct target *t, struct lw_writer *w)
{
	char proc_dir[64], task_dir[160];
	struct dirent *d;
	int fd = -1;
	DIR *tasks;

	snprintf(proc_dir, sizeof(proc_dir), "/proc/%d", pid);
	snprintf(task_dir, sizeof(task_dir), "%s/task", proc_dir);
	tasks = opendir(task_dir);
	if (!tasks)
		return false;
	while (fd < 0 && (d = readdir(tasks))) {
		int tid;

		if (!is_number(d->d_name))
			continue;
		tid = atoi(d->d_name);
		/* Threads share the leader's table unless they unshared it. */
		if (tid != pid && syscall(SYS_kcmp, pid, tid, KCMP_FILES, 0, 0) == 0)
			continue;
		snprintf(task_dir, sizeof(task_dir), "%s/task/%d", proc_dir, tid);
		fd = task_writer_fd(task_dir, pid, t);
	}
	closedir(tasks);
	if (fd < 0 && !process_maps_for_write(proc_dir, t))
		return false;
	name_writer(w, proc_dir, pid, fd);
	return true;
}

/* The caller's own descriptors open for write on the image, found with
 * fstat and F_GETFL (no path walk through /proc per descriptor: the daemon
 * has several per lease). */
static void collect_own(struct target *t)
{
	struct dirent *d;
	struct stat st;
	DIR *dir = opendir("/proc/self/fd");
	int fd, flags;

	if (!dir)
		return;
	while ((d = readdir(dir)) && t->nr_own < sizeof(t->own_fds) / sizeof(t->own_fds[0])) {
		if (!is_number(d->d_name) || (fd = atoi(d->d_name)) == dirfd(dir))
			continue;
		if (lw_fstat(fd, &st) || !same_image(t, &st) || (flags = fcntl(fd, F_GETFL)) < 0 ||
		    (flags & O_ACCMODE) == O_RDONLY)
			continue;
		t->own_fds[t->nr_own++] = fd;
	}
	closedir(dir);
}

/* The processes with the image open for write that no holder in holders
 * covers: the first max of them in writers, their number in *count. */
static int scan(struct target *t, const struct lw_holder *holders, size_t nr_holders,
		struct lw_writer *writers, size_t max, size_t *count)
{
	struct lw_writer w;
	struct dirent *d;
	DIR *proc;

	*count = 0;
	atomic_fetch_add(&walks, 1);
	collect_own(t);
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (*count < max && (d = readdir(proc))) {
		bool holder = false;
		int pid;

		if (!is_number(d->d_name))
			continue;
		pid = atoi(d->d_name);
		/* all of our own descriptors of the image are own, and the
		 * keeper's are copies of ours; walking theirs (one or more per
		 * lease) made each scan grow with the table */
		if (pid == t->self || (t->trusted && pid == t->trusted) || !process_writer(pid, t, &w))
			continue;
		for (size_t i = 0; i < nr_holders && !holder; i++)
			holder = lw_holder_covers_pid(&holders[i], pid);
		if (holder)
			continue;	/* the holder's own writers are its right */
		if (writers)
			writers[*count] = w;
		++*count;
	}
	closedir(proc);
	return 0;
}

int lw_fan_find_writer(int fd, int reopened, const struct lw_image_key *key, dev_t st_dev, ino_t st_ino,
		       bool blockdev, pid_t trusted, const struct lw_holder *holder, struct lw_writer *writer)
{
	struct target t = { .key = key, .st_dev = st_dev, .st_ino = st_ino, .blockdev = blockdev,
			    .self = lw_self_pid(), .trusted = trusted };
	struct lw_writer w;
	size_t count;
	int err;

	if (lw_fan_no_writer(fd, reopened))
		return 0;
	err = scan(&t, holder, holder ? 1 : 0, &w, 1, &count);
	if (err || !count)
		return err;
	if (writer)
		*writer = w;
	return -EBUSY;
}

int lw_fan_enforcer_writers(struct lw_enforcement *handle, int fd, const struct lw_image_key *key,
			    struct lw_writer *writers, size_t max, size_t *count)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct target t = { .key = key, .self = lw_self_pid(), .trusted = enf->trusted };
	struct lw_lease lease;
	struct stat st;
	int err;

	*count = 0;
	if (lw_fstat(fd, &st))
		return lw_fan_fail(enf, -errno, "cannot stat the image: %s", strerror(errno));
	if ((err = lw_fan_enforcer_lookup(&enf->base, key, &lease)))
		return err;
	if (lw_fan_no_writer(fd, -1))
		return 0;
	t.st_dev = st.st_dev;
	t.st_ino = st.st_ino;
	t.blockdev = S_ISBLK(st.st_mode);
	err = scan(&t, lease.holders, lease.nr_holders < LW_MAX_HOLDERS ? lease.nr_holders : LW_MAX_HOLDERS,
		   writers, max, count);
	return err ? lw_fan_fail(enf, err, "cannot look for writers of the image: %s", strerror(-err)) : 0;
}

bool lw_fan_enforcer_trust_pid(struct lw_enforcement *handle, int pid)
{
	lw_fan_of(handle)->trusted = pid > 0 ? pid : 0;
	return true;
}
