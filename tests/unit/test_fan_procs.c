// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer keeps one pidfd per holder process, shared by its
 * leases (fan_procs.c): a holder of many leases costs one descriptor for
 * its pidfd, not one a lease, and a shared lease of several holders one
 * each. Natively, as root, on real files and a real fanotify group. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/holder.h"
#include "common/live_procs.h"
#include "fanotify/fan_enforcer.h"

#define IMAGES 40

static struct lw_enforcement *enf;
static char dir[64];
static struct lw_image_key keys[IMAGES];
static pid_t holders[2];

/* Descriptors open now, but for the pidfds live_procs keeps for the
 * processes it proved twice (not the enforcer's). */
static int open_fds(void)
{
	DIR *d;
	int n = 0;

	lw_live_procs_forget();
	d = opendir("/proc/self/fd");

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/var/tmp/lw-test-fanprocs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	for (int i = 0; i < IMAGES; i++) {
		char path[96];
		int fd;

		snprintf(path, sizeof(path), "%s/%d.img", dir, i);
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
			return -1;
		close(fd);
	}
	for (int h = 0; h < 2; h++)
		holders[h] = sleeper();
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	for (int h = 0; h < 2; h++) {
		kill(holders[h], SIGKILL);
		waitpid(holders[h], NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void lease(int i, const struct lw_holder *holder)
{
	char path[96];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%d.img", dir, i);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	err = lw_fan_enforcer_add_lease_flags(enf, fd, LW_LEASE_SHARED, holder, LW_LEASE_FORCE, &keys[i], NULL);
	close(fd);
	if (err)
		fail_msg("cannot lease %s: %s", path, lw_fan_enforcer_error(enf));
}

static void a_holder_of_many_leases_costs_one_pidfd_and_a_shared_lease_one_per_holder(void **state)
{
	struct lw_holder a, b;
	int base;

	(void)state;
	assert_int_equal(lw_holder_of_pid(holders[0], &a), 0);
	assert_int_equal(lw_holder_of_pid(holders[1], &b), 0);
	lease(0, &a);
	base = open_fds();	/* the first lease's, and what the enforcer opens once */
	for (int i = 1; i < IMAGES; i++)
		lease(i, &a);
	/* a descriptor of each marked inode; holder a's pidfd is shared */
	assert_int_equal(open_fds() - base, IMAGES - 1);
	for (int i = 0; i < IMAGES; i++)
		assert_int_equal(lw_fan_enforcer_add_holder(enf, &keys[i], &b), 0);
	assert_int_equal(open_fds() - base, IMAGES);	/* holder b's */
	for (int i = 0; i < IMAGES; i++)
		assert_int_equal(lw_fan_enforcer_remove_holder(enf, &keys[i], &a), 0);
	assert_int_equal(open_fds() - base, IMAGES - 1);	/* a's went with its last lease */
	for (int i = 0; i < IMAGES; i++)
		assert_int_equal(lw_fan_enforcer_remove_lease(enf, &keys[i]), 0);
	assert_int_equal(open_fds() - base, -2);	/* the first lease's inode, and b's */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_holder_of_many_leases_costs_one_pidfd_and_a_shared_lease_one_per_holder,
						setup, teardown),
	};
	struct lw_err why;
	int failed;

	if (lw_fan_enforcer_open(NULL, &enf, &why)) {
		fprintf(stderr, "cannot open a fanotify enforcer (root, fanotify): %s\n", why.msg);
		return 1;
	}
	failed = cmocka_run_group_tests_name("fanotify holder pidfds", tests, NULL, NULL);
	lw_fan_enforcer_close(enf);
	return failed;
}
