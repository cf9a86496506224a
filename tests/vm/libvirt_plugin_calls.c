// SPDX-License-Identifier: LGPL-2.1-or-later
/* build/lockwarden.so driven by the call sequences libvirt's domain_lock.c
 * makes (start, CPUs start, pause/resume with state, hotplug, libvirtd
 * restart re-attach, migration's Inquire), against a real lockwardend in
 * the VM. The plugin is dlopened as libvirt does; this program exports
 * virReportErrorHelper (-rdynamic) as libvirt.so does, to read the errors
 * the plugin reports. Holders are forked children standing in for QEMU.
 *
 * `libvirt_plugin_calls --paxos SOCKET LOCKSPACE:KEY:PATH:OFFSET IMAGE`
 * runs the <lease> sequences instead, against a lockwardend on the paxos
 * backend that tests/vm/paxos_one_host.sh started (LOCKSPACE joined, the
 * lease initialised, IMAGE free). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lockwarden/client.h"
#include "libvirt/lock_driver.h"
#include "shell.h"

static char last_error[1024];
static int n_errors;

void virReportErrorHelper(int domcode, int errcode, const char *filename, const char *funcname,
			  size_t linenr, const char *fmt, ...);
void virReportErrorHelper(int domcode, int errcode, const char *filename, const char *funcname,
			  size_t linenr, const char *fmt, ...)
{
	va_list ap;

	(void)domcode;
	(void)errcode;
	(void)filename;
	(void)funcname;
	(void)linenr;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	n_errors++;
}

#define assert_error_contains(text)                                                          \
	do {                                                                                 \
		if (!strstr(last_error, (text)))                                             \
			fail_msg("expected an error containing \"%s\", got \"%s\"", (text), \
				 last_error);                                                \
	} while (0)

static struct {
	char build[PATH_MAX];
	char dir[64];
	char socket[128], pin_dir[128], conf[128], plugin_conf[128], log[128];
	pid_t pid;
	void *handle;
	virLockDriver *drv;
	int image_no;
} t;

static char *new_image(void)
{
	static char path[8][256];
	char *p = path[t.image_no % 8];
	int fd;

	snprintf(p, 256, "%s/image%d.raw", t.dir, t.image_no++);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	close(fd);
	return p;
}

/* A process standing in for a domain's QEMU. */
static pid_t new_holder(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

static void end_holder(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The lease on image as lockwardend has it (NULL: none). */
static struct lockwarden_lease *lease_of(const char *image)
{
	struct lockwarden_lease *lease = NULL;
	struct lockwarden_error err;
	struct lockwarden *lw;

	if (lockwarden_connect(t.socket, &lw, &err) < 0)
		fail_msg("connect: %s", err.message);
	if (lockwarden_inquire(lw, image, &lease, &err) < 0)
		fail_msg("inquire %s: %s", image, err.message);
	lockwarden_disconnect(lw);
	return lease;
}

/* "exclusive 1234", "shared 1234 5678" or "none". */
static const char *lease_text(const char *image)
{
	static char text[256];
	struct lockwarden_lease *lease = lease_of(image);
	size_t len;

	if (!lease)
		return "none";
	len = (size_t)snprintf(text, sizeof(text), "%s", lease->shared ? "shared" : "exclusive");
	for (size_t i = 0; i < lease->n_holders && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " %d", (int)lease->holders[i].pid);
	lockwarden_lease_free(lease);
	return text;
}

#define assert_lease(image, want)                                                            \
	do {                                                                                 \
		const char *got_ = lease_text(image);                                        \
		if (strcmp(got_, (want)) != 0)                                               \
			fail_msg("lease on %s: expected \"%s\", got \"%s\"", (image), (want), got_); \
	} while (0)

struct disk {
	const char *image;
	unsigned flags;
};

/* drvNew + drvAddResource as virDomainLockManagerNew does. */
static void new_domain(virLockManager *man, const char *name, pid_t pid, unsigned new_flags,
		       const struct disk *disks, size_t n)
{
	virLockManagerParam params[5] = {
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID, .key = "uuid" },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "name", .value.str = (char *)name },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT, .key = "id", .value.iv = 1 },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT, .key = "pid", .value.iv = (int)pid },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING, .key = "uri", .value.cstr = "qemu:///system" },
	};

	man->driver = t.drv;
	last_error[0] = '\0';
	if (t.drv->drvNew(man, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, params, new_flags) != 0)
		fail_msg("drvNew: %s", last_error);
	for (size_t i = 0; i < n; i++)
		if (t.drv->drvAddResource(man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disks[i].image, 0,
					  NULL, disks[i].flags) != 0)
			fail_msg("drvAddResource %s: %s", disks[i].image, last_error);
}

/* A plain acquire (libvirtd's, once QEMU runs) for a new domain: drvAcquire's result. */
static int acquire_for(const char *name, pid_t pid, const struct disk *disks, size_t n)
{
	virLockManager man;
	int r;

	new_domain(&man, name, pid, 0, disks, n);
	r = t.drv->drvAcquire(&man, NULL, 0, 0, NULL);
	t.drv->drvFree(&man);
	return r;
}

/* Open descriptors; inheritable: only those an exec would keep. */
static int count_fds(bool inheritable)
{
	int n = 0, flags;

	for (int fd = 0; fd < 1024; fd++)
		n += (flags = fcntl(fd, F_GETFD)) >= 0 && !(inheritable && (flags & FD_CLOEXEC));
	return n;
}

/* ---- the sequences -------------------------------------------------------- */

/* virsh start: REGISTER_ONLY|RESTRICT in the child before exec, then a
 * plain acquire from libvirtd once QEMU runs (its CPUs start). Exclusive
 * leases wait for the second; shared ones are joined at the first. */
static void start_leases_exclusive_disks_when_cpus_start_and_shared_ones_before_exec(void **state)
{
	const char *rw = new_image(), *sh = new_image(), *ro = new_image();
	struct disk disks[] = { { rw, 0 }, { sh, VIR_LOCK_MANAGER_RESOURCE_SHARED },
				{ ro, VIR_LOCK_MANAGER_RESOURCE_READONLY } };
	pid_t qemu = new_holder();
	virLockManager man;
	char want[64];
	int fd = 42, fds, inheritable;

	(void)state;
	new_domain(&man, "vm1", qemu, VIR_LOCK_MANAGER_NEW_STARTED, disks, 3);
	fds = count_fds(false);
	inheritable = count_fds(true);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY |
					   VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, 0, &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(count_fds(false), fds); /* nothing of ours left for QEMU to inherit */
	assert_lease(rw, "none");
	/* QEMU opens a shareable disk for write before its CPUs start: it joins now */
	snprintf(want, sizeof(want), "shared %d", (int)qemu);
	assert_lease(sh, want);
	t.drv->drvFree(&man);

	new_domain(&man, "vm1", qemu, 0, disks, 3);
	if (t.drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0)
		fail_msg("acquire: %s", last_error);
	t.drv->drvFree(&man);
	/* libvirtd keeps one connection for its next call, never inherited */
	assert_int_equal(count_fds(false), fds + 1);
	assert_int_equal(count_fds(true), inheritable);
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	assert_lease(rw, want);
	snprintf(want, sizeof(want), "shared %d", (int)qemu);
	assert_lease(sh, want);
	assert_lease(ro, "none");
	end_holder(qemu);
}

static void second_domain_on_a_held_disk_is_refused_naming_the_holder(void **state)
{
	const char *rw = new_image();
	struct disk disks[] = { { rw, 0 } };
	pid_t a = new_holder(), b = new_holder();
	virLockManager man;
	char want[300];

	(void)state;
	new_domain(&man, "a", a, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);

	snprintf(want, sizeof(want), "%s: exclusive lease held by pid %d", rw, (int)a);
	new_domain(&man, "b", b, VIR_LOCK_MANAGER_NEW_STARTED, disks, 1);
	n_errors = 0;
	assert_int_equal(t.drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY |
					   VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, 0, NULL), -1);
	assert_error_contains(want);
	assert_int_equal(n_errors, 1);
	t.drv->drvFree(&man);
	snprintf(want, sizeof(want), "%s: lease held by pid %d", rw, (int)a);
	new_domain(&man, "b", b, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
	assert_error_contains(want);
	t.drv->drvFree(&man);
	snprintf(want, sizeof(want), "exclusive %d", (int)a);
	assert_lease(rw, want);
	end_holder(a);
	end_holder(b);
}

/* virsh suspend / resume: Release hands back a state, Acquire takes it. */
static void pause_releases_and_resume_reacquires_with_the_state(void **state)
{
	const char *rw = new_image(), *sh = new_image();
	struct disk disks[] = { { rw, 0 }, { sh, VIR_LOCK_MANAGER_RESOURCE_SHARED } };
	pid_t qemu = new_holder();
	virLockManager man;
	char *lock_state = NULL, want[300];

	(void)state;
	new_domain(&man, "vm", qemu, 0, disks, 2);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);

	new_domain(&man, "vm", qemu, 0, disks, 2);
	if (t.drv->drvRelease(&man, &lock_state, 0) != 0)
		fail_msg("release: %s", last_error);
	t.drv->drvFree(&man);
	assert_non_null(lock_state);
	snprintf(want, sizeof(want), "{\"image\":\"%s\",\"mode\":\"exclusive\"}", rw);
	if (!strstr(lock_state, want))
		fail_msg("expected the state to list %s, got %s", want, lock_state);
	assert_lease(rw, "none");
	assert_lease(sh, "none");

	new_domain(&man, "vm", qemu, 0, disks, 2);
	if (t.drv->drvAcquire(&man, lock_state, 0, 0, NULL) != 0)
		fail_msg("resume: %s", last_error);
	t.drv->drvFree(&man);
	free(lock_state);
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	assert_lease(rw, want);
	end_holder(qemu);
}

/* The migration cookie carries what Inquire says. */
static void inquire_states_the_domains_leases(void **state)
{
	const char *rw = new_image(), *other = new_image();
	struct disk disks[] = { { rw, 0 } }, both[] = { { rw, 0 }, { other, 0 } };
	pid_t qemu = new_holder();
	virLockManager man;
	char *lock_state = NULL, want[300];

	(void)state;
	new_domain(&man, "vm", qemu, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);
	new_domain(&man, "vm", qemu, 0, both, 2);
	assert_int_equal(t.drv->drvInquire(&man, &lock_state, 0), 0);
	t.drv->drvFree(&man);
	snprintf(want, sizeof(want), "{\"lockwarden\":1,\"leases\":[{\"image\":\"%s\",\"mode\":\"exclusive\"}]}", rw);
	assert_non_null(lock_state);
	assert_string_equal(lock_state, want);
	free(lock_state);
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	assert_lease(rw, want); /* inquire changes nothing */
	end_holder(qemu);
}

/* libvirtd restarted (or an incoming migration registered): REGISTER_ONLY
 * and a second acquire for a domain that holds its disks take nothing twice. */
static void reattach_takes_nothing_twice(void **state)
{
	const char *rw = new_image(), *sh = new_image();
	struct disk disks[] = { { rw, 0 }, { sh, VIR_LOCK_MANAGER_RESOURCE_SHARED } };
	pid_t qemu = new_holder();
	virLockManager man;
	char want[64];

	(void)state;
	new_domain(&man, "vm", qemu, 0, disks, 2);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);
	new_domain(&man, "vm", qemu, VIR_LOCK_MANAGER_NEW_STARTED, disks, 2);
	if (t.drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY, 0, NULL) != 0)
		fail_msg("register again: %s", last_error);
	t.drv->drvFree(&man);
	new_domain(&man, "vm", qemu, 0, disks, 2);
	if (t.drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0)
		fail_msg("acquire again: %s", last_error);
	t.drv->drvFree(&man);
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	assert_lease(rw, want);
	snprintf(want, sizeof(want), "shared %d", (int)qemu);
	assert_lease(sh, want); /* one holder entry, not two */
	end_holder(qemu);
}

/* virsh attach-disk / detach-disk: one resource, no others touched. */
static void hotplug_leases_and_unplug_releases_one_disk(void **state)
{
	const char *boot = new_image(), *extra = new_image();
	struct disk disks[] = { { boot, 0 } }, hot[] = { { extra, 0 } };
	pid_t qemu = new_holder();
	virLockManager man;
	char want[64];

	(void)state;
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	new_domain(&man, "vm", qemu, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);
	new_domain(&man, "vm", qemu, 0, hot, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);
	assert_lease(extra, want);
	new_domain(&man, "vm", qemu, 0, hot, 1);
	assert_int_equal(t.drv->drvRelease(&man, NULL, 0), 0);
	t.drv->drvFree(&man);
	assert_lease(extra, "none");
	assert_lease(boot, want);
	end_holder(qemu);
}

/* A failed acquire leaves nothing of what it took. */
static void acquire_is_all_or_nothing(void **state)
{
	const char *free_disk = new_image(), *held = new_image();
	struct disk mine[] = { { free_disk, 0 }, { held, 0 } }, theirs[] = { { held, 0 } };
	pid_t a = new_holder(), b = new_holder();

	(void)state;
	assert_int_equal(acquire_for("b", b, theirs, 1), 0);
	assert_int_equal(acquire_for("a", a, mine, 2), -1);
	assert_error_contains(held);
	assert_lease(free_disk, "none");
	end_holder(a);
	end_holder(b);
}

/* The rollback of a failed acquire gives up only what that acquire took:
 * a disk the domain held before stays its own. */
static void lease_held_before_survives_a_failed_acquire(void **state)
{
	const char *mine_before = new_image(), *held = new_image();
	struct disk first[] = { { mine_before, 0 } }, both[] = { { mine_before, 0 }, { held, 0 } },
		    theirs[] = { { held, 0 } };
	pid_t a = new_holder(), b = new_holder();
	char want[64];

	(void)state;
	assert_int_equal(acquire_for("a", a, first, 1), 0);
	assert_int_equal(acquire_for("b", b, theirs, 1), 0);
	assert_int_equal(acquire_for("a", a, both, 2), -1);
	assert_error_contains(held);
	snprintf(want, sizeof(want), "exclusive %d", (int)a);
	assert_lease(mine_before, want);
	end_holder(a);
	end_holder(b);
}

/* Domain stop calls nothing: the lease goes with the QEMU process. */
static void qemu_exit_releases_its_leases(void **state)
{
	const char *rw = new_image();
	struct disk disks[] = { { rw, 0 } };
	pid_t qemu = new_holder();
	virLockManager man;
	int i;

	(void)state;
	new_domain(&man, "vm", qemu, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	t.drv->drvFree(&man);
	end_holder(qemu);
	for (i = 0; i < 300 && strcmp(lease_text(rw), "none") != 0; i++)
		usleep(10000);
	assert_lease(rw, "none");
}

/* What the plugin adds to a domain start: the check before exec and the
 * acquire when the CPUs start, for a domain with one writable disk,
 * against a real lockwardend. Printed, not judged: TCG and a shared machine. */
static void plugin_cost_per_domain_start_is_measured(void **state)
{
	const char *rw = new_image();
	struct disk disks[] = { { rw, 0 } };
	struct timespec t0, t1;
	virLockManager man;
	const int rounds = 20;
	double ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++) {
		pid_t qemu = new_holder();

		new_domain(&man, "vm", qemu, VIR_LOCK_MANAGER_NEW_STARTED, disks, 1);
		assert_int_equal(t.drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY |
						   VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, 0, NULL), 0);
		t.drv->drvFree(&man);
		new_domain(&man, "vm", qemu, 0, disks, 1);
		assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
		t.drv->drvFree(&man);
		new_domain(&man, "vm", qemu, 0, disks, 1);
		assert_int_equal(t.drv->drvRelease(&man, NULL, 0), 0);
		t.drv->drvFree(&man);
		end_holder(qemu);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / rounds;
	fprintf(stderr, "# plugin calls of one start (check + acquire) and one release: %.1f ms per domain (%d rounds)\n",
		ms, rounds);
}

static void missing_image_is_named_in_the_error(void **state)
{
	struct disk disks[] = { { "/nonexistent/vm.raw", 0 } };
	pid_t qemu = new_holder();
	virLockManager man;

	(void)state;
	new_domain(&man, "vm", qemu, 0, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
	assert_error_contains("/nonexistent/vm.raw: image not found");
	t.drv->drvFree(&man);
	end_holder(qemu);
}

/* ---- <lease> --------------------------------------------------------------- */

/* The parts of a <lease> as domain_lock.c passes them. */
static struct {
	char text[512];		/* LOCKSPACE:KEY:PATH:OFFSET */
	char lockspace[64], key[64], path[256];
	unsigned long long offset;
	const char *image;
} lease = { "LS:vm1-lease:/dev/vg/leases:1048576", "LS", "vm1-lease", "/dev/vg/leases", 1048576, NULL };

/* drvNew, the <lease> (libvirt adds leases first), then the disks. */
static void new_domain_with_lease(virLockManager *man, const char *name, pid_t pid,
				  const struct disk *disks, size_t n)
{
	virLockManagerParam params[3] = {
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "path", .value.str = lease.path },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_ULONG, .key = "offset", .value.ul = lease.offset },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "lockspace", .value.str = lease.lockspace },
	};

	new_domain(man, name, pid, 0, NULL, 0);
	if (t.drv->drvAddResource(man, VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE, lease.key, 3, params, 0) != 0)
		fail_msg("drvAddResource <lease> %s: %s", lease.key, last_error);
	for (size_t i = 0; i < n; i++)
		if (t.drv->drvAddResource(man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disks[i].image, 0,
					  NULL, disks[i].flags) != 0)
			fail_msg("drvAddResource %s: %s", disks[i].image, last_error);
}

/* lockwardend here runs its default backend, fcntl: it refuses the named
 * lease with the reason, and the domain is left without any lease. */
static void lease_on_a_backend_without_named_leases_is_refused_with_the_reason(void **state)
{
	struct disk disks[] = { { new_image(), 0 } };
	pid_t qemu = new_holder();
	virLockManager man;

	(void)state;
	new_domain_with_lease(&man, "vm", qemu, disks, 1);
	assert_int_equal(t.drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
	assert_error_contains("backend fcntl has no named leases; lease= needs the paxos backend");
	assert_lease(disks[0].image, "none");
	t.drv->drvFree(&man);
	end_holder(qemu);
}

/* Whether lockwardend's paxos backend holds the lease named text now. */
static bool paxos_holds(const char *text)
{
	struct lockwarden_status st;
	struct lockwarden_error err;
	struct lockwarden *lw;
	char quoted[600];
	const char *json;
	bool held;

	if (lockwarden_connect(t.socket, &lw, &err) < 0 || lockwarden_status(lw, &st, &err) < 0)
		fail_msg("status: %s", err.message);
	json = lockwarden_last_reply_json(lw, false);
	snprintf(quoted, sizeof(quoted), "\"lease\":\"%s\"", text);
	held = json && strstr(json, quoted);
	lockwarden_status_clear(&st);
	lockwarden_disconnect(lw);
	return held;
}

/* start (REGISTER_ONLY, then the CPUs start), a second domain with the
 * same <lease> refused, pause gives the lease up, resume takes it again. */
static void paxos_lease_is_taken_for_the_domains_disk_and_given_up_on_pause(void **state)
{
	struct disk disks[] = { { lease.image, 0 }, { "/usr/share/doc", VIR_LOCK_MANAGER_RESOURCE_READONLY } };
	struct disk other[] = { { new_image(), 0 } };
	pid_t qemu = new_holder(), qemu2 = new_holder();
	char want[64], *st = NULL;
	virLockManager man, man2;

	(void)state;
	snprintf(want, sizeof(want), "exclusive %d", (int)qemu);
	new_domain_with_lease(&man, "vm1", qemu, disks, 2);
	if (t.drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY | VIR_LOCK_MANAGER_ACQUIRE_RESTRICT,
			      0, NULL) != 0 ||
	    t.drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0)
		fail_msg("expected the domain with <lease> %s to start, got: %s", lease.text, last_error);
	assert_lease(lease.image, want);
	if (!paxos_holds(lease.text))
		fail_msg("expected the paxos backend to hold %s for %s", lease.text, lease.image);
	t.drv->drvFree(&man);

	new_domain_with_lease(&man2, "vm2", qemu2, other, 1);
	last_error[0] = '\0';
	assert_int_equal(t.drv->drvAcquire(&man2, NULL, 0, 0, NULL), -1);
	assert_error_contains("lease held");
	assert_lease(other[0].image, "none");
	t.drv->drvFree(&man2);

	new_domain_with_lease(&man, "vm1", qemu, disks, 2);
	if (t.drv->drvRelease(&man, &st, 0) != 0)
		fail_msg("expected pause to release, got: %s", last_error);
	assert_lease(lease.image, "none");
	if (paxos_holds(lease.text))
		fail_msg("expected %s to be given up on pause", lease.text);
	if (t.drv->drvAcquire(&man, st, 0, 0, NULL) != 0)
		fail_msg("expected resume to take %s again, got: %s", lease.text, last_error);
	assert_lease(lease.image, want);
	if (!paxos_holds(lease.text))
		fail_msg("expected the paxos backend to hold %s after resume", lease.text);
	assert_int_equal(t.drv->drvRelease(&man, NULL, 0), 0);
	t.drv->drvFree(&man);
	free(st);
	end_holder(qemu);
	end_holder(qemu2);
}

/* dlopen the plugin as libvirtd does and initialise it with t.plugin_conf. */
static int load_plugin(void)
{
	char plugin[PATH_MAX + 32];

	snprintf(plugin, sizeof(plugin), "%s/lockwarden.so", t.build);
	t.handle = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
	if (!t.handle || !(t.drv = dlsym(t.handle, "virLockDriverImpl"))) {
		fprintf(stderr, "# dlopen %s: %s\n", plugin, dlerror());
		return -1;
	}
	if (t.drv->drvInit(VIR_LOCK_MANAGER_VERSION, t.plugin_conf, 0) != 0) {
		fprintf(stderr, "# drvInit: %s\n", last_error);
		return -1;
	}
	return 0;
}

static int paxos_setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(t.dir, sizeof(t.dir), "/tmp/lw-libvirt-XXXXXX");
	if (!mkdtemp(t.dir))
		return -1;
	snprintf(t.plugin_conf, sizeof(t.plugin_conf), "%.63s/qemu-lockwarden.conf", t.dir);
	f = fopen(t.plugin_conf, "w");
	if (!f)
		return -1;
	/* a paxos acquire takes a few seconds */
	fprintf(f, "socket = \"%s\"\ntimeout_ms = 120000\n", t.socket);
	fclose(f);
	return load_plugin();
}

static int paxos_teardown(void **state)
{
	(void)state;
	if (t.drv)
		t.drv->drvDeinit();
	sh("rm -rf %s", t.dir);
	return 0;
}

/* --paxos SOCKET LOCKSPACE:KEY:PATH:OFFSET IMAGE */
static int paxos_main(char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paxos_lease_is_taken_for_the_domains_disk_and_given_up_on_pause),
	};
	char *part[4], *save = NULL, copy[sizeof(lease.text)];

	snprintf(t.socket, sizeof(t.socket), "%s", argv[2]);
	snprintf(lease.text, sizeof(lease.text), "%s", argv[3]);
	snprintf(copy, sizeof(copy), "%s", argv[3]);
	for (int i = 0; i < 4; i++)
		if (!(part[i] = strtok_r(i ? NULL : copy, ":", &save))) {
			fprintf(stderr, "expected LOCKSPACE:KEY:PATH:OFFSET, got %s\n", argv[3]);
			return 2;
		}
	snprintf(lease.lockspace, sizeof(lease.lockspace), "%s", part[0]);
	snprintf(lease.key, sizeof(lease.key), "%s", part[1]);
	snprintf(lease.path, sizeof(lease.path), "%s", part[2]);
	lease.offset = strtoull(part[3], NULL, 10);
	lease.image = argv[4];
	return cmocka_run_group_tests_name("libvirt_plugin_paxos", tests, paxos_setup, paxos_teardown);
}

/* ---- a lockwardend for this program --------------------------------------- */

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(t.dir, sizeof(t.dir), "/tmp/lw-libvirt-XXXXXX");
	if (!mkdtemp(t.dir))
		return -1;
	snprintf(t.socket, sizeof(t.socket), "%.63s/lockwarden.sock", t.dir);
	snprintf(t.pin_dir, sizeof(t.pin_dir), "/sys/fs/bpf/lw-test-libvirt-%d", getpid());
	snprintf(t.conf, sizeof(t.conf), "%.63s/lockwarden.conf", t.dir);
	snprintf(t.plugin_conf, sizeof(t.plugin_conf), "%.63s/qemu-lockwarden.conf", t.dir);
	snprintf(t.log, sizeof(t.log), "%.63s/daemon.log", t.dir);
	f = fopen(t.conf, "w");
	if (!f)
		return -1;
	fclose(f);
	f = fopen(t.plugin_conf, "w");
	if (!f)
		return -1;
	fprintf(f, "socket = \"%s\"\ntimeout_ms = 20000\n", t.socket);
	fclose(f);
	t.pid = fork();
	if (t.pid == 0) {
		char daemon[PATH_MAX + 16];
		int fd = open(t.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(daemon, sizeof(daemon), "%.4000s/lockwardend", t.build);
		execl(daemon, "lockwardend", "--config", t.conf, "--socket", t.socket, "--pin-dir",
		      t.pin_dir, "--state-dir", t.dir, "--audit-log", "/dev/null", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && access(t.socket, F_OK) != 0; i++)
		usleep(100000);
	if (access(t.socket, F_OK) != 0) {
		fprintf(stderr, "# expected lockwardend to create %s within 60 s; it did not\n", t.socket);
		sh("sed 's/^/# lockwardend: /' %s >&2", t.log);
		return -1;
	}
	return load_plugin();
}

static int teardown(void **state)
{
	(void)state;
	if (t.drv)
		t.drv->drvDeinit();
	if (t.pid > 0) {
		kill(t.pid, SIGTERM);
		waitpid(t.pid, NULL, 0);
	}
	/* leases outlive the daemon by design: take this run's pins away */
	sh("rm -rf %s %s", t.pin_dir, t.dir);
	return 0;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_leases_exclusive_disks_when_cpus_start_and_shared_ones_before_exec),
		cmocka_unit_test(second_domain_on_a_held_disk_is_refused_naming_the_holder),
		cmocka_unit_test(pause_releases_and_resume_reacquires_with_the_state),
		cmocka_unit_test(inquire_states_the_domains_leases),
		cmocka_unit_test(reattach_takes_nothing_twice),
		cmocka_unit_test(hotplug_leases_and_unplug_releases_one_disk),
		cmocka_unit_test(acquire_is_all_or_nothing),
		cmocka_unit_test(lease_held_before_survives_a_failed_acquire),
		cmocka_unit_test(qemu_exit_releases_its_leases),
		cmocka_unit_test(missing_image_is_named_in_the_error),
		cmocka_unit_test(lease_on_a_backend_without_named_leases_is_refused_with_the_reason),
		cmocka_unit_test(plugin_cost_per_domain_start_is_measured),
	};

	if (n < 0)
		return 1;
	exe[n] = '\0';
	snprintf(t.build, sizeof(t.build), "%s", dirname(dirname(dirname(exe))));
	if (argc == 5 && strcmp(argv[1], "--paxos") == 0)
		return paxos_main(argv);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--paxos SOCKET LOCKSPACE:KEY:PATH:OFFSET IMAGE]\n", argv[0]);
		return 2;
	}

	return cmocka_run_group_tests_name("libvirt_plugin_calls", tests, setup, teardown);
}
