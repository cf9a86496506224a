// SPDX-License-Identifier: LGPL-2.1-or-later
/* Whether anyone has an image open for write, asked of the kernel instead of
 * /proc. The kernel counts every open file with write access on an inode
 * (i_writecount): descriptors in any table, in flight, registered with
 * io_uring, a loop device's backing file, a shared writable mapping whose
 * descriptor was closed. fcntl(F_SETLEASE, F_RDLCK) is granted only while
 * that count is not positive (fs/locks.c, check_conflicting_open), so a read
 * lease granted and dropped at once proves that at that instant nobody, the
 * caller included, had the inode open for write. Read-only openers do not
 * matter to a read lease.
 *
 * A refusal proves nothing we can use (our own lock descriptor may be the
 * writer, or leases may be off), so the caller then walks /proc, which also
 * names the writer. The lease lives for two system calls on a file of our
 * own that we close right after, so it never outlives the probe, not even a
 * crash of the daemon. Meanwhile an open for write or a truncate of the
 * image waits in break_lease until the lease is gone (one opened with
 * O_NONBLOCK fails with EWOULDBLOCK instead), and the kernel signals the
 * lease's owner: with F_SETSIG that is SIGURG, which nobody here handles and
 * whose default action is to ignore it (SIGIO's is to terminate). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fanotify/fan_internal.h"

bool lw_fan_no_writer(int fd)
{
	struct stat st, probe_st;
	char path[64];
	int flags, probe;
	bool none;

	/* leases exist for regular files only; a write descriptor of our own
	 * counts as a writer like anyone's (fcntl direct mode's lock) */
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || (flags = fcntl(fd, F_GETFL)) < 0 ||
	    (flags & O_ACCMODE) != O_RDONLY)
		return false;
	/* A file of our own: the lease and its signal settings touch no file
	 * anyone else holds (the keeper's copies), and close() ends the lease. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	probe = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (probe < 0)
		return false;
	none = !fstat(probe, &probe_st) && probe_st.st_dev == st.st_dev && probe_st.st_ino == st.st_ino &&
	       !fcntl(probe, F_SETSIG, SIGURG) && !fcntl(probe, F_SETLEASE, F_RDLCK);
	if (none)
		fcntl(probe, F_SETLEASE, F_UNLCK);
	close(probe);
	return none;
}
