// SPDX-License-Identifier: LGPL-2.1-or-later
/* The keeper process: what it holds, how it serves a daemon, how it is
 * started (see keeper.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <search.h>
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

#include "keeper_group.h"
#include "keeper_internal.h"

/* An idle keeper (nothing held, no daemon) waits this long for one. */
#define KEEPER_IDLE_MS 10000

struct kept {
	char *name;
	int fd;
	size_t at;	/* its place in items */
};

/* The copies in an array (listed in order of arrival, give or take a
 * drop's swap) and a search tree by name: a put or a drop costs log n
 * name comparisons, not n (a linear search made filling the table and a
 * dead holder's release quadratic). */
struct keeper_store {
	struct kept **items;
	size_t count, cap;
	void *by_name;	/* tsearch(3) tree of items */
};

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const struct kept *)a)->name, ((const struct kept *)b)->name);
}

static void store_drop(struct keeper_store *s, const char *name)
{
	struct kept key = { .name = (char *)name }, **found = tfind(&key, &s->by_name, compare_names), *k;

	if (!found)
		return;
	k = *found;
	tdelete(k, &s->by_name, compare_names);
	close(k->fd);
	s->items[k->at] = s->items[--s->count];
	s->items[k->at]->at = k->at;
	free(k->name);
	free(k);
}

/* Keep fd under name, in place of a copy of the same name. */
static int store_put(struct keeper_store *s, const char *name, int fd)
{
	struct kept *k;

	store_drop(s, name);
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct kept **grown = realloc(s->items, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->items = grown;
		s->cap = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k || !(k->name = strdup(name)) || !tsearch(k, &s->by_name, compare_names)) {
		if (k)
			free(k->name);
		free(k);
		return -ENOMEM;
	}
	k->fd = fd;
	k->at = s->count;
	s->items[s->count++] = k;
	return 0;
}

/* Every copy, as many to an ITEMS as its names and KEEPER_ITEMS_MAX allow. */
static void send_items(const struct keeper_store *s, int conn)
{
	char names[sizeof(((struct keeper_msg *)NULL)->name)];
	int fds[KEEPER_ITEMS_MAX];
	unsigned int n = 0;
	size_t len = 0;

	for (size_t i = 0; i <= s->count; i++) {
		size_t room = i < s->count ? strlen(s->items[i]->name) + 1 : 0;

		if (n && (i == s->count || n == KEEPER_ITEMS_MAX || len + room > sizeof(names))) {
			lw_keeper_send_items(conn, names, len, fds, n);
			n = 0;
			len = 0;
		}
		if (i == s->count)
			break;
		memcpy(names + len, s->items[i]->name, room);
		len += room;
		fds[n++] = s->items[i]->fd;
	}
}

/* Serve one daemon connection until it closes. */
static void serve(struct keeper_store *s, int conn)
{
	struct keeper_msg m;
	/* trimmed once the daemon's HELLO says it reads them */
	int (*answer)(int, uint32_t, const char *, int) = lw_keeper_send;
	bool items = false;	/* the daemon reads ITEMS */
	int fd, r;

	while ((r = lw_keeper_recv(conn, &m, &fd)) > 0) {
		switch (m.op) {
		case KEEPER_PUT:
		case KEEPER_PUT_QUIET:
			r = fd >= 0 ? store_put(s, m.name, fd) : -EBADF;
			if (r < 0 && fd >= 0)
				close(fd);
			if (m.op == KEEPER_PUT)
				answer(conn, r < 0 ? KEEPER_FAIL : KEEPER_OK, NULL, -1);
			else if (r < 0)
				answer(conn, KEEPER_REFUSED, m.name, -1);
			break;
		case KEEPER_DROP:
		case KEEPER_DROP_QUIET:
			if (fd >= 0)
				close(fd);
			store_drop(s, m.name);
			if (m.op == KEEPER_DROP)
				answer(conn, KEEPER_OK, NULL, -1);
			break;
		case KEEPER_SYNC:
			if (fd >= 0)
				close(fd);
			answer(conn, KEEPER_OK, NULL, -1);
			break;
		case KEEPER_HELLO:
			if (fd >= 0)
				close(fd);
			answer = m.count & KEEPER_HELLO_TRIMMED ? lw_keeper_send_trimmed : lw_keeper_send;
			items = m.count & KEEPER_HELLO_ITEMS;
			/* whole: a daemon from before trimming reads only those */
			lw_keeper_send_count(conn, KEEPER_OK,
					     m.count & KEEPER_HELLO_QUIET ? KEEPER_KNOWS_QUIET : KEEPER_READS_TRIMMED,
					     -1, (uint32_t)s->count);
			break;
		case KEEPER_QUIT:
			/* replaced by a keeper that inherited every lock: ours go */
			if (fd >= 0)
				close(fd);
			answer(conn, KEEPER_OK, NULL, -1);
			_exit(0);
		case KEEPER_GROUP_PUT:
			r = fd >= 0 ? lw_keeper_group_keep(m.name, fd) : -EBADF;
			if (r < 0 && fd >= 0)
				close(fd);
			answer(conn, r < 0 ? KEEPER_FAIL : KEEPER_OK, NULL, -1);
			break;
		case KEEPER_GROUP_TAKE: {
			int group, table;

			if (fd >= 0)
				close(fd);
			lw_keeper_group_take(&group, &table);
			if (group >= 0 && table >= 0) {
				answer(conn, KEEPER_ITEM, "table", table);
				answer(conn, KEEPER_ITEM, "group", group);
			}
			answer(conn, KEEPER_END, NULL, -1);
			break;
		}
		case KEEPER_GROUP_DROP:
			if (fd >= 0)
				close(fd);
			lw_keeper_group_drop();
			answer(conn, KEEPER_OK, NULL, -1);
			break;
		case KEEPER_LIST:
			if (fd >= 0)
				close(fd);
			if (items)
				send_items(s, conn);
			else
				for (size_t i = 0; i < s->count; i++)
					answer(conn, KEEPER_ITEM, s->items[i]->name, s->items[i]->fd);
			answer(conn, KEEPER_END, NULL, -1);
			break;
		default:
			if (fd >= 0)
				close(fd);
			answer(conn, KEEPER_FAIL, NULL, -1);
		}
	}
}

/* A daemon that died between taking and dropping the fanotify enforcer's
 * probe lease on a lock (fan_lease_probe.c) left it on the open file kept
 * here: the first open of the image, this keeper's own open of its
 * fanotify event among them, would wait lease-break-time (45 s) for it.
 * Any holder of the file may drop it; EAGAIN: there was none. */
static void drop_probe_leases(const struct keeper_store *s)
{
	for (size_t i = 0; i < s->count; i++)
		fcntl(s->items[i]->fd, F_SETLEASE, F_UNLCK);
}

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
		drop_probe_leases(store);	/* before the group's events are read */
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
		keep[n++] = store->items[i]->fd;
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
int lw_keeper_spawn(int listen_fd, const struct lw_keeper_lock *locks, size_t count,
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
