// SPDX-License-Identifier: LGPL-2.1-or-later
/* The messages between the daemon and its keeper: SOCK_SEQPACKET, one
 * struct keeper_msg a packet, a descriptor attached by SCM_RIGHTS. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper_internal.h"

static int send_msg(int sock, uint32_t op, const char *name, int fd, uint32_t count, bool trimmed)
{
	struct keeper_msg m = { .op = op, .pid = getpid(), .count = count };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (name)
		snprintf(m.name, sizeof(m.name), "%s", name);
	if (trimmed)
		iov.iov_len = offsetof(struct keeper_msg, name) + strlen(m.name) + 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int lw_keeper_send_count(int sock, uint32_t op, const char *name, int fd, uint32_t count)
{
	return send_msg(sock, op, name, fd, count, false);
}

int lw_keeper_send(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg(sock, op, name, fd, 0, false);
}

int lw_keeper_send_trimmed(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg(sock, op, name, fd, 0, true);
}

static int recv_msg(int sock, struct keeper_msg *m, int *fd, int flags)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (n == 0)
		return 0;
	/* MSG_CTRUNC alone: the descriptor was refused (an LSM's file_receive);
	 * the message still counts, without it */
	if ((size_t)n <= offsetof(struct keeper_msg, name) || (mh.msg_flags & MSG_TRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EBADMSG;
	}
	/* a trimmed message ends with its name's NUL; any other is cut here */
	m->name[(size_t)n < sizeof(*m) ? (size_t)n - offsetof(struct keeper_msg, name) - 1 : sizeof(m->name) - 1] = '\0';
	return 1;
}

/* Receives one message; *fd gets an attached descriptor or -1. 0 on EOF. */
int lw_keeper_recv(int sock, struct keeper_msg *m, int *fd)
{
	return recv_msg(sock, m, fd, 0);
}

int lw_keeper_recv_ready(int sock, struct keeper_msg *m, int *fd)
{
	return recv_msg(sock, m, fd, MSG_DONTWAIT);
}
