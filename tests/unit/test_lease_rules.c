// SPDX-License-Identifier: LGPL-2.1-or-later
/* The rules of a lease's holders (common/lease_rules.h), which both
 * enforcers apply to their own tables: who may hold, how many, and the
 * reason given when not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/lease_rules.h"

static struct lw_holder process(uint32_t pid, uint64_t start_time)
{
	return (struct lw_holder){ .kind = LW_HOLDER_PROCESS, .pid = pid, .start_time = start_time };
}

static struct lw_holder cgroup(uint64_t id)
{
	return (struct lw_holder){ .kind = LW_HOLDER_CGROUP, .cgroup_id = id };
}

static void expect_reason(const struct lw_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		fail_msg("expected a reason containing \"%s\", got \"%s\"", want, err->msg);
}

static void exclusive_lease_refuses_a_second_holder(void **state)
{
	struct lw_holder a = process(10, 1), b = process(11, 1);
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_EXCLUSIVE, &a, &err), 0);
	assert_int_equal(lw_lease_add_holder(&lease, &b, &err), -EINVAL);
	expect_reason(&err, "exclusive lease has one holder");
	assert_int_equal(lease.nr_holders, 1);
}

static void shared_lease_takes_at_most_max_holders(void **state)
{
	struct lw_holder first = process(100, 7), h;
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &first, &err), 0);
	for (uint32_t i = 1; i < LW_MAX_HOLDERS; i++) {
		h = process(100 + i, 7);
		assert_int_equal(lw_lease_add_holder(&lease, &h, &err), (int)i);
	}
	h = cgroup(99);
	assert_int_equal(lw_lease_add_holder(&lease, &h, &err), -E2BIG);
	expect_reason(&err, "at most");
	assert_int_equal(lease.nr_holders, LW_MAX_HOLDERS);
}

static void same_holder_twice_is_refused(void **state)
{
	struct lw_holder a = cgroup(5), again = cgroup(5);
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &a, &err), 0);
	assert_int_equal(lw_lease_add_holder(&lease, &again, &err), -EEXIST);
	expect_reason(&err, "already a holder");
}

/* pid and start time name a process: the same pid started later is another. */
static void reused_pid_is_another_holder(void **state)
{
	struct lw_holder old = process(42, 1000), reused = process(42, 2000);
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &old, &err), 0);
	assert_int_equal(lw_lease_holder_index(&lease, &reused), -1);
	assert_int_equal(lw_lease_find_holder_err(&lease, &reused, &err), -ENOENT);
	expect_reason(&err, "not a holder");
}

static void bad_mode_or_holder_is_refused_with_a_reason(void **state)
{
	struct lw_holder none = { .kind = LW_HOLDER_NONE }, no_pid = process(0, 1), ok = process(1, 1);
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, 0, &ok, &err), -EINVAL);
	expect_reason(&err, "exclusive or shared");
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &none, &err), -EINVAL);
	expect_reason(&err, "process or a cgroup");
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &no_pid, &err), -EINVAL);
	expect_reason(&err, "without a pid");
}

static void removing_a_holder_keeps_the_order_of_the_rest(void **state)
{
	struct lw_holder a = process(1, 1), b = process(2, 2), c = cgroup(3);
	struct lw_lease lease;
	struct lw_err err;

	(void)state;
	assert_int_equal(lw_lease_init(&lease, LW_LEASE_SHARED, &a, &err), 0);
	assert_int_equal(lw_lease_add_holder(&lease, &b, &err), 1);
	assert_int_equal(lw_lease_add_holder(&lease, &c, &err), 2);
	lw_lease_remove_holder_at(&lease, 0);
	assert_int_equal(lease.nr_holders, 2);
	assert_int_equal(lw_lease_holder_index(&lease, &b), 0);
	assert_int_equal(lw_lease_holder_index(&lease, &c), 1);
	assert_int_equal(lease.holders[2].kind, LW_HOLDER_NONE);	/* nothing left behind */
}

static void key_name_uses_the_kernels_dev_layout(void **state)
{
	struct lw_image_key key = { .dev = lw_kdev(253, 1048575), .ino = 12 };
	char name[64];

	(void)state;
	lw_image_key_name(&key, name, sizeof(name));
	assert_string_equal(name, "dev 253:1048575 ino 12");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exclusive_lease_refuses_a_second_holder),
		cmocka_unit_test(shared_lease_takes_at_most_max_holders),
		cmocka_unit_test(same_holder_twice_is_refused),
		cmocka_unit_test(reused_pid_is_another_holder),
		cmocka_unit_test(bad_mode_or_holder_is_refused_with_a_reason),
		cmocka_unit_test(removing_a_holder_keeps_the_order_of_the_rest),
		cmocka_unit_test(key_name_uses_the_kernels_dev_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
