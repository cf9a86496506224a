// SPDX-License-Identifier: LGPL-2.1-or-later
/* Group commit (userspace/daemon/commit.h) over the real state store and a
 * real sd-event loop: the records of several changes are written by one
 * commit; a request already readable is handled before the batch is
 * flushed; waiters hear 0 in the order they waited, or the error in the
 * reverse order; a batch whose write fails (RLIMIT_FSIZE: the kernel
 * refuses the write) leaves none of its records, and the next batch is
 * whole. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <systemd/sd-event.h>

#include "daemon/commit.h"
#include "daemon/daemon.h"
#include "daemon/lease.h"
#include "daemon/state.h"

struct fixture {
	char dir[64];
	struct lw_daemon d;
	/* what the waiters heard, in order */
	char heard[64];
	int results[8];
	unsigned int nr_heard;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_err err = { "" };

	snprintf(f->dir, sizeof(f->dir), "/dev/shm/lw-test-commit-XXXXXX");
	if (!mkdtemp(f->dir) || lw_lease_table_new(16, &f->d.leases) < 0 || sd_event_new(&f->d.event) < 0)
		return -1;
	if (lw_state_open(f->dir, f->d.leases, &f->d.state, &err) < 0 || lw_commit_setup(&f->d, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	lw_state_close(f->d.state);
	lw_lease_table_free(f->d.leases);
	sd_event_unref(f->d.event);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct lw_lease_entry *lease(struct fixture *f, const char *image, __u64 ino)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct lw_lease_holder *h;

	assert_int_equal(lw_lease_set_image(e, image), 0);
	e->key.dev = 0x803;
	e->key.ino = ino;
	e->mode = LW_LEASE_EXCLUSIVE;
	snprintf(e->backend, sizeof(e->backend), "fcntl");
	h = lw_lease_new_holder(e);
	assert_non_null(h);
	h->id.kind = LW_HOLDER_PROCESS;
	h->id.pid = 4000 + (__u32)ino;
	h->id.start_time = 1234;
	lw_lease_table_insert(f->d.leases, e);
	return e;
}

/* A waiter named by one letter. */
struct named {
	struct lw_commit_waiter w;
	struct fixture *f;
	char name;
};

static void heard(struct lw_daemon *d, void *ctx, int result, const struct lw_err *err)
{
	struct named *n = ctx;
	struct fixture *f = n->f;

	(void)d;
	assert_true(result == 0 ? err == NULL : err != NULL && err->msg[0]);
	f->heard[f->nr_heard] = n->name;
	f->results[f->nr_heard++] = result;
}

static void stage(struct fixture *f, struct lw_lease_entry *e, struct named *n, char name)
{
	struct lw_err err = { "" };

	if (lw_state_append(f->d.state, e, false, &err) < 0)
		fail_msg("expected the record of %s to queue, got: %s", e->image, err.msg);
	n->f = f;
	n->name = name;
	lw_commit_wait(&f->d, &n->w, heard, n);
}

static off_t journal_size(const struct fixture *f)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static unsigned int loaded_count(const struct fixture *f)
{
	struct lw_lease_table *t;
	struct lw_err err = { "" };
	unsigned int n;

	assert_int_equal(lw_lease_table_new(16, &t), 0);
	if (lw_state_load(f->dir, t, NULL, &err) < 0)
		fail_msg("expected the state to load, got: %s", err.msg);
	n = lw_lease_count(t);
	lw_lease_table_free(t);
	return n;
}

/* Run the loop until nothing is pending (the flush source is idle priority). */
static void run_loop(struct fixture *f)
{
	for (int i = 0; i < 16 && sd_event_run(f->d.event, 0) > 0; i++)
		;
}

static void staged_records_wait_for_one_flush_then_every_waiter_hears_in_order(void **state)
{
	struct fixture *f = *state;
	struct named n[3];
	off_t before = journal_size(f);

	stage(f, lease(f, "/images/a.raw", 1), &n[0], 'a');
	stage(f, lease(f, "/images/b.raw", 2), &n[1], 'b');
	stage(f, lease(f, "/images/c.raw", 3), &n[2], 'c');
	assert_true(lw_commit_pending(&f->d));
	/* nothing written or answered before the loop flushes */
	assert_int_equal(journal_size(f), before);
	assert_int_equal(f->nr_heard, 0);
	run_loop(f);
	assert_false(lw_commit_pending(&f->d));
	assert_int_equal(f->nr_heard, 3);
	assert_memory_equal(f->heard, "abc", 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->results[i], 0);
	if (journal_size(f) <= before)
		fail_msg("expected the journal to grow past %lld bytes, got %lld", (long long)before,
			 (long long)journal_size(f));
	assert_int_equal(loaded_count(f), 3);
}

/* A request source at the loop's default priority, ready at once. */
static int request_ready(sd_event_source *s, void *userdata)
{
	struct named *n = userdata;
	struct fixture *f = n->f;

	(void)s;
	f->heard[f->nr_heard++] = 'R';	/* handled: before the flush, or the flush came first */
	stage(f, lease(f, "/images/late.raw", 9), n, 'l');
	return 0;
}

static void a_request_already_ready_joins_the_batch_before_it_flushes(void **state)
{
	struct fixture *f = *state;
	struct named first, late = { .f = f };
	sd_event_source *req;

	stage(f, lease(f, "/images/a.raw", 1), &first, 'a');
	assert_true(sd_event_add_defer(f->d.event, &req, request_ready, &late) >= 0);
	sd_event_source_set_enabled(req, SD_EVENT_ONESHOT);
	run_loop(f);
	sd_event_source_unref(req);
	/* the request ran first, then one flush answered both */
	if (f->nr_heard != 3 || memcmp(f->heard, "Ral", 3) != 0)
		fail_msg("expected the request, then waiters a and l, got %u: %.*s", f->nr_heard, (int)f->nr_heard,
			 f->heard);
	assert_int_equal(loaded_count(f), 2);
}

/* Make the next write past the journal's size + slack fail with EFBIG. */
static struct rlimit limit_file_size(struct fixture *f, off_t slack)
{
	struct rlimit old, lim;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)(journal_size(f) + slack);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	return old;
}

static void a_failed_write_fails_every_waiter_in_reverse_and_keeps_no_record(void **state)
{
	struct fixture *f = *state;
	struct named n[3], again;
	struct lw_lease_entry *e[3];
	struct rlimit old;

	e[0] = lease(f, "/images/a.raw", 1);
	e[1] = lease(f, "/images/b.raw", 2);
	e[2] = lease(f, "/images/c.raw", 3);
	for (int i = 0; i < 3; i++)
		stage(f, e[i], &n[i], (char)('a' + i));
	old = limit_file_size(f, 16);
	run_loop(f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	if (f->nr_heard != 3 || memcmp(f->heard, "cba", 3) != 0)
		fail_msg("expected waiters c, b, a to hear the error, got %u: %.*s", f->nr_heard, (int)f->nr_heard,
			 f->heard);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->results[i], -EFBIG);
	/* nothing of the batch on disk, whatever it cut */
	assert_int_equal(loaded_count(f), 0);
	/* the waiters undo their changes; the next batch is whole */
	for (int i = 0; i < 3; i++) {
		lw_lease_table_remove(f->d.leases, e[i]);
		lw_lease_entry_free(e[i]);
	}
	f->nr_heard = 0;
	stage(f, lease(f, "/images/d.raw", 4), &again, 'd');
	run_loop(f);
	assert_int_equal(f->nr_heard, 1);
	assert_int_equal(f->results[0], 0);
	assert_int_equal(loaded_count(f), 1);
}

static void flush_without_waiters_commits_records_queued_directly(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_append(f->d.state, lease(f, "/images/a.raw", 1), false, &err), 0);
	assert_true(lw_commit_pending(&f->d));
	assert_int_equal(lw_commit_flush(&f->d, &err), 0);
	assert_false(lw_commit_pending(&f->d));
	assert_int_equal(loaded_count(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(staged_records_wait_for_one_flush_then_every_waiter_hears_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_request_already_ready_joins_the_batch_before_it_flushes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_failed_write_fails_every_waiter_in_reverse_and_keeps_no_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(flush_without_waiters_commits_records_queued_directly, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
