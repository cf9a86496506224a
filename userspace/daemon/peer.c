// SPDX-License-Identifier: LGPL-2.1-or-later
/* Identifying a client. See peer.h. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/live_procs.h"
#include "enforcer/enforcer.h"
#include "holders.h"
#include "peer.h"

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

int lw_peer_identify(const struct lw_daemon *d, int fd, struct lw_peer *peer)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	uint64_t start_time;
	int r;

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
	/* SO_PEERCRED names the connecting process by its tgid; its start
	 * time and comm (each lease it takes is labelled with it) come with
	 * the pidfd, from /proc until the process is known (live_procs.h) */
	r = lw_live_proc_open(cred.pid, &start_time, peer->comm);
	if (r < 0)
		return lw_lookup_failed_here(r) ? r : -ESRCH;
	peer->pidfd = r;
	peer->start_time = start_time;
	return 0;
}
