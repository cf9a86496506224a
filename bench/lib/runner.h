/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Timing helpers the benchmarks share: a monotonic clock in ns, a qsort
 * comparison of doubles, and a runner: a forked process that times what it
 * is asked to, over a socketpair, so that the measured process is not the
 * one holding the lease or answering fanotify; and the files they open. */
#ifndef LW_BENCH_RUNNER_H
#define LW_BENCH_RUNNER_H

#include <stddef.h>
#include <sys/types.h>

double lw_bench_now_ns(void);
int lw_bench_cmp_double(const void *a, const void *b);
/* Creates (or empties) path and writes 64 KiB of zeros: 0, or -1 with errno. */
int lw_bench_make_file(const char *path);

/* Forks a runner that answers each request (request_size bytes) with
 * run(request), a double; *sock is the caller's end. The pid, or -1. */
pid_t lw_bench_runner_start(int *sock, size_t request_size, double (*run)(const void *request));
/* The runner's answer to request, or -1 if it could not be asked. */
double lw_bench_runner_ask(int sock, const void *request, size_t request_size);

#endif /* LW_BENCH_RUNNER_H */
