// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's side of the keeper's socket. See keeper.h; the keeper
 * process itself is keeper_process.c. */
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
#include "keeper_internal.h"

/* A drop is not waited for: its answer is always OK, and a release need
 * not wait on another process. Nor is a put sent with lw_keeper_send_put:
 * a refusal is remembered for lw_keeper_refused. The answers are read as
 * they come (lw_keeper_collect, from the loop), and before any other
 * request's, which is answered in order after them. At most this many wait:
 * the keeper must never block answering while the daemon blocks sending to
 * it, and a Unix datagram socket queues only net.unix.max_dgram_qlen (10)
 * messages. */
#define UNANSWERED_MAX 4
/* A keeper that knows quiet puts and drops (KEEPER_KNOWS_QUIET) answers
 * them only to refuse a put, with its name; none of the above then. Its
 * refusals may come at any time: every read of the daemon's side takes
 * them, and the daemon never waits to send without reading them, so
 * neither side can block the other for good. */

struct lw_keeper {
	int fd;
	int pid;
	bool started;	/* lw_keeper_connect found none and started this one */
	bool trimmed;	/* the keeper reads trimmed messages (its HELLO answer says so) */
	bool quiet;	/* it knows quiet puts and drops (so does its HELLO answer) */
	unsigned int unsynced;		/* quiet puts and drops sent since the last SYNC */
	unsigned int unanswered;	/* puts and drops sent, their answers not read yet */
	unsigned int oldest;		/* in waiting[], the next answer's request */
	struct {
		bool put;
		char name[PATH_MAX];	/* a put's, for lw_keeper_refused */
	} waiting[UNANSWERED_MAX];
	char refused[PATH_MAX];		/* the last put's name the keeper refused */
	bool refused_unread;		/* not yet returned by lw_keeper_refused */
};

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
		r = lw_keeper_spawn(fd, locks, count, &home);
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
	r = lw_keeper_send_count(fd, KEEPER_HELLO, NULL, -1,
				 KEEPER_HELLO_TRIMMED | KEEPER_HELLO_ITEMS | KEEPER_HELLO_QUIET);
	if (r == 0)
		r = lw_keeper_recv(fd, &m, &extra);
	if (r > 0 && extra >= 0)
		close(extra);
	if (r > 0 && m.op == KEEPER_OK) {
		k->pid = m.pid;
		k->quiet = !strcmp(m.name, KEEPER_KNOWS_QUIET);
		k->trimmed = k->quiet || !strcmp(m.name, KEEPER_READS_TRIMMED);
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
	(*out)->started = true;
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

/* A quiet put's refusal, or one answer to a request not waited for, the oldest. */
static void answered(struct lw_keeper *k, const struct keeper_msg *m)
{
	unsigned int i = k->oldest;

	if (m->op == KEEPER_REFUSED) {
		snprintf(k->refused, sizeof(k->refused), "%s", m->name);
		k->refused_unread = true;
		return;
	}
	if (!k->unanswered)
		return;	/* nothing was waiting: not ours to count */
	if (k->waiting[i].put && m->op != KEEPER_OK) {
		snprintf(k->refused, sizeof(k->refused), "%s", k->waiting[i].name);
		k->refused_unread = true;
	}
	k->oldest = (i + 1) % UNANSWERED_MAX;
	k->unanswered--;
}

/* Read the answers to requests not waited for: every one (wait), or
 * those there now: at least one message (nothing else should be there,
 * but what is must go, or the loop spins), then only while answers are
 * missing, so the usual call ends without a read that finds nothing; from
 * a quiet keeper (refusals only, rare), all there are. */
static int read_answers(struct lw_keeper *k, bool wait)
{
	struct keeper_msg m;
	bool first = !wait;
	int extra, r;

	while (k->unanswered || first || (k->quiet && !wait)) {
		first = false;
		r = wait ? lw_keeper_recv(k->fd, &m, &extra) : lw_keeper_recv_ready(k->fd, &m, &extra);
		if (extra >= 0)
			close(extra);
		if (r == -EAGAIN)
			return 0;
		if (r <= 0)
			return r ? r : -ECONNRESET;
		answered(k, &m);
	}
	return 0;
}

int lw_keeper_collect(struct lw_keeper *k)
{
	return read_answers(k, false);
}

int lw_keeper_settle(struct lw_keeper *k)
{
	unsigned int waited = k->quiet ? k->unsynced : k->unanswered;
	int r = 0;

	if (k->quiet) {
		if (waited)
			r = round_trip(k, KEEPER_SYNC, NULL, -1);
		if (r == 0)
			k->unsynced = 0;
	} else {
		r = read_answers(k, true);
	}
	return r < 0 ? r : (int)waited;
}

/* One message to a quiet keeper that may be blocked sending us refusals:
 * while its queue is full, read them, then wait for room or for more. */
static int send_reading_refusals(struct lw_keeper *k, uint32_t op, const char *name, int fd)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN | POLLOUT };
	int r;

	while ((r = lw_keeper_send_ready(k->fd, op, name, fd)) == -EAGAIN) {
		if ((r = read_answers(k, false)) < 0)
			return r;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
	return r;
}

/* Send a request once at most unread drops' answers wait before it (it is
 * answered after them, in order). name may be NULL. */
static int send_request(struct lw_keeper *k, uint32_t op, const char *name, int fd, unsigned int unread)
{
	int r;

	if (name && strlen(name) >= sizeof(((struct keeper_msg *)NULL)->name))
		return -ENAMETOOLONG;
	if (k->unanswered > unread && (r = read_answers(k, true)) < 0)
		return r;
	if (k->quiet)
		return send_reading_refusals(k, op, name, fd);
	return (k->trimmed ? lw_keeper_send_trimmed : lw_keeper_send)(k->fd, op, name, fd);
}

/* The answer to a request waited for: refusals of quiet puts before it are taken. */
static int recv_answer(struct lw_keeper *k, struct keeper_msg *m)
{
	int extra, r;

	do {
		r = lw_keeper_recv(k->fd, m, &extra);
		if (extra >= 0)
			close(extra);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		if (m->op == KEEPER_REFUSED)
			answered(k, m);
	} while (m->op == KEEPER_REFUSED);
	return 0;
}

static int round_trip(struct lw_keeper *k, uint32_t op, const char *name, int fd)
{
	struct keeper_msg m;
	int r;

	r = send_request(k, op, name, fd, 0);
	if (r < 0)
		return r;
	r = recv_answer(k, &m);
	if (r < 0)
		return r;
	return m.op == KEEPER_OK ? 0 : -EIO;
}

int lw_keeper_put(struct lw_keeper *k, const char *name, int fd)
{
	return round_trip(k, KEEPER_PUT, name, fd);
}

/* Send a request whose answer is read later (read_answers); to a quiet
 * keeper, its quiet form, not answered. */
static int send_unanswered(struct lw_keeper *k, uint32_t op, const char *name, int fd)
{
	unsigned int i = (k->oldest + k->unanswered) % UNANSWERED_MAX;
	int r;

	if (k->quiet) {
		r = send_request(k, op == KEEPER_PUT ? KEEPER_PUT_QUIET : KEEPER_DROP_QUIET, name, fd, 0);
		if (r == 0 && k->unsynced < INT_MAX)	/* settle counts them in an int */
			k->unsynced++;
		return r;
	}
	r = send_request(k, op, name, fd, UNANSWERED_MAX - 1);
	if (r < 0)
		return r;
	k->waiting[i].put = op == KEEPER_PUT;
	if (k->waiting[i].put)
		snprintf(k->waiting[i].name, sizeof(k->waiting[i].name), "%s", name);
	k->unanswered++;
	return 0;
}

int lw_keeper_send_put(struct lw_keeper *k, const char *name, int fd)
{
	return send_unanswered(k, KEEPER_PUT, name, fd);
}

const char *lw_keeper_refused(struct lw_keeper *k)
{
	if (!k->refused_unread)
		return NULL;
	k->refused_unread = false;
	return k->refused;
}

int lw_keeper_drop(struct lw_keeper *k, const char *name)
{
	return send_unanswered(k, KEEPER_DROP, name, -1);
}

int lw_keeper_list(struct lw_keeper *k, int (*fn)(const char *name, int fd, void *ctx), void *ctx)
{
	int fds[KEEPER_ITEMS_MAX], r, first_error = 0;
	struct keeper_msg m;
	unsigned int nfds;

	r = send_request(k, KEEPER_LIST, NULL, -1, 0);
	if (r < 0)
		return r;
	for (;;) {
		const char *name = m.name;

		r = lw_keeper_recv_items(k->fd, &m, fds, &nfds);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		if (m.op == KEEPER_END || (m.op != KEEPER_ITEM && m.op != KEEPER_ITEMS)) {
			for (unsigned int i = 0; i < nfds; i++)
				close(fds[i]);
			if (m.op == KEEPER_END)
				return first_error;
			if (m.op == KEEPER_REFUSED)
				answered(k, &m);
			continue;
		}
		/* an ITEM (from a keeper older than ITEMS) is one name, one or no descriptor */
		for (unsigned int i = 0; i < (m.op == KEEPER_ITEM ? 1 : nfds); i++, name += strlen(name) + 1) {
			r = fn(name, i < nfds ? fds[i] : -1, ctx);
			if (r < 0 && !first_error)
				first_error = r;
		}
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
	r = send_request(k, KEEPER_GROUP_TAKE, NULL, -1, 0);
	while (r >= 0) {
		r = lw_keeper_recv(k->fd, &m, &fd);
		if (r <= 0) {
			r = r ? r : -ECONNRESET;
			break;
		}
		if (m.op == KEEPER_REFUSED) {
			if (fd >= 0)
				close(fd);
			answered(k, &m);
			continue;
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

bool lw_keeper_started_here(const struct lw_keeper *k)
{
	return k->started;
}

int lw_keeper_fd(const struct lw_keeper *k)
{
	return k->fd;
}
