// SPDX-License-Identifier: LGPL-2.1-or-later
/* The per-uid record budget: N records a uid a minute pass, the rest are
 * counted and handed back once when that uid's minute ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/uid_budget.h"

#define SEC 1000000ull

struct summaries {
	unsigned int n;
	uint32_t uid[8];
	uint64_t count[8];
};

static void collect(uint32_t uid, uint64_t count, void *ctx)
{
	struct summaries *s = ctx;

	assert_true(s->n < 8);
	s->uid[s->n] = uid;
	s->count[s->n++] = count;
}

static void first_n_records_of_a_uid_pass_and_the_rest_are_counted(void **state)
{
	struct lw_uid_budget *b = lw_uid_budget_new(3);
	unsigned int passed = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		passed += lw_uid_budget_take(b, 1000, 100 * SEC + (uint64_t)i, 1);
	assert_int_equal(passed, 3);
	assert_int_equal(lw_uid_budget_next_expiry(b), 160 * SEC);
	lw_uid_budget_free(b);
}

static void each_uid_has_its_own_budget(void **state)
{
	struct lw_uid_budget *b = lw_uid_budget_new(2);

	(void)state;
	assert_true(lw_uid_budget_take(b, 1000, SEC, 1));
	assert_true(lw_uid_budget_take(b, 1000, SEC, 1));
	assert_false(lw_uid_budget_take(b, 1000, SEC, 1));
	assert_true(lw_uid_budget_take(b, 0, SEC, 1));
	assert_true(lw_uid_budget_take(b, 1001, SEC, 1));
	lw_uid_budget_free(b);
}

static void the_count_with_its_weight_is_handed_back_once_when_the_minute_ends(void **state)
{
	struct lw_uid_budget *b = lw_uid_budget_new(1);
	struct summaries s = { 0 };

	(void)state;
	assert_true(lw_uid_budget_take(b, 7, 10 * SEC, 1));
	assert_false(lw_uid_budget_take(b, 7, 11 * SEC, 1));
	assert_false(lw_uid_budget_take(b, 7, 12 * SEC, 5));	/* a record that folded in 4 more */
	lw_uid_budget_expire(b, 69 * SEC, collect, &s);
	assert_int_equal(s.n, 0);				/* the minute has not ended */
	lw_uid_budget_expire(b, 70 * SEC, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.uid[0], 7);
	assert_int_equal(s.count[0], 6);
	lw_uid_budget_expire(b, 200 * SEC, collect, &s);
	assert_int_equal(s.n, 1);				/* once */
	assert_int_equal(lw_uid_budget_next_expiry(b), UINT64_MAX);
	/* a new minute, a new budget */
	assert_true(lw_uid_budget_take(b, 7, 201 * SEC, 1));
	lw_uid_budget_free(b);
}

static void a_uid_with_nothing_counted_gives_no_summary(void **state)
{
	struct lw_uid_budget *b = lw_uid_budget_new(5);
	struct summaries s = { 0 };

	(void)state;
	assert_true(lw_uid_budget_take(b, 3, SEC, 1));
	assert_int_equal(lw_uid_budget_next_expiry(b), UINT64_MAX);
	lw_uid_budget_expire(b, 100 * SEC, collect, &s);
	assert_int_equal(s.n, 0);
	lw_uid_budget_free(b);
}

static void zero_means_no_limit(void **state)
{
	struct lw_uid_budget *b = lw_uid_budget_new(0);

	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_true(lw_uid_budget_take(b, 1, SEC, 1));
	lw_uid_budget_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_n_records_of_a_uid_pass_and_the_rest_are_counted),
		cmocka_unit_test(each_uid_has_its_own_budget),
		cmocka_unit_test(the_count_with_its_weight_is_handed_back_once_when_the_minute_ends),
		cmocka_unit_test(a_uid_with_nothing_counted_gives_no_summary),
		cmocka_unit_test(zero_means_no_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
