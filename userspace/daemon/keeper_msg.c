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

#include "common/self_pid.h"
#include "keeper_internal.h"

/* m's first len bytes, with nfds descriptors in one SCM_RIGHTS. */
static int send_raw(int sock, struct keeper_msg *m, size_t len, const int *fds, unsigned int nfds,
		    int flags)
{
	struct iovec iov = { .iov_base = m, .iov_len = len };
	char cbuf[CMSG_SPACE(sizeof(int) * KEEPER_ITEMS_MAX)] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > KEEPER_ITEMS_MAX)
		return -E2BIG;
	m->pid = lw_self_pid();
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static int send_msg(int sock, uint32_t op, const char *name, int fd, uint32_t count, bool trimmed,
		    int flags)
{
	struct keeper_msg m;	/* no initializer: it would zero all 4 KiB of name */
	size_t len = name ? strnlen(name, sizeof(m.name) - 1) : 0;

	m.op = op;
	m.count = count;
	memcpy(m.name, name ? name : "", len);
	m.name[len] = '\0';
	/* a whole struct goes out zero-padded; a trimmed one stops at the NUL */
	if (!trimmed)
		memset(m.name + len, 0, sizeof(m.name) - len);
	return send_raw(sock, &m, trimmed ? offsetof(struct keeper_msg, name) + len + 1 : sizeof(m),
			&fd, fd >= 0 ? 1 : 0, flags);
}

int lw_keeper_send_items(int sock, const char *names, size_t len, const int *fds, unsigned int n)
{
	struct keeper_msg m = { .op = KEEPER_ITEMS, .count = n };

	if (len > sizeof(m.name))
		return -ENAMETOOLONG;
	memcpy(m.name, names, len);
	return send_raw(sock, &m, offsetof(struct keeper_msg, name) + len, fds, n, 0);
}

int lw_keeper_send_count(int sock, uint32_t op, const char *name, int fd, uint32_t count)
{
	return send_msg(sock, op, name, fd, count, false, 0);
}

int lw_keeper_send(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg(sock, op, name, fd, 0, false, 0);
}

int lw_keeper_send_trimmed(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg(sock, op, name, fd, 0, true, 0);
}

int lw_keeper_send_ready(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg(sock, op, name, fd, 0, true, MSG_DONTWAIT);
}

/* Whether the n names of an ITEMS fill names[0..len) exactly, each ended
 * by its NUL. */
static bool items_whole(const char *names, size_t len, uint32_t n)
{
	size_t at = 0;

	for (uint32_t i = 0; i < n; i++) {
		const char *end = memchr(names + at, '\0', len - at);

		if (at >= len || !end)
			return false;
		at = (size_t)(end - names) + 1;
	}
	return at == len;
}

static int recv_msg(int sock, struct keeper_msg *m, int *fds, unsigned int max_fds, unsigned int *nfds,
		    int flags)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	char cbuf[CMSG_SPACE(sizeof(int) * KEEPER_ITEMS_MAX)];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * max_fds) };
	size_t name_len;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && !*nfds &&
		    c->cmsg_len >= CMSG_LEN(0)) {
			*nfds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (*nfds > max_fds)
				*nfds = max_fds;
			memcpy(fds, CMSG_DATA(c), sizeof(int) * *nfds);
		}
	if (n == 0)
		goto bad;
	/* MSG_CTRUNC alone: a descriptor was refused (an LSM's file_receive),
	 * and those after it; the message still counts, without them */
	if ((size_t)n <= offsetof(struct keeper_msg, name) || (mh.msg_flags & MSG_TRUNC))
		goto bad;
	name_len = (size_t)n - offsetof(struct keeper_msg, name);
	if (m->op == KEEPER_ITEMS) {
		if (m->count == 0 || m->count > max_fds || !items_whole(m->name, name_len, m->count))
			goto bad;
		for (unsigned int i = *nfds; i < m->count; i++)
			fds[i] = -1;
		*nfds = m->count;
		return 1;
	}
	/* a trimmed message ends with its name's NUL; any other is cut here */
	m->name[(size_t)n < sizeof(*m) ? name_len - 1 : sizeof(m->name) - 1] = '\0';
	return 1;
bad:
	for (unsigned int i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
	return n == 0 ? 0 : -EBADMSG;
}

/* One descriptor at most; a message with more (ITEMS) is not expected here. */
static int recv_one(int sock, struct keeper_msg *m, int *fd, int flags)
{
	unsigned int nfds;
	int r = recv_msg(sock, m, fd, 1, &nfds, flags);

	if (!nfds)
		*fd = -1;
	return r;
}

/* Receives one message; *fd gets an attached descriptor or -1. 0 on EOF. */
int lw_keeper_recv(int sock, struct keeper_msg *m, int *fd)
{
	return recv_one(sock, m, fd, 0);
}

int lw_keeper_recv_ready(int sock, struct keeper_msg *m, int *fd)
{
	return recv_one(sock, m, fd, MSG_DONTWAIT);
}

int lw_keeper_recv_items(int sock, struct keeper_msg *m, int fds[KEEPER_ITEMS_MAX], unsigned int *nfds)
{
	return recv_msg(sock, m, fds, KEEPER_ITEMS_MAX, nfds, 0);
}
