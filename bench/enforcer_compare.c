// SPDX-License-Identifier: LGPL-2.1-or-later
/* Both enforcers side by side, in one boot: the cost per open of the BPF
 * LSM enforcer and of the fanotify enforcer, against no enforcer at all,
 * for the four kinds of open the daemon sees. Runs as root in a kernel that
 * runs both (the 6.1 VM; `make bench` runs it there):
 *
 *   build/bench/enforcer_compare [OPENS per case and round, default 400] [ROUNDS, default 5]
 *
 * Two runner processes do the opens, one the lease's holder, one not; this
 * process plays the daemon (the fanotify enforcer's thread answers in it).
 * Each round measures every case with no enforcer, then with bpf-lsm (loaded,
 * lease added; unpinned after), then with fanotify (group opened, lease
 * added; closed after), so the three columns share the machine's moments;
 * each figure is the median round. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/runner.h"
#include "enforcer/enforcer.h"
#include "fanotify/fan_enforcer.h"

#define DIR_ "/var/tmp/lw-enforcer-compare"
#define MAX_ROUNDS 31

static const char *leased = DIR_ "/leased.raw";
static const char *unleased = DIR_ "/unleased.raw";

enum mode { NONE, BPF_LSM, FANOTIFY, NR_MODES };
static const char *const mode_names[NR_MODES] = { "none", "bpf-lsm", "fanotify" };

struct request {
	int flags;		/* open flags */
	int denied;		/* 1: each open must be denied (EPERM or EACCES) */
	int n;
	char path[64];
};

/* Mean ns of open (+ close when it opened); -1 if an open did not end as
 * asked (opened when it had to be denied, or the other way round). */
static double run(const void *request)
{
	const struct request *r = request;
	double start = lw_bench_now_ns();

	for (int i = 0; i < r->n; i++) {
		int fd = open(r->path, r->flags);

		if (fd >= 0)
			close(fd);
		/* bpf-lsm denies with EACCES, fanotify with EPERM */
		if (r->denied ? !(fd < 0 && (errno == EPERM || errno == EACCES)) : fd < 0) {
			fprintf(stderr, "enforcer_compare: open %d of %s (flags %#x): %s\n", i, r->path, r->flags,
				fd < 0 ? strerror(errno) : "allowed");
			return -1;
		}
	}
	return (lw_bench_now_ns() - start) / r->n;
}

struct bench_case {
	const char *name;
	int holder;		/* run by the holder (1) or by a non-holder (0) */
	int flags;
	const char *path;
	int denied_when_enforced;
	double ns[NR_MODES][MAX_ROUNDS];
};

/* The enforcers, as the daemon would have them: one lease on the image. */
struct enforcers {
	struct lw_enforcement *bpf;
	struct lw_enforcement *fan;
	char pin_dir[64];
};

static int enforce(enum mode mode, struct enforcers *e, int image_fd, pid_t holder_pid)
{
	struct lw_enforcer_opts bpf_opts = { .pin_dir = e->pin_dir };
	struct lw_holder holder;
	struct lw_err why;

	if (lw_holder_of_pid(holder_pid, &holder)) {
		fprintf(stderr, "enforcer_compare: cannot read the holder's start time\n");
		return -1;
	}
	if (mode == BPF_LSM) {
		if (lw_enforcer_open(&bpf_opts, &e->bpf, &why)) {
			fprintf(stderr, "enforcer_compare: bpf-lsm: %s\n", why.msg);
			return -1;
		}
		if (lw_enforcer_add_lease(e->bpf, image_fd, LW_LEASE_EXCLUSIVE, &holder, NULL)) {
			fprintf(stderr, "enforcer_compare: bpf-lsm: %s\n", lw_enforcer_error(e->bpf));
			return -1;
		}
	} else if (mode == FANOTIFY) {
		if (lw_fan_enforcer_open(NULL, &e->fan, &why)) {
			fprintf(stderr, "enforcer_compare: fanotify: %s\n", why.msg);
			return -1;
		}
		if (lw_fan_enforcer_add_lease(e->fan, image_fd, LW_LEASE_EXCLUSIVE, &holder, NULL)) {
			fprintf(stderr, "enforcer_compare: fanotify: %s\n", lw_fan_enforcer_error(e->fan));
			return -1;
		}
	}
	return 0;
}

static void stop_enforcing(struct enforcers *e)
{
	if (e->bpf) {
		lw_enforcer_unpin(e->bpf);
		lw_enforcer_close(e->bpf);
		e->bpf = NULL;
	}
	lw_fan_enforcer_close(e->fan);
	e->fan = NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400, rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct bench_case cases[] = {
		{ "read-only open, leased, non-holder", 0, O_RDONLY, leased, 0, { { 0 } } },
		{ "write open, leased, holder", 1, O_RDWR, leased, 0, { { 0 } } },
		{ "write open, unleased file", 0, O_RDWR, unleased, 0, { { 0 } } },
		{ "write open, leased, non-holder (denied)", 0, O_RDWR, leased, 1, { { 0 } } },
	};
	const size_t nr_cases = sizeof(cases) / sizeof(cases[0]);
	struct enforcers e = { 0 };
	int socks[2], image_fd, status = 0;
	bool own_mount;
	pid_t runners[2];

	if (rounds < 1 || rounds > MAX_ROUNDS || n < 1) {
		fprintf(stderr, "usage: enforcer_compare [OPENS] [ROUNDS 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(e.pin_dir, sizeof(e.pin_dir), "/sys/fs/bpf/lw-compare-%d", getpid());
	/* a tmpfs of its own: the same plain filesystem for both, whatever the root is */
	if (mkdir(DIR_, 0755) && errno != EEXIST) {
		fprintf(stderr, "enforcer_compare: cannot create %s: %s\n", DIR_, strerror(errno));
		return 1;
	}
	own_mount = mount("lw-compare", DIR_, "tmpfs", 0, "size=1m") == 0;
	if (lw_bench_make_file(leased) || lw_bench_make_file(unleased) || (image_fd = open(leased, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "enforcer_compare: cannot create files in %s: %s\n", DIR_, strerror(errno));
		return 1;
	}
	runners[0] = lw_bench_runner_start(&socks[0], sizeof(struct request), run);
	runners[1] = lw_bench_runner_start(&socks[1], sizeof(struct request), run);
	if (runners[0] < 0 || runners[1] < 0) {
		fprintf(stderr, "enforcer_compare: cannot start the runners\n");
		return 1;
	}
	for (int round = 0; round < rounds && !status; round++) {
		for (enum mode m = NONE; m < NR_MODES && !status; m++) {
			if (enforce(m, &e, image_fd, runners[1])) {
				status = 1;
				break;
			}
			for (size_t c = 0; c < nr_cases; c++) {
				struct request r = { .flags = cases[c].flags, .n = n,
						     .denied = m != NONE && cases[c].denied_when_enforced };
				double ns;

				snprintf(r.path, sizeof(r.path), "%s", cases[c].path);
				ns = lw_bench_runner_ask(socks[cases[c].holder], &r, sizeof(r));
				if (ns < 0) {
					fprintf(stderr, "enforcer_compare: %s: expected every open %s under %s, "
						"got one that was not\n", cases[c].name,
						r.denied ? "denied" : "allowed", mode_names[m]);
					status = 1;
					break;
				}
				cases[c].ns[m][round] = ns;
			}
			stop_enforcing(&e);
		}
	}
	if (!status) {
		printf("both enforcers in one boot: median of %d interleaved rounds of %d opens a case\n"
		       "(ns per open+close, or per denied open, in a separate process; fanotify without "
		       "pre-content events)\n", rounds, n);
		printf("%-42s %10s %10s %8s %10s %8s\n", "case", "none", "bpf-lsm", "ratio", "fanotify", "ratio");
		for (size_t c = 0; c < nr_cases; c++) {
			double med[NR_MODES];

			for (int m = 0; m < NR_MODES; m++) {
				qsort(cases[c].ns[m], rounds, sizeof(double), lw_bench_cmp_double);
				med[m] = cases[c].ns[m][rounds / 2];
			}
			printf("%-42s %10.0f %10.0f %7.2fx %10.0f %7.2fx\n", cases[c].name, med[NONE],
			       med[BPF_LSM], med[BPF_LSM] / med[NONE], med[FANOTIFY], med[FANOTIFY] / med[NONE]);
		}
		printf("(none: no enforcer, so the \"denied\" open succeeds there and is closed: not the same work)\n");
	}
	stop_enforcing(&e);
	for (int i = 0; i < 2; i++) {
		kill(runners[i], SIGTERM);	/* each runner holds the other's socket too */
		waitpid(runners[i], NULL, 0);
		close(socks[i]);
	}
	close(image_fd);
	unlink(leased);
	unlink(unleased);
	if (own_mount)
		umount(DIR_);
	rmdir(DIR_);
	return status;
}
