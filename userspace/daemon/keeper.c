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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper.h"

enum keeper_op {
	KEEPER_PUT = 1,		/* daemon -> keeper, with a descriptor */
	KEEPER_DROP,		/* daemon -> keeper */
	KEEPER_LIST,		/* daemon -> keeper; answered by ITEMs then END */
	KEEPER_ITEM,		/* keeper -> daemon, with a descriptor */
	KEEPER_END,
	KEEPER_OK,
	KEEPER_FAIL,
};

struct keeper_msg {
	uint32_t op;
	int32_t pid;		/* OK to a LIST-less hello: the keeper's pid */
	char name[PATH_MAX];
};

struct lw_keeper {
	int fd;
	int pid;
};

/* An idle keeper (nothing held, no daemon) waits this long for one. */
#define KEEPER_IDLE_MS 10000

/* ---- messages ----------------------------------------------------------- */

static int send_msg(int sock, uint32_t op, const char *name, int fd)
{
	struct keeper_msg m = { .op = op, .pid = getpid() };
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

static void keeper_main(int listen_fd)
{
	struct keeper_store store = { 0 };
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

		if (poll(&p, 1, store.count ? -1 : KEEPER_IDLE_MS) == 0)
			_exit(0);	/* nothing held and no daemon came */
		conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		serve(&store, conn);
		close(conn);
		if (store.count == 0)
			_exit(0);
	}
}

/* Double fork: the keeper is nobody's child and in its own session. */
static int spawn(int listen_fd)
{
	pid_t pid = fork(), inner;
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setsid();
		inner = fork();
		if (inner != 0)
			_exit(inner < 0 ? 1 : 0);
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		if (dup2(listen_fd, 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		if (chdir("/") < 0)
			_exit(1);
		keeper_main(3);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	return 0;
}

/* ---- the daemon's side -------------------------------------------------- */

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

static int start_keeper(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	unlink(sa->sun_path);	/* a stale socket: nobody answered on it */
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 4) < 0)
		r = -errno;
	else
		r = spawn(fd);
	close(fd);
	return r;
}

int lw_keeper_connect(const char *state_dir, struct lw_keeper **out, char *err, size_t err_size)
{
	struct sockaddr_un sa;
	struct keeper_msg m;
	struct lw_keeper *k;
	int fd, r, extra;

	r = socket_address(state_dir, &sa);
	if (r < 0) {
		snprintf(err, err_size, "keeper: socket path under %s too long", state_dir);
		return r;
	}
	fd = try_connect(&sa);
	if (fd < 0) {
		r = start_keeper(&sa);
		if (r < 0) {
			snprintf(err, err_size, "keeper: cannot start at %s: %s", sa.sun_path, strerror(-r));
			return r;
		}
		fd = try_connect(&sa);
	}
	if (fd < 0) {
		snprintf(err, err_size, "keeper: cannot connect to %s: %s", sa.sun_path, strerror(-fd));
		return fd;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->fd = fd;
	/* an empty LIST round trip proves it answers and gives its pid */
	r = send_msg(fd, KEEPER_LIST, NULL, -1);
	while (r == 0) {
		r = recv_msg(fd, &m, &extra);
		if (extra >= 0)
			close(extra);
		if (r <= 0) {
			r = r ? r : -ECONNRESET;
			break;
		}
		if (m.op == KEEPER_END) {
			k->pid = m.pid;
			*out = k;
			return 0;
		}
		r = 0;
	}
	snprintf(err, err_size, "keeper: %s does not answer: %s", sa.sun_path, strerror(-r));
	lw_keeper_close(k);
	return r;
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

int lw_keeper_pid(const struct lw_keeper *k)
{
	return k->pid;
}
