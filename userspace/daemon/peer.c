// SPDX-License-Identifier: LGPL-2.1-or-later
/* Identifying a client. See peer.h. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/live_procs.h"
#include "enforcer/enforcer.h"
#include "holders.h"
#include "peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77	/* Linux 6.5: a pidfd of the process that connected */
#endif

bool lw_peer_alive(const struct lw_peer *peer)
{
	return peer->pidfd >= 0 && !lw_pidfd_exited(peer->pidfd);
}

/* Root, or in the admin group: by its primary group, or else by the
 * supplementary groups its socket recorded (asked only then). */
static bool privileged(const struct lw_daemon *d, int fd, const struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	if (!d->has_admin_group)
		return false;
	if (cred->gid == d->admin_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->admin_gid)
			return true;
	return false;
}

/* The kernel's pidfd of the process that connected (Linux 6.5+); -ENOPROTOOPT
 * where the kernel has no SO_PEERPIDFD, -ESRCH when that process is gone
 * (reaped: EINVAL), or an error lw_lookup_failed_here. */
static int connected_pidfd(int fd)
{
	static bool unknown;	/* the kernel said ENOPROTOOPT: it will again */
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (unknown)
		return -ENOPROTOOPT;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	if (errno == ENOPROTOOPT)
		unknown = true;
	return errno == ENOPROTOOPT || lw_lookup_failed_here(-errno) ? -errno : -ESRCH;
}

/* Is pidfd's process, which has pid now, the one that connected as cred?
 * With the kernel's pidfd of the connecting process (connected), yes if that
 * one is still alive: its pid was never free in between. Without it, by the
 * uids: the pid's process runs as the connecting one did (real and effective
 * uid), or the connecting process exited and another user's took its pid.
 * Not asked of a privileged peer, which may act for any process anyway (and
 * whose calls, one connection each through the libvirt plugin, would read
 * /proc/PID/status each). 0, -ESRCH (gone), -EPERM (another uid's process),
 * or an error lw_lookup_failed_here. */
static int is_connecting_process(int connected, int pidfd, const struct ucred *cred, bool privileged)
{
	uid_t ruid, euid;
	int r;

	if (connected >= 0)
		return lw_pidfd_exited(connected) ? -ESRCH : 0;
	if (privileged)
		return 0;
	r = lw_pidfd_uids(pidfd, cred->pid, &ruid, &euid);
	if (r < 0)
		return r;
	return ruid == cred->uid && euid == cred->uid ? 0 : -EPERM;
}

int lw_peer_identify(const struct lw_daemon *d, int fd, struct lw_peer *peer)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	uint64_t start_time;
	int connected, pidfd, r;

	peer->pidfd = -1;
	peer->watch = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->privileged = privileged(d, fd, &cred);
	if (cred.pid <= 0)
		return -ESRCH;	/* from another pid namespace: no pid to hold to */
	/* SO_PEERCRED's pid is a number: the process that connected may have
	 * exited since, and its pid gone to another. The kernel's pidfd of
	 * the connecting process, taken first, says whether it did. */
	connected = connected_pidfd(fd);
	if (connected < 0 && connected != -ENOPROTOOPT)
		return connected;
	/* SO_PEERCRED names the connecting process by its tgid; its start
	 * time and comm (each lease it takes is labelled with it) come with
	 * the pidfd, from /proc until the process is known (live_procs.h) */
	pidfd = lw_live_proc_open(cred.pid, &start_time, peer->comm);
	r = pidfd < 0 ? (lw_lookup_failed_here(pidfd) ? pidfd : -ESRCH)
		      : is_connecting_process(connected, pidfd, &cred, peer->privileged);
	if (connected >= 0)
		close(connected);
	if (r < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return r;
	}
	peer->pidfd = pidfd;
	peer->start_time = start_time;
	return 0;
}
