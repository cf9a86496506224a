// SPDX-License-Identifier: LGPL-2.1-or-later
/* What shielding a process holder's family costs. Runs as root in a
 * BPF-LSM kernel (the VM):
 *
 *   tests/vm/run -- build/bench/family_cost [DESCENDANTS [ROUNDS]]
 *
 * Per first lease: a forced lw_enforcer_add_lease for a new holder with no
 * children and with DESCENDANTS children (default 1,000), which the
 * acquire walks and marks (userspace/enforcer/family.c). Per attach-mode
 * check: process_vm_readv of one byte from a process that is no holder's,
 * once reparented to init (the parent chain climb stops at its first
 * step) and once 20 generations below this one (it climbs all 16 levels,
 * holder_family.bpf.h). Medians over ROUNDS rounds (default 5). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforcer/enforcer.h"
#include "lib/runner.h"

#define DIR_ "/tmp/lw-bench-family"
#define DEEP 20
#define CALLS 20000
#define MAX_ROUNDS 64

static char byte;	/* at the same address in every fork */

/* A holder that forks n children; its pid once they all exist, or -1.
 * *stop is the end whose closing ends them all: the holder reaps its
 * children before it exits, so no exit lands in the next measurement. */
static pid_t start_holder(int n, int *stop)
{
	int ready[2], end[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	if (pipe(end)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(end[1]);
		for (int i = 0; i < n; i++)
			if (fork() == 0) {
				(void)!read(end[0], &c, 1);
				_exit(0);
			}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		(void)!read(end[0], &c, 1);
		while (wait(NULL) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(end[0]);
	*stop = end[1];
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(end[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

/* ns of one forced acquire for a new holder with n children. */
static double acquire_ns(struct lw_enforcement *enf, const char *image, int n)
{
	struct lw_image_key key;
	struct lw_holder holder;
	int stop_fd = -1, fd = open(image, O_RDONLY | O_CLOEXEC), err = -1;
	pid_t pid = start_holder(n, &stop_fd);
	double t0 = 0, t1 = 0;

	if (pid > 0 && fd >= 0 && !lw_holder_of_pid(pid, &holder)) {
		t0 = lw_bench_now_ns();
		err = lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &holder, LW_LEASE_FORCE, &key, NULL);
		t1 = lw_bench_now_ns();
	}
	if (err)
		fprintf(stderr, "acquire for a holder with %d children: %s\n", n, lw_enforcer_error(enf));
	else
		lw_enforcer_remove_lease(enf, &key);
	if (fd >= 0)
		close(fd);
	if (pid > 0) {
		close(stop_fd);
		waitpid(pid, NULL, 0);
	}
	return err ? -1 : t1 - t0;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A process that holds nothing: reparented to a reaper (deep = 0) or DEEP
 * generations below this one (ending with it). Its pid; *top is the child
 * to reap. */
static pid_t start_target(int deep, pid_t *top)
{
	int ids[2];
	pid_t pid = -1;

	if (pipe(ids))
		return -1;
	if ((*top = fork()) == 0) {
		for (int i = 0; i < (deep ? DEEP : 2); i++)
			if (fork() != 0) {
				if (!deep)
					_exit(0);
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				for (;;)
					pause();
			}
		pid = getpid();
		if (write(ids[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		if (deep)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	close(ids[1]);
	if (read(ids[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	close(ids[0]);
	return pid;
}

/* ns per process_vm_readv of one byte from pid. */
static double readv_ns(pid_t pid)
{
	char got;
	struct iovec local = { &got, 1 }, remote = { &byte, 1 };
	double t0 = lw_bench_now_ns();

	for (int i = 0; i < CALLS; i++)
		if (syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0) != 1)
			return -1;
	return (lw_bench_now_ns() - t0) / CALLS;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), lw_bench_cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct lw_enforcer_opts opts = { .max_images = 16 };
	double none[MAX_ROUNDS], family[MAX_ROUNDS], shallow[MAX_ROUNDS], deep[MAX_ROUNDS];
	struct lw_enforcement *enf = NULL;
	char pin_dir[64], image[] = DIR_ "/image.raw";
	pid_t targets[2] = { -1, -1 }, tops[2] = { -1, -1 };
	struct lw_err why;
	int err, failed = 0;

	if (rounds < 1 || rounds > MAX_ROUNDS || n < 0) {
		fprintf(stderr, "usage: family_cost [DESCENDANTS [ROUNDS (1-%d)]]\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/lw-bench-family-%d", getpid());
	opts.pin_dir = pin_dir;
	if (mkdir(DIR_, 0700) && errno != EEXIST) {
		perror(DIR_);
		return 1;
	}
	if (lw_bench_make_file(image)) {
		perror(image);
		return 1;
	}
	if ((err = lw_enforcer_open(&opts, &enf, &why))) {
		fprintf(stderr, "cannot load the enforcer in %s: %s\n", pin_dir, why.msg);
		return 1;
	}
	targets[0] = start_target(0, &tops[0]);
	targets[1] = start_target(1, &tops[1]);
	if (targets[0] <= 0 || targets[1] <= 0 || tops[0] <= 0 || tops[1] <= 0) {
		fprintf(stderr, "cannot start the processes to read from\n");
		failed = 1;
		goto cleanup;
	}
	/* the checks first: the exits of a thousand children would land in them */
	for (int r = 0; r < rounds; r++) {
		if (r & 1)	/* each goes first in turn */
			deep[r] = readv_ns(targets[1]);
		shallow[r] = readv_ns(targets[0]);
		if (!(r & 1))
			deep[r] = readv_ns(targets[1]);
	}
	for (int r = 0; r < rounds; r++) {
		none[r] = acquire_ns(enf, image, 0);
		family[r] = acquire_ns(enf, image, n);
	}
	for (int r = 0; r < rounds; r++)
		if (none[r] < 0 || family[r] < 0 || shallow[r] < 0 || deep[r] < 0)
			failed = 1;
	printf("first lease, forced acquire: no children %.0f us, %d children %.0f us (median of %d)\n",
	       median(none, rounds) / 1e3, n, median(family, rounds) / 1e3, rounds);
	printf("process_vm_readv of one byte: target under init %.0f ns, %d generations down %.0f ns "
	       "(median of %d rounds of %d)\n", median(shallow, rounds), DEEP, median(deep, rounds), rounds, CALLS);
cleanup:
	if (targets[0] > 0)
		kill(targets[0], SIGKILL);	/* its reaper reaps it */
	for (int i = 0; i < 2; i++)
		if (tops[i] > 0)
			stop(tops[i]);
	lw_enforcer_unpin(enf);
	lw_enforcer_close(enf);
	return failed;
}
