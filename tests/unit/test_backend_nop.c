/* The nop backend: local only, every acquire succeeds, nothing to keep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend.h"

static void nop_is_found_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(lw_backend_find("nop"), &lw_backend_nop);
	assert_ptr_equal(lw_backend_find("fcntl"), &lw_backend_fcntl);
	assert_null(lw_backend_find("no-such-backend"));
}

static void nop_acquire_needs_no_lock_descriptor(void **state)
{
	struct lw_backend *be = NULL;
	int fd = 123;

	(void)state;
	assert_int_equal(lw_backend_open("nop", NULL, &be), 0);
	assert_string_equal(lw_backend_name(be), "nop");
	assert_int_equal(be->ops->acquire(be, "/images/a.qcow2", -1, false, &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(be->ops->verify(be, "/images/a.qcow2", false, fd), 0);
	assert_int_equal(be->ops->release(be, "/images/a.qcow2", fd), 0);
	lw_backend_close(be);
}

static void nop_second_exclusive_acquire_also_succeeds(void **state)
{
	struct lw_backend *be = NULL;
	int fd1, fd2;

	(void)state;
	/* nop asks no one: the kernel table on this host is the only arbiter */
	assert_int_equal(lw_backend_open("nop", NULL, &be), 0);
	assert_int_equal(be->ops->acquire(be, "/images/a.qcow2", -1, false, &fd1), 0);
	assert_int_equal(be->ops->acquire(be, "/images/a.qcow2", -1, false, &fd2), 0);
	lw_backend_close(be);
}

static void unknown_backend_name_is_enoent(void **state)
{
	struct lw_backend *be = NULL;

	(void)state;
	assert_int_equal(lw_backend_open("zookeeper", NULL, &be), -ENOENT);
	assert_null(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nop_is_found_by_name),
		cmocka_unit_test(nop_acquire_needs_no_lock_descriptor),
		cmocka_unit_test(nop_second_exclusive_acquire_also_succeeds),
		cmocka_unit_test(unknown_backend_name_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
