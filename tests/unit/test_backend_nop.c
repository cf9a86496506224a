// SPDX-License-Identifier: LGPL-2.1-or-later
/* The nop backend: local only, every acquire succeeds at once, nothing to keep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"

static const struct lw_backend_request image_a = { .image = "/images/a.qcow2", .image_fd = -1 };

static struct lw_backend *open_nop(void)
{
	struct lw_backend *be = NULL;
	struct lw_err err = { { 0 } };

	if (lw_backend_open("nop", NULL, &be, &err) < 0)
		fail_msg("expected nop to open, got: %s", err.msg);
	return be;
}

static void backends_of_this_build_exist_by_name(void **state)
{
	(void)state;
	assert_true(lw_backend_exists("nop"));
	assert_true(lw_backend_exists("fcntl"));
	assert_false(lw_backend_exists("no-such-backend"));
}

static void nop_acquire_answers_at_once_with_nothing_to_keep(void **state)
{
	struct lw_backend *be = open_nop();
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;

	(void)state;
	assert_string_equal(lw_backend_name(be), "nop");
	assert_int_equal(lw_backend_acquire(be, &image_a, NULL, NULL, &lock, &pending, NULL), 0);
	assert_non_null(lock);
	assert_null(pending);
	assert_int_equal(lw_backend_lock_keep_fd(lock), -1);
	assert_int_equal(lw_backend_release(be, lock, NULL, NULL, NULL), 0);
	lw_backend_close(be);
}

static void nop_adopt_always_holds(void **state)
{
	struct lw_backend *be = open_nop();
	struct lw_backend_lock *lock = NULL;

	(void)state;
	assert_int_equal(lw_backend_adopt(be, &image_a, "", -1, &lock, NULL), 0);
	assert_non_null(lock);
	lw_backend_forget(be, lock);
	lw_backend_close(be);
}

static void nop_second_exclusive_acquire_also_succeeds(void **state)
{
	struct lw_backend *be = open_nop();
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *one = NULL, *two = NULL;

	(void)state;
	/* nop asks no one: the kernel table on this host is the only arbiter */
	assert_int_equal(lw_backend_acquire(be, &image_a, NULL, NULL, &one, &pending, NULL), 0);
	assert_int_equal(lw_backend_acquire(be, &image_a, NULL, NULL, &two, &pending, NULL), 0);
	lw_backend_release(be, one, NULL, NULL, NULL);
	lw_backend_release(be, two, NULL, NULL, NULL);
	lw_backend_close(be);
}

static void nop_refuses_a_named_lease_with_reason(void **state)
{
	const struct lw_backend_request named = { .image = "/images/a.qcow2", .image_fd = -1,
						  .lease = "LS:vm1:/dev/sdb:1048576" };
	const struct lw_backend_request empty = { .image = "/images/a.qcow2", .image_fd = -1, .lease = "" };
	struct lw_backend *be = open_nop();
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { { 0 } };
	int r;

	(void)state;
	assert_false(lw_backend_has_named_leases(be));
	r = lw_backend_acquire(be, &named, NULL, NULL, &lock, &pending, &err);
	if (r != -EINVAL)
		fail_msg("expected -EINVAL for lease=, got %d (%s)", r, err.msg);
	assert_null(lock);
	assert_null(pending);
	assert_string_equal(err.msg, "backend nop has no named leases; lease= needs the paxos backend");
	/* an empty lease is automatic mode, which nop has */
	assert_int_equal(lw_backend_acquire(be, &empty, NULL, NULL, &lock, &pending, &err), 0);
	assert_int_equal(lw_backend_release(be, lock, NULL, NULL, NULL), 0);
	lw_backend_close(be);
}

static void nop_has_no_config_keys(void **state)
{
	struct lw_backend_option option = { "lockspace", "/x" };
	struct lw_backend_setup setup = { .options = &option, .nr_options = 1 };
	struct lw_backend *be = NULL;
	struct lw_err err = { { 0 } };

	(void)state;
	assert_int_equal(lw_backend_check_option("nop", "lockspace", "/x", &err), -ENOENT);
	if (!strstr(err.msg, "lockspace"))
		fail_msg("expected the reason to name the key, got: %s", err.msg);
	assert_int_equal(lw_backend_open("nop", &setup, &be, &err), -ENOENT);
	assert_null(be);
}

static void unknown_backend_name_is_enoent_with_reason(void **state)
{
	struct lw_backend *be = NULL;
	struct lw_err err = { { 0 } };

	(void)state;
	assert_int_equal(lw_backend_open("zookeeper", NULL, &be, &err), -ENOENT);
	assert_null(be);
	if (!strstr(err.msg, "zookeeper"))
		fail_msg("expected the reason to name the backend, got: %s", err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backends_of_this_build_exist_by_name),
		cmocka_unit_test(nop_acquire_answers_at_once_with_nothing_to_keep),
		cmocka_unit_test(nop_adopt_always_holds),
		cmocka_unit_test(nop_second_exclusive_acquire_also_succeeds),
		cmocka_unit_test(nop_refuses_a_named_lease_with_reason),
		cmocka_unit_test(nop_has_no_config_keys),
		cmocka_unit_test(unknown_backend_name_is_enoent_with_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
