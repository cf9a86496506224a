// SPDX-License-Identifier: LGPL-2.1-or-later
/* Whether anyone else has an image open for write, asked of the kernel
 * instead of /proc. The kernel counts every open file with write access on
 * an inode (i_writecount): descriptors in any table, in flight, registered
 * with io_uring, a loop device's backing file, a shared writable mapping
 * whose descriptor was closed; and every open file that reads only
 * (i_readcount). A lease taken and dropped at once turns those counts into
 * an answer (fs/locks.c, check_conflicting_open, the same rule from 5.3 on):
 *
 * - a read-only descriptor: fcntl(F_SETLEASE, F_RDLCK) is granted only while
 *   the write count is not positive, so nobody, the caller included, had the
 *   inode open for write. Read-only openers do not matter to a read lease.
 * - a descriptor open for write (fcntl's direct lock): fcntl(F_SETLEASE,
 *   F_WRLCK) on its own open file is granted only while that file is the
 *   one writer (count 1) and nobody has the inode open read-only (count 0),
 *   so the only writer is that file and its copies (the keeper's).
 *
 * A refusal proves nothing we can use (a reader may be in the way, or
 * leases may be off), so the caller then walks /proc, which also names the
 * writer. Meanwhile the lease makes opens wait in break_lease until it is
 * gone (one with O_NONBLOCK fails with EWOULDBLOCK instead): opens for
 * write and truncates under a read lease, every open under a write lease.
 * None waits on the caller: the lease lives for two system calls. Breaking
 * it signals the lease's owner: with F_SETSIG that is SIGURG, which nobody
 * here handles and whose default action is to ignore it (SIGIO's is to
 * terminate). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd_stat.h"
#include "common/fd_reopen.h"
#include "fanotify/fan_internal.h"

int lw_fan_reopen_read_only(int fd)
{
	return lw_reopen(fd, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/* A read-only descriptor: a read lease on a file of our own, so the lease
 * and its signal settings touch no file anyone else holds, and close() ends
 * the lease whatever happens. reopened is such a file the caller opened
 * already (-1: opened here). */
static bool nobody_writes(int fd, int reopened, const struct stat *st)
{
	int probe = reopened >= 0 ? reopened : lw_fan_reopen_read_only(fd);
	struct stat probe_st;
	bool none;

	if (probe < 0)
		return false;
	none = !lw_fstat(probe, &probe_st) && probe_st.st_dev == st->st_dev && probe_st.st_ino == st->st_ino &&
	       !fcntl(probe, F_SETSIG, SIGURG) && !fcntl(probe, F_SETLEASE, F_RDLCK);
	if (none)
		fcntl(probe, F_SETLEASE, F_UNLCK);
	if (reopened < 0)
		close(probe);
	return none;
}

/* A descriptor open for write: the write lease must go on its own open
 * file (a reopen would be a second writer). That file is shared with the
 * keeper, so the lease outlives a crash between the two calls: the keeper
 * removes it when the daemon's connection ends (keeper_process.c).
 * F_UNLCK also clears the F_SETSIG signal; after a refusal it is cleared
 * here, leaving the file as it was. */
static bool only_writer(int fd)
{
	if (fcntl(fd, F_SETSIG, SIGURG))
		return false;
	if (fcntl(fd, F_SETLEASE, F_WRLCK)) {
		fcntl(fd, F_SETSIG, 0);
		return false;
	}
	fcntl(fd, F_SETLEASE, F_UNLCK);
	return true;
}

bool lw_fan_no_writer(int fd, int reopened)
{
	struct stat st;
	int flags;

	/* leases exist for regular files only */
	if (fd < 0 || lw_fstat(fd, &st) || !S_ISREG(st.st_mode) || (flags = fcntl(fd, F_GETFL)) < 0)
		return false;
	return (flags & O_ACCMODE) == O_RDONLY ? nobody_writes(fd, reopened, &st) : only_writer(fd);
}
