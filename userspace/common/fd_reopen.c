// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "common/decimal.h"
#include "common/fd_reopen.h"

static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static int dir_fd = -1;	/* read without the lock once set: it never changes but in a child */

/* A forked child has its own descriptor table: the parent's /proc/PID/fd
 * would name the parent's files. Its own is opened at its first call. */
static void lock_for_fork(void)
{
	pthread_mutex_lock(&dir_lock);
}

static void unlock_after_fork(void)
{
	pthread_mutex_unlock(&dir_lock);
}

static void forget_in_child(void)
{
	if (dir_fd >= 0)
		close(dir_fd);
	dir_fd = -1;
	pthread_mutex_unlock(&dir_lock);
}

int lw_proc_fd_dir(void)
{
	static bool fork_handled;
	int fd = __atomic_load_n(&dir_fd, __ATOMIC_ACQUIRE), err = 0;

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&dir_lock);
	if (!fork_handled && !(err = pthread_atfork(lock_for_fork, unlock_after_fork, forget_in_child)))
		fork_handled = true;
	if (!err && dir_fd < 0) {
		fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			err = errno;
		else
			__atomic_store_n(&dir_fd, fd, __ATOMIC_RELEASE);
	}
	fd = err ? -err : dir_fd;
	pthread_mutex_unlock(&dir_lock);
	return fd;
}

const char *lw_proc_fd_name(int fd, char *buf)
{
	char digits[12] = { [11] = '\0' }, *at = lw_decimal((unsigned int)fd, digits + 11);

	memcpy(buf, at, (size_t)(digits + sizeof(digits) - at));
	return buf;
}

int lw_reopen(int fd, int flags)
{
	char name[12];
	int dir;

	/* O_PATH alone opens nothing: open_tree() without OPEN_TREE_CLONE makes
	 * the same from the descriptor itself, no path walked (since 5.2);
	 * OPEN_TREE_CLOEXEC is O_CLOEXEC. */
	if ((flags & ~O_CLOEXEC) == O_PATH) {
		int r = (int)syscall(SYS_open_tree, fd, "", AT_EMPTY_PATH | (flags & O_CLOEXEC));

		if (r >= 0 || (errno != ENOSYS && errno != EPERM))
			return r;
	}
	if ((dir = lw_proc_fd_dir()) < 0) {
		errno = -dir;
		return -1;
	}
	return openat(dir, lw_proc_fd_name(fd, name), flags);
}
