/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the enforcement tests share: a private pin folder, filesystems
 * to put images on, and running an attempt in another process. Included by
 * one test program each, so everything is static. */
#ifndef LW_ENFORCE_COMMON_H
#define LW_ENFORCE_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "enforcer/enforcer.h"
#include "shell.h"

/* A pin folder of our own under /sys/fs/bpf, so tests never touch a real
 * daemon's pins. */
static inline void test_pin_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/sys/fs/bpf/lw-test-%s-%d", name, getpid());
}

static inline struct lw_enforcement *open_enforcer(const char *pin_dir, unsigned int max_images)
{
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir, .max_images = max_images };
	struct lw_enforcement *enf = NULL;
	struct lw_err why;
	int err = lw_enforcer_open(&opts, &enf, &why);

	if (err)
		fprintf(stderr, "# expected the enforcer to load in %s, got %s: %s\n", pin_dir,
			strerror(-err), why.msg);
	return enf;
}

static inline void close_and_unpin(struct lw_enforcement *enf)
{
	if (!enf)
		return;
	if (lw_enforcer_unpin(enf))
		fprintf(stderr, "# unpin failed: %s\n", lw_enforcer_error(enf));
	lw_enforcer_close(enf);
}

/* pid as a process holder (pid and start time), or fail the test. */
static inline struct lw_holder holder_of(pid_t pid)
{
	struct lw_holder holder;
	int err = lw_holder_of_pid(pid, &holder);

	if (err)
		fail_msg("cannot describe pid %d as a holder: %s", pid, strerror(-err));
	return holder;
}

/* Run fn(arg) in a forked child (a new process: never a process holder)
 * and return what it returned: 0 or an errno value. */
static inline int in_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 255;
	return WEXITSTATUS(status);
}

/* 0 if path opens with flags, else errno. */
static inline int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

struct open_attempt {
	const char *path;
	int flags;
};

static inline int open_attempt(void *arg)
{
	const struct open_attempt *a = arg;

	return try_open(a->path, a->flags);
}

/* 0 or errno of open(path, flags) in a new process. */
static inline int child_open(const char *path, int flags)
{
	struct open_attempt a = { path, flags };

	return in_child(open_attempt, &a);
}

/* A child that runs prepare(arg), reports its result, waits to be told to
 * go on, then runs act(arg) (if any) and exits with its result: a process
 * that stays alive while the test does something (a holder, a writer). */
struct helper {
	pid_t pid;
	int go_fd;
};

static inline int helper_start(struct helper *h, int (*prepare)(void *), int (*act)(void *), void *arg)
{
	int ready[2], go[2];
	unsigned char result = 255;

	if (pipe(ready) || pipe(go))
		return errno;
	h->pid = fork();
	if (h->pid < 0)
		return errno;
	if (h->pid == 0) {
		unsigned char r = prepare ? prepare(arg) & 0xff : 0, byte;

		close(ready[0]);
		close(go[1]);
		if (write(ready[1], &r, 1) != 1 || read(go[0], &byte, 1) < 0)
			_exit(255);
		_exit(act ? act(arg) & 0xff : 0);
	}
	close(ready[1]);
	close(go[0]);
	h->go_fd = go[1];
	if (read(ready[0], &result, 1) != 1)
		result = 255;
	close(ready[0]);
	return result;
}

/* Let the helper go on; its exit status (act's result). */
static inline int helper_finish(struct helper *h)
{
	int status;

	if (h->pid <= 0)
		return 255;
	if (write(h->go_fd, "g", 1) != 1) { /* already gone */ }
	close(h->go_fd);
	if (waitpid(h->pid, &status, 0) < 0 || !WIFEXITED(status))
		status = 255 << 8;
	h->pid = 0;
	return WEXITSTATUS(status);
}

static inline const char *errno_name(int err)
{
	return err == 0 ? "success" : err == 255 ? "a crashed child" : strerror(err);
}

#define assert_denied(result, what)                                                          \
	do {                                                                                 \
		int r_ = (result);                                                           \
		if (r_ != EACCES)                                                            \
			fail_msg("expected %s to be denied (EACCES), got %s", what,          \
				 errno_name(r_));                                            \
	} while (0)

#define assert_allowed(result, what)                                                         \
	do {                                                                                 \
		int r_ = (result);                                                           \
		if (r_ != 0)                                                                 \
			fail_msg("expected %s to be allowed, got %s", what, errno_name(r_)); \
	} while (0)

static inline void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* Mount a filesystem of type fstype at dir: tmpfs directly, others on a
 * loop device over a file in /tmp. 0 or a reason on stderr. */
static inline int mount_test_fs(const char *fstype, const char *dir)
{
	if (sh("mkdir -p %s", dir))
		return -1;
	if (!strcmp(fstype, "tmpfs"))
		return sh("mount -t tmpfs lw-test %s", dir);
	if (sh("modprobe loop 2>/dev/null; modprobe %s 2>/dev/null; truncate -s 300M %s.img", fstype, dir))
		return -1;
	if (!strcmp(fstype, "ext4") && sh("mkfs.ext4 -q -F %s.img", dir))
		return -1;
	if (!strcmp(fstype, "btrfs") && sh("mkfs.btrfs -q -f %s.img >/dev/null", dir))
		return -1;
	return sh("mount -o loop %s.img %s", dir, dir);
}

static inline void unmount_test_fs(const char *dir)
{
	sh("umount %s && rm -rf %s %s.img", dir, dir, dir);
}

#endif
