// SPDX-License-Identifier: LGPL-2.1-or-later
/* Holds leases for memory measurements (bench/lease_memory.sh): takes N
 * leases for its own process on N new images DIR/imgNNNNNN (names padded
 * to --path-len characters), prints "ready" and waits to be killed, which
 * lets the daemon release them all.
 *
 *   lease_fill --socket SOCK --images DIR --leases N [--path-len L] [--check-writers]
 *
 * Acquires are forced (LOCKWARDEN_FORCE) unless --check-writers: natively
 * the fanotify enforcer's writer scan walks /proc on each acquire, which
 * makes the fill slow and measures nothing about memory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lockwarden/client.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *dir = NULL;
	int leases = 0, path_len = 60;
	unsigned flags = LOCKWARDEN_FORCE;
	struct lockwarden_error err;
	struct lockwarden *lw;
	char path[4096];
	double start;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket_path = argv[++i];
		else if (!strcmp(argv[i], "--images") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--leases") && i + 1 < argc)
			leases = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--path-len") && i + 1 < argc)
			path_len = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--check-writers"))
			flags = 0;
		else
			leases = -1;
	}
	if (!socket_path || !dir || leases < 1 || path_len < 1 || path_len >= (int)sizeof(path)) {
		fprintf(stderr, "usage: lease_fill --socket SOCK --images DIR --leases N [--path-len L] "
				"[--check-writers]\n");
		return 2;
	}
	if (lockwarden_connect(socket_path, &lw, &err) < 0 || lockwarden_set_timeout(lw, 600000, &err) < 0) {
		fprintf(stderr, "lease_fill: %s\n", err.message);
		return 1;
	}
	start = now();
	for (int i = 0; i < leases; i++) {
		int len = snprintf(path, sizeof(path), "%s/img%06d", dir, i), fd;

		while (len < path_len)
			path[len++] = 'x';
		path[len] = '\0';
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
		if (lockwarden_acquire(lw, path, 0, flags, NULL, &err) < 0) {
			fprintf(stderr, "lease_fill: acquire %d of %d: %s\n", i + 1, leases, err.message);
			return 1;
		}
		if ((i + 1) % 1000 == 0)
			fprintf(stderr, "lease_fill: %d leases in %.1f s\n", i + 1, now() - start);
	}
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}
