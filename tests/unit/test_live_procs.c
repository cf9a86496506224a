// SPDX-License-Identifier: LGPL-2.1-or-later
/* Processes proven alive: known again from their kept pidfd while they
 * live, never once they have exited, and never for another start time. */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/holder.h"
#include "common/live_procs.h"

/* Until /proc shows pid's command as name (a second at most). */
static void wait_for_comm(pid_t pid, const char *name)
{
	for (int i = 0; i < 1000; i++) {
		char comm[LW_COMM_LEN];
		uint64_t start;

		if (lw_proc_stat(pid, &start, comm, sizeof(comm)) == 0 && !strcmp(comm, name))
			return;
		usleep(1000);
	}
}

/* Connects n times, as a client would: the start time each gave. */
static uint64_t prove_as_client(pid_t pid, int n)
{
	uint64_t start = 0;

	for (int i = 0; i < n; i++) {
		int fd = lw_live_proc_open(pid, &start, NULL);

		assert_true(fd >= 0);
		close(fd);	/* the caller's copy: a kept one stays */
	}
	return start;
}

/* A child named name that waits until told (a byte on its pipe) to rename
 * itself to "renamed", then until its pipe closes. */
struct child {
	pid_t pid;
	int tell;	/* our end of its pipe */
};

static struct child spawn(const char *name)
{
	int p[2];
	struct child c;
	char b;

	assert_int_equal(pipe(p), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		/* no other child's pipe end: each must see its own close */
		if (p[0] > 3)
			close_range(3, (unsigned int)p[0] - 1, 0);
		close_range((unsigned int)p[0] + 1, ~0u, 0);
		prctl(PR_SET_NAME, name);
		if (read(p[0], &b, 1) == 1)
			prctl(PR_SET_NAME, "renamed");
		while (read(p[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	c.tell = p[1];
	wait_for_comm(c.pid, name);	/* named before we look */
	return c;
}

static void end(struct child *c)
{
	close(c->tell);
	assert_int_equal(waitpid(c->pid, NULL, 0), c->pid);
}

static bool readable(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static int open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int teardown(void **state)
{
	(void)state;
	lw_live_procs_forget();
	return 0;
}

static void a_live_process_is_proven_with_its_start_time_and_comm(void **state)
{
	struct child c = spawn("lw-live-a");
	char comm[LW_COMM_LEN];
	uint64_t start, want;
	int pidfd;

	(void)state;
	assert_int_equal(lw_proc_stat(c.pid, &want, NULL, 0), 0);
	pidfd = lw_live_proc_open(c.pid, &start, comm);
	assert_true(pidfd >= 0);
	assert_true(start == want);
	assert_string_equal(comm, "lw-live-a");
	assert_false(readable(pidfd));
	end(&c);
	assert_true(readable(pidfd));	/* it is a pidfd of that very process */
	close(pidfd);
}

/* A client proven a second time is kept, and known again from its kept
 * pidfd without /proc: the comm is still the one it had then (documented). */
static void a_client_proven_twice_is_known_from_its_kept_pidfd(void **state)
{
	struct child c = spawn("lw-live-b");
	char comm[LW_COMM_LEN];
	uint64_t first, again;
	int fd;

	(void)state;
	first = prove_as_client(c.pid, 2);
	assert_int_equal(write(c.tell, "r", 1), 1);
	wait_for_comm(c.pid, "renamed");
	fd = lw_live_proc_open(c.pid, &again, comm);
	assert_true(fd >= 0);
	assert_true(again == first);
	assert_string_equal(comm, "lw-live-b");
	close(fd);
	end(&c);
}

/* One-shot clients, and holders proven once, cost no descriptor. */
static void a_process_proven_once_keeps_no_descriptor(void **state)
{
	struct child c = spawn("lw-live-f"), d = spawn("lw-live-f");
	struct lw_holder h = { .kind = LW_HOLDER_PROCESS };
	int before = open_descriptors(), fd;
	uint64_t start;

	(void)state;
	fd = lw_live_proc_open(c.pid, &start, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_descriptors(), before);
	assert_int_equal(lw_proc_stat(d.pid, &start, NULL, 0), 0);
	h.pid = (uint32_t)d.pid;
	h.start_time = start;
	fd = lw_live_proc_pidfd(&h);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_descriptors(), before);
	end(&c);
	end(&d);
}

/* A client's connection, then its watch as a holder: kept. */
static void a_client_then_holder_is_kept_on_its_second_proof(void **state)
{
	struct child c = spawn("lw-live-h");
	struct lw_holder h = { .kind = LW_HOLDER_PROCESS };
	int before = open_descriptors(), fd;
	uint64_t start;

	(void)state;
	fd = lw_live_proc_open(c.pid, &start, NULL);
	assert_true(fd >= 0);
	close(fd);
	h.pid = (uint32_t)c.pid;
	h.start_time = start;
	fd = lw_live_proc_pidfd(&h);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_descriptors(), before + 1);
	end(&c);
}

static void a_kept_process_that_exits_is_dropped_when_told(void **state)
{
	struct child c = spawn("lw-live-g");
	struct lw_holder h = { .kind = LW_HOLDER_PROCESS };
	int before = open_descriptors();
	uint64_t start;

	(void)state;
	start = prove_as_client(c.pid, 2);
	assert_int_equal(open_descriptors(), before + 1);	/* kept */
	h.pid = (uint32_t)c.pid;
	h.start_time = start;
	end(&c);	/* closes our end of its pipe */
	lw_live_proc_exited(&h);
	assert_int_equal(open_descriptors(), before - 1);
}

static void an_exited_process_is_never_known_again(void **state)
{
	struct child c = spawn("lw-live-c");
	struct lw_holder h = { .kind = LW_HOLDER_PROCESS };
	uint64_t start;

	(void)state;
	start = prove_as_client(c.pid, 2);	/* kept: the second proof of a client */
	h.pid = (uint32_t)c.pid;
	h.start_time = start;
	end(&c);
	assert_int_equal(lw_live_proc_open(c.pid, &start, NULL), -ESRCH);
	assert_int_equal(lw_live_proc_pidfd(&h), -ESRCH);
}

static void a_holder_with_another_start_time_is_not_that_process(void **state)
{
	struct child c = spawn("lw-live-d");
	struct lw_holder h = { .kind = LW_HOLDER_PROCESS };
	uint64_t start;
	int pidfd;

	(void)state;
	assert_int_equal(lw_proc_stat(c.pid, &start, NULL, 0), 0);
	h.pid = (uint32_t)c.pid;
	h.start_time = start + 1;	/* an earlier process that had this pid */
	assert_int_equal(lw_live_proc_pidfd(&h), -ESRCH);
	assert_int_equal(lw_live_proc_pidfd(&h), -ESRCH);	/* and not once it is kept */
	h.start_time = start;
	pidfd = lw_live_proc_pidfd(&h);
	assert_true(pidfd >= 0);
	close(pidfd);
	end(&c);
}

/* More processes than kept: each is still proven, and no more than
 * LW_LIVE_PROCS descriptors stay open. */
static void more_processes_than_kept_are_each_proven_and_descriptors_stay_bounded(void **state)
{
	struct child c[LW_LIVE_PROCS + 4];
	int before = open_descriptors();
	int n = (int)(sizeof(c) / sizeof(c[0]));
	uint64_t start, want;

	(void)state;
	for (int i = 0; i < n; i++)
		c[i] = spawn("lw-live-e");
	before += n;	/* our ends of their pipes */
	for (int round = 0; round < 3; round++)	/* kept from the second on */
		for (int i = 0; i < n; i++) {
			int pidfd = lw_live_proc_open(c[i].pid, &start, NULL);

			assert_true(pidfd >= 0);
			assert_int_equal(lw_proc_stat(c[i].pid, &want, NULL, 0), 0);
			assert_true(start == want);
			close(pidfd);
		}
	assert_true(open_descriptors() <= before + LW_LIVE_PROCS);
	for (int i = 0; i < n; i++)
		end(&c[i]);
}

static void no_process_is_proven_for_pid_0_or_a_cgroup_holder(void **state)
{
	struct lw_holder cg = { .kind = LW_HOLDER_CGROUP, .cgroup_id = 1 };
	uint64_t start;

	(void)state;
	assert_int_equal(lw_live_proc_open(0, &start, NULL), -ESRCH);
	assert_int_equal(lw_live_proc_pidfd(&cg), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_live_process_is_proven_with_its_start_time_and_comm, teardown),
		cmocka_unit_test_teardown(a_client_proven_twice_is_known_from_its_kept_pidfd, teardown),
		cmocka_unit_test_teardown(a_process_proven_once_keeps_no_descriptor, teardown),
		cmocka_unit_test_teardown(a_client_then_holder_is_kept_on_its_second_proof, teardown),
		cmocka_unit_test_teardown(a_kept_process_that_exits_is_dropped_when_told, teardown),
		cmocka_unit_test_teardown(an_exited_process_is_never_known_again, teardown),
		cmocka_unit_test_teardown(a_holder_with_another_start_time_is_not_that_process, teardown),
		cmocka_unit_test_teardown(more_processes_than_kept_are_each_proven_and_descriptors_stay_bounded,
					  teardown),
		cmocka_unit_test_teardown(no_process_is_proven_for_pid_0_or_a_cgroup_holder, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
