// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the fanotify enforcer costs: per open+close, and per read on a
 * leased image (pre-content events put a round trip to the daemon's
 * thread in front of every read and write of a file opened after the mark).
 * Runs natively as root where fanotify permission events exist:
 *
 *   build/bench/fanotify_cost [OPS per case and round, default 20000] [ROUNDS, default 7]
 *                             [--pre-content] [--leases N]
 *
 * Two runner processes do the work, one the lease's holder, one not; the
 * bench itself plays the daemon. Rounds alternate without and with the
 * enforcer (and its lease), and each case reports the median round.
 * --leases N: the holder holds N leases, N - 1 of them on other files, so
 * the cost of finding the lease of an event among many shows. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/runner.h"
#include "fanotify/fan_enforcer.h"

#define DIR_ "/var/tmp/lw-fan-bench"

static const char *leased = DIR_ "/leased.raw";
static const char *unleased = DIR_ "/unleased.raw";

enum op { OP_OPEN_RDONLY, OP_OPEN_RDWR, OP_PREAD };
struct request {
	enum op op;
	int n;
	char path[64];
};

/* Mean ns of one operation; -1 if any failed. */
static double run(const void *request)
{
	const struct request *r = request;
	char buf[4096];
	double start;
	int fd = -1;

	if (r->op == OP_PREAD && (fd = open(r->path, O_RDONLY)) < 0)
		return -1;
	start = lw_bench_now_ns();
	for (int i = 0; i < r->n; i++) {
		if (r->op == OP_PREAD) {
			if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
				return -1;
			continue;
		}
		int f = open(r->path, r->op == OP_OPEN_RDWR ? O_RDWR : O_RDONLY);

		if (f < 0)
			return -1;
		close(f);
	}
	start = (lw_bench_now_ns() - start) / r->n;
	if (fd >= 0)
		close(fd);
	return start;
}

static double ask(int sock, enum op op, const char *path, int n)
{
	struct request r = { .op = op, .n = n };

	snprintf(r.path, sizeof(r.path), "%s", path);
	return lw_bench_runner_ask(sock, &r, sizeof(r));
}

#define MAX_ROUNDS 31

struct bench_case {
	const char *name;
	int holder;	/* run by the holder (1) or by a non-holder (0) */
	enum op op;
	const char *path;
	double ns[2][MAX_ROUNDS];	/* [without, with the enforcer][round] */
};

/* count more leases of holder, forced, on files of their own. */
static int lease_fillers(struct lw_enforcement *enf, const struct lw_holder *holder, int count)
{
	char path[64];
	int fd, err = 0;

	for (int i = 0; i < count && !err; i++) {
		snprintf(path, sizeof(path), DIR_ "/filler-%d.raw", i);
		if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
			return -1;
		err = lw_fan_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, holder, LW_LEASE_FORCE, NULL, NULL);
		close(fd);
	}
	return err;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000, rounds = argc > 2 ? atoi(argv[2]) : 7;
	struct bench_case cases[] = {
		{ "open+close rdonly, leased, non-holder", 0, OP_OPEN_RDONLY, leased, { { 0 } } },
		{ "open+close rdwr, leased, holder", 1, OP_OPEN_RDWR, leased, { { 0 } } },
		{ "open+close rdonly, unleased", 0, OP_OPEN_RDONLY, unleased, { { 0 } } },
		{ "pread 4 KiB, leased, holder", 1, OP_PREAD, leased, { { 0 } } },
		{ "pread 4 KiB, unleased", 0, OP_PREAD, unleased, { { 0 } } },
	};
	const size_t nr_cases = sizeof(cases) / sizeof(cases[0]);
	struct lw_fan_enforcer_opts opts = { 0 };
	int socks[2], image_fd;
	bool pre_content = false;
	int nr_leases = 1;
	pid_t runners[2];

	if (rounds < 1 || rounds > MAX_ROUNDS || n < 1 || nr_leases < 1) {
		fprintf(stderr, "usage: fanotify_cost [OPS] [ROUNDS 1..%d] [--pre-content] [--leases N]\n", MAX_ROUNDS);
		return 2;
	}
	for (int a = 3; a < argc; a++) {
		if (!strcmp(argv[a], "--pre-content"))
			opts.pre_content = true;
		else if (!strcmp(argv[a], "--leases") && a + 1 < argc)
			nr_leases = atoi(argv[++a]);
		else
			rounds = 0;	/* the usage below */
	}
	if ((mkdir(DIR_, 0755) && errno != EEXIST) || lw_bench_make_file(leased) || lw_bench_make_file(unleased) ||
	    (image_fd = open(leased, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "fanotify_cost: cannot create files in %s: %s\n", DIR_, strerror(errno));
		return 1;
	}
	runners[0] = lw_bench_runner_start(&socks[0], sizeof(struct request), run);
	runners[1] = lw_bench_runner_start(&socks[1], sizeof(struct request), run);
	if (runners[0] < 0 || runners[1] < 0) {
		fprintf(stderr, "fanotify_cost: cannot start the runners\n");
		return 1;
	}
	for (int round = 0; round < rounds; round++) {
		for (int with = 0; with < 2; with++) {
			struct lw_enforcement *enf = NULL;
			struct lw_holder holder;
			struct lw_err why;

			if (with) {
				if (lw_fan_enforcer_open(&opts, &enf, &why)) {
					fprintf(stderr, "fanotify_cost: %s\n", why.msg);
					return 1;
				}
				pre_content = lw_fan_enforcer_pre_content(enf);
				/* the others first: a walk of the table finds this one last */
				if (lw_holder_of_pid(runners[1], &holder) || lease_fillers(enf, &holder, nr_leases - 1) ||
				    lw_fan_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &holder, NULL)) {
					fprintf(stderr, "fanotify_cost: cannot lease: %s\n",
						lw_fan_enforcer_error(enf));
					return 1;
				}
			}
			for (size_t c = 0; c < nr_cases; c++) {
				double ns = ask(socks[cases[c].holder], cases[c].op, cases[c].path, n);

				if (ns < 0) {
					fprintf(stderr, "fanotify_cost: %s failed %s the enforcer\n",
						cases[c].name, with ? "with" : "without");
					return 1;
				}
				cases[c].ns[with][round] = ns;
			}
			lw_fan_enforcer_close(enf);
		}
	}
	printf("fanotify enforcer, pre-content events %s, %d lease(s) held; median of %d interleaved rounds "
	       "of %d ops (ns per op, measured in a separate process)\n", pre_content ? "on" : "off", nr_leases,
	       rounds, n);
	printf("%-40s %12s %12s %8s %10s\n", "case", "without", "with", "ratio", "added");
	for (size_t c = 0; c < nr_cases; c++) {
		qsort(cases[c].ns[0], rounds, sizeof(double), lw_bench_cmp_double);
		qsort(cases[c].ns[1], rounds, sizeof(double), lw_bench_cmp_double);
		double off = cases[c].ns[0][rounds / 2], on = cases[c].ns[1][rounds / 2];

		printf("%-40s %12.0f %12.0f %7.2fx %10.0f\n", cases[c].name, off, on, on / off, on - off);
	}
	/* What a restarted daemon pays before enforcement is back, per step. */
	{
		double open_ns[MAX_ROUNDS], checked[MAX_ROUNDS], forced[MAX_ROUNDS];
		struct lw_holder holder;

		lw_holder_of_pid(runners[1], &holder);
		for (int round = 0; round < rounds; round++) {
			struct lw_enforcement *enf;
			struct lw_image_key key;
			double t0 = lw_bench_now_ns(), t1, t2, t3;

			if (lw_fan_enforcer_open(&opts, &enf, NULL))
				return 1;
			t1 = lw_bench_now_ns();
			if (lw_fan_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &holder, &key))
				return 1;
			t2 = lw_bench_now_ns();
			lw_fan_enforcer_remove_lease(enf, &key);
			t3 = lw_bench_now_ns();
			if (lw_fan_enforcer_add_lease_flags(enf, image_fd, LW_LEASE_EXCLUSIVE, &holder,
							    LW_LEASE_FORCE, NULL, NULL))
				return 1;
			forced[round] = lw_bench_now_ns() - t3;
			open_ns[round] = t1 - t0;
			checked[round] = t2 - t1;
			lw_fan_enforcer_close(enf);
		}
		qsort(open_ns, rounds, sizeof(double), lw_bench_cmp_double);
		qsort(checked, rounds, sizeof(double), lw_bench_cmp_double);
		qsort(forced, rounds, sizeof(double), lw_bench_cmp_double);
		printf("\nre-establishing enforcement (median of %d):\n", rounds);
		printf("  open the group and start its thread:          %10.0f us\n", open_ns[rounds / 2] / 1e3);
		printf("  add one lease, with the /proc writer scan:   %10.0f us\n", checked[rounds / 2] / 1e3);
		printf("  add one lease, forced (mark and prove only): %10.0f us\n", forced[rounds / 2] / 1e3);
	}
	for (int i = 0; i < 2; i++) {
		kill(runners[i], SIGTERM);	/* each runner holds the other's socket too */
		waitpid(runners[i], NULL, 0);
		close(socks[i]);
	}
	unlink(leased);
	unlink(unleased);
	rmdir(DIR_);
	return 0;
}
