// SPDX-License-Identifier: LGPL-2.1-or-later
/* looking_up.c: users' path lookups run in threads and are answered from
 * the loop; beyond the per-uid limit they wait their turn; a cancelled one
 * is never answered and its memory is the loop's to free once its thread
 * ends. (A lookup that never ends: tests/host/unresponsive_lookup.sh.)
 * Must run as root: the threads take uid 65534's identity. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/looking_up.h"

#define USER 65534

static const struct lw_image_caller user = { .pid = 0, .uid = USER, .gid = USER, .privileged = false };

struct fixture {
	struct lw_config cfg;
	struct lw_daemon d;
	char dir[64];
	char path[128];
};

/* what found was told, for one lookup */
struct answer {
	bool called;
	int err;
	int fd;
	struct json_object *error;
};

static void found(void *ctx, struct lw_image_lookup *l, struct json_object *error)
{
	struct answer *a = ctx;

	a->called = true;
	a->err = l ? l->err : 0;
	a->fd = l ? l->fd : -1;
	if (l)
		l->fd = -1;	/* taken */
	a->error = error;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "test_looking_up: must run as root (it looks paths up as uid %d)\n", USER);
		return -1;
	}
	lw_config_defaults(&f->cfg);
	f->d.cfg = &f->cfg;
	if (sd_event_new(&f->d.event) < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-lookup-XXXXXX");
	if (!mkdtemp(f->dir) || chmod(f->dir, 0755) < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/own.img", f->dir);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || fchown(fd, USER, USER) < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	sd_event_unref(f->d.event);
	free(f);
	return 0;
}

/* run the loop until every lookup has ended (at most about 5 s) */
static void run_until_all_ended(struct fixture *f)
{
	for (int i = 0; i < 500 && !LIST_EMPTY(&f->d.looking_up); i++)
		sd_event_run(f->d.event, 10000);
	assert_true(LIST_EMPTY(&f->d.looking_up));
	assert_int_equal(f->d.nr_looking_up, 0);
}

static void users_lookup_is_answered_from_the_loop(void **state)
{
	struct fixture *f = *state;
	struct json_object *error = NULL;
	struct answer a = { 0 };
	struct stat st, want;

	assert_non_null(lw_looking_up_start(&f->d, f->path, &user, found, &a, &error));
	assert_false(a.called);	/* never from within start */
	run_until_all_ended(f);
	assert_true(a.called);
	assert_null(a.error);
	assert_int_equal(a.err, 0);
	assert_int_equal(fcntl(a.fd, F_GETFL) & O_PATH, O_PATH);
	assert_int_equal(fstat(a.fd, &st), 0);
	assert_int_equal(stat(f->path, &want), 0);
	assert_true(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
	close(a.fd);
}

static void lookups_beyond_the_uids_limit_wait_their_turn(void **state)
{
	struct fixture *f = *state;
	struct answer a[LW_LOOKUPS_PER_UID + 3] = { 0 };
	struct json_object *error = NULL;
	unsigned int n = sizeof(a) / sizeof(a[0]);

	for (unsigned int i = 0; i < n; i++)
		assert_non_null(lw_looking_up_start(&f->d, f->path, &user, found, &a[i], &error));
	assert_int_equal(f->d.nr_looking_up, LW_LOOKUPS_PER_UID);	/* the rest wait */
	run_until_all_ended(f);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(a[i].called);
		assert_null(a[i].error);
		assert_int_equal(a[i].err, 0);
		close(a[i].fd);
	}
}

static void missing_file_is_answered_with_the_lookups_error(void **state)
{
	struct fixture *f = *state;
	struct json_object *error = NULL;
	struct answer a = { 0 };
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/missing.img", f->dir);
	assert_non_null(lw_looking_up_start(&f->d, missing, &user, found, &a, &error));
	run_until_all_ended(f);
	assert_true(a.called);
	assert_int_equal(a.err, -ENOENT);
	assert_int_equal(a.fd, -1);
}

static void cancelled_lookups_are_never_answered(void **state)
{
	struct fixture *f = *state;
	struct lw_looking_up *j[LW_LOOKUPS_PER_UID + 1];
	struct answer a[LW_LOOKUPS_PER_UID + 1] = { 0 };
	struct json_object *error = NULL;
	unsigned int n = sizeof(a) / sizeof(a[0]);

	/* the running ones end on their own, the waiting one is freed at once */
	for (unsigned int i = 0; i < n; i++)
		assert_non_null(j[i] = lw_looking_up_start(&f->d, f->path, &user, found, &a[i], &error));
	for (unsigned int i = 0; i < n; i++)
		lw_looking_up_cancel(j[i]);
	run_until_all_ended(f);
	for (unsigned int i = 0; i < n; i++)
		assert_false(a[i].called);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(users_lookup_is_answered_from_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(lookups_beyond_the_uids_limit_wait_their_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_file_is_answered_with_the_lookups_error, setup, teardown),
		cmocka_unit_test_setup_teardown(cancelled_lookups_are_never_answered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
