// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fencing: find the writers of an image through /proc and stop them.
 *
 * The local holders of a lease are the processes that may write the image;
 * those that do have it open for write (a descriptor) or mapped shared and
 * writable (a mapping outlives its descriptor). Each is pinned with a pidfd
 * before it is checked, so the signal reaches the process that was checked
 * and never a reused pid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "paxos_fence.h"

#define MAX_WRITERS 256

/* The same file: for block devices the device number, else dev + inode. */
static bool same_image(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) && a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether descriptor fd of pid is open with write access (fdinfo "flags:" in octal). */
static bool fd_writes(const char *pid, const char *fd)
{
	char path[640], line[128];
	bool writes = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags;

		if (sscanf(line, "flags: %lo", &flags) == 1) {
			writes = (flags & O_ACCMODE) != O_RDONLY;
			break;
		}
	}
	fclose(f);
	return writes;
}

static bool has_write_fd(const char *pid, const struct stat *image)
{
	char path[320];
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		char target[640];

		if (de->d_name[0] == '.')
			continue;
		snprintf(target, sizeof(target), "/proc/%s/fd/%s", pid, de->d_name);
		if (stat(target, &st) == 0 && same_image(&st, image) && fd_writes(pid, de->d_name))
			found = true;
	}
	closedir(dir);
	return found;
}

/* A shared writable mapping of the image ("rw-s" in /proc/PID/maps). */
static bool has_write_mapping(const char *pid, const struct stat *image)
{
	char path[320], line[512], range[64], perms[8];
	bool found = false;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char target[400];

		if (sscanf(line, "%63s %7s", range, perms) != 2 || perms[1] != 'w' || perms[3] != 's')
			continue;
		snprintf(target, sizeof(target), "/proc/%s/map_files/%s", pid, range);
		if (stat(target, &st) == 0 && same_image(&st, image))
			found = true;
	}
	fclose(f);
	return found;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int lw_paxos_fence_writers(int image_fd, int timeout_ms)
{
	int pidfds[MAX_WRITERS], n = 0, alive = 0;
	pid_t self = getpid();
	struct dirent *de;
	struct stat image;
	long deadline;
	DIR *proc;

	if (fstat(image_fd, &image) < 0)
		return -errno;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int pidfd;

		if (*end || pid <= 1 || pid == self)
			continue;
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pidfd < 0)
			continue;
		/* checked after the pidfd pins the process: the signal cannot reach another */
		if ((has_write_fd(de->d_name, &image) || has_write_mapping(de->d_name, &image)) &&
		    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0 && n < MAX_WRITERS)
			pidfds[n++] = pidfd;	/* waited for below (beyond MAX_WRITERS: killed, not awaited) */
		else
			close(pidfd);
	}
	closedir(proc);

	deadline = now_ms() + timeout_ms;
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = pidfds[i], .events = POLLIN };
		long left = deadline - now_ms();

		if (poll(&p, 1, left > 0 ? (int)left : 0) != 1)
			alive++;
		close(pidfds[i]);
	}
	return alive ? -ETIMEDOUT : n;
}
