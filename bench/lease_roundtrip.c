// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lease round trips (acquire + release of one image) against lockwardend
 * through liblockwarden, and through a libvirt lock driver the way libvirtd
 * calls it (its ABI written from issue 11's facts): libvirt's lockd.so
 * talking to virtlockd, or our own lockwarden.so talking to lockwardend.
 * Systems are interleaved round by round in one run, so load on
 * the machine hits them alike. Each client is a process with an image of
 * its own; a round times every client doing --iterations round trips
 * (above 8 clients, each does 8/clients of them, at least 2: a round is then
 * the same total work as with 8, and 64 clients fit the time of a run),
 * from the moment all start to the moment the last is done: each has made
 * one round trip untimed before, and exits only after (run_round).
 *
 *   lease_roundtrip --rounds R --iterations M --clients 1,8 --images DIR
 *                   NAME=lockwarden:SOCKET | NAME=virtlockd:PATH/lockd.so |
 *                   NAME=lock-driver:PATH/DRIVER.so:CONFIG ...
 *
 * Prints one JSON object: per system and client count, the round trips per
 * second of each round and the latency percentiles over all rounds. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockwarden/client.h"

/* ---- libvirt's lock-driver ABI (libvirt 9.0), from its documented facts ---- */
enum { VLM_PARAM_STRING, VLM_PARAM_CSTRING, VLM_PARAM_INT, VLM_PARAM_LONG, VLM_PARAM_UINT,
       VLM_PARAM_ULONG, VLM_PARAM_DOUBLE, VLM_PARAM_UUID };
#define VLM_OBJECT_DOMAIN 0
#define VLM_RESOURCE_DISK 0
#define VLM_DRIVER_VERSION 1000000

struct vlm_param {
	int type;
	const char *key;
	union {
		int i; long long l; unsigned int ui; unsigned long long ul; double d;
		char *str; const char *cstr; unsigned char uuid[16];
	} value;
};

struct vlm_manager;
struct vlm_driver {
	unsigned int version, flags;
	int (*init)(unsigned int version, const char *config_file, unsigned int flags);
	int (*deinit)(void);
	int (*new_manager)(struct vlm_manager *man, unsigned int type, size_t nparams,
			   struct vlm_param *params, unsigned int flags);
	void (*free_manager)(struct vlm_manager *man);
	int (*add_resource)(struct vlm_manager *man, unsigned int type, const char *name,
			    size_t nparams, struct vlm_param *params, unsigned int flags);
	int (*acquire)(struct vlm_manager *man, const char *state, unsigned int flags,
		       int action, int *fd);
	int (*release)(struct vlm_manager *man, char **state, unsigned int flags);
	int (*inquire)(struct vlm_manager *man, char **state, unsigned int flags);
};
struct vlm_manager {
	struct vlm_driver *driver;
	void *private_data;
};
_Static_assert(sizeof(struct vlm_driver) == 72, "virLockDriver is 72 bytes on x86_64");
_Static_assert(sizeof(struct vlm_param) == 32, "virLockManagerParam is 32 bytes");

enum kind { LOCKWARDEN, LOCK_DRIVER };
#define MAX_SYSTEMS 16

struct system {
	char name[64];
	enum kind kind;
	const char *where;	/* socket, or the lock driver's .so */
	const char *config;	/* the lock driver's configuration file */
	struct vlm_driver *driver;
	double *rates[8];	/* per client-count slot: one rate a round */
	double *lat[8];		/* per slot: every round trip's seconds */
	size_t nlat[8];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client's part of a round, timed from the go (the parent closes go_fd)
 * to its last round trip, into span[0..1]. Each client first connects and
 * makes one round trip untimed, and after its last waits for all the
 * others (end_fd) before it exits: a round's rate is of round trips, not
 * of a new process's first touches of its memory, its first connection
 * (the plugin keeps one, as in libvirtd) or its exit, all of which would
 * fall inside the others' time. */
static int parent_fd = -1;	/* a client writes a byte when ready, one when done */
static int told;

static void tell_parent(void)
{
	if (parent_fd >= 0 && write(parent_fd, "x", 1) == 1)
		told++;
}

static bool wait_for_go(int go_fd, double span[2])
{
	char b;

	tell_parent();
	if (read(go_fd, &b, 1) < 0)
		return false;
	span[0] = now();
	return true;
}

static void wait_for_end(int end_fd, double span[2])
{
	char b;

	span[1] = now();
	tell_parent();
	if (read(end_fd, &b, 1) < 0)
		return;
}

/* One acquire + release of image; -1 (said on stderr) if refused. */
typedef int (*round_trip_fn)(struct system *s, const char *image, void *ctx);

/* A client's round: one round trip untimed, the go, n timed into out. */
static int timed_round_trips(struct system *s, const char *image, round_trip_fn round_trip, void *ctx, int n,
			     double *out, const int sync[2], double span[2])
{
	if (round_trip(s, image, ctx) < 0 || !wait_for_go(sync[0], span))
		return -1;
	for (int i = 0; i < n; i++) {
		double t0 = now();

		if (round_trip(s, image, ctx) < 0)
			return -1;
		out[i] = now() - t0;
	}
	wait_for_end(sync[1], span);
	return 0;
}

static int lockwarden_round_trip(struct system *s, const char *image, void *lw)
{
	struct lockwarden_error err;

	if (lockwarden_acquire(lw, image, 0, LOCKWARDEN_BRIEF, NULL, &err) < 0 ||
	    lockwarden_release(lw, image, 0, &err) < 0) {
		fprintf(stderr, "lease_roundtrip: %s: %s: %s\n", s->name, image, err.message);
		return -1;
	}
	return 0;
}

static int lockwarden_client(struct system *s, const char *image, int n, double *out, const int sync[2],
			     double span[2])
{
	struct lockwarden_error err;
	struct lockwarden *lw;
	int r;

	if (lockwarden_connect(s->where, &lw, &err) < 0) {
		fprintf(stderr, "lease_roundtrip: %s: connect: %s\n", s->name, err.message);
		return -1;
	}
	r = timed_round_trips(s, image, lockwarden_round_trip, lw, n, out, sync, span);
	lockwarden_disconnect(lw);
	return r;
}

/* The lock driver of sys[i], a copy of its own. A driver keeps its
 * configuration in its statics, and dlopen of a path loaded already gives
 * the same copy back: a second system on the same .so (nop and fcntl
 * through one plugin) would reconfigure the first's, and both would talk
 * to the daemon configured last. A later system on a path already loaded
 * gets the .so copied to a file of its own. */
static void *load_driver(const struct system *sys, int i)
{
	char copy[] = "/tmp/lease_roundtrip-driver-XXXXXX";
	bool loaded = false;
	char buf[65536];
	ssize_t n = 0;
	int in, out;
	void *so;

	for (int k = 0; k < i; k++)
		loaded |= sys[k].kind == LOCK_DRIVER && !strcmp(sys[k].where, sys[i].where);
	if (!loaded)
		return dlopen(sys[i].where, RTLD_NOW | RTLD_LOCAL);
	in = open(sys[i].where, O_RDONLY | O_CLOEXEC);
	out = mkstemp(copy);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0 && write(out, buf, (size_t)n) == n)
		;
	if (in < 0 || out < 0 || n != 0) {
		fprintf(stderr, "lease_roundtrip: %s: cannot copy %s to %s\n", sys[i].name, sys[i].where, copy);
		so = NULL;
	} else {
		so = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	}
	if (out >= 0) {
		close(out);
		unlink(copy);	/* mapped once loaded */
	}
	if (in >= 0)
		close(in);
	return so;
}

/* libvirt's own account of a failure, for the message */
static const char *libvirt_error(void)
{
	void *lib = dlopen("libvirt.so.0", RTLD_NOW | RTLD_NOLOAD);
	const char *(*last)(void) = lib ? (const char *(*)(void))dlsym(lib, "virGetLastErrorMessage") : NULL;

	return last ? last() : "no libvirt error";
}

/* me: the client's pid, asked once (under TCG each system call is dear) */
static int driver_round_trip(struct system *s, const char *image, pid_t me)
{
	struct vlm_manager man = { s->driver, NULL };
	struct vlm_param params[] = {
		{ .type = VLM_PARAM_UUID, .key = "uuid" },
		{ .type = VLM_PARAM_STRING, .key = "name" },
		{ .type = VLM_PARAM_UINT, .key = "id", .value.ui = 1 },
		{ .type = VLM_PARAM_UINT, .key = "pid", .value.ui = (unsigned int)me },
		{ .type = VLM_PARAM_CSTRING, .key = "uri", .value.cstr = "qemu:///system" },
	};
	char name[32];
	int fd = -1, r = -1;

	snprintf(name, sizeof(name), "bench-%d", me);
	params[1].value.str = name;
	for (int i = 0; i < 16; i++)
		params[0].value.uuid[i] = (unsigned char)(me >> (i % 4 * 8)) ^ (unsigned char)i;
	if (s->driver->new_manager(&man, VLM_OBJECT_DOMAIN, 5, params, 0) < 0) {
		fprintf(stderr, "lease_roundtrip: %s: new: %s\n", s->name, libvirt_error());
		return -1;
	}
	/* lockd.so: the connection libvirt keeps open for QEMU's life; virtlockd
	 * frees the owner's locks (and kills it) when that connection closes first */
	if (s->driver->add_resource(&man, VLM_RESOURCE_DISK, image, 0, NULL, 0) < 0)
		fprintf(stderr, "lease_roundtrip: %s: add resource: %s\n", s->name, libvirt_error());
	else if (s->driver->acquire(&man, NULL, 0, 0, &fd) < 0)
		fprintf(stderr, "lease_roundtrip: %s: acquire: %s\n", s->name, libvirt_error());
	else if (s->driver->release(&man, NULL, 0) < 0)
		fprintf(stderr, "lease_roundtrip: %s: release: %s\n", s->name, libvirt_error());
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	s->driver->free_manager(&man);
	return r;
}

static int driver_call(struct system *s, const char *image, void *me)
{
	if (driver_round_trip(s, image, *(pid_t *)me) < 0) {
		fprintf(stderr, "lease_roundtrip: %s: %s: %s refused the round trip\n", s->name, image, s->where);
		return -1;
	}
	return 0;
}

static int driver_client(struct system *s, const char *image, int n, double *out, const int sync[2],
			 double span[2])
{
	pid_t me = getpid();

	return timed_round_trips(s, image, driver_call, &me, n, out, sync, span);
}

/* A byte from each of clients (or the end of them all). */
static void wait_for_clients(int fd, int clients)
{
	char b;

	for (int c = 0; c < clients && read(fd, &b, 1) == 1; c++)
		;
}

/* One round: clients processes, each n round trips on its own image.
 * Returns round trips per second, from the first client's go to the last
 * one's end; latencies go to lat. */
static double run_round(struct system *s, const char *images, int clients, int n, double *lat)
{
	size_t size = sizeof(double) * (size_t)clients * ((size_t)n + 2);
	double *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *spans = shared + (size_t)clients * (size_t)n, first, last;
	int go[2], end[2], from_clients[2], status, failed = 0;
	pid_t pids[64];

	if (shared == MAP_FAILED || pipe(go) < 0 || pipe(end) < 0 || pipe(from_clients) < 0)
		return -1;
	for (int c = 0; c < clients; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			const int sync[2] = { go[0], end[0] };
			char image[4096];
			int r;

			close(go[1]);
			close(end[1]);
			close(from_clients[0]);
			parent_fd = from_clients[1];
			snprintf(image, sizeof(image), "%s/image-%d.raw", images, c);
			r = (s->kind == LOCKWARDEN ? lockwarden_client : driver_client)(s, image, n, shared + c * n,
										       sync, spans + 2 * c);
			while (r < 0 && told < 2)
				tell_parent();	/* one that failed must not hold the others */
			_exit(r < 0);
		}
	}
	close(go[0]);
	close(end[0]);
	close(from_clients[1]);
	wait_for_clients(from_clients[0], clients);	/* ready */
	close(go[1]);	/* every client starts at once */
	wait_for_clients(from_clients[0], clients);	/* done */
	close(end[1]);
	close(from_clients[0]);
	for (int c = 0; c < clients; c++)
		if (waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "lease_roundtrip: %s: client %d %s %d\n", s->name, c,
				WIFSIGNALED(status) ? "killed by signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			failed = 1;
		}
	first = spans[0], last = spans[1];
	for (int c = 1; c < clients; c++) {
		first = spans[2 * c] < first ? spans[2 * c] : first;
		last = spans[2 * c + 1] > last ? spans[2 * c + 1] : last;
	}
	memcpy(lat, shared, sizeof(double) * (size_t)clients * (size_t)n);
	munmap(shared, size);
	return failed || last <= first ? -1 : clients * n / (last - first);
}

/* Round trips each of clients does in a round. */
static int per_client(int n, int clients)
{
	int each = clients > 8 ? n * 8 / clients : n;

	return each < 2 ? 2 : each;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
	int rounds = 5, n = 50, nclients = 0, clients[8];
	const char *images = NULL;
	struct system sys[MAX_SYSTEMS];
	int nsys = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--images") && i + 1 < argc)
			images = argv[++i];
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc) {
			for (char *c = strtok(argv[++i], ","); c && nclients < 8; c = strtok(NULL, ","))
				clients[nclients++] = atoi(c);
		} else if (strchr(argv[i], '=')) {
			char *eq = strchr(argv[i], '='), *colon = strchr(eq, ':');
			struct system *s;

			if (nsys == MAX_SYSTEMS) {
				fprintf(stderr, "lease_roundtrip: at most %d systems\n", MAX_SYSTEMS);
				return 2;
			}
			s = &sys[nsys++];

			memset(s, 0, sizeof(*s));
			if (!colon || (size_t)(eq - argv[i]) >= sizeof(s->name)) {
				fprintf(stderr, "lease_roundtrip: bad system %s\n", argv[i]);
				return 2;
			}
			memcpy(s->name, argv[i], (size_t)(eq - argv[i]));
			*colon = '\0';
			s->where = colon + 1;
			s->kind = strcmp(eq + 1, "lockwarden") ? LOCK_DRIVER : LOCKWARDEN;
			/* virtlockd: lockd.so with its defaults, as an unconfigured libvirtd */
			s->config = !strcmp(eq + 1, "virtlockd") ? "/nonexistent/qemu-lockd.conf" : NULL;
			if (!strcmp(eq + 1, "lock-driver") && (colon = strchr(s->where, ':'))) {
				*colon = '\0';
				s->config = colon + 1;
			}
			if (s->kind == LOCK_DRIVER && !s->config) {
				fprintf(stderr, "lease_roundtrip: %s: not lockwarden:SOCKET, virtlockd:SO or "
						"lock-driver:SO:CONFIG\n", s->name);
				return 2;
			}
		} else {
			fprintf(stderr, "lease_roundtrip: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!images || !nsys || !nclients || rounds < 1 || n < 1) {
		fprintf(stderr, "usage: lease_roundtrip --images DIR [--rounds R] [--iterations M] "
				"--clients 1,8 NAME=lockwarden:SOCKET|NAME=virtlockd:LOCKD_SO|NAME=lock-driver:SO:CONFIG...\n");
		return 2;
	}
	for (int c = 0, max = 0; c < nclients; c++) {
		char image[4096];
		int fd;

		if (clients[c] < 1 || clients[c] > 64) {
			fprintf(stderr, "lease_roundtrip: 1 to 64 clients, not %d\n", clients[c]);
			return 2;
		}
		for (; max < clients[c]; max++) {
			snprintf(image, sizeof(image), "%s/image-%d.raw", images, max);
			fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
				perror(image);
				return 1;
			}
			close(fd);
		}
	}
	for (int i = 0; i < nsys; i++) {
		struct system *s = &sys[i];

		if (s->kind == LOCK_DRIVER) {
			/* libvirtd has set up libvirt (errors, threads) before it loads a driver */
			void *lib = dlopen("libvirt.so.0", RTLD_NOW | RTLD_GLOBAL);
			int (*initialize)(void) = lib ? (int (*)(void))dlsym(lib, "virInitialize") : NULL;
			void *so;

			if (!initialize || initialize() < 0) {
				fprintf(stderr, "lease_roundtrip: %s: cannot initialize libvirt.so.0\n", s->name);
				return 1;
			}
			so = load_driver(sys, i);

			s->driver = so ? dlsym(so, "virLockDriverImpl") : NULL;
			if (!s->driver || s->driver->version != VLM_DRIVER_VERSION ||
			    s->driver->init(VLM_DRIVER_VERSION, s->config, 0) < 0) {
				fprintf(stderr, "lease_roundtrip: %s: cannot load %s: %s\n", s->name, s->where,
					so ? "no usable virLockDriverImpl" : dlerror());
				return 1;
			}
		}
		for (int c = 0; c < nclients; c++) {
			s->rates[c] = calloc((size_t)rounds, sizeof(double));
			s->lat[c] = calloc((size_t)rounds * (size_t)clients[c] * (size_t)per_client(n, clients[c]),
					   sizeof(double));
		}
	}
	/* interleaved: each round runs every system before the next round,
	 * starting one system later each round: the first place of a round was
	 * measured to favour its system (natively, one client: the same nop
	 * daemon 1.57x faster first than fourth, 0.74x the other way round) */
	for (int r = 0; r < rounds; r++)
		for (int c = 0; c < nclients; c++)
			for (int k = 0; k < nsys; k++) {
				struct system *s = &sys[(k + r) % nsys];
				int each = per_client(n, clients[c]);
				double rate = run_round(s, images, clients[c], each, s->lat[c] + s->nlat[c]);

				if (rate < 0) {
					fprintf(stderr, "lease_roundtrip: %s with %d client(s) failed in round %d\n",
						s->name, clients[c], r + 1);
					return 1;
				}
				s->rates[c][r] = rate;
				s->nlat[c] += (size_t)clients[c] * (size_t)each;
				fprintf(stderr, "# round %d: %s, %d client(s): %.1f round trips/s\n", r + 1, s->name,
					clients[c], rate);
			}
	printf("{\"rounds\":%d,\"iterations\":%d,\"results\":[", rounds, n);
	for (int i = 0; i < nsys; i++)
		for (int c = 0; c < nclients; c++) {
			struct system *s = &sys[i];

			qsort(s->lat[c], s->nlat[c], sizeof(double), cmp);
			printf("%s{\"system\":\"%s\",\"clients\":%d,\"rates\":[", i || c ? "," : "", s->name, clients[c]);
			for (int r = 0; r < rounds; r++)
				printf("%s%.3f", r ? "," : "", s->rates[c][r]);
			printf("],\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"worst_ms\":%.3f}",
			       pct(s->lat[c], s->nlat[c], 0.5) * 1e3, pct(s->lat[c], s->nlat[c], 0.99) * 1e3,
			       s->lat[c][s->nlat[c] - 1] * 1e3);
		}
	printf("]}\n");
	return 0;
}
