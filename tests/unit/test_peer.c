// SPDX-License-Identifier: LGPL-2.1-or-later
/* Who is at the other end of a connection: the process that connected,
 * never one that took its pid after it exited; and the uids of a process
 * read while a pidfd holds it, which is how a kernel without SO_PEERPIDFD
 * tells the connecting process from another user's. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/holder.h"
#include "common/live_procs.h"
#include "daemon/daemon.h"
#include "daemon/peer.h"

/* A child that sets its uids (unless ruid is -1), then says so and waits
 * until its pipe closes; or exits at once if exit_now. */
struct child {
	pid_t pid;
	int tell;	/* our end of the pipe it waits on */
};

static struct child spawn(uid_t ruid, uid_t euid, bool exit_now)
{
	int go[2], ready[2];
	struct child c;
	char b = 0;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		close(go[1]);
		close(ready[0]);
		if (exit_now)
			_exit(0);
		if (ruid != (uid_t)-1 && setresuid(ruid, euid, euid) < 0)
			_exit(1);
		if (write(ready[1], &b, 1) != 1)
			_exit(1);
		while (read(go[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (!exit_now)
		assert_int_equal(read(ready[0], &b, 1), 1);	/* its uids are set */
	close(ready[0]);
	c.tell = go[1];
	return c;
}

static void end(struct child *c)
{
	close(c->tell);
	assert_int_equal(waitpid(c->pid, NULL, 0), c->pid);
}

static int pidfd_of(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	assert_true(pidfd >= 0);
	return pidfd;
}

static void require_root(void)
{
	if (geteuid() != 0)
		fail_msg("setresuid to other uids needs root: run the unit tests as root (make check does)");
}

/* A child that took real uid ruid and effective uid euid reads as such. */
static void uids_read_back(uid_t ruid, uid_t euid)
{
	struct child c;
	uid_t r = 0, e = 0;
	int pidfd;

	require_root();
	c = spawn(ruid, euid, false);
	pidfd = pidfd_of(c.pid);
	assert_int_equal(lw_pidfd_uids(pidfd, c.pid, &r, &e), 0);
	assert_int_equal(r, ruid);
	assert_int_equal(e, euid);
	end(&c);
	close(pidfd);
}

static void uids_of_a_process_that_changed_uid_are_its_new_ones(void **state)
{
	(void)state;
	uids_read_back(65534, 65534);
}

static void uids_tell_the_real_from_the_effective(void **state)
{
	(void)state;
	uids_read_back(65533, 65534);
}

/* Exited, not yet waited for: /proc still shows it, the pidfd says it is gone. */
static void uids_of_an_exited_process_are_refused(void **state)
{
	struct child c = spawn((uid_t)-1, 0, true);
	struct pollfd p;
	uid_t ruid, euid;
	int pidfd;

	(void)state;
	pidfd = pidfd_of(c.pid);
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 10000), 1);	/* it has exited */
	assert_int_equal(lw_pidfd_uids(pidfd, c.pid, &ruid, &euid), -ESRCH);
	end(&c);
	close(pidfd);
}

/* A listening socket in a folder of its own. */
struct listener {
	char dir[64];
	struct sockaddr_un addr;
	int fd;
};

static void listen_on(struct listener *l)
{
	strcpy(l->dir, "/tmp/lw-test-peer.XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	l->addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(l->addr.sun_path, sizeof(l->addr.sun_path), "%s/sock", l->dir);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)), 0);
	assert_int_equal(listen(l->fd, 4), 0);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	unlink(l->addr.sun_path);
	rmdir(l->dir);
}

/* A child that connects, then waits until its pipe closes (or exits at
 * once, exit_now); its connection waits in the backlog until accepted. */
static struct child connect_from_child(const struct listener *l, bool exit_now)
{
	int go[2], ready[2];
	struct child c;
	char b = 0;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		close(go[1]);
		close(ready[0]);
		if (fd < 0 || connect(fd, (const struct sockaddr *)&l->addr, sizeof(l->addr)) < 0)
			_exit(1);
		if (write(ready[1], &b, 1) != 1 || exit_now)
			_exit(0);
		while (read(go[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);	/* it has connected */
	close(ready[0]);
	c.tell = go[1];
	return c;
}

static void a_live_connecting_process_is_identified(void **state)
{
	struct lw_daemon d = { 0 };
	struct lw_peer peer;
	struct listener l;
	struct child c;
	uint64_t start;
	int fd;

	(void)state;
	listen_on(&l);
	c = connect_from_child(&l, false);
	fd = accept4(l.fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lw_peer_identify(&d, fd, &peer), 0);
	assert_int_equal(peer.pid, c.pid);
	assert_int_equal(peer.uid, geteuid());
	assert_int_equal(lw_proc_stat(c.pid, &start, NULL, 0), 0);
	assert_true(peer.start_time == start);
	assert_true(lw_peer_alive(&peer));
	end(&c);
	assert_false(lw_peer_alive(&peer));	/* its pidfd is of that very process */
	close(peer.pidfd);
	close(fd);
	listener_close(&l);
	lw_live_procs_forget();
}

/* Exited and waited for before the accept: its pid is free for any
 * process to take, so the connection has no one to act for. */
static void a_connecting_process_that_exited_before_the_accept_is_refused(void **state)
{
	struct lw_daemon d = { 0 };
	struct lw_peer peer;
	struct listener l;
	struct child c;
	int fd;

	(void)state;
	listen_on(&l);
	c = connect_from_child(&l, true);
	end(&c);
	fd = accept4(l.fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lw_peer_identify(&d, fd, &peer), -ESRCH);
	assert_int_equal(peer.pidfd, -1);
	close(fd);
	listener_close(&l);
	lw_live_procs_forget();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uids_of_a_process_that_changed_uid_are_its_new_ones),
		cmocka_unit_test(uids_tell_the_real_from_the_effective),
		cmocka_unit_test(uids_of_an_exited_process_are_refused),
		cmocka_unit_test(a_live_connecting_process_is_identified),
		cmocka_unit_test(a_connecting_process_that_exited_before_the_accept_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
