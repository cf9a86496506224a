// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwardend at scale: one holder takes up to --leases leases (distinct
 * images), then the daemon is measured full. Runs as root in a BPF-LSM
 * kernel (bench/run starts it in the VM); it starts the daemon itself, so
 * it can kill and restart it:
 *
 *   scale --images DIR --leases N --seconds S [--path-len L] [--daemon-log FILE]
 *         -- LOCKWARDEND ARGS...
 *
 * (ARGS must include --socket SOCK.) Measured, in order:
 *   - acquire: each acquire's time through liblockwarden; the mean of the
 *     first and of the last thousand, and how many were taken before
 *     --seconds ran out (the fill stops there: a slow daemon is reported,
 *     not waited for all day);
 *   - the daemon's RSS and descriptors, and those of its keeper;
 *   - list: the time of one `list` call, its error if the reply is refused,
 *     the reply's size, and how many leases of these paths fit the client's
 *     16 MiB cap at that size per lease;
 *   - kill -9 of the daemon, then a restart: when status first answers and
 *     when it reports every lease again (re-adoption);
 *   - the holder killed: how long until status reports no lease, and the
 *     slowest status answer meanwhile (does releasing stall other clients?).
 * Prints one JSON object on stdout; progress on stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockwarden/client.h"

#define POLL_MS 50
#define DAEMON_NOFILE 140000	/* the 131,840 lockwardend asks for at 65,536 leases, and some */
#define CLIENT_REPLY_MAX (16.0 * 1024 * 1024)	/* liblockwarden's cap on one reply (client.c) */
#define STATUS_TIMEOUT_MS 60000

static const char *images_dir, *socket_path, *daemon_log = "/dev/null";
static int want_leases = 65536, path_len = 100;
static double budget_s = 900;
static char **daemon_argv;
static pid_t daemon_pid = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Image i's path, padded to about path_len characters (list's reply grows
 * with them). */
static void image_path(int i, char *buf, size_t size)
{
	int pad = path_len - (int)strlen(images_dir) - 16;

	snprintf(buf, size, "%s/%.*s%08d.raw", images_dir, pad > 0 ? pad : 0,
		 "image-of-a-virtual-machine-with-a-rather-long-name-as-hosts-give-them-"
		 "in-their-storage-pools-and-folders-named-after-tenants-and-projects-"
		 "so-that-a-path-reaches-the-length-operators-really-see", i);
}

static pid_t start_daemon(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY), log = open(daemon_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		/* What a unit file gives it (LimitNOFILE): 2 a lease at 65,536 */
		struct rlimit nofile = { DAEMON_NOFILE, DAEMON_NOFILE };

		if (setrlimit(RLIMIT_NOFILE, &nofile))
			fprintf(stderr, "scale: cannot raise the daemon's descriptor limit to %d: %s\n",
				DAEMON_NOFILE, strerror(errno));

		dup2(null, 0);
		if (log >= 0)
			dup2(log, 1), dup2(log, 2);
		execv(daemon_argv[0], daemon_argv);
		fprintf(stderr, "scale: cannot run %s: %s\n", daemon_argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* One status call on a fresh connection: the lease count, or -1. *took
 * gets the call's seconds. */
static long status_leases(double *took)
{
	struct lockwarden_error err;
	struct lockwarden_status st;
	struct lockwarden *lw;
	double t = now();
	long leases = -1;

	if (lockwarden_connect(socket_path, &lw, &err) >= 0) {
		lockwarden_set_timeout(lw, STATUS_TIMEOUT_MS, &err);
		if (lockwarden_status(lw, &st, &err) >= 0) {
			leases = st.leases;
			free(st.version), free(st.backend), free(st.pin_dir);
			free(st.enforcer), free(st.enforcer_limits);
		}
		lockwarden_disconnect(lw);
	}
	if (took)
		*took = now() - t;
	return leases;
}

/* The daemon answers status, within limit seconds. */
static bool wait_daemon(double limit)
{
	double end = now() + limit;

	while (now() < end) {
		if (status_leases(NULL) >= 0)
			return true;
		sleep_ms(POLL_MS);
	}
	return false;
}

static long kb_of(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return kb;
}

static long fds_of(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether pid's command line has socket_path as an argument: the keeper is
 * a fork of the daemon, so it shows the daemon's own arguments. */
static bool runs_our_socket(pid_t pid)
{
	char path[64], args[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (!(f = fopen(path, "r")))
		return false;
	n = fread(args, 1, sizeof(args) - 1, f);
	fclose(f);
	args[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(args + i) + 1)
		if (!strcmp(args + i, socket_path))
			return true;
	return false;
}

/* RSS and descriptors of the keepers (the daemon's double-forked
 * lockwarden-keep: nobody's child, so found by name and by our daemon's
 * socket among its arguments, as other daemons may run beside), summed. */
static void keeper_usage(long *rss_kb, long *fds)
{
	struct dirent *e;
	DIR *d = opendir("/proc");

	*rss_kb = *fds = 0;
	while (d && (e = readdir(d))) {
		char path[64], comm[64] = "";
		pid_t pid = atoi(e->d_name);
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (!strcmp(comm, "lockwarden-keep\n") && runs_our_socket(pid)) {
			*rss_kb += kb_of(pid, "VmRSS:");
			*fds += fds_of(pid);
		}
	}
	if (d)
		closedir(d);
}

/* Bytes of List's reply on the wire (varlink: JSON up to a NUL), read
 * past any client's cap; -1 if it cannot be had. */
static long list_reply_bytes(void)
{
	static const char call[] = "{\"method\":\"io.lockwarden.Manager.List\"}";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[65536];
	long total = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    write(fd, call, sizeof(call)) != (ssize_t)sizeof(call)) {	/* the NUL included */
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += n;
		if (memchr(buf, 0, n))
			break;
	}
	close(fd);
	return n < 0 ? -1 : total;
}

static double mean(const double *v, int from, int to)
{
	double sum = 0;

	for (int i = from; i < to; i++)
		sum += v[i];
	return to > from ? sum / (to - from) : 0;
}

static void json_str(const char *key, const char *value, bool comma)
{
	printf("\"%s\": \"", key);
	for (const char *c = value; *c; c++)
		printf(*c == '"' || *c == '\\' ? "\\%c" : (unsigned char)*c < 0x20 ? "?" : "%c", *c);
	printf("\"%s\n", comma ? "," : "");
}

int main(int argc, char **argv)
{
	struct lockwarden_error err = { 0 };
	char path[1024], acquire_error[sizeof(err.message)] = "", list_error[sizeof(err.message)] = "";
	double *took, fill_start, t, list_s = -1, restart_answer_s = -1, readopt_s = -1;
	double release_s = -1, slowest_status_s = 0, fill_s;
	long rss_kb, fds, keeper_rss_kb, keeper_fds, leases_after_restart = -1, reply_bytes;
	struct lockwarden *lw;
	struct lockwarden_lease **list = NULL;
	size_t listed = 0;
	int held = 0, i, status;
	pid_t holder;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") && i + 1 < argc) {
			daemon_argv = argv + i + 1;
			break;
		} else if (i + 1 >= argc) {
			break;
		} else if (!strcmp(argv[i], "--images")) {
			images_dir = argv[++i];
		} else if (!strcmp(argv[i], "--leases")) {
			want_leases = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--seconds")) {
			budget_s = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--daemon-log")) {
			daemon_log = argv[++i];
		} else if (!strcmp(argv[i], "--path-len")) {
			path_len = atoi(argv[++i]);
		} else {
			break;
		}
	}
	for (char **a = daemon_argv; a && *a; a++)
		if (!strcmp(*a, "--socket") && a[1])
			socket_path = a[1];
	if (!images_dir || !daemon_argv || !socket_path || want_leases < 1) {
		fprintf(stderr, "usage: scale --images DIR --leases N --seconds S [--path-len L] [--daemon-log FILE] "
				"-- LOCKWARDEND --socket SOCK ARGS...\n");
		return 2;
	}
	took = calloc(want_leases, sizeof(*took));
	if (!took)
		return 1;
	fprintf(stderr, "scale: making %d images of %d-character paths\n", want_leases, path_len);
	for (i = 0; i < want_leases; i++) {
		int fd;

		image_path(i, path, sizeof(path));
		if ((fd = open(path, O_CREAT | O_WRONLY, 0600)) < 0) {
			fprintf(stderr, "scale: cannot create %s: %s\n", path, strerror(errno));
			return 1;
		}
		close(fd);
	}
	daemon_pid = start_daemon();
	if (!wait_daemon(120)) {
		fprintf(stderr, "scale: lockwardend did not answer status within 120 s\n");
		return 1;
	}
	holder = fork();
	if (holder == 0) {
		pause();
		_exit(0);
	}
	if (lockwarden_connect(socket_path, &lw, &err) < 0 ||
	    lockwarden_set_timeout(lw, STATUS_TIMEOUT_MS, &err) < 0) {
		fprintf(stderr, "scale: cannot connect: %s\n", err.message);
		return 1;
	}

	fill_start = now();
	for (held = 0; held < want_leases && now() - fill_start < budget_s; held++) {
		image_path(held, path, sizeof(path));
		t = now();
		if (lockwarden_acquire(lw, path, holder, 0, NULL, &err) < 0) {
			snprintf(acquire_error, sizeof(acquire_error), "%s", err.message);
			fprintf(stderr, "scale: acquire %d failed: %s\n", held + 1, err.message);
			break;
		}
		took[held] = now() - t;
		if ((held + 1) % 1000 == 0)
			fprintf(stderr, "scale: %d leases, the last thousand %.1f ms each, %.0f s in\n", held + 1,
				1e3 * mean(took, held + 1 - 1000, held + 1), now() - fill_start);
	}
	lockwarden_disconnect(lw);
	fill_s = now() - fill_start;
	fprintf(stderr, "scale: %d leases held after %.0f s\n", held, fill_s);

	rss_kb = kb_of(daemon_pid, "VmRSS:");
	fds = fds_of(daemon_pid);
	keeper_usage(&keeper_rss_kb, &keeper_fds);

	if (lockwarden_connect(socket_path, &lw, &err) >= 0) {
		lockwarden_set_timeout(lw, 600000, &err);
		t = now();
		if (lockwarden_list(lw, &list, &listed, &err) < 0)
			snprintf(list_error, sizeof(list_error), "%s", err.message);
		list_s = now() - t;
		lockwarden_lease_list_free(list, listed);
		lockwarden_disconnect(lw);
	}
	reply_bytes = list_reply_bytes();
	fprintf(stderr, "scale: list %.2f s %s, reply %ld bytes\n", list_s, list_error, reply_bytes);

	/* kill -9, restart, re-adoption */
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	t = now();
	daemon_pid = start_daemon();
	while (now() - t < budget_s) {
		double unused;
		long leases = status_leases(&unused);

		if (leases >= 0 && restart_answer_s < 0)
			restart_answer_s = now() - t;
		if (leases >= held) {
			readopt_s = now() - t;
			leases_after_restart = leases;
			break;
		}
		leases_after_restart = leases;
		sleep_ms(POLL_MS);
	}
	fprintf(stderr, "scale: restart: status after %.2f s, %ld leases after %.2f s\n", restart_answer_s,
		leases_after_restart, readopt_s);

	/* the holder dies: its leases go */
	kill(holder, SIGKILL);
	waitpid(holder, &status, 0);
	t = now();
	while (now() - t < budget_s) {
		double call_s;
		long leases = status_leases(&call_s);

		if (call_s > slowest_status_s)
			slowest_status_s = call_s;
		if (leases == 0) {
			release_s = now() - t;
			break;
		}
		sleep_ms(POLL_MS);
	}
	fprintf(stderr, "scale: holder died: no lease after %.2f s, slowest status %.2f s\n", release_s,
		slowest_status_s);
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);

	printf("{\n\"leases_wanted\": %d,\n\"leases_held\": %d,\n\"path_len\": %d,\n", want_leases, held,
	       path_len);
	printf("\"fill_seconds\": %.1f,\n\"budget_seconds\": %.0f,\n", fill_s, budget_s);
	json_str("acquire_error", acquire_error, true);
	printf("\"acquire_ms_first_1000\": %.2f,\n", 1e3 * mean(took, 0, held < 1000 ? held : 1000));
	printf("\"acquire_ms_last_1000\": %.2f,\n", 1e3 * mean(took, held > 1000 ? held - 1000 : 0, held));
	printf("\"daemon_rss_kb\": %ld,\n\"daemon_fds\": %ld,\n", rss_kb, fds);
	printf("\"keeper_rss_kb\": %ld,\n\"keeper_fds\": %ld,\n", keeper_rss_kb, keeper_fds);
	printf("\"list_seconds\": %.3f,\n\"list_leases\": %zu,\n", list_s, listed);
	json_str("list_error", list_error, true);
	printf("\"list_reply_bytes\": %ld,\n\"list_leases_within_client_cap\": %.0f,\n", reply_bytes,
	       reply_bytes > 0 && held > 0 ? CLIENT_REPLY_MAX / ((double)reply_bytes / held) : -1);
	printf("\"restart_status_answers_s\": %.3f,\n\"readoption_s\": %.3f,\n", restart_answer_s, readopt_s);
	printf("\"leases_after_restart\": %ld,\n", leases_after_restart);
	printf("\"holder_death_release_s\": %.3f,\n\"slowest_status_during_release_s\": %.3f\n}\n", release_s,
	       slowest_status_s);
	free(took);
	return 0;
}
