/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the BPF benchmarks share: finding a pinned program or link of the
 * enforcer, reading bpf_stats, and timing a hook's calls best of N rounds. */
#ifndef LW_BENCH_BPF_PROG_H
#define LW_BENCH_BPF_PROG_H

#include <stddef.h>
#include <linux/types.h>

/* The pin prefix+name ("prog_" or "link_") in pin_dir's version folder,
 * opened (path filled), or -1. */
int lw_bench_pinned_fd(const char *pin_dir, const char *prefix, const char *name, char *path,
		       size_t size);
/* bpf_stats of prog_fd: total run time and runs (0 if unreadable). */
void lw_bench_prog_stats(int prog_fd, __u64 *run_ns, __u64 *runs);
/* n calls of call() over rounds rounds: the best round's wall ns per call,
 * and (prog_fd >= 0) the best round's program ns per run from bpf_stats. */
void lw_bench_best_of(void (*call)(void), int prog_fd, int n, int rounds, double *wall,
		      double *prog);

#endif /* LW_BENCH_BPF_PROG_H */
