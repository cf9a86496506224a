// SPDX-License-Identifier: LGPL-2.1-or-later
/* Timing helpers the benchmarks share (runner.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

/* requests are small structs; a runner reads one whole per call */
#define REQUEST_MAX 4096

double lw_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int lw_bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int lw_bench_make_file(const char *path)
{
	char block[1 << 16] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, block, sizeof(block)) != sizeof(block)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

pid_t lw_bench_runner_start(int *sock, size_t request_size, double (*run)(const void *request))
{
	int sv[2];
	pid_t pid;

	if (request_size > REQUEST_MAX || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		char request[REQUEST_MAX];

		close(sv[0]);
		while (read(sv[1], request, request_size) == (ssize_t)request_size) {
			double ns = run(request);

			if (write(sv[1], &ns, sizeof(ns)) != sizeof(ns))
				break;
		}
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	*sock = sv[0];
	return pid;
}

double lw_bench_runner_ask(int sock, const void *request, size_t request_size)
{
	double ns = -1;

	if (write(sock, request, request_size) != (ssize_t)request_size ||
	    read(sock, &ns, sizeof(ns)) != sizeof(ns))
		return -1;
	return ns;
}
