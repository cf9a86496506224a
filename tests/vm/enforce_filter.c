// SPDX-License-Identifier: LGPL-2.1-or-later
/* The lease filter's counts as userspace changes them (filter.c): each
 * change is an atomic add, so changes made at once by several writers are
 * all counted. The programs add to the same counts (a loop device or a
 * copy-up tied to a lease) with the same atomic add; a lookup then an
 * update from userspace lost what another writer added in between. */
#include <bpf/bpf.h>

#include "enforce_common.h"
#include "enforcer/enforcer_internal.h"

#define ADDS_EACH 20000

static struct lw_enforcement *handle;
static char pin_dir[128];
static const __u32 slot = 7;

static __u32 count_of(struct lw_enforcer *enf, __u32 s)
{
	__u32 count = 0;

	assert_int_equal(bpf_map_lookup_elem(enf->filter_fd, &s, &count), 0);
	return count;
}

static int add_many(void *arg)
{
	struct lw_enforcer *enf = arg;

	for (int i = 0; i < ADDS_EACH; i++)
		if (lw_filter_add_slot(enf, slot, 1))
			return 1;
	return 0;
}

/* Two processes adding to one count at once: every add counted. */
static void adds_at_once_are_all_counted(void **state)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	__u32 before = count_of(enf, slot);
	pid_t pids[2];
	int status;

	(void)state;
	assert_int_equal(lw_filter_add_slot(enf, slot, 0), 0);	/* loaded before the fork */
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(add_many(enf));
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(count_of(enf, slot), before + 2 * ADDS_EACH);
	assert_int_equal(lw_filter_add_slot(enf, slot, -2 * ADDS_EACH), 0);
	assert_int_equal(count_of(enf, slot), before);
}

static void a_slot_past_the_end_is_refused(void **state)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	(void)state;
	assert_int_equal(lw_filter_add_slot(enf, enf->filter_mask + 1, 1), -ERANGE);
	assert_non_null(strstr(lw_enforcer_error(handle), "out of range"));
}

/* A lease counts once in its slot while it is held. */
static void a_lease_counts_in_its_slot_while_held(void **state)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	char path[] = "/tmp/lw-filter-XXXXXX";
	struct lw_holder holder = holder_of(getpid());
	struct lw_image_key key;
	struct lw_map_key k;
	__u32 s, before;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(lw_enforcer_key_of_fd(handle, fd, &key), 0);
	k = lw_to_map_key(&key);
	s = lw_filter_slot(&k, enf->filter_mask);
	before = count_of(enf, s);
	assert_int_equal(lw_enforcer_add_lease(handle, fd, LW_LEASE_EXCLUSIVE, &holder, &key), 0);
	assert_int_equal(count_of(enf, s), before + 1);
	assert_int_equal(lw_enforcer_remove_lease(handle, &key), 0);
	assert_int_equal(count_of(enf, s), before);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adds_at_once_are_all_counted),
		cmocka_unit_test(a_slot_past_the_end_is_refused),
		cmocka_unit_test(a_lease_counts_in_its_slot_while_held),
	};
	int failed;

	test_pin_dir(pin_dir, sizeof(pin_dir), "filter");
	handle = open_enforcer(pin_dir, 0);
	if (!handle) {
		fprintf(stderr, "enforce_filter: cannot load the enforcer (the reason is above)\n");
		return 1;
	}
	failed = cmocka_run_group_tests_name("lease filter changes", tests, NULL, NULL);
	close_and_unpin(handle);
	return failed ? 1 : 0;
}
