// SPDX-License-Identifier: LGPL-2.1-or-later
/* The keeper process and the daemon's side of its socket. See keeper.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "keeper.h"
#include "keeper_group.h"

enum keeper_op {
	KEEPER_PUT = 1,		/* daemon -> keeper, with a descriptor */
	KEEPER_DROP,		/* daemon -> keeper */
	KEEPER_LIST,		/* daemon -> keeper; answered by ITEMs then END */
	KEEPER_ITEM,		/* keeper -> daemon, with a descriptor */
	KEEPER_END,
	KEEPER_OK,
	KEEPER_FAIL,
	KEEPER_HELLO,		/* daemon -> keeper; answered by OK with pid and count */
	KEEPER_QUIT,		/* daemon -> keeper: drop every copy and exit (it was replaced) */
	KEEPER_GROUP_PUT,	/* daemon -> keeper, with the fanotify "group" or its "table" */
	KEEPER_GROUP_TAKE,	/* daemon -> keeper; answered by ITEMs then END (keeper_group.h) */
	KEEPER_GROUP_DROP,	/* daemon -> keeper: close the group copies */
};

struct keeper_msg {
	uint32_t op;
	int32_t pid;		/* in every message: the sender's pid */
	uint32_t count;		/* OK to HELLO: how many descriptors the keeper holds */
	char name[PATH_MAX];
};

struct lw_keeper {
	int fd;
	int pid;
};

/* An idle keeper (nothing held, no daemon) waits this long for one. */
#define KEEPER_IDLE_MS 10000

/* ---- messages ----------------------------------------------------------- */

static int send_msg_count(int sock, uint32_t op, const char *name, int fd, uint32_t count)
{
	struct keeper_msg m = { .op = op, .pid = getpid(), .count = count };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (name)
		snprintf(m.name, sizeof(m.name), "%s", name);
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

static int send_msg(int sock, uint32_t op, const char *name, int fd)
{
	return send_msg_count(sock, op, name, fd, 0);
}

/* Receives one message; *fd gets an attached descriptor or -1. 0 on EOF. */
static int recv_msg(int sock, struct keeper_msg *m, int *fd)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
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
	if ((size_t)n != sizeof(*m) || (mh.msg_flags & MSG_TRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EBADMSG;
	}
	m->name[sizeof(m->name) - 1] = '\0';
	return 1;
}

/* ---- the keeper process ------------------------------------------------- */

struct kept {
	char *name;
	int fd;
};

struct keeper_store {
	struct kept *items;
	size_t count, cap;
};

static void store_drop(struct keeper_store *s, const char *name)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->items[i].name, name) == 0) {
			close(s->items[i].fd);
			free(s->items[i].name);
			s->items[i] = s->items[--s->count];
			return;
		}
}

static int store_put(struct keeper_store *s, const char *name, int fd)
{
	store_drop(s, name);
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct kept *grown = realloc(s->items, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->items = grown;
		s->cap = cap;
	}
	s->items[s->count].name = strdup(name);
	if (!s->items[s->count].name)
		return -ENOMEM;
	s->items[s->count++].fd = fd;
	return 0;
}

/* Serve one daemon connection until it closes. */
static void serve(struct keeper_store *s, int conn)
{
	struct keeper_msg m;
	int fd, r;

	while ((r = recv_msg(conn, &m, &fd)) > 0) {
		switch (m.op) {
		case KEEPER_PUT:
			r = fd >= 0 ? store_put(s, m.name, fd) : -EBADF;
			if (r < 0 && fd >= 0)
				close(fd);
			send_msg(conn, r < 0 ? KEEPER_FAIL : KEEPER_OK, NULL, -1);
			break;
		case KEEPER_DROP:
			if (fd >= 0)
				close(fd);
			store_drop(s, m.name);
			send_msg(conn, KEEPER_OK, NULL, -1);
			break;
		case KEEPER_HELLO:
			if (fd >= 0)
				close(fd);
			send_msg_count(conn, KEEPER_OK, NULL, -1, (uint32_t)s->count);
			break;
		case KEEPER_QUIT:
			/* replaced by a keeper that inherited every lock: ours go */
			if (fd >= 0)
				close(fd);
			send_msg(conn, KEEPER_OK, NULL, -1);
			_exit(0);
		case KEEPER_GROUP_PUT:
			r = fd >= 0 ? lw_keeper_group_keep(m.name, fd) : -EBADF;
			if (r < 0 && fd >= 0)
				close(fd);
			send_msg(conn, r < 0 ? KEEPER_FAIL : KEEPER_OK, NULL, -1);
			break;
		case KEEPER_GROUP_TAKE: {
			int group, table;

			if (fd >= 0)
				close(fd);
			lw_keeper_group_take(&group, &table);
			if (group >= 0 && table >= 0) {
				send_msg(conn, KEEPER_ITEM, "table", table);
				send_msg(conn, KEEPER_ITEM, "group", group);
			}
			send_msg(conn, KEEPER_END, NULL, -1);
			break;
		}
		case KEEPER_GROUP_DROP:
			if (fd >= 0)
				close(fd);
			lw_keeper_group_drop();
			send_msg(conn, KEEPER_OK, NULL, -1);
			break;
		case KEEPER_LIST:
			if (fd >= 0)
				close(fd);
			for (size_t i = 0; i < s->count; i++)
				send_msg(conn, KEEPER_ITEM, s->items[i].name, s->items[i].fd);
			send_msg(conn, KEEPER_END, NULL, -1);
			break;
		default:
			if (fd >= 0)
				close(fd);
			send_msg(conn, KEEPER_FAIL, NULL, -1);
		}
	}
}

/* Where the keeper listens: the socket file it was started on. A keeper
 * whose file was replaced (a new keeper took over; the daemon died before it
 * could tell this one to quit) is reached by nobody and must not hold copies
 * of locks that may be released meanwhile. */
struct keeper_home {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
};

static bool still_home(const struct keeper_home *home)
{
	struct stat st;

	return stat(home->path, &st) == 0 && st.st_dev == home->dev && st.st_ino == home->ino;
}

static void keeper_main(int listen_fd, struct keeper_store *store, const struct keeper_home *home)
{
	sigset_t all;

	/* a clean slate: the daemon's blocked signals and handlers are not ours */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	prctl(PR_SET_NAME, "lockwarden-keep", 0, 0, 0);
	for (;;) {
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };
		int conn;

		if (poll(&p, 1, store->count || lw_keeper_group_needed() ? -1 : KEEPER_IDLE_MS) == 0)
			_exit(0);	/* nothing held and no daemon came */
		conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		serve(store, conn);
		close(conn);
		lw_keeper_group_answer();	/* no daemon now: the keeper answers its group */
		if ((store->count == 0 && !lw_keeper_group_needed()) || !still_home(home))
			_exit(0);
	}
}

static int compare_fds(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the new keeper: take a copy of each lock (inherited across fork, so no
 * descriptor passes a socket), put the listening socket at fd 3, and close
 * every other descriptor the daemon had. */
static void keeper_setup(int listen_fd, const struct lw_keeper_lock *locks, size_t count,
			 struct keeper_store *store)
{
	int null, *keep = calloc(count + 1, sizeof(*keep)), from = 4;
	size_t n = 0;

	if (!keep)
		_exit(1);
	for (size_t i = 0; i < count; i++) {
		/* at 4 and up: fds 0 to 3 are about to be replaced */
		int fd = fcntl(locks[i].fd, F_DUPFD, 4);

		if (fd < 0 || store_put(store, locks[i].name, fd) < 0)
			_exit(1);
	}
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (dup2(listen_fd, 3) < 0)
		_exit(1);
	for (size_t i = 0; i < store->count; i++)
		keep[n++] = store->items[i].fd;
	qsort(keep, n, sizeof(*keep), compare_fds);
	for (size_t i = 0; i < n; from = keep[i++] + 1)
		if (keep[i] > from)
			close_range((unsigned int)from, (unsigned int)keep[i] - 1, 0);
	close_range((unsigned int)from, ~0u, 0);
	free(keep);
}

/* Double fork: the keeper is nobody's child and in its own session. The
 * intermediate child exits non-zero if the keeper could not take every
 * lock, so the daemon knows before it relies on it. */
static int spawn(int listen_fd, const struct lw_keeper_lock *locks, size_t count,
		 const struct keeper_home *home)
{
	pid_t pid = fork(), inner;
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct keeper_store store = { 0 };

		setsid();
		keeper_setup(listen_fd, locks, count, &store);
		if (chdir("/") < 0)
			_exit(1);
		inner = fork();
		if (inner != 0)
			_exit(inner < 0 ? 1 : 0);
		keeper_main(3, &store, home);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	return 0;
}

/* ---- the daemon's side -------------------------------------------------- */

static int round_trip(struct lw_keeper *k, uint32_t op, const char *name, int fd);

static int socket_address(const char *state_dir, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", state_dir,
			     LW_KEEPER_SOCKET) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int try_connect(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* A keeper on sa holding copies of locks. Any keeper found there before
 * (dead, or about to be told to quit) loses the path. */
static int start_keeper(const struct sockaddr_un *sa, const struct lw_keeper_lock *locks, size_t count)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), r = 0;
	struct keeper_home home;
	struct stat st;

	if (fd < 0)
		return -errno;
	snprintf(home.path, sizeof(home.path), "%s", sa->sun_path);
	unlink(sa->sun_path);
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 4) < 0 ||
	    stat(sa->sun_path, &st) < 0)
		r = -errno;
	else {
		home.dev = st.st_dev;
		home.ino = st.st_ino;
		r = spawn(fd, locks, count, &home);
	}
	close(fd);
	return r;
}

/* Connect to sa and say hello; *count gets how many locks the keeper holds. */
static int hello(const struct sockaddr_un *sa, struct lw_keeper **out, uint32_t *count)
{
	struct keeper_msg m;
	struct lw_keeper *k;
	int fd = try_connect(sa), r, extra;

	if (fd < 0)
		return fd;
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->fd = fd;
	r = send_msg(fd, KEEPER_HELLO, NULL, -1);
	if (r == 0)
		r = recv_msg(fd, &m, &extra);
	if (r > 0 && extra >= 0)
		close(extra);
	if (r > 0 && m.op == KEEPER_OK) {
		k->pid = m.pid;
		*count = m.count;
		*out = k;
		return 0;
	}
	lw_keeper_close(k);
	return r < 0 ? r : r == 0 ? -ECONNRESET : -EPROTO;
}

int lw_keeper_connect(const char *state_dir, struct lw_keeper **out, struct lw_err *err)
{
	struct sockaddr_un sa;
	uint32_t count;
	int r;

	r = socket_address(state_dir, &sa);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: socket path under %s too long", state_dir);
	if (hello(&sa, out, &count) == 0)
		return 0;
	r = start_keeper(&sa, NULL, 0);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: cannot start at %s: %s", sa.sun_path, strerror(-r));
	r = hello(&sa, out, &count);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: %s does not answer: %s", sa.sun_path, strerror(-r));
	return r;
}

int lw_keeper_replace(const char *state_dir, const struct lw_keeper_lock *locks, size_t count,
		      struct lw_keeper *old, struct lw_keeper **out, struct lw_err *err)
{
	struct sockaddr_un sa;
	uint32_t held = 0;
	int r;

	r = socket_address(state_dir, &sa);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: socket path under %s too long", state_dir);
	r = start_keeper(&sa, locks, count);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: cannot start one holding %zu lock(s) at %s: %s", count,
				  sa.sun_path, strerror(-r));
	r = hello(&sa, out, &held);
	if (r < 0)
		return lw_err_set(err, -r, "keeper: the new one at %s does not answer: %s", sa.sun_path,
				  strerror(-r));
	if (held != count) {
		lw_keeper_close(*out);
		*out = NULL;
		return lw_err_set(err, EIO, "keeper: the new one holds %u of %zu lock(s)", held, count);
	}
	/* the old one's copies go only now: every lock has two holders meanwhile */
	if (old)
		round_trip(old, KEEPER_QUIT, "", -1);
	return 0;
}

void lw_keeper_close(struct lw_keeper *k)
{
	if (!k)
		return;
	close(k->fd);
	free(k);
}

static int round_trip(struct lw_keeper *k, uint32_t op, const char *name, int fd)
{
	struct keeper_msg m;
	int extra, r;

	if (strlen(name) >= sizeof(m.name))
		return -ENAMETOOLONG;
	r = send_msg(k->fd, op, name, fd);
	if (r < 0)
		return r;
	r = recv_msg(k->fd, &m, &extra);
	if (extra >= 0)
		close(extra);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	return m.op == KEEPER_OK ? 0 : -EIO;
}

int lw_keeper_put(struct lw_keeper *k, const char *name, int fd)
{
	return round_trip(k, KEEPER_PUT, name, fd);
}

int lw_keeper_drop(struct lw_keeper *k, const char *name)
{
	return round_trip(k, KEEPER_DROP, name, -1);
}

int lw_keeper_list(struct lw_keeper *k, int (*fn)(const char *name, int fd, void *ctx), void *ctx)
{
	struct keeper_msg m;
	int fd, r, first_error = 0;

	r = send_msg(k->fd, KEEPER_LIST, NULL, -1);
	if (r < 0)
		return r;
	for (;;) {
		r = recv_msg(k->fd, &m, &fd);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		if (m.op == KEEPER_END)
			return first_error;
		if (m.op != KEEPER_ITEM) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		r = fn(m.name, fd, ctx);
		if (r < 0 && !first_error)
			first_error = r;
	}
}

int lw_keeper_put_group(struct lw_keeper *k, int group_fd, int table_fd)
{
	int r = round_trip(k, KEEPER_GROUP_PUT, "table", table_fd);

	return r < 0 ? r : round_trip(k, KEEPER_GROUP_PUT, "group", group_fd);
}

int lw_keeper_drop_group(struct lw_keeper *k)
{
	return round_trip(k, KEEPER_GROUP_DROP, "", -1);
}

int lw_keeper_take_group(struct lw_keeper *k, int *group_fd, int *table_fd)
{
	struct keeper_msg m;
	int fd, r;

	*group_fd = *table_fd = -1;
	r = send_msg(k->fd, KEEPER_GROUP_TAKE, NULL, -1);
	while (r >= 0) {
		r = recv_msg(k->fd, &m, &fd);
		if (r <= 0) {
			r = r ? r : -ECONNRESET;
			break;
		}
		if (m.op != KEEPER_ITEM) {	/* END; FAIL from a keeper that predates groups */
			if (fd >= 0)
				close(fd);
			if (m.op == KEEPER_END)
				return 0;
			r = -EPROTO;
			break;
		}
		if (fd >= 0 && !strcmp(m.name, "group") && *group_fd < 0)
			*group_fd = fd;
		else if (fd >= 0 && !strcmp(m.name, "table") && *table_fd < 0)
			*table_fd = fd;
		else if (fd >= 0)
			close(fd);
	}
	if (*group_fd >= 0)
		close(*group_fd);
	if (*table_fd >= 0)
		close(*table_fd);
	*group_fd = *table_fd = -1;
	return r;
}

int lw_keeper_pid(const struct lw_keeper *k)
{
	return k->pid;
}

int lw_keeper_fd(const struct lw_keeper *k)
{
	return k->fd;
}
