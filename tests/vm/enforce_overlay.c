// SPDX-License-Identifier: LGPL-2.1-or-later
/* Overlay names: a lease taken through the merged, upper or lower name of
 * an overlay file covers the others, a copy-up made after the acquire
 * included, and its release frees them all. The holder is this process;
 * non-holders are forked children. Layers on tmpfs. */
#include <sys/sysmacros.h>

#include "enforce_common.h"

#define TOP "/tmp/lw-ovl"
#define LOWER TOP "/lower"
#define UPPER TOP "/upper"
#define MERGED TOP "/merged"
#define UP_FILE "/up.raw"	/* in the upper layer (and a hidden one below) */
#define LOW_FILE "/low.raw"	/* only in the lower layer */

static struct lw_enforcement *enf;
static char pin_dir[128];
static struct lw_image_key key;
static bool leased;

static int mount_overlay(void **state)
{
	(void)state;
	if (sh("mkdir -p " TOP " && mount -t tmpfs lw-ovl " TOP " && mkdir " LOWER " " UPPER " " TOP
	       "/work " MERGED " && echo lower > " LOWER LOW_FILE " && echo hidden > " LOWER UP_FILE
	       " && echo upper > " UPPER UP_FILE " && modprobe overlay 2>/dev/null; "
	       "mount -t overlay overlay -o lowerdir=" LOWER ",upperdir=" UPPER ",workdir=" TOP "/work " MERGED))
		return -1;
	return 0;
}

static int unmount_overlay(void **state)
{
	(void)state;
	if (leased)
		lw_enforcer_remove_lease(enf, &key);
	leased = false;
	sh("umount " TOP "/merged2 2>/dev/null; umount " MERGED "; umount " TOP "; rmdir " TOP);
	return 0;
}

/* Lease path to this process. */
static void lease_path(const char *path)
{
	struct lw_holder self = holder_of(getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key);
	close(fd);
	if (err)
		fail_msg("expected a lease on %s, got %s: %s", path, strerror(-err), lw_enforcer_error(enf));
	leased = true;
}

static void release(void)
{
	int err = lw_enforcer_remove_lease(enf, &key);

	if (err)
		fail_msg("expected the lease to be released, got %s: %s", strerror(-err), lw_enforcer_error(enf));
	leased = false;
}

static void assert_exists(const char *path, bool want)
{
	struct stat st;
	bool got = lstat(path, &st) == 0;

	if (got != want)
		fail_msg("expected %s to %s, got it %s", path, want ? "exist" : "be absent",
			 got ? "there" : "absent");
}

/* The holder writes through merged: a lower-only file is copied up. */
static void holder_writes_through_merged(void)
{
	assert_exists(UPPER LOW_FILE, false);
	assert_allowed(try_open(MERGED LOW_FILE, O_RDWR), "the holder's O_RDWR open through the merged name");
	assert_exists(UPPER LOW_FILE, true);
}

static int chmod_merged(void *arg)
{
	(void)arg;
	return chmod(MERGED LOW_FILE, 0600) ? errno : 0;
}

/* --- a lease through the merged name --- */

static void merged_lease_denies_non_holders_the_merged_and_upper_names(void **state)
{
	(void)state;
	lease_path(MERGED UP_FILE);
	assert_denied(child_open(MERGED UP_FILE, O_RDWR), "a non-holder's O_RDWR open of the merged name");
	assert_denied(child_open(UPPER UP_FILE, O_RDWR), "a non-holder's O_RDWR open of the upper name");
	assert_allowed(try_open(MERGED UP_FILE, O_RDWR), "the holder's O_RDWR open of the merged name");
	assert_allowed(try_open(UPPER UP_FILE, O_RDWR), "the holder's O_RDWR open of the upper name");
}

static void merged_lease_of_a_lower_only_file_denies_non_holders_the_lower_name(void **state)
{
	(void)state;
	lease_path(MERGED LOW_FILE);
	assert_denied(child_open(LOWER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the lower name");
	assert_denied(child_open(MERGED LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the merged name");
	assert_exists(UPPER LOW_FILE, false);	/* refused before any copy-up */
	assert_allowed(try_open(LOWER LOW_FILE, O_RDWR), "the holder's O_RDWR open of the lower name");
}

static void holders_copy_up_is_covered_at_its_new_upper_name(void **state)
{
	(void)state;
	lease_path(MERGED LOW_FILE);
	holder_writes_through_merged();
	assert_denied(child_open(UPPER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the copied-up upper name");
	assert_denied(child_open(MERGED LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the merged name after the copy-up");
	assert_allowed(try_open(UPPER LOW_FILE, O_RDWR), "the holder's O_RDWR open of the copied-up upper name");
}

static void non_holders_copy_up_by_chmod_is_covered_at_its_new_upper_name(void **state)
{
	(void)state;
	lease_path(MERGED LOW_FILE);
	assert_allowed(in_child(chmod_merged, NULL), "a non-holder's chmod through the merged name (a copy-up)");
	assert_exists(UPPER LOW_FILE, true);
	assert_denied(child_open(UPPER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the upper name it copied up");
}

static int truncate_merged(void *arg)
{
	(void)arg;
	return truncate(MERGED UP_FILE, 1) ? errno : 0;
}

static int truncate_upper(void *arg)
{
	(void)arg;
	return truncate(UPPER UP_FILE, 1) ? errno : 0;
}

static void merged_lease_denies_non_holders_truncate_of_the_merged_and_upper_names(void **state)
{
	(void)state;
	lease_path(MERGED UP_FILE);
	assert_denied(in_child(truncate_merged, NULL), "a non-holder's truncate through the merged name");
	assert_denied(in_child(truncate_upper, NULL), "a non-holder's truncate of the upper name");
}

/* --- a lease through the upper name --- */

static void upper_lease_denies_non_holders_the_merged_and_upper_names(void **state)
{
	(void)state;
	lease_path(UPPER UP_FILE);
	assert_denied(child_open(MERGED UP_FILE, O_RDWR), "a non-holder's O_RDWR open of the merged name");
	assert_denied(child_open(UPPER UP_FILE, O_RDWR), "a non-holder's O_RDWR open of the upper name");
	assert_denied(in_child(truncate_merged, NULL), "a non-holder's truncate through the merged name");
	assert_allowed(try_open(MERGED UP_FILE, O_RDWR), "the holder's O_RDWR open of the merged name");
	assert_allowed(try_open(UPPER UP_FILE, O_RDWR), "the holder's O_RDWR open of the upper name");
}

/* --- a lease through the lower name of a lower-only file --- */

static void lower_lease_denies_non_holders_the_merged_and_lower_names(void **state)
{
	(void)state;
	lease_path(LOWER LOW_FILE);
	assert_denied(child_open(MERGED LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the merged name (a copy-up)");
	assert_exists(UPPER LOW_FILE, false);
	assert_denied(child_open(LOWER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the lower name");
	assert_allowed(try_open(LOWER LOW_FILE, O_RDWR), "the holder's O_RDWR open of the lower name");
	holder_writes_through_merged();
	assert_denied(child_open(UPPER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the copied-up upper name");
}

static void lower_lease_covers_every_overlay_that_shows_the_file(void **state)
{
	(void)state;
	if (sh("mkdir " TOP "/upper2 " TOP "/work2 " TOP "/merged2 && mount -t overlay overlay -o lowerdir=" LOWER
	       ",upperdir=" TOP "/upper2,workdir=" TOP "/work2 " TOP "/merged2"))
		fail_msg("expected a second overlay over the same lower folder to mount");
	lease_path(LOWER LOW_FILE);
	assert_denied(child_open(TOP "/merged2" LOW_FILE, O_RDWR), "a non-holder's O_RDWR open through the second overlay");
	assert_denied(child_open(MERGED LOW_FILE, O_RDWR), "a non-holder's O_RDWR open through the first overlay");
}

/* The overlay mounts are kept between acquires: one mounted after an
 * acquire must be seen by the next. */
static void overlay_mounted_after_an_acquire_is_followed_by_the_next(void **state)
{
	(void)state;
	lease_path(MERGED UP_FILE);
	release();
	if (sh("mkdir " TOP "/upper2 " TOP "/work2 " TOP "/merged2 && echo up2 > " TOP "/upper2" UP_FILE
	       " && mount -t overlay overlay -o lowerdir=" LOWER ",upperdir=" TOP "/upper2,workdir=" TOP
	       "/work2 " TOP "/merged2"))
		fail_msg("expected a second overlay to mount");
	lease_path(TOP "/merged2" UP_FILE);
	assert_denied(child_open(TOP "/upper2" UP_FILE, O_RDWR),
		      "a non-holder's O_RDWR open of the upper name of an overlay mounted after the last acquire");
}

static void merged_leases_of_one_lower_file_through_two_overlays_refuse_the_second(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_image_key second;
	int fd, err;

	(void)state;
	if (sh("mkdir " TOP "/upper2 " TOP "/work2 " TOP "/merged2 && mount -t overlay overlay -o lowerdir=" LOWER
	       ",upperdir=" TOP "/upper2,workdir=" TOP "/work2 " TOP "/merged2"))
		fail_msg("expected a second overlay over the same lower folder to mount");
	lease_path(MERGED LOW_FILE);
	fd = open(TOP "/merged2" LOW_FILE, O_RDONLY | O_CLOEXEC);
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &second);
	close(fd);
	if (!err)
		lw_enforcer_remove_lease(enf, &second);
	if (err != -EEXIST)
		fail_msg("expected the second overlay's lease to be refused (EEXIST), got %s", errno_name(-err));
	fprintf(stderr, "# %s\n", lw_enforcer_error(enf));
}

/* --- release, and writers before the lease --- */

static void release_frees_every_name_and_the_copy_up(void **state)
{
	(void)state;
	lease_path(MERGED LOW_FILE);
	holder_writes_through_merged();
	release();
	assert_allowed(child_open(MERGED LOW_FILE, O_RDWR), "an unrelated O_RDWR open of the merged name after release");
	assert_allowed(child_open(UPPER LOW_FILE, O_RDWR), "an unrelated O_RDWR open of the upper name after release");
	assert_allowed(child_open(LOWER LOW_FILE, O_RDWR), "an unrelated O_RDWR open of the lower name after release");
	lease_path(UPPER UP_FILE);
	release();
	assert_allowed(child_open(MERGED UP_FILE, O_RDWR), "an unrelated O_RDWR open of the merged name after release");
}

static int open_upper_for_write(void *arg)
{
	(void)arg;
	return open(UPPER UP_FILE, O_RDWR | O_CLOEXEC) < 0 ? errno : 0;
}

static void merged_acquire_with_a_non_holder_writer_of_the_upper_name_is_busy(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct helper writer = { 0 };
	int fd = open(MERGED UP_FILE, O_RDONLY | O_CLOEXEC), err;

	(void)state;
	assert_int_equal(helper_start(&writer, open_upper_for_write, NULL, NULL), 0);
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key);
	helper_finish(&writer);
	close(fd);
	if (!err)
		leased = true;
	if (err != -EBUSY)
		fail_msg("expected the acquire to be busy (EBUSY), got %s", errno_name(-err));
	fprintf(stderr, "# %s\n", lw_enforcer_error(enf));
	assert_allowed(child_open(UPPER UP_FILE, O_RDWR), "an O_RDWR open of the upper name after the busy acquire");
}

static void merged_acquire_by_a_holder_writing_through_merged_is_not_busy(void **state)
{
	struct lw_holder self = holder_of(getpid());
	int fd = open(MERGED UP_FILE, O_RDWR | O_CLOEXEC), err;

	(void)state;
	if (fd < 0)
		fail_msg("cannot open " MERGED UP_FILE ": %s", strerror(errno));
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key);
	close(fd);
	if (err)
		fail_msg("expected the holder's own writer to be no obstacle, got %s: %s", strerror(-err),
			 lw_enforcer_error(enf));
	leased = true;
}

static int remount_metacopy(void **state)
{
	(void)state;
	if (mount_overlay(state) || sh("umount " MERGED) ||
	    sh("mount -t overlay overlay -o metacopy=on,redirect_dir=on,lowerdir=" LOWER ",upperdir=" UPPER
	       ",workdir=" TOP "/work " MERGED))
		return -1;
	return 0;
}

/* metacopy=on: a chmod copies up only the metadata; the data stays below. */
static void merged_lease_of_a_metadata_only_copy_up_covers_the_lower_data(void **state)
{
	(void)state;
	assert_allowed(chmod_merged(NULL), "a chmod through the merged name (a metadata-only copy-up)");
	assert_exists(UPPER LOW_FILE, true);
	lease_path(MERGED LOW_FILE);
	assert_denied(child_open(UPPER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the upper name");
	assert_denied(child_open(LOWER LOW_FILE, O_RDWR), "a non-holder's O_RDWR open of the lower data");
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, mount_overlay, unmount_overlay)

static const struct CMUnitTest overlay[] = {
	CASE(merged_lease_denies_non_holders_the_merged_and_upper_names),
	CASE(overlay_mounted_after_an_acquire_is_followed_by_the_next),
	CASE(merged_lease_of_a_lower_only_file_denies_non_holders_the_lower_name),
	CASE(holders_copy_up_is_covered_at_its_new_upper_name),
	CASE(non_holders_copy_up_by_chmod_is_covered_at_its_new_upper_name),
	CASE(merged_lease_denies_non_holders_truncate_of_the_merged_and_upper_names),
	CASE(upper_lease_denies_non_holders_the_merged_and_upper_names),
	CASE(lower_lease_denies_non_holders_the_merged_and_lower_names),
	CASE(lower_lease_covers_every_overlay_that_shows_the_file),
	CASE(merged_leases_of_one_lower_file_through_two_overlays_refuse_the_second),
	CASE(release_frees_every_name_and_the_copy_up),
	CASE(merged_acquire_with_a_non_holder_writer_of_the_upper_name_is_busy),
	CASE(merged_acquire_by_a_holder_writing_through_merged_is_not_busy),
	cmocka_unit_test_setup_teardown(merged_lease_of_a_metadata_only_copy_up_covers_the_lower_data,
					remount_metacopy, unmount_overlay),
};

int main(void)
{
	int failed;

	test_pin_dir(pin_dir, sizeof(pin_dir), "overlay");
	enf = open_enforcer(pin_dir, 0);
	if (!enf)
		return 1;
	failed = cmocka_run_group_tests_name("overlay names", overlay, NULL, NULL);
	close_and_unpin(enf);
	return failed ? 1 : 0;
}
