// SPDX-License-Identifier: LGPL-2.1-or-later
/* lw_overlay_mounts_may_name and lw_overlay_mounts_may_hold
 * (userspace/enforcer/overlay_mounts.c): which images an acquire must look
 * for overlay names of. The names themselves are tested in the VM
 * (tests/vm/enforce_overlay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "enforcer/overlay_mounts.h"

static void an_image_on_an_overlay_or_a_layer_mount_may_have_names(void **state)
{
	struct lw_overlay_on first[] = { { 40, 0 }, { 21, 0 }, { 22, 0 } }, second[] = { { 41, 0 }, { 21, 0 } };
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
	struct lw_overlay_on on[] = { { 40, 0 }, { -1, 0 } };
	struct lw_overlay at[] = { { .mnt_id = 40, .on = on, .nr_on = 2 } };
	struct lw_overlay_mounts m = { .at = at, .n = 1 };

	(void)state;
	assert_true(lw_overlay_mounts_may_name(&m, 23));
}

/* By superblock, before any mount is asked: an image whose superblock no
 * overlay or layer mount has cannot have a name there. */
static void an_image_on_no_overlay_or_layer_superblock_has_no_name(void **state)
{
	/* the overlay's own, and sda1 twice */
	struct lw_overlay_on on[] = { { 40, 0x2a }, { 21, 0x800001 }, { 22, 0x800001 } };
	struct lw_overlay at[] = { { .mnt_id = 40, .on = on, .nr_on = 3 } };
	struct lw_overlay_mounts m = { .at = at, .n = 1 };

	(void)state;
	assert_true(lw_overlay_mounts_may_hold(&m, 0x2a));
	assert_true(lw_overlay_mounts_may_hold(&m, 0x800001));
	assert_false(lw_overlay_mounts_may_hold(&m, 0x800002));
	m.n = 0;
	assert_false(lw_overlay_mounts_may_hold(&m, 0x2a));
}

/* A mount the table did not show, or a layer of unknown mount: its
 * superblock is unknown, so it may hold any image. */
static void a_layer_of_unknown_superblock_may_hold_any_image(void **state)
{
	struct lw_overlay_on on[] = { { 40, 0x2a }, { -1, 0 } };
	struct lw_overlay at[] = { { .mnt_id = 40, .on = on, .nr_on = 2 } };
	struct lw_overlay_mounts m = { .at = at, .n = 1 };

	(void)state;
	assert_true(lw_overlay_mounts_may_hold(&m, 0x800002));
	on[0].sb_dev = 0;	/* superblocks not read at all */
	assert_true(lw_overlay_mounts_may_hold(&m, 0x800002));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_image_on_an_overlay_or_a_layer_mount_may_have_names),
		cmocka_unit_test(a_layer_of_unknown_mount_may_hold_any_image),
		cmocka_unit_test(an_image_on_no_overlay_or_layer_superblock_has_no_name),
		cmocka_unit_test(a_layer_of_unknown_superblock_may_hold_any_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
