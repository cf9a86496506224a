// SPDX-License-Identifier: LGPL-2.1-or-later
/* lw_self_pid() caches getpid() (common/self_pid.c): the keeper is a
 * forked child of the daemon, and must never report the daemon's pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/self_pid.h"

static void is_this_process_pid(void **state)
{
	(void)state;
	assert_int_equal(lw_self_pid(), getpid());
	assert_int_equal(lw_self_pid(), getpid());
}

/* The parent has read (and cached) its pid before it forks: the child and
 * the child's own child each read theirs. */
static void a_forked_child_reads_its_own(void **state)
{
	pid_t parent = lw_self_pid(), child;
	int status;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t grandchild;

		if (lw_self_pid() != getpid() || lw_self_pid() == parent)
			_exit(1);
		grandchild = fork();
		if (grandchild == 0)
			_exit(lw_self_pid() == getpid() ? 0 : 2);
		if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild)
			_exit(3);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(lw_self_pid(), parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(is_this_process_pid),
		cmocka_unit_test(a_forked_child_reads_its_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
