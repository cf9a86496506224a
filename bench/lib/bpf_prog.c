// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the BPF benchmarks share (bpf_prog.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf_prog.h"
#include "runner.h"

int lw_bench_pinned_fd(const char *pin_dir, const char *prefix, const char *name, char *path,
		       size_t size)
{
	struct dirent *e;
	DIR *d = opendir(pin_dir);
	int fd = -1;

	while (d && (e = readdir(d)) && fd < 0) {
		if (strncmp(e->d_name, "v-", 2))
			continue;
		snprintf(path, size, "%s/%s/%s%s", pin_dir, e->d_name, prefix, name);
		fd = bpf_obj_get(path);
	}
	if (d)
		closedir(d);
	return fd;
}

void lw_bench_prog_stats(int prog_fd, __u64 *run_ns, __u64 *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*run_ns = *runs = 0;
	if (!bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		*run_ns = info.run_time_ns;
		*runs = info.run_cnt;
	}
}

void lw_bench_best_of(void (*call)(void), int prog_fd, int n, int rounds, double *wall,
		      double *prog)
{
	*wall = *prog = 0;
	for (int r = 0; r < rounds; r++) {
		__u64 ns0 = 0, c0 = 0, ns1 = 0, c1 = 0;
		double start, w, p;

		if (prog_fd >= 0)
			lw_bench_prog_stats(prog_fd, &ns0, &c0);
		start = lw_bench_now_ns();
		for (int i = 0; i < n / rounds; i++)
			call();
		w = (lw_bench_now_ns() - start) / (n / rounds);
		if (prog_fd >= 0)
			lw_bench_prog_stats(prog_fd, &ns1, &c1);
		p = c1 > c0 ? (double)(ns1 - ns0) / (c1 - c0) : 0;
		if (r == 0 || w < *wall)
			*wall = w;
		if (r == 0 || p < *prog)
			*prog = p;
	}
}
