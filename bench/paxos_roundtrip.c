// SPDX-License-Identifier: LGPL-2.1-or-later
/* Paxos lease round trips (acquire + release) through lockwardend's paxos
 * backend against raw sanlock, in the same guest, on the same storage,
 * rounds interleaved so load hits both alike.
 *
 *   paxos_roundtrip [--rounds R] [--iterations M]
 *
 * Run as root in the BPF-LSM VM (bench/run does): it starts sanlock's
 * daemon (-w 0), a loop-mounted ext4 file for the lockspace and leases
 * (sanlock needs O_DIRECT), and a lockwardend with the paxos backend, then
 * times M round trips a round of each: raw = one registered sanlock client
 * acquiring and releasing resource "raw"; lockwarden = liblockwarden
 * acquiring and releasing an image whose manual lease is resource "lw"
 * (which includes the daemon's agent process, the kernel entry and the
 * state file). Also prints the lockspace join time. One JSON object. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "lockwarden/client.h"

#define DIR "/tmp/lw-paxos-bench"
#define FS DIR "/fs"
#define SOCK DIR "/lockwarden.sock"
#define IO_TIMEOUT 1

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "paxos_roundtrip: failed (%d): %s\n", rc, cmd);
	return rc;
}

/* The lockwardend beside this program (build/bench/.. /lockwardend). */
static void daemon_path(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 32);

	out[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2; up++)
		if (strrchr(out, '/'))
			*strrchr(out, '/') = '\0';
	strcat(out, "/lockwardend");
}

/* sanlock, the storage and lockwardend; returns the join time in seconds. */
static double setup(void)
{
	char cmd[2048], daemon[1024];
	double t0;

	if (sh("modprobe loop && modprobe ext4 && mkdir -p " FS " /run/sanlock /var/log && "
	       "chown sanlock:sanlock /run/sanlock && truncate -s 64M " DIR "/fs.img && "
	       "mkfs.ext4 -q -F " DIR "/fs.img && mount -o loop " DIR "/fs.img " FS " && "
	       "chmod o+x " DIR " && chgrp sanlock " FS " && chmod 2770 " FS " && "
	       "truncate -s 1M " FS "/ls " FS "/raw " FS "/lw && chown sanlock:sanlock " FS "/ls " FS "/raw " FS "/lw && "
	       "(/usr/sbin/sanlock daemon -w 0 >" DIR "/sanlock.out 2>&1) && "
	       "for i in $(seq 300); do /usr/sbin/sanlock client status >/dev/null 2>&1 && break; sleep 0.1; done && "
	       "/usr/sbin/sanlock direct init -s LS:0:" FS "/ls:0 -o 1 >/dev/null && "
	       "/usr/sbin/sanlock direct init -r LS:raw:" FS "/raw:0 >/dev/null && "
	       "/usr/sbin/sanlock direct init -r LS:lw:" FS "/lw:0 >/dev/null && "
	       "dd if=/dev/zero of=" DIR "/image bs=64k count=1 status=none"))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "printf '[backend]\\nname = paxos\\n[paxos]\\nlockspace = LS\\nlockspace_path = " FS
		 "/ls\\nhost_id = 1\\nio_timeout = %d\\njoin_wait_sec = 120\\n' >" DIR "/lw.conf && "
		 "(%s --config " DIR "/lw.conf --socket " SOCK " --pin-dir /sys/fs/bpf/lw-paxos-bench "
		 "--state-dir " DIR "/state --audit-log " DIR "/audit.log >" DIR "/lockwardend.log 2>&1 & "
		 "echo $! >" DIR "/lockwardend.pid)",
		 IO_TIMEOUT, (daemon_path(daemon, sizeof(daemon)), daemon));
	if (sh(cmd))
		return -1;
	/* joined when sanlock lists the lockspace without "ADD" */
	t0 = now_s();
	while (now_s() - t0 < 120) {
		if (system("/usr/sbin/sanlock client status 2>/dev/null | grep -q '^s LS:1:.*[0-9]$'") == 0)
			return now_s() - t0;
		usleep(50000);
	}
	fprintf(stderr, "paxos_roundtrip: the lockspace was not joined within 120 s\n");
	return -1;
}

static struct sanlk_resource *raw_resource(void)
{
	struct sanlk_resource *res = calloc(1, sizeof(*res) + sizeof(struct sanlk_disk));

	if (!res)
		return NULL;
	memcpy(res->lockspace_name, "LS", 2);
	memcpy(res->name, "raw", 3);
	res->num_disks = 1;
	snprintf(res->disks[0].path, sizeof(res->disks[0].path), "%s", FS "/raw");
	return res;
}

static int raw_round(int sock, struct sanlk_resource *res, int iterations, double *secs)
{
	double t0 = now_s();

	for (int i = 0; i < iterations; i++) {
		int rv = sanlock_acquire(sock, -1, 0, 1, &res, NULL);

		if (rv == 0)
			rv = sanlock_release(sock, -1, 0, 1, &res);
		if (rv < 0) {
			fprintf(stderr, "paxos_roundtrip: raw sanlock round trip failed: %d\n", rv);
			return -1;
		}
	}
	*secs = now_s() - t0;
	return 0;
}

static int lw_round(struct lockwarden *lw, int iterations, double *secs, double *acq, double *rel)
{
	struct lockwarden_error err;
	double t0 = now_s(), t;

	for (int i = 0; i < iterations; i++) {
		t = now_s();
		if (lockwarden_acquire_named(lw, DIR "/image", 0, LOCKWARDEN_BRIEF, "LS:lw:" FS "/lw:0", NULL, &err) < 0) {
			fprintf(stderr, "paxos_roundtrip: acquire: %s\n", err.message);
			return -1;
		}
		*acq += now_s() - t;
		t = now_s();
		if (lockwarden_release(lw, DIR "/image", 0, &err) < 0) {
			fprintf(stderr, "paxos_roundtrip: release: %s\n", err.message);
			return -1;
		}
		*rel += now_s() - t;
	}
	*secs = now_s() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = 3, iterations = 20, sock, status = 1;
	double join, raw_total = 0, lw_total = 0, acq = 0, rel = 0;
	struct lockwarden_error err;
	struct sanlk_resource *res;
	struct lockwarden *lw = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--iterations"))
			iterations = atoi(argv[i + 1]);
	}
	if (rounds < 1 || iterations < 1) {
		fprintf(stderr, "usage: paxos_roundtrip [--rounds R] [--iterations M]\n");
		return 2;
	}
	join = setup();
	if (join < 0)
		goto out;
	res = raw_resource();
	sock = sanlock_register();
	if (!res || sock < 0) {
		fprintf(stderr, "paxos_roundtrip: cannot register with sanlock (%d)\n", sock);
		goto out;
	}
	for (int i = 0; i < 300 && lockwarden_connect(SOCK, &lw, &err) < 0; i++)
		usleep(100000);
	if (!lw) {
		fprintf(stderr, "paxos_roundtrip: lockwardend does not answer: %s\n", err.message);
		goto out;
	}
	printf("{\"join_seconds\": %.2f, \"iterations\": %d, \"rounds\": [", join, iterations);
	for (int r = 0; r < rounds; r++) {
		double raw_s, lw_s;

		if (raw_round(sock, res, iterations, &raw_s) < 0 || lw_round(lw, iterations, &lw_s, &acq, &rel) < 0)
			goto out;
		raw_total += raw_s;
		lw_total += lw_s;
		printf("%s{\"raw_per_sec\": %.1f, \"lockwarden_per_sec\": %.1f}", r ? ", " : "",
		       iterations / raw_s, iterations / lw_s);
		fflush(stdout);
	}
	printf("], \"raw_per_sec\": %.1f, \"lockwarden_per_sec\": %.1f, \"ratio_raw_over_lockwarden\": %.2f, "
	       "\"lockwarden_acquire_ms\": %.1f, \"lockwarden_release_ms\": %.1f}\n",
	       rounds * iterations / raw_total, rounds * iterations / lw_total, lw_total / raw_total,
	       1000 * acq / (rounds * iterations), 1000 * rel / (rounds * iterations));
	status = 0;
out:
	if (lw)
		lockwarden_disconnect(lw);
	if (system("kill -TERM $(cat " DIR "/lockwardend.pid 2>/dev/null) 2>/dev/null; "
		   "/usr/sbin/sanlock shutdown -f 1 >/dev/null 2>&1; sleep 1; umount " FS " 2>/dev/null; "
		   "rm -rf /sys/fs/bpf/lw-paxos-bench"))
		status = status ? status : 0;	/* cleanup is best effort */
	return status;
}
