// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the block-device tracking hooks cost per call. Runs as root in a
 * BPF-LSM kernel (the VM):
 *
 *   tests/vm/run -- build/bench/blockdev_cost [CALLS, default 500]
 *
 * Each program's own time from bpf_stats (run_time_ns / run_cnt) and the
 * wall-clock time of the call, side by side with no program attached, on a
 * loop device over a file on tmpfs, unleased and with the file leased to
 * this process (the holder: every call goes the whole tracking path):
 *   - fentry/bdev_add: BLKPG add + delete of a partition (one bdev_add);
 *   - file_ioctl on a loop ioctl: LOOP_SET_STATUS64 (the loop tracking's
 *     constant tests), and LOOP_CONFIGURE + LOOP_CLR_FD of the file (the
 *     descriptor-table read and the alias; two calls of the program);
 *   - the mount guard: mount(2) (read-only) + umount of a small ext4 image on a second
 *     loop device (never leased: sb_set_mnt_opts once a mount, and the
 *     inode_alloc_security runs meanwhile, a few of them for the mounting
 *     superblock), and pipe() + close, one inode of a born superblock:
 *     what inode_alloc_security costs everything else on the host. */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/loop.h>
#include <stdio.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "enforcer/enforcer.h"
#include "lib/bpf_prog.h"
#include "lib/runner.h"

#define DIR_ "/tmp/lw-bench-blockdev"
#define ROUNDS 5

static const char *backing = DIR_ "/backing.raw";
static char pin_dir[128], loop_dev[64], mount_dev[64];
static int loop_fd = -1;

static int prog_fd_named(const char *name)
{
	char path[512];

	return lw_bench_pinned_fd(pin_dir, "prog_", name, path, sizeof(path));
}

static int attach(void)
{
	struct loop_config config = { 0 };
	int file = open(backing, O_RDWR | O_CLOEXEC), r;

	if (file < 0)
		return -1;
	config.fd = (__u32)file;
	r = ioctl(loop_fd, LOOP_CONFIGURE, &config);
	close(file);
	return r;
}

static void call_blkpg(void)
{
	struct blkpg_partition part = { .start = 1 << 20, .length = 1 << 20, .pno = 1 };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part };

	ioctl(loop_fd, BLKPG, &arg);
	arg.op = BLKPG_DEL_PARTITION;
	ioctl(loop_fd, BLKPG, &arg);
}

static void call_set_status(void)
{
	struct loop_info64 info;

	if (!ioctl(loop_fd, LOOP_GET_STATUS64, &info))
		ioctl(loop_fd, LOOP_SET_STATUS64, &info);
}

/* Since 6.x LOOP_CLR_FD only marks a loop device that is open for
 * autoclear: it detaches at the last close, so close and open again. */
static void call_attach_detach(void)
{
	ioctl(loop_fd, LOOP_CLR_FD, 0);
	close(loop_fd);
	loop_fd = open(loop_dev, O_RDWR | O_CLOEXEC);
	attach();
}

static void call_mount(void)
{
	/* read-only: no journal commit at umount to blur the time */
	if (!mount(mount_dev, DIR_ "/mnt", "ext4", MS_RDONLY, NULL))
		umount(DIR_ "/mnt");
}

static void call_pipe(void)
{
	int p[2];

	if (!pipe(p)) {
		close(p[0]);
		close(p[1]);
	}
}

struct hook_case {
	const char *name;
	void (*call)(void);
	const char *prog;
	double bare_ns, wall[2], prog_ns[2];
};

static struct hook_case cases[] = {
	{ "BLKPG add+delete partition", call_blkpg, "lw_bdev_add", 0, {0}, {0} },
	{ "LOOP_GET+SET_STATUS64", call_set_status, "lw_file_ioctl", 0, {0}, {0} },
	{ "LOOP_CLR_FD+LOOP_CONFIGURE", call_attach_detach, "lw_file_ioctl", 0, {0}, {0} },
	{ "mount ro+umount ext4 (set_opts)", call_mount, "lw_mount_set_opts", 0, {0}, {0} },
	{ "mount ro+umount (inode_alloc)", call_mount, "lw_mount_inode_alloc", 0, {0}, {0} },
	{ "pipe+close (inode_alloc)", call_pipe, "lw_mount_inode_alloc", 0, {0}, {0} },
};
#define NR_CASES (sizeof(cases) / sizeof(cases[0]))
static const char *const tables[2] = { "unleased", "leased" };

static void measure(int table, int n)
{
	for (size_t i = 0; i < NR_CASES; i++) {
		int fd = prog_fd_named(cases[i].prog);

		if (fd < 0)
			fprintf(stderr, "blockdev_cost: no pinned program %s\n", cases[i].prog);
		lw_bench_best_of(cases[i].call, fd, n, ROUNDS, &cases[i].wall[table], &cases[i].prog_ns[table]);
		if (fd >= 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500, stats_fd, ctl, nr, fd, err;
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir };
	struct lw_enforcement *enf = NULL;
	struct lw_holder self;
	struct lw_err why;

	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/lw-bench-blockdev-%d", getpid());
	if (system("modprobe loop 2>/dev/null; mkdir -p " DIR_ " && mount -t tmpfs lw-bench " DIR_
		   " && truncate -s 8M " DIR_ "/backing.raw"))
		return 1;
	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0 || (nr = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0) {
		fprintf(stderr, "blockdev_cost: no free loop device: %s\n", strerror(errno));
		return 1;
	}
	close(ctl);
	snprintf(loop_dev, sizeof(loop_dev), "/dev/loop%d", nr);
	if ((loop_fd = open(loop_dev, O_RDWR | O_CLOEXEC)) < 0 || attach()) {
		fprintf(stderr, "blockdev_cost: cannot attach %s: %s\n", loop_dev, strerror(errno));
		return 1;
	}
	/* The image the mount cases mount: losetup prints its loop device. */
	{
		FILE *p = popen("truncate -s 8M " DIR_ "/mount.raw && mkfs.ext4 -q -F " DIR_ "/mount.raw >/dev/null && "
				"mkdir -p " DIR_ "/mnt && losetup -f --show " DIR_ "/mount.raw", "r");

		if (!p || !fgets(mount_dev, sizeof(mount_dev), p) || pclose(p)) {
			fprintf(stderr, "blockdev_cost: cannot make an ext4 image on a loop device\n");
			return 1;
		}
		mount_dev[strcspn(mount_dev, "\n")] = 0;
	}

	for (size_t i = 0; i < NR_CASES; i++) {
		double unused;

		lw_bench_best_of(cases[i].call, -1, n, ROUNDS, &cases[i].bare_ns, &unused);
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "blockdev_cost: cannot enable bpf_stats: %s\n", strerror(errno));
		return 1;
	}
	if ((err = lw_enforcer_open(&opts, &enf, &why))) {
		fprintf(stderr, "blockdev_cost: %s\n", why.msg);
		return 1;
	}
	measure(0, n);
	/* The file leased to us: each attach ties the loop device to it, each
	 * partition becomes an alias (forced: the loop device writes it). */
	fd = open(backing, O_RDONLY | O_CLOEXEC);
	if (lw_holder_of_pid(getpid(), &self) ||
	    lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &self, LW_LEASE_FORCE, NULL, NULL)) {
		fprintf(stderr, "blockdev_cost: cannot lease: %s\n", lw_enforcer_error(enf));
		return 1;
	}
	close(fd);
	measure(1, n);

	printf("per call of the block-device tracking, best of %d rounds of %d calls (ns)\n", ROUNDS, n / ROUNDS);
	printf("%-32s %-9s %12s %12s %8s %12s\n", "case", "file", "no prog", "with prog", "ratio", "prog ns/run");
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < NR_CASES; i++)
			printf("%-32s %-9s %12.0f %12.0f %7.2fx %12.0f\n", cases[i].name, tables[t], cases[i].bare_ns,
			       cases[i].wall[t], cases[i].wall[t] / cases[i].bare_ns, cases[i].prog_ns[t]);
	printf("(leased: the partition's alias is added (and the stale one dropped) in bdev_add;\n"
	       " LOOP_CONFIGURE reads the descriptor table and adds the loop device's alias;\n"
	       " the mounted image is never leased: its mounts are allowed)\n");

	ioctl(loop_fd, LOOP_CLR_FD, 0);
	close(loop_fd);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "losetup -d %s", mount_dev);
		if (system(cmd))
			fprintf(stderr, "blockdev_cost: cannot detach %s\n", mount_dev);
	}
	lw_enforcer_unpin(enf);
	lw_enforcer_close(enf);
	close(stats_fd);
	return system("umount " DIR_) ? 1 : 0;
}
