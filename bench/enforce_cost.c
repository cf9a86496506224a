/* What enforcement costs on every open, and what the pre-existing-writer
 * check costs on acquire. Runs as root in a BPF-LSM kernel (the VM):
 *
 *   tests/vm/run -- build/bench/enforce_cost [OPENS, default 50000]
 *
 * Per open: the file_open program's own time from bpf_stats (run_time_ns /
 * run_cnt, as `bpftool prog show` reports it) and the wall-clock time of
 * open+close, side by side with no program attached, for a read-only open
 * of a leased image, a write open of an unleased file, and a denied write
 * open of a leased image; with 1 lease and with the table full (65,536).
 * Per call of the other hooks: file_ioctl for an ioctl of no interest
 * (FIONREAD: the constant test) and for FS_IOC_SETFLAGS on an unleased
 * file (the lease lookup), ptrace_access_check for process_vm_readv
 * (attach mode: the holder_index lookups) and for reading
 * /proc/PID/stat (read mode: the first test).
 * Per acquire: lw_enforcer_add_lease with the writer check and with
 * LW_LEASE_FORCE (no check), with 100 extra processes holding 10 files each. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/fs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enforcer/enforcer.h"
#include "enforcer_maps.h"	/* fill_table writes the maps directly */

#define DIR_ "/tmp/lw-bench"
#define FULL_TABLE 65536

static const char *leased = DIR_ "/leased.raw";
static const char *unleased = DIR_ "/unleased.raw";
static char pin_dir[128];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Mean wall-clock ns of open(path, flags) + close. */
static double open_close_ns(const char *path, int flags, int n)
{
	double start = now_ns();

	for (int i = 0; i < n; i++) {
		int fd = open(path, flags);

		if (fd >= 0)
			close(fd);
	}
	return (now_ns() - start) / n;
}

static int prog_fd_named(const char *name)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(pin_dir);
	int fd = -1;

	while (d && (e = readdir(d)) && fd < 0) {
		if (strncmp(e->d_name, "v-", 2))
			continue;
		snprintf(path, sizeof(path), "%s/%s/prog_%s", pin_dir, e->d_name, name);
		fd = bpf_obj_get(path);
	}
	if (d)
		closedir(d);
	return fd;
}

static void prog_stats(int prog_fd, __u64 *run_ns, __u64 *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*run_ns = *runs = 0;
	if (!bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		*run_ns = info.run_time_ns;
		*runs = info.run_cnt;
	}
}

struct scenario {
	const char *name;
	const char *path;
	int flags;
	double bare_ns;		/* open+close, no program attached */
};

static struct scenario scenarios[] = {
	{ "read-only open, leased image", DIR_ "/leased.raw", O_RDONLY, 0 },
	{ "write open, unleased file", DIR_ "/unleased.raw", O_RDWR, 0 },
	{ "write open, leased image (denied)", DIR_ "/leased.raw", O_RDWR, 0 },
};
#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))
#define NR_SCENARIOS_MAX 3

#define ROUNDS 10	/* TCG timing is noisy (other guests share the CPUs): the best of ROUNDS rounds */

/* Best-of-rounds wall ns per open+close, and the program's ns per run. */
static void best_of_rounds(const struct scenario *s, int prog_fd, int n, double *wall, double *prog)
{
	*wall = *prog = 0;
	for (int r = 0; r < ROUNDS; r++) {
		__u64 ns0, c0, ns1, c1;
		double w, p;

		prog_stats(prog_fd, &ns0, &c0);
		w = open_close_ns(s->path, s->flags, n / ROUNDS);
		prog_stats(prog_fd, &ns1, &c1);
		p = c1 > c0 ? (double)(ns1 - ns0) / (c1 - c0) : 0;
		if (r == 0 || w < *wall)
			*wall = w;
		if (r == 0 || p < *prog)
			*prog = p;
	}
}

/* Results: [table: 1 lease, full][scenario]. */
static double wall_ns[2][NR_SCENARIOS_MAX], prog_ns[2][NR_SCENARIOS_MAX];
static const char *const tables[2] = { "1 lease", "65,536 *" };

static void measure(int table, int prog_fd, int n)
{
	for (size_t i = 0; i < NR_SCENARIOS; i++) {
		open_close_ns(scenarios[i].path, scenarios[i].flags, n / 10);	/* warm up */
		best_of_rounds(&scenarios[i], prog_fd, n, &wall_ns[table][i], &prog_ns[table][i]);
	}
}

static void print_table(int n)
{
	printf("per open, best of %d rounds of %d opens (ns; wall = open+close in this process;\n"
	       "no prog = best of before loading and after unpinning)\n", ROUNDS, n / ROUNDS);
	printf("%-36s %-10s %10s %10s %8s %12s %9s\n", "case", "table", "no prog", "with prog",
	       "ratio", "prog ns/run", "of wall");
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < NR_SCENARIOS; i++)
			printf("%-36s %-10s %10.0f %10.0f %7.2fx %12.0f %8.2f%%\n", scenarios[i].name,
			       tables[t], scenarios[i].bare_ns, wall_ns[t][i], wall_ns[t][i] / scenarios[i].bare_ns,
			       prog_ns[t][i], 100.0 * prog_ns[t][i] / wall_ns[t][i]);
	printf("(a denied open returns no descriptor to close, so its wall time is not the same work)\n");
}

/* --- the other hooks, per call --- */

static int ioctl_fd = -1;
static pid_t target = -1;
static long target_word = 42;	/* read in the target (same address after fork) */

static void call_fionread(void)
{
	int n;

	ioctl(ioctl_fd, FIONREAD, &n);
}

static void call_setflags(void)
{
	int flags = 0;

	ioctl(ioctl_fd, FS_IOC_SETFLAGS, &flags);
}

static void call_vm_readv(void)
{
	long word;
	struct iovec local = { &word, sizeof(word) }, remote = { &target_word, sizeof(word) };

	syscall(SYS_process_vm_readv, target, &local, 1, &remote, 1, 0);
}

static void call_proc_stat(void)
{
	char path[64], buf[512];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", target);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0) { /* timing only */ }
		close(fd);
	}
}

struct hook_case {
	const char *name;
	void (*call)(void);
	const char *prog;
	double bare_ns, wall[2], prog_ns[2];
};

static struct hook_case hook_cases[] = {
	{ "ioctl FIONREAD (not of interest)", call_fionread, "lw_file_ioctl", 0, {0}, {0} },
	{ "ioctl FS_IOC_SETFLAGS, unleased", call_setflags, "lw_file_ioctl", 0, {0}, {0} },
	{ "process_vm_readv (attach mode)", call_vm_readv, "lw_ptrace_access", 0, {0}, {0} },
	{ "open+read /proc/PID/stat (read)", call_proc_stat, "lw_ptrace_access", 0, {0}, {0} },
};
#define NR_HOOK_CASES (sizeof(hook_cases) / sizeof(hook_cases[0]))

static void best_of_calls(void (*call)(void), int prog_fd, int n, double *wall, double *prog)
{
	*wall = *prog = 0;
	for (int r = 0; r < ROUNDS; r++) {
		__u64 ns0 = 0, c0 = 0, ns1 = 0, c1 = 0;
		double start, w, p;

		if (prog_fd >= 0)
			prog_stats(prog_fd, &ns0, &c0);
		start = now_ns();
		for (int i = 0; i < n / ROUNDS; i++)
			call();
		w = (now_ns() - start) / (n / ROUNDS);
		if (prog_fd >= 0)
			prog_stats(prog_fd, &ns1, &c1);
		p = c1 > c0 ? (double)(ns1 - ns0) / (c1 - c0) : 0;
		if (r == 0 || w < *wall)
			*wall = w;
		if (r == 0 || p < *prog)
			*prog = p;
	}
}

static void start_hook_target(void)
{
	ioctl_fd = open(unleased, O_RDONLY);
	target = fork();
	if (target == 0) {
		pause();
		_exit(0);
	}
}

static void measure_hooks_bare(int n, bool keep_best)
{
	for (size_t i = 0; i < NR_HOOK_CASES; i++) {
		double w, unused;

		best_of_calls(hook_cases[i].call, -1, n, &w, &unused);
		if (!keep_best || w < hook_cases[i].bare_ns)
			hook_cases[i].bare_ns = w;
	}
}

static void measure_hooks(int table, int n)
{
	for (size_t i = 0; i < NR_HOOK_CASES; i++) {
		int fd = prog_fd_named(hook_cases[i].prog);

		best_of_calls(hook_cases[i].call, fd, n, &hook_cases[i].wall[table],
			      &hook_cases[i].prog_ns[table]);
		if (fd >= 0)
			close(fd);
	}
}

static void print_hooks(int n)
{
	printf("\nper call of the other hooks, best of %d rounds of %d calls (ns)\n", ROUNDS, n / ROUNDS);
	printf("%-36s %-10s %10s %10s %8s %12s\n", "case", "table", "no prog", "with prog", "ratio",
	       "prog ns/run");
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < NR_HOOK_CASES; i++)
			printf("%-36s %-10s %10.0f %10.0f %7.2fx %12.0f\n", hook_cases[i].name, tables[t],
			       hook_cases[i].bare_ns, hook_cases[i].wall[t],
			       hook_cases[i].wall[t] / hook_cases[i].bare_ns, hook_cases[i].prog_ns[t]);
	printf("(65,536 rows: a tenth as many calls. process_vm_readv looks the target up in\n"
	       " holder_index: one lookup, plus one per cgroup level, whatever the table)\n");
}

/* Fill the lease table up to FULL_TABLE with synthetic keys, straight into
 * the pinned maps (the filter too), as a busy host's table would be. */
static int fill_table(__u32 *slots_set, __u32 *slots)
{
	char path[256];
	struct lw_map_lease lease = { .mode = LW_MAP_LEASE_EXCLUSIVE, .nr_holders = 1 };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), added = 0;
	int leases_fd, filter_fd;

	lease.holders[0].kind = LW_MAP_HOLDER_PROCESS;
	lease.holders[0].pid = 1;
	snprintf(path, sizeof(path), "%s/leases", pin_dir);
	leases_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/lease_filter", pin_dir);
	filter_fd = bpf_obj_get(path);
	if (leases_fd < 0 || filter_fd < 0 || bpf_obj_get_info_by_fd(filter_fd, &info, &len))
		return -1;
	*slots = info.max_entries;
	for (__u64 i = 1; added < FULL_TABLE - 1; i++) {
		struct lw_map_key key = { .dev = 0xfffff, .ino = i };	/* no real fs has this dev */
		__u32 slot = lw_filter_slot(&key, info.max_entries - 1), count = 0;

		if (bpf_map_update_elem(leases_fd, &key, &lease, BPF_NOEXIST))
			break;
		bpf_map_lookup_elem(filter_fd, &slot, &count);
		*slots_set += count == 0;
		count++;
		bpf_map_update_elem(filter_fd, &slot, &count, BPF_ANY);
		added++;
	}
	close(leases_fd);
	close(filter_fd);
	return added;
}

/* Make the filter say "maybe leased" for path without leasing it. */
static int take_slot_of(struct lw_enforcer *enf, const char *path)
{
	char map_path[256];
	struct bpf_map_info info = {};
	struct lw_image_key key;
	__u32 len = sizeof(info), slot, count = 0;
	int fd = open(path, O_RDONLY), filter_fd, err;

	snprintf(map_path, sizeof(map_path), "%s/lease_filter", pin_dir);
	filter_fd = bpf_obj_get(map_path);
	err = fd < 0 || filter_fd < 0 || lw_enforcer_key_of_fd(enf, fd, &key) ||
	      bpf_obj_get_info_by_fd(filter_fd, &info, &len);
	if (!err) {
		struct lw_map_key k = { .dev = key.dev, .ino = key.ino };

		slot = lw_filter_slot(&k, info.max_entries - 1);
		bpf_map_lookup_elem(filter_fd, &slot, &count);
		count++;
		err = bpf_map_update_elem(filter_fd, &slot, &count, BPF_ANY);
	}
	close(fd);
	close(filter_fd);
	return err;
}

/* 100 processes with 10 files open each, so the writer check has a
 * realistic amount to walk. */
static void spawn_busy_processes(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int f = 0; f < 10; f++)
				open(unleased, O_RDONLY);
			pause();
			_exit(0);
		}
	}
	usleep(200 * 1000);
}

static void measure_acquire(struct lw_enforcer *enf)
{
	struct lw_holder self;
	pid_t pids[100];
	double with_check = 0, forced = 0;
	const int rounds = 50;
	int fd = open(unleased, O_RDONLY);
	struct lw_image_key key;

	lw_holder_of_pid(getpid(), &self);
	spawn_busy_processes(pids, 100);
	for (int i = 0; i < rounds; i++) {
		double t = now_ns();

		if (lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key))
			fprintf(stderr, "acquire failed: %s\n", lw_enforcer_error(enf));
		with_check += now_ns() - t;
		lw_enforcer_remove_lease(enf, &key);
		t = now_ns();
		lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &self, LW_LEASE_FORCE, &key, NULL);
		forced += now_ns() - t;
		lw_enforcer_remove_lease(enf, &key);
	}
	for (int i = 0; i < 100; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	close(fd);
	printf("\nacquire (add_lease), mean of %d, with 100 extra processes x 10 open files:\n", rounds);
	printf("  with the pre-existing-writer check (files iterator): %10.0f us\n", with_check / rounds / 1e3);
	printf("  forced, no check:                                    %10.0f us\n", forced / rounds / 1e3);
	printf("  cost of the check:                                   %10.0f us (%.2fx)\n",
	       (with_check - forced) / rounds / 1e3, with_check / forced);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50000, stats_fd, prog_fd, fd, err, filled;
	__u32 slots_set = 0, slots = 0;
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir };
	struct lw_enforcer *enf = NULL;
	struct lw_holder init_holder;
	struct lw_err why;
	FILE *f;

	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/lw-bench-%d", getpid());
	if (system("mkdir -p " DIR_ " && mount -t tmpfs lw-bench " DIR_))
		return 1;
	if (!(f = fopen(leased, "w")) || fclose(f) || !(f = fopen(unleased, "w")) || fclose(f))
		return 1;

	start_hook_target();
	measure_hooks_bare(n / 10, false);
	/* Side by side: first with no program attached. */
	for (size_t i = 0; i < NR_SCENARIOS; i++) {
		double unused;

		open_close_ns(scenarios[i].path, scenarios[i].flags, n / 10);
		best_of_rounds(&scenarios[i], -1, n, &scenarios[i].bare_ns, &unused);
	}

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);	/* kernel.bpf_stats_enabled while open */
	if (stats_fd < 0) {
		fprintf(stderr, "enforce_cost: cannot enable bpf_stats: %s\n", strerror(errno));
		return 1;
	}
	if ((err = lw_enforcer_open(&opts, &enf, &why))) {
		fprintf(stderr, "enforce_cost: %s\n", why.msg);
		return 1;
	}
	/* Leased to init, so this process is a non-holder. */
	fd = open(leased, O_RDONLY);
	if (lw_holder_of_pid(1, &init_holder) ||
	    lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &init_holder, NULL)) {
		fprintf(stderr, "enforce_cost: cannot lease: %s\n", lw_enforcer_error(enf));
		return 1;
	}
	close(fd);
	prog_fd = prog_fd_named("lw_file_open");
	if (prog_fd < 0) {
		fprintf(stderr, "enforce_cost: cannot find the pinned file_open program in %s\n", pin_dir);
		return 1;
	}

	measure(0, prog_fd, n);
	measure_hooks(0, n / 10);
	filled = fill_table(&slots_set, &slots);
	if (filled < 0) {
		fprintf(stderr, "enforce_cost: cannot fill the lease table\n");
		return 1;
	}
	if (take_slot_of(enf, unleased)) {
		fprintf(stderr, "enforce_cost: cannot mark the unleased file's filter slot\n");
		return 1;
	}
	measure(1, prog_fd, n);
	measure_hooks(1, n / 100);
	lw_enforcer_unpin(enf);
	lw_enforcer_close(enf);
	for (size_t i = 0; i < NR_SCENARIOS; i++) {
		double after, unused;

		best_of_rounds(&scenarios[i], -1, n, &after, &unused);
		if (after < scenarios[i].bare_ns)
			scenarios[i].bare_ns = after;
	}
	measure_hooks_bare(n / 10, true);
	print_table(n);
	print_hooks(n / 10);
	printf("* the unleased file's filter slot was marked taken: its row is the worst case\n"
	       "  (filter hit, then a hash-map miss); with 1 lease it is the common case (filter\n"
	       "  miss, no hash lookup). With %d leases %u of %u filter slots are set:\n"
	       "  that share of unleased write opens takes the worst case.\n", filled + 1, slots_set, slots);

	/* A fresh enforcer in another folder for the acquire measurement. */
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/lw-bench-acq-%d", getpid());
	if (lw_enforcer_open(&opts, &enf, &why)) {
		fprintf(stderr, "enforce_cost: %s\n", why.msg);
		return 1;
	}
	measure_acquire(enf);
	lw_enforcer_unpin(enf);
	lw_enforcer_close(enf);
	close(prog_fd);
	close(stats_fd);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	system("umount " DIR_);
	return 0;
}
