// SPDX-License-Identifier: LGPL-2.1-or-later
/* The spare paxos agent (backends/paxos_agent.h), without a sanlock daemon:
 * a spare that holds nothing never outlives its daemon, and one sent a
 * lease runs it, with the lease and the image it was sent. Taking a real
 * lease through a spare runs in tests/vm/paxos_one_host.sh. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "common/holder.h"
#include "paxos_agent.h"

#define EXIT_WAIT_MS 5000

static bool exits_within(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void a_spare_exits_when_the_daemon_closes_its_end(void **state)
{
	struct lw_paxos_agent spare;
	struct lw_err err = { "" };
	uint64_t start_time = 0;

	(void)state;
	assert_int_equal(lw_paxos_agent_prepare(&spare, &err), 0);
	/* its identity (the lock id names it) was read at the fork */
	assert_int_equal(lw_proc_stat(spare.pid, &start_time, NULL, 0), 0);
	assert_true(spare.start_time != 0);
	assert_int_equal(spare.start_time, start_time);
	assert_false(exits_within(spare.pidfd, 200));	/* it waits for its lease */
	close(spare.ctl_fd);
	if (!exits_within(spare.pidfd, EXIT_WAIT_MS))
		fail_msg("expected the spare %d to exit once the daemon's end of its socket closed", (int)spare.pid);
	assert_int_equal(lw_paxos_agent_reap(spare.pidfd), LW_PAXOS_AGENT_RELEASED);	/* it held nothing */
	close(spare.pidfd);
}

static void a_spare_dies_with_its_daemon(void **state)
{
	int pipe_fds[2], spare_pidfd, status;
	pid_t daemon, spare_pid = 0;

	(void)state;
	assert_int_equal(pipe(pipe_fds), 0);
	daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0) {
		struct lw_paxos_agent spare;
		struct lw_err err;

		if (lw_paxos_agent_prepare(&spare, &err) < 0)
			_exit(1);
		if (write(pipe_fds[1], &spare.pid, sizeof(spare.pid)) != sizeof(spare.pid))
			_exit(1);
		pause();	/* holds its end of the spare's socket open until killed */
		_exit(0);
	}
	assert_int_equal(read(pipe_fds[0], &spare_pid, sizeof(spare_pid)), sizeof(spare_pid));
	spare_pidfd = (int)syscall(SYS_pidfd_open, spare_pid, 0);
	assert_true(spare_pidfd >= 0);
	kill(daemon, SIGKILL);
	waitpid(daemon, &status, 0);
	if (!exits_within(spare_pidfd, EXIT_WAIT_MS))
		fail_msg("expected the spare %d to die with its daemon %d", (int)spare_pid, (int)daemon);
	close(spare_pidfd);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* The lease file is to be made in a folder that does not exist: the agent
 * says so before it asks sanlock anything, naming the path it was sent. */
static void a_spare_runs_the_lease_it_is_sent(void **state)
{
	struct sanlk_resource *res = calloc(1, sizeof(*res) + sizeof(struct sanlk_disk));
	struct lw_paxos_agent spare;
	struct lw_err err = { "" };
	struct lw_paxos_agent_spec spec = { .res = res, .owner = "lockwarden vm-1.qcow2", .create = true };
	char expected[SANLK_PATH_LEN + 32];

	(void)state;
	assert_non_null(res);
	memcpy(res->lockspace_name, "LS", 2);
	memcpy(res->name, "a-lease", 7);
	res->num_disks = 1;
	snprintf(res->disks[0].path, sizeof(res->disks[0].path), "/nonexistent-lw-test/leases/a-lease");
	spec.image_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(spec.image_fd >= 0);
	assert_int_equal(lw_paxos_agent_prepare(&spare, &err), 0);
	assert_int_equal(lw_paxos_agent_start(&spare, &spec, &err), 0);
	if (!exits_within(spare.pidfd, EXIT_WAIT_MS))
		fail_msg("expected the agent %d to give up on a lease file it cannot make", (int)spare.pid);
	assert_int_equal(lw_paxos_agent_result(spare.ctl_fd, &err), -ENOENT);
	snprintf(expected, sizeof(expected), "cannot create %s.%d.tmp", res->disks[0].path, (int)spare.pid);
	if (!strstr(err.msg, expected))
		fail_msg("expected the agent's reason to name \"%s\", got \"%s\"", expected, err.msg);
	assert_int_equal(lw_paxos_agent_reap(spare.pidfd), LW_PAXOS_AGENT_NOT_ACQUIRED);
	/* a spare that is gone takes no lease: the caller forks another */
	assert_true(lw_paxos_agent_start(&spare, &spec, &err) < 0);
	close(spare.pidfd);
	close(spare.ctl_fd);
	close(spec.image_fd);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_spare_exits_when_the_daemon_closes_its_end),
		cmocka_unit_test(a_spare_dies_with_its_daemon),
		cmocka_unit_test(a_spare_runs_the_lease_it_is_sent),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("paxos agent", tests, NULL, NULL);
}
