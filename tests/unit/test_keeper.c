// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's side of the keeper (userspace/daemon/keeper.c) against a real
 * keeper process: drops, and puts sent with lw_keeper_send_put, go without
 * waiting for their answers, which must be read in order before any other
 * request's (a refused put named), and never so many may wait that the
 * keeper blocks answering while the daemon blocks sending. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/keeper.h"

struct fixture {
	char dir[64];
	struct lw_keeper *k;
	char names[64][96];	/* what the keeper listed, in order */
	int listed;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_err why;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-keeper-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(lw_keeper_connect(f->dir, &f->k, &why), 0);
	/* a test that deadlocks fails here instead of hanging the suite */
	alarm(60);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	int pid = lw_keeper_pid(f->k);

	alarm(0);
	lw_keeper_close(f->k);
	kill(pid, SIGKILL);
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

/* What the loop does when the connection turns readable: read the answers
 * there, without waiting, and leave the connection clean for the next one. */
static void collect_reads_the_answers_that_came(void **state)
{
	struct fixture *f = *state;
	struct pollfd p = { .fd = lw_keeper_fd(f->k), .events = POLLIN };

	put_name(f, "a");
	assert_int_equal(lw_keeper_drop(f->k, "a"), 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(lw_keeper_collect(f->k), 0);
	/* nothing left to read: another collect returns at once */
	assert_int_equal(lw_keeper_collect(f->k), 0);
	assert_int_equal(poll(&p, 1, 0), 0);
	put_name(f, "b");
	list(f);
	assert_int_equal(f->listed, 1);
	assert_string_equal(f->names[0], "b");
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

	send_put_name(f, "before");
	assert_int_equal(lw_keeper_send_put(f->k, "refused", -1), 0);
	send_put_name(f, "after");
	assert_null(lw_keeper_refused(f->k));	/* no answer read yet */
	while (poll(&p, 1, 200) == 1)
		assert_int_equal(lw_keeper_collect(f->k), 0);
	assert_string_equal(lw_keeper_refused(f->k), "refused");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(drops_are_done_before_a_later_request, setup, teardown),
		cmocka_unit_test_setup_teardown(two_hundred_drops_in_a_row_do_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(collect_reads_the_answers_that_came, setup, teardown),
		cmocka_unit_test_setup_teardown(a_dead_keeper_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(unanswered_puts_are_kept_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(a_refused_put_is_named_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
