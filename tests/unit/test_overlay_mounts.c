// SPDX-License-Identifier: LGPL-2.1-or-later
/* lw_overlay_mounts_may_name (userspace/enforcer/overlay_mounts.c): which
 * images an acquire must look for overlay names of. The names themselves
 * are tested in the VM (tests/vm/enforce_overlay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "enforcer/overlay_mounts.h"

static void an_image_on_an_overlay_or_a_layer_mount_may_have_names(void **state)
{
	int first[] = { 40, 21, 22 }, second[] = { 41, 21 };
	struct lw_overlay at[] = {
		{ .mnt_id = 40, .on = first, .nr_on = 3 },
		{ .mnt_id = 41, .on = second, .nr_on = 2 },
	};
	struct lw_overlay_mounts m = { .at = at, .n = 2 };

	(void)state;
	assert_true(lw_overlay_mounts_may_name(&m, 40));	/* the merged name */
	assert_true(lw_overlay_mounts_may_name(&m, 41));
	assert_true(lw_overlay_mounts_may_name(&m, 21));	/* a layer's mount */
	assert_true(lw_overlay_mounts_may_name(&m, 22));
	assert_false(lw_overlay_mounts_may_name(&m, 23));	/* no overlay uses it */
	m.n = 0;
	assert_false(lw_overlay_mounts_may_name(&m, 40));
}

/* A layer whose mount could not be found may hold any image. */
static void a_layer_of_unknown_mount_may_hold_any_image(void **state)
{
	int on[] = { 40, -1 };
	struct lw_overlay at[] = { { .mnt_id = 40, .on = on, .nr_on = 2 } };
	struct lw_overlay_mounts m = { .at = at, .n = 1 };

	(void)state;
	assert_true(lw_overlay_mounts_may_name(&m, 23));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_image_on_an_overlay_or_a_layer_mount_may_have_names),
		cmocka_unit_test(a_layer_of_unknown_mount_may_hold_any_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
