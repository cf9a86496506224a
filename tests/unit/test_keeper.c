// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's side of the keeper (userspace/daemon/keeper.c) against a real
 * keeper process: drops, and puts sent with lw_keeper_send_put, go without
 * waiting. A keeper of this build answers them only to refuse a put (quiet
 * puts and drops), a refusal that may come at any time; one from before
 * answers each, in order before any other request's. A refused put is
 * named, and neither side ever blocks the other for good. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/keeper.h"
#include "daemon/keeper_internal.h"

struct fixture {
	char dir[64];
	struct lw_keeper *k;
	char names[64][96];	/* what the keeper listed, in order */
	int listed;
	int pid;	/* the keeper's */
};

/* The keeper of the test under way: a test that deadlocks is ended by
 * alarm(2), and its keeper, which holds locks and waits for a daemon as a
 * real one does, must not outlive it. */
static volatile pid_t keeper_under_test;

static void on_deadlock(int sig)
{
	static const char msg[] = "test_keeper: a test deadlocked (60 s)\n";

	(void)sig;
	if (keeper_under_test > 0)
		kill(keeper_under_test, SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_err why;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-keeper-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(lw_keeper_connect(f->dir, &f->k, &why), 0);
	f->pid = lw_keeper_pid(f->k);
	keeper_under_test = f->pid;
	/* a test that deadlocks fails here instead of hanging the suite */
	signal(SIGALRM, on_deadlock);
	alarm(60);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	alarm(0);
	keeper_under_test = 0;
	lw_keeper_close(f->k);
	kill(f->pid, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int note_listed(const char *name, int fd, void *ctx)
{
	struct fixture *f = ctx;

	if (fd >= 0)
		close(fd);
	if (f->listed < 64)
		snprintf(f->names[f->listed++], sizeof(f->names[0]), "%s", name);
	return 0;
}

/* put: lw_keeper_put (answered) or lw_keeper_send_put (not waited for) */
static void put_with(struct fixture *f, const char *name, int (*put)(struct lw_keeper *, const char *, int))
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(put(f->k, name, fd), 0);
	close(fd);
}

static void put_name(struct fixture *f, const char *name)
{
	put_with(f, name, lw_keeper_put);
}

static void send_put_name(struct fixture *f, const char *name)
{
	put_with(f, name, lw_keeper_send_put);
}

static void list(struct fixture *f)
{
	f->listed = 0;
	assert_int_equal(lw_keeper_list(f->k, note_listed, f), 0);
}

/* A put after drops is answered as a put: the drops' answers were read first. */
static void drops_are_done_before_a_later_request(void **state)
{
	struct fixture *f = *state;

	put_name(f, "a");
	put_name(f, "b");
	assert_int_equal(lw_keeper_drop(f->k, "a"), 0);
	assert_int_equal(lw_keeper_drop(f->k, "b"), 0);
	put_name(f, "c");
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "c");
}

/* Far more drops in a row than a Unix datagram socket queues (10): the
 * daemon reads answers as it goes, so neither side blocks for good. */
static void two_hundred_drops_in_a_row_do_not_block(void **state)
{
	struct fixture *f = *state;
	char name[32];

	put_name(f, "kept");
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "gone-%d", i);
		put_name(f, name);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "gone-%d", i);
		assert_int_equal(lw_keeper_drop(f->k, name), 0);
	}
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "kept");
}

/* What the loop does when the connection turns readable (a refusal, the
 * only message a quiet keeper sends unasked): read what is there, without
 * waiting, and leave the connection clean for the next one. Puts and drops
 * the keeper took leave it silent. */
static void collect_reads_what_came(void **state)
{
	struct fixture *f = *state;
	struct pollfd p = { .fd = lw_keeper_fd(f->k), .events = POLLIN };

	put_name(f, "a");
	send_put_name(f, "b");
	assert_int_equal(lw_keeper_drop(f->k, "a"), 0);
	assert_int_equal(lw_keeper_settle(f->k), 2);	/* the put of b and the drop, not answered */
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(lw_keeper_send_put(f->k, "refused", -1), 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(lw_keeper_collect(f->k), 0);
	assert_string_equal(lw_keeper_refused(f->k), "refused");
	/* nothing left to read: another collect returns at once */
	assert_int_equal(lw_keeper_collect(f->k), 0);
	assert_int_equal(poll(&p, 1, 0), 0);
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "b");
}

/* Refusals faster than anyone reads them: the keeper blocks sending them
 * once the daemon's queue is full, and the daemon, whose sends then find
 * the keeper's queue full, reads them meanwhile. */
static void refusals_in_a_burst_never_block_the_daemon(void **state)
{
	struct fixture *f = *state;
	char name[32];

	put_name(f, "kept");
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "refused-%d", i);
		assert_int_equal(lw_keeper_send_put(f->k, name, -1), 0);
	}
	assert_int_equal(lw_keeper_settle(f->k), 2000);
	assert_string_equal(lw_keeper_refused(f->k), "refused-1999");
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "kept");
}

/* Puts not waited for, mixed with drops, 100 of each: the keeper holds
 * what a waited-for sequence would leave, and refused nothing. */
static void unanswered_puts_are_kept_in_order(void **state)
{
	struct fixture *f = *state;
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "gone-%d", i);
		send_put_name(f, name);
		send_put_name(f, i % 2 ? "odd" : "even");
		assert_int_equal(lw_keeper_drop(f->k, name), 0);
	}
	list(f);
	assert_null(lw_keeper_refused(f->k));
	assert_int_equal(f->listed, 2);
	assert_true((!strcmp(f->names[0], "odd") && !strcmp(f->names[1], "even")) ||
		    (!strcmp(f->names[0], "even") && !strcmp(f->names[1], "odd")));
}

/* A put the keeper refuses (here: no descriptor came with it) is named
 * once its answer is read, once, and the puts around it are kept. */
static void a_refused_put_is_named_once(void **state)
{
	struct fixture *f = *state;
	struct pollfd p = { .fd = lw_keeper_fd(f->k), .events = POLLIN };
	const char *refused = NULL;

	send_put_name(f, "before");
	assert_int_equal(lw_keeper_send_put(f->k, "refused", -1), 0);
	send_put_name(f, "after");
	assert_null(lw_keeper_refused(f->k));	/* no answer read yet */
	/* the answers, however late a loaded host lets them come */
	for (int i = 0; i < 100 && !refused; i++) {
		if (poll(&p, 1, 100) == 1)
			assert_int_equal(lw_keeper_collect(f->k), 0);
		refused = lw_keeper_refused(f->k);
	}
	if (!refused)
		fail_msg("the keeper's refusal of the put never came");
	assert_string_equal(refused, "refused");
	assert_null(lw_keeper_refused(f->k));
	list(f);
	assert_int_equal(f->listed, 2);
}

/* A dead keeper: the drop or the next request says so. */
static void a_dead_keeper_is_reported(void **state)
{
	struct fixture *f = *state;
	int pid = lw_keeper_pid(f->k), r;

	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(10000);
	r = lw_keeper_drop(f->k, "a");
	if (r == 0)
		r = lw_keeper_put(f->k, "b", 0);
	assert_true(r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN || r == -ECONNREFUSED);
}

/* Locks of files of their own, to tell each listed descriptor's file. */
#define MANY_LOCKS 500

struct many {
	char names[MANY_LOCKS][192];
	ino_t inos[MANY_LOCKS];
	int seen[MANY_LOCKS];
	int wrong;	/* listed with no descriptor, or another's, or unknown */
};

static int note_many(const char *name, int fd, void *ctx)
{
	struct many *m = ctx;
	struct stat st;
	int i;

	for (i = 0; i < MANY_LOCKS && strcmp(m->names[i], name); i++)
		;
	if (i == MANY_LOCKS || fd < 0 || fstat(fd, &st) || st.st_ino != m->inos[i])
		m->wrong++;
	else
		m->seen[i]++;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The first 300 names are long (a message holds some 30 of them), the
 * rest short (KEEPER_ITEMS_MAX of them fit). */
static void put_many(struct fixture *f, struct many *m)
{
	for (int i = 0; i < MANY_LOCKS; i++) {
		struct stat st;
		int fd;

		snprintf(m->names[i], sizeof(m->names[i]), i < 300 ? "%s/image-%04d-%0120d" : "%s/s%d", f->dir, i, 0);
		fd = open(m->names[i], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		m->inos[i] = st.st_ino;
		assert_int_equal(lw_keeper_send_put(f->k, m->names[i], fd), 0);
		close(fd);
	}
}

/* A LIST of many locks comes back in ITEMS: each name once, with a
 * descriptor of its own file. */
static void many_locks_are_listed_each_with_its_descriptor(void **state)
{
	struct fixture *f = *state;
	struct many *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	put_many(f, m);
	assert_int_equal(lw_keeper_list(f->k, note_many, m), 0);
	assert_int_equal(m->wrong, 0);
	for (int i = 0; i < MANY_LOCKS; i++)
		assert_int_equal(m->seen[i], 1);
	free(m);
}

/* A connection of the test's own in place of the library's (the keeper
 * serves one daemon at a time), its HELLO saying flags; *answer gets the
 * keeper's OK to it, whole. */
static int raw_hello(struct fixture *f, uint32_t flags, struct keeper_msg *answer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock;

	lw_keeper_close(f->k);
	f->k = NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/keeper.sock", f->dir);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(lw_keeper_send_count(sock, KEEPER_HELLO, NULL, -1, flags), 0);
	assert_int_equal(recv(sock, answer, sizeof(*answer), 0), (ssize_t)sizeof(*answer));
	assert_int_equal(answer->op, KEEPER_OK);
	return sock;
}

/* The library's connection back. */
static void raw_bye(struct fixture *f, int sock)
{
	struct lw_err why;

	close(sock);
	assert_int_equal(lw_keeper_connect(f->dir, &f->k, &why), 0);
}

/* LIST over a connection of its own, HELLO saying flags: how many
 * messages brought the locks, each noted in m. */
static int raw_list(struct fixture *f, uint32_t flags, struct many *m)
{
	int fds[KEEPER_ITEMS_MAX], messages = 0;
	struct keeper_msg msg;
	int sock = raw_hello(f, flags, &msg);
	unsigned int nfds;

	assert_int_equal(lw_keeper_send(sock, KEEPER_LIST, NULL, -1), 0);
	while (lw_keeper_recv_items(sock, &msg, fds, &nfds) == 1 && msg.op != KEEPER_END) {
		const char *name = msg.name;

		assert_int_equal(msg.op, flags & KEEPER_HELLO_ITEMS ? KEEPER_ITEMS : KEEPER_ITEM);
		assert_int_equal(nfds, msg.op == KEEPER_ITEM ? 1 : msg.count);
		for (unsigned int i = 0; i < nfds; i++, name += strlen(name) + 1)
			note_many(name, fds[i], m);
		messages++;
	}
	assert_int_equal(msg.op, KEEPER_END);
	raw_bye(f, sock);
	return messages;
}

/* A daemon that asks for ITEMS gets many locks a message; one from before
 * ITEMS (its HELLO does not ask) one ITEM a lock, as before. */
static void items_only_for_a_daemon_that_asks(void **state)
{
	struct fixture *f = *state;
	struct many *m = calloc(1, sizeof(*m));
	int messages;

	assert_non_null(m);
	put_many(f, m);
	assert_true(lw_keeper_settle(f->k) >= 0);	/* every put answered */
	messages = raw_list(f, KEEPER_HELLO_TRIMMED | KEEPER_HELLO_ITEMS, m);
	print_message("%d locks in %d ITEMS\n", MANY_LOCKS, messages);
	/* 300 long names at about 30 a message, 200 short at KEEPER_ITEMS_MAX */
	assert_in_range(messages, 300 / 31 + 200 / KEEPER_ITEMS_MAX, 300 / 25 + 200 / KEEPER_ITEMS_MAX + 2);
	assert_int_equal(raw_list(f, KEEPER_HELLO_TRIMMED, m), MANY_LOCKS);
	assert_int_equal(m->wrong, 0);
	for (int i = 0; i < MANY_LOCKS; i++)
		assert_int_equal(m->seen[i], 2);
	free(m);
}

/* Over a connection of its own, HELLO saying flags: the length of the
 * keeper's answer to a put, as a daemon from before trimming sends it
 * (whole). The HELLO answer's name must say the keeper reads trimmed. */
static ssize_t raw_put_answer_length(struct fixture *f, uint32_t flags)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct keeper_msg msg;
	int sock = raw_hello(f, flags, &msg);
	ssize_t n;

	assert_string_equal(msg.name, KEEPER_READS_TRIMMED);
	assert_int_equal(lw_keeper_send(sock, KEEPER_PUT, "/images/raw-put", fd), 0);
	close(fd);
	n = recv(sock, &msg, sizeof(msg), 0);
	assert_int_equal(msg.op, KEEPER_OK);
	raw_bye(f, sock);
	return n;
}

/* A daemon that reads trimmed answers gets them (a few bytes, not 4 KiB);
 * one from before gets whole ones. The library's own trimmed puts keep
 * their names whole. */
static void answers_are_trimmed_only_for_a_daemon_that_reads_them(void **state)
{
	struct fixture *f = *state;

	/* a lock held: a keeper holding none exits when its daemon goes */
	put_name(f, "/images/trimmed-put-of-a-longer-name.qcow2");
	assert_int_equal(raw_put_answer_length(f, 0), (ssize_t)sizeof(struct keeper_msg));
	assert_int_equal(raw_put_answer_length(f, KEEPER_HELLO_TRIMMED),
			 (ssize_t)offsetof(struct keeper_msg, name) + 1);
	list(f);
	assert_int_equal(f->listed, 2);
	assert_string_equal(f->names[0], "/images/trimmed-put-of-a-longer-name.qcow2");
	assert_string_equal(f->names[1], "/images/raw-put");
}

/* A daemon whose HELLO asks for quiet puts and drops is told the keeper
 * knows them: a put taken and a drop are not answered, a refused put is,
 * with its name, and a SYNC after them all. */
static void puts_and_drops_are_quiet_for_a_daemon_that_asks(void **state)
{
	struct fixture *f = *state;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), sock, extra;
	struct keeper_msg msg;
	struct pollfd p;

	put_name(f, "/images/held");	/* a keeper holding none exits when its daemon goes */
	sock = raw_hello(f, KEEPER_HELLO_TRIMMED | KEEPER_HELLO_QUIET, &msg);
	assert_string_equal(msg.name, KEEPER_KNOWS_QUIET);
	assert_int_equal(lw_keeper_send_trimmed(sock, KEEPER_PUT_QUIET, "/images/quiet", fd), 0);
	close(fd);
	assert_int_equal(lw_keeper_send_trimmed(sock, KEEPER_PUT_QUIET, "/images/refused", -1), 0);
	assert_int_equal(lw_keeper_send_trimmed(sock, KEEPER_DROP_QUIET, "/images/held", -1), 0);
	assert_int_equal(lw_keeper_send_trimmed(sock, KEEPER_SYNC, NULL, -1), 0);
	assert_int_equal(lw_keeper_recv(sock, &msg, &extra), 1);
	assert_int_equal(msg.op, KEEPER_REFUSED);
	assert_string_equal(msg.name, "/images/refused");
	assert_int_equal(lw_keeper_recv(sock, &msg, &extra), 1);
	assert_int_equal(msg.op, KEEPER_OK);
	p = (struct pollfd){ .fd = sock, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	raw_bye(f, sock);
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "/images/quiet");
}

/* A keeper from before quiet puts and drops, still running under a daemon
 * of this build (it survives upgrades): it answers each put and drop, OK
 * or FAIL, in order, as it always did; and the daemon reads them so. */
struct old_keeper {
	char dir[64];
	int listen_fd;
	pthread_t thread;
	unsigned int puts, drops;
};

static void *old_keeper_serve(void *arg)
{
	struct old_keeper *o = arg;
	int conn = accept4(o->listen_fd, NULL, NULL, SOCK_CLOEXEC), fd;
	struct keeper_msg m;

	while (conn >= 0 && lw_keeper_recv(conn, &m, &fd) > 0) {
		if (m.op == KEEPER_HELLO)
			lw_keeper_send_count(conn, KEEPER_OK, KEEPER_READS_TRIMMED, -1, 0);
		else if (m.op == KEEPER_PUT)
			o->puts++, lw_keeper_send_trimmed(conn, fd >= 0 ? KEEPER_OK : KEEPER_FAIL, NULL, -1);
		else if (m.op == KEEPER_DROP)
			o->drops++, lw_keeper_send_trimmed(conn, KEEPER_OK, NULL, -1);
		else
			lw_keeper_send_trimmed(conn, KEEPER_FAIL, NULL, -1);	/* quiet ops unknown */
		if (fd >= 0)
			close(fd);
	}
	if (conn >= 0)
		close(conn);
	return NULL;
}

static void a_keeper_from_before_quiet_puts_gets_answered_ones(void **state)
{
	struct old_keeper o = { .dir = "/tmp/lw-test-keeper-old-XXXXXX" };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lw_keeper *k;
	struct lw_err why;
	struct pollfd p;
	const char *refused = NULL;
	char name[32], cmd[128];
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(mkdtemp(o.dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", o.dir, LW_KEEPER_SOCKET);
	o.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(o.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(o.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&o.thread, NULL, old_keeper_serve, &o), 0);
	signal(SIGALRM, on_deadlock);
	alarm(60);

	assert_int_equal(lw_keeper_connect(o.dir, &k, &why), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "gone-%d", i);
		assert_int_equal(lw_keeper_send_put(k, name, fd), 0);
		assert_int_equal(lw_keeper_drop(k, name), 0);
	}
	assert_int_equal(lw_keeper_send_put(k, "refused", -1), 0);
	p = (struct pollfd){ .fd = lw_keeper_fd(k), .events = POLLIN };
	for (int i = 0; i < 100 && !refused; i++) {
		if (poll(&p, 1, 100) == 1)
			assert_int_equal(lw_keeper_collect(k), 0);
		refused = lw_keeper_refused(k);
	}
	if (!refused)
		fail_msg("the old keeper's FAIL to the put was never read as a refusal");
	assert_string_equal(refused, "refused");
	assert_int_equal(lw_keeper_put(k, "waited", fd), 0);
	assert_true(lw_keeper_settle(k) >= 0);
	assert_int_equal(o.puts, 102);
	assert_int_equal(o.drops, 100);

	alarm(0);
	close(fd);
	lw_keeper_close(k);
	pthread_join(o.thread, NULL);
	close(o.listen_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", o.dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(drops_are_done_before_a_later_request, setup, teardown),
		cmocka_unit_test_setup_teardown(two_hundred_drops_in_a_row_do_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(collect_reads_what_came, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_in_a_burst_never_block_the_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(a_dead_keeper_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(unanswered_puts_are_kept_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(a_refused_put_is_named_once, setup, teardown),
		cmocka_unit_test_setup_teardown(many_locks_are_listed_each_with_its_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(items_only_for_a_daemon_that_asks, setup, teardown),
		cmocka_unit_test_setup_teardown(puts_and_drops_are_quiet_for_a_daemon_that_asks, setup, teardown),
		cmocka_unit_test(a_keeper_from_before_quiet_puts_gets_answered_ones),
		cmocka_unit_test_setup_teardown(answers_are_trimmed_only_for_a_daemon_that_reads_them, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
