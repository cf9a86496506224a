// SPDX-License-Identifier: LGPL-2.1-or-later
/* lw_reopen() opens again what a descriptor names, through a directory
 * descriptor of /proc/self/fd kept open (common/fd_reopen.c). A forked
 * child must reach its own descriptors, never its parent's. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fd_reopen.h"

static char dir[64], first[96], second[96];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/var/tmp/lw-test-reopen-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(first, sizeof(first), "%s/first", dir);
	snprintf(second, sizeof(second), "%s/second", dir);
	close(open(first, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	close(open(second, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(first);
	unlink(second);
	rmdir(dir);
	return 0;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void a_reopen_is_a_new_open_of_the_same_file(void **state)
{
	int fd = open(first, O_PATH | O_CLOEXEC), again;

	(void)state;
	assert_true(fd >= 0);
	again = lw_reopen(fd, O_RDONLY | O_CLOEXEC);
	assert_true(again >= 0);
	assert_int_not_equal(again, fd);
	assert_true(same_file(fd, again));
	assert_int_equal(fcntl(again, F_GETFL) & (O_ACCMODE | O_PATH), O_RDONLY);
	close(again);
	close(fd);
}

static void an_o_path_reopen_opens_nothing_and_keeps_cloexec(void **state)
{
	int fd = open(first, O_RDWR | O_CLOEXEC), again;

	(void)state;
	assert_true(fd >= 0);
	again = lw_reopen(fd, O_PATH | O_CLOEXEC);
	assert_true(again >= 0);
	assert_true(same_file(fd, again));
	assert_int_equal(fcntl(again, F_GETFL) & (O_ACCMODE | O_PATH), O_PATH);
	assert_int_equal(fcntl(again, F_GETFD), FD_CLOEXEC);
	close(again);
	again = lw_reopen(fd, O_PATH);
	assert_true(again >= 0);
	assert_int_equal(fcntl(again, F_GETFD), 0);
	close(again);
	close(fd);
}

static void a_closed_descriptor_fails(void **state)
{
	int fd = open(first, O_PATH | O_CLOEXEC);

	(void)state;
	close(fd);
	assert_int_equal(lw_reopen(fd, O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(lw_reopen(fd, O_PATH | O_CLOEXEC), -1);
	assert_int_equal(errno, EBADF);
}

/* The parent's number names the first file; the child puts the second
 * under the same number. Through the parent's /proc/PID/fd the child would
 * open the first. */
static void a_forked_child_reopens_its_own_descriptors(void **state)
{
	int fd = open(first, O_RDONLY | O_CLOEXEC), warm;
	pid_t pid;
	int status;

	(void)state;
	assert_true(fd >= 0);
	warm = lw_reopen(fd, O_RDONLY | O_CLOEXEC);	/* the directory is open now */
	assert_true(warm >= 0);
	close(warm);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int other = open(second, O_RDONLY | O_CLOEXEC), again;

		if (other < 0 || dup2(other, fd) != fd)
			_exit(2);
		again = lw_reopen(fd, O_RDONLY | O_CLOEXEC);	/* through the directory */
		_exit(again >= 0 && same_file(again, other) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_reopen_is_a_new_open_of_the_same_file),
		cmocka_unit_test(an_o_path_reopen_opens_nothing_and_keeps_cloexec),
		cmocka_unit_test(a_closed_descriptor_fails),
		cmocka_unit_test(a_forked_child_reopens_its_own_descriptors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
