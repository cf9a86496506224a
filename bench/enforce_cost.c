// SPDX-License-Identifier: LGPL-2.1-or-later
/* What enforcement costs on every open, and what the pre-existing-writer
 * check costs on acquire. Runs as root in a BPF-LSM kernel (the VM):
 *
 *   tests/vm/run -- build/bench/enforce_cost [OPENS [ROUNDS]]
 *
 * Per open (the headline: what a user feels is wall time): open+close of a
 * read-only open of a leased image, a write open of an unleased file and a
 * denied write open of a leased image, all empty files on tmpfs (the
 * cheapest open there is, so the program's largest share), and the two
 * allowed opens where users make them: a 1 MiB image on ext4 (made here on
 * a loop device) at var/lib/libvirt/images/vm-0001.qcow2 and an unleased
 * sibling. With 0 leases, 2 (the two leased images), 1,000 and the table
 * full (65,536), in interleaved rounds: each round measures, in a rotating
 * order, no file_open program, this build's (non-sleepable lsm/file_open)
 * the same program loaded sleepable (lsm.s/file_open, as before) and a
 * program that decides nothing (bench/empty_lsm.bpf.c: the floor any BPF
 * LSM program on the hook pays), each attached by this benchmark just for
 * its turn. A burst of load on the
 * shared host lands in a few rounds, and the median ratio stays honest.
 * Printed: medians and the
 * spread of the per-round ratio to no program, and, from a separate pass
 * with bpf_stats on (it costs time of its own), the program's ns per run.
 * Per call of the other hooks: file_ioctl for an ioctl of no interest
 * (FIONREAD: the constant test) and for FS_IOC_SETFLAGS on an unleased
 * file (the lease lookup), ptrace_access_check for process_vm_readv
 * (attach mode: the holder_index lookups) and for reading
 * /proc/PID/stat (read mode: the first test), task_alloc for a fork by a
 * process outside any holder's family.
 * Per acquire: lw_enforcer_add_lease with the writer check and with
 * LW_LEASE_FORCE (no check), with 100 extra processes holding 10 files each. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
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
#include "lib/bpf_prog.h"
#include "lib/runner.h"
#include "enforcer/enforcer_internal.h"	/* lw_release_programs */
#include "enforcer_maps.h"	/* fill_table writes the maps directly */
#include "enforcer.skel.h"	/* after enforcer_maps.h: it uses its structs */
#include "empty_lsm.skel.h"

#define DIR_ "/tmp/lw-bench"
/* ext4 on a loop device in the tmpfs, as a host's image store would be */
#define EXT4 DIR_ "/ext4"
#define IMAGES EXT4 "/var/lib/libvirt/images"
#define FULL_TABLE 65536
#define MAX_ROUNDS 1024

#define LEASED DIR_ "/leased.raw"
#define UNLEASED DIR_ "/unleased.raw"
#define EXT4_LEASED IMAGES "/vm-0001.qcow2"
#define EXT4_UNLEASED IMAGES "/vm-0002.qcow2"
static const char *leased = LEASED;
static const char *unleased = UNLEASED;
/* the tmpfs and the ext4 image; fill_table adds to them */
#define REAL_LEASES 2
static char pin_dir[128];

/* Mean wall-clock ns of open(path, flags) + close. */
static double open_close_ns(const char *path, int flags, int n)
{
	double start = lw_bench_now_ns();

	for (int i = 0; i < n; i++) {
		int fd = open(path, flags);

		if (fd >= 0)
			close(fd);
	}
	return (lw_bench_now_ns() - start) / n;
}

static int prog_fd_named(const char *name)
{
	char path[512];

	return lw_bench_pinned_fd(pin_dir, "prog_", name, path, sizeof(path));
}

static double median(const double *values, int n)
{
	double sorted[MAX_ROUNDS];

	memcpy(sorted, values, n * sizeof(*values));
	qsort(sorted, n, sizeof(*sorted), lw_bench_cmp_double);
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

struct scenario {
	const char *name;
	const char *path;
	int flags;
};

static const struct scenario scenarios[] = {
	{ "read-only open, leased image", LEASED, O_RDONLY },
	{ "write open, unleased file", UNLEASED, O_RDWR },
	{ "write open, leased image (denied)", LEASED, O_RDWR },
	{ "read-only open, leased image on ext4", EXT4_LEASED, O_RDONLY },
	{ "write open, unleased file on ext4", EXT4_UNLEASED, O_RDWR },
};
#define NR_SCENARIOS 5

/* What is attached to file_open for a turn of a round. */
enum variant { NO_PROG, THIS_BUILD, SLEEPABLE, EMPTY, NR_VARIANTS };
static const char *const variant_names[NR_VARIANTS] = {
	"no program", "lsm/file_open (this build)", "lsm.s/file_open (sleepable, before)",
	"lsm/file_open doing nothing (the floor)",
};
static int variant_prog[NR_VARIANTS] = { -1, -1, -1, -1 };

/* The lease table while opens are measured (the leased images are not
 * leased yet at 0), and while the other hooks are. */
#define NR_TABLES 4
static const char *const tables[NR_TABLES] = { "0 leases", "2 leases", "1,000 *", "65,536 *" };
static const char *const hook_tables[2] = { "2 leases", "65,536 *" };
/* [table][variant][scenario][round]: ns per open+close of the turn's
 * quickest tenth of blocks (p10), and of its median block */
static double quick[NR_TABLES][NR_VARIANTS][NR_SCENARIOS][MAX_ROUNDS];
static double typical[NR_TABLES][NR_VARIANTS][NR_SCENARIOS][MAX_ROUNDS];
/* [table][variant][scenario]: bpf_stats ns per run */
static double stats_ns[NR_TABLES][NR_VARIANTS][NR_SCENARIOS];

/* Attach prog to file_open for a while: a link descriptor, or -1. EBUSY
 * while a released link of the same program is still being freed (the
 * unpinned enforcer link goes after an RCU grace period): wait, bounded. */
static int attach(int prog_fd)
{
	int link = -1;

	for (int tries = 0; tries < 1000; tries++) {
		link = bpf_link_create(prog_fd, 0, BPF_LSM_MAC, NULL);
		if (link >= 0 || errno != EBUSY)
			break;
		usleep(10 * 1000);
	}
	if (link < 0)
		fprintf(stderr, "enforce_cost: cannot attach a file_open program: %s\n", strerror(errno));
	return link;
}

/* An attach or detach rewrites the trampoline and leaves work behind
 * (the old image freed after an RCU-tasks grace period, code re-translated
 * under TCG): measured, it made the turn after a detach (always a turn with
 * no program) slower. Let that work run before the clock starts. */
static void settle(void)
{
	usleep(200 * 1000);
}

/* One turn: BLOCKS blocks of opens; the quickest tenth and the median
 * block. On a host shared with other work the vCPU is taken away for whole
 * milliseconds at random: the quick blocks are the ones it was not, so
 * they measure the open itself. */
#define BLOCKS 50
static void measure_turn(const struct scenario *s, int n, double *p10, double *med)
{
	double blocks[BLOCKS];

	open_close_ns(s->path, s->flags, n / 10);	/* warm up */
	for (int b = 0; b < BLOCKS; b++)
		blocks[b] = open_close_ns(s->path, s->flags, n / BLOCKS);
	qsort(blocks, BLOCKS, sizeof(*blocks), lw_bench_cmp_double);
	*p10 = blocks[BLOCKS / 10];
	*med = median(blocks, BLOCKS);
}

/* Interleaved rounds: every variant in every round, in a rotating order,
 * so a busy host slows all alike. */
static int measure_opens(int table, int n, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < NR_VARIANTS; k++) {
			enum variant v = (r + k) % NR_VARIANTS;
			int link = -1;

			if (v != NO_PROG && (link = attach(variant_prog[v])) < 0)
				return -1;
			settle();
			for (int i = 0; i < NR_SCENARIOS; i++)
				measure_turn(&scenarios[i], n, &quick[table][v][i][r], &typical[table][v][i][r]);
			if (link >= 0)
				close(link);	/* detached: settle() before the next turn */
		}
	/* The programs' own time, apart: bpf_stats adds two clock reads a run. */
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (stats_fd < 0) {
		fprintf(stderr, "enforce_cost: cannot enable bpf_stats: %s\n", strerror(errno));
		return -1;
	}
	for (enum variant v = THIS_BUILD; v < NR_VARIANTS; v++) {
		int link = attach(variant_prog[v]);

		if (link < 0)
			return -1;
		for (int i = 0; i < NR_SCENARIOS; i++) {
			__u64 ns0, c0, ns1, c1;

			lw_bench_prog_stats(variant_prog[v], &ns0, &c0);
			open_close_ns(scenarios[i].path, scenarios[i].flags, n);
			lw_bench_prog_stats(variant_prog[v], &ns1, &c1);
			stats_ns[table][v][i] = c1 > c0 ? (double)(ns1 - ns0) / (c1 - c0) : 0;
		}
		close(link);
	}
	close(stats_fd);
	return 0;
}

/* Median and range over the rounds of with / without, round by round. */
static void ratio_spread(double with[], double without[], int rounds, double *med, double *lo, double *hi)
{
	double ratios[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		ratios[r] = with[r] / without[r];
		if (r == 0 || ratios[r] < *lo)
			*lo = ratios[r];
		if (r == 0 || ratios[r] > *hi)
			*hi = ratios[r];
	}
	*med = median(ratios, rounds);
}

/* A markdown table (bench/report.py lifts its rows). */
static void print_opens(int n, int rounds)
{
	printf("per open+close, %d interleaved rounds; a turn: %d blocks of %d opens. ns: the quickest\n"
	       "tenth of a turn's blocks (p10), median over the rounds; ratio: to no program in the same\n"
	       "round, median (min..max), of p10 and of the turns' median blocks\n\n",
	       rounds, BLOCKS, n / BLOCKS);
	printf("| case | table | program | no program ns | with program ns | ratio median (min..max) "
	       "| ratio of median blocks | bpf_stats ns/run |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (int t = 0; t < NR_TABLES; t++)
		for (int i = 0; i < NR_SCENARIOS; i++)
			for (enum variant v = THIS_BUILD; v < NR_VARIANTS; v++) {
				double q, qlo = 0, qhi = 0, m, mlo = 0, mhi = 0;

				ratio_spread(quick[t][v][i], quick[t][NO_PROG][i], rounds, &q, &qlo, &qhi);
				ratio_spread(typical[t][v][i], typical[t][NO_PROG][i], rounds, &m, &mlo, &mhi);
				printf("| %s | %s | %s | %.0f | %.0f | %.3fx (%.3f..%.3f) | %.3fx (%.3f..%.3f) | %.0f |\n",
				       scenarios[i].name, tables[t], variant_names[v],
				       median(quick[t][NO_PROG][i], rounds), median(quick[t][v][i], rounds),
				       q, qlo, qhi, m, mlo, mhi, stats_ns[t][v][i]);
			}
	printf("\n(a denied open returns no descriptor to close, so its wall time is not the same work)\n");
}

/* Take file_open from the enforcer's own link, so this benchmark attaches
 * it only for its turns: the enforcer lets go of the links it holds, the
 * pin goes, and with them the link's last references. */
static int detach_enforcer_file_open(struct lw_enforcement *enf)
{
	char path[512];
	int fd = lw_bench_pinned_fd(pin_dir, "link_", "lw_file_open", path, sizeof(path));

	lw_release_programs(lw_bpf_of(enf));	/* the other links stay pinned, so attached */

	if (fd < 0 || unlink(path)) {
		fprintf(stderr, "enforce_cost: cannot take the pinned file_open link %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The same file_open program loaded sleepable, on the enforcer's maps (its
 * read-only data included: the same filter mask), attached by nobody yet. */
static int load_sleepable_copy(int prog_fd, struct enforcer_bpf **out)
{
	struct bpf_prog_info info = {};
	__u32 map_ids[64], len = sizeof(info), nr_maps;
	struct enforcer_bpf *skel = enforcer_bpf__open();
	struct bpf_program *prog;
	struct bpf_map *map;
	int err = -1;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (!skel || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		goto out;
	nr_maps = info.nr_map_ids;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.lw_file_open);
	bpf_program__set_flags(skel->progs.lw_file_open, BPF_F_SLEEPABLE);
	bpf_object__for_each_map(map, skel->obj) {
		for (__u32 i = 0; i < nr_maps; i++) {
			struct bpf_map_info map_info = {};
			__u32 map_len = sizeof(map_info);
			int fd = bpf_map_get_fd_by_id(map_ids[i]);

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &map_info, &map_len) &&
			    !strcmp(map_info.name, bpf_map__name(map)) && !bpf_map__reuse_fd(map, fd)) {
				close(fd);
				break;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	if ((err = enforcer_bpf__load(skel)))
		fprintf(stderr, "enforce_cost: cannot load the sleepable copy: %s\n", strerror(-err));
out:
	*out = skel;
	return err;
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

/* rename(2) back and forth: the overlay copy-up hook's constant test
 * (no copy-up under way in this thread), beside the image checks. */
static void call_rename(void)
{
	static int flip;

	rename(flip ? DIR_ "/rename.b" : DIR_ "/rename.a", flip ? DIR_ "/rename.a" : DIR_ "/rename.b");
	flip = !flip;
}

/* link(2) and unlink(2) of a second name: the same test at link. */
static void call_link(void)
{
	if (link(UNLEASED, DIR_ "/link.tmp") == 0)
		unlink(DIR_ "/link.tmp");
}

/* fork(2) and reaping the child: task_alloc's two lookups (is the parent a
 * holder, or of a holder's family?) for a process that is neither. */
static void call_fork(void)
{
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	if (child > 0)
		waitpid(child, NULL, 0);
}

#define ROUNDS 10	/* the other hooks: best of ROUNDS rounds */
#define HOOK_CALLS 5000	/* the other hooks: calls over all rounds */

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
	{ "rename (no copy-up noted)", call_rename, "lw_ovl_inode_rename", 0, {0}, {0} },
	{ "link+unlink (no copy-up noted)", call_link, "lw_ovl_inode_link", 0, {0}, {0} },
	{ "fork+wait (not a holder)", call_fork, "lw_task_alloc", 0, {0}, {0} },
};
#define NR_HOOK_CASES (sizeof(hook_cases) / sizeof(hook_cases[0]))

static void start_hook_target(void)
{
	ioctl_fd = open(unleased, O_RDONLY);
	close(open(DIR_ "/rename.a", O_WRONLY | O_CREAT, 0644));
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

		lw_bench_best_of(hook_cases[i].call, -1, n, ROUNDS, &w, &unused);
		if (!keep_best || w < hook_cases[i].bare_ns)
			hook_cases[i].bare_ns = w;
	}
}

static void measure_hooks(int table, int n)
{
	for (size_t i = 0; i < NR_HOOK_CASES; i++) {
		int fd = prog_fd_named(hook_cases[i].prog);

		lw_bench_best_of(hook_cases[i].call, fd, n, ROUNDS, &hook_cases[i].wall[table],
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
			printf("%-36s %-10s %10.0f %10.0f %7.2fx %12.0f\n", hook_cases[i].name, hook_tables[t],
			       hook_cases[i].bare_ns, hook_cases[i].wall[t],
			       hook_cases[i].wall[t] / hook_cases[i].bare_ns, hook_cases[i].prog_ns[t]);
	printf("(65,536 rows: a tenth as many calls. process_vm_readv looks the target up in\n"
	       " holder_index: one lookup, plus one per cgroup level, whatever the table)\n");
}

/* Fill the lease table up to leases (the real ones included) with
 * synthetic keys, straight into the pinned maps (the filter too), as a
 * busy host's table would be. Returns the synthetic leases in all. */
static int fill_table(int leases, __u32 *slots_set, __u32 *slots)
{
	static __u64 next_ino = 1;
	static int added;
	char path[256];
	struct lw_map_lease lease = { .mode = LW_MAP_LEASE_EXCLUSIVE, .nr_holders = 1 };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
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
	for (; added < leases - REAL_LEASES; next_ino++) {
		struct lw_map_key key = { .dev = 0xfffff, .ino = next_ino };	/* no real fs has this dev */
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
static int take_slot_of(struct lw_enforcement *enf, const char *path)
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

/* The image store on ext4: a real inode at a path of several components,
 * which the program's open path and key lookup see as on a host. */
static int make_ext4_images(void)
{
	if (system("modprobe loop; modprobe ext4; truncate -s 256M " DIR_ "/ext4.img && "
		   "mkfs.ext4 -q -F " DIR_ "/ext4.img && mkdir -p " EXT4 " && "
		   "mount -o loop " DIR_ "/ext4.img " EXT4 " && mkdir -p " IMAGES " && "
		   "truncate -s 1M " EXT4_LEASED " " EXT4_UNLEASED)) {
		fprintf(stderr, "enforce_cost: cannot make the ext4 image store %s (loop, ext4, mkfs.ext4)\n",
			IMAGES);
		return -1;
	}
	return 0;
}

/* Lease path to init, so this process is a non-holder. */
static int lease_to_init(struct lw_enforcement *enf, const char *path)
{
	struct lw_holder init_holder;
	int fd = open(path, O_RDONLY), err;

	err = fd < 0 || lw_holder_of_pid(1, &init_holder) ||
	      lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &init_holder, NULL);
	if (err)
		fprintf(stderr, "enforce_cost: cannot lease %s: %s\n", path,
			fd < 0 ? strerror(errno) : lw_enforcer_error(enf));
	if (fd >= 0)
		close(fd);
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

static void measure_acquire(struct lw_enforcement *enf)
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
		double t = lw_bench_now_ns();

		if (lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key))
			fprintf(stderr, "acquire failed: %s\n", lw_enforcer_error(enf));
		with_check += lw_bench_now_ns() - t;
		lw_enforcer_remove_lease(enf, &key);
		t = lw_bench_now_ns();
		lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &self, LW_LEASE_FORCE, &key, NULL);
		forced += lw_bench_now_ns() - t;
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
	int n = argc > 1 ? atoi(argv[1]) : 5000, rounds = argc > 2 ? atoi(argv[2]) : 11;
	int stats_fd, prog_fd, err, filled;
	__u32 slots_set = 0, slots = 0;
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir };
	struct lw_enforcement *enf = NULL;
	struct enforcer_bpf *sleepable = NULL;
	struct empty_lsm_bpf *empty = NULL;
	struct lw_err why;
	FILE *f;

	if (n < 10 * BLOCKS || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: enforce_cost [OPENS >= 500 [ROUNDS 1..%d]]\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/lw-bench-%d", getpid());
	if (system("mkdir -p " DIR_ " && mount -t tmpfs lw-bench " DIR_))
		return 1;
	if (!(f = fopen(leased, "w")) || fclose(f) || !(f = fopen(unleased, "w")) || fclose(f))
		return 1;
	if (make_ext4_images())
		return 1;

	start_hook_target();
	measure_hooks_bare(HOOK_CALLS, false);

	if ((err = lw_enforcer_open(&opts, &enf, &why))) {
		fprintf(stderr, "enforce_cost: %s\n", why.msg);
		return 1;
	}
	prog_fd = prog_fd_named("lw_file_open");
	if (prog_fd < 0) {
		fprintf(stderr, "enforce_cost: cannot find the pinned file_open program in %s\n", pin_dir);
		return 1;
	}
	if (detach_enforcer_file_open(enf) || load_sleepable_copy(prog_fd, &sleepable))
		return 1;
	variant_prog[THIS_BUILD] = prog_fd;
	variant_prog[SLEEPABLE] = bpf_program__fd(sleepable->progs.lw_file_open);
	if (!(empty = empty_lsm_bpf__open_and_load())) {
		fprintf(stderr, "enforce_cost: cannot load the empty file_open program: %s\n", strerror(errno));
		return 1;
	}
	variant_prog[EMPTY] = bpf_program__fd(empty->progs.lw_empty_file_open);
	if (measure_opens(0, n, rounds))
		return 1;

	if (lease_to_init(enf, leased) || lease_to_init(enf, EXT4_LEASED) || measure_opens(1, n, rounds))
		return 1;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);	/* for the other hooks' ns per run */
	measure_hooks(0, HOOK_CALLS);
	close(stats_fd);

	if (fill_table(1000, &slots_set, &slots) < 0 || take_slot_of(enf, unleased) ||
	    take_slot_of(enf, EXT4_UNLEASED)) {
		fprintf(stderr, "enforce_cost: cannot fill the lease table, or mark the unleased files' filter slots\n");
		return 1;
	}
	if (measure_opens(2, n, rounds))
		return 1;
	filled = fill_table(FULL_TABLE, &slots_set, &slots);
	if (filled < 0) {
		fprintf(stderr, "enforce_cost: cannot fill the lease table\n");
		return 1;
	}
	if (measure_opens(3, n, rounds))
		return 1;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	measure_hooks(1, HOOK_CALLS / 10);
	close(stats_fd);
	enforcer_bpf__destroy(sleepable);
	empty_lsm_bpf__destroy(empty);
	lw_enforcer_unpin(enf);
	lw_enforcer_close(enf);
	measure_hooks_bare(HOOK_CALLS, true);
	print_opens(n, rounds);
	print_hooks(HOOK_CALLS);
	printf("* the unleased files' filter slots (tmpfs and ext4) were marked taken: their rows are\n"
	       "  the worst case (filter hit, then a hash-map miss); with 0 or 2 leases it is the common\n"
	       "  case (filter miss, no hash lookup). With %d leases %u of %u filter slots are set:\n"
	       "  that share of unleased write opens takes the worst case.\n", filled + REAL_LEASES,
	       slots_set, slots);

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
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	close(ioctl_fd);
	/* the ext4 first: it lives in the tmpfs */
	if (system("umount " EXT4 " && umount " DIR_))
		fprintf(stderr, "enforce_cost: cannot unmount %s and %s\n", EXT4, DIR_);
	return 0;
}
