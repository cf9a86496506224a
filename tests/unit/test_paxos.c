// SPDX-License-Identifier: LGPL-2.1-or-later
/* The paxos backend's parts that need no sanlock daemon: its [paxos] keys,
 * how an image's lease is named (the same on every host), the manual lease
 * syntax, and fencing (the writers of an image are stopped, its readers
 * are not). The sanlock side runs in the VM tests (tests/vm/paxos_*). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "backend.h"
#include "paxos_fence.h"
#include "paxos_lease.h"
#include "paxos_lockspace.h"

static void expect_option(const char *key, const char *value, int expected, const char *reason)
{
	struct lw_err err = { "" };
	int rv = lw_backend_check_option("paxos", key, value, &err);

	if (rv != expected)
		fail_msg("[paxos] %s = \"%s\": expected %d, got %d (%s)", key, value, expected, rv, err.msg);
	if (reason && !strstr(err.msg, reason))
		fail_msg("[paxos] %s = \"%s\": expected the reason to name \"%s\", got \"%s\"", key, value, reason,
			 err.msg);
}

static void paxos_keys_accept_good_values(void **state)
{
	(void)state;
	assert_true(lw_backend_exists("paxos"));
	expect_option("lockspace", "LS", 0, NULL);
	expect_option("lockspace_path", "/dev/mapper/leases", 0, NULL);
	expect_option("lockspace_offset", "1048576", 0, NULL);
	expect_option("host_id", "2000", 0, NULL);
	expect_option("io_timeout", "1", 0, NULL);
	expect_option("lease_dir", "/srv/leases", 0, NULL);
	expect_option("join_wait_sec", "0", 0, NULL);
}

static void paxos_keys_refuse_bad_values_with_a_reason(void **state)
{
	(void)state;
	expect_option("host_id", "0", -EINVAL, "host_id: 1 to 2000");
	expect_option("host_id", "2001", -EINVAL, "host_id: 1 to 2000");
	expect_option("host_id", "-1", -EINVAL, "host_id");
	expect_option("host_id", "1x", -EINVAL, "host_id");
	expect_option("lockspace", "a:b", -EINVAL, "no ':'");
	expect_option("lockspace", "0123456789012345678901234567890123456789012345678", -EINVAL, "lockspace");
	expect_option("lockspace_path", "relative/path", -EINVAL, "absolute path");
	expect_option("lockspace_offset", "1000", -EINVAL, "multiple of 512");
	expect_option("io_timeout", "0", -EINVAL, "io_timeout");
	expect_option("lease_dir", "leases", -EINVAL, "absolute path");
	expect_option("no_such_key", "1", -ENOENT, "no key no_such_key");
}

static void paxos_open_needs_lockspace_path_and_host_id(void **state)
{
	struct lw_backend_option options[] = { { "lockspace", "LS" }, { "host_id", "1" } };
	struct lw_backend_setup setup = { .options = options, .nr_options = 2 };
	struct lw_backend *be = NULL;
	struct lw_err err = { "" };

	(void)state;
	assert_int_equal(lw_backend_open("paxos", &setup, &be, &err), -EINVAL);
	assert_null(be);
	assert_non_null(strstr(err.msg, "needs lockspace, lockspace_path and host_id"));
}

static void automatic_lease_name_is_the_same_for_the_same_path(void **state)
{
	struct sanlk_resource *a = NULL, *b = NULL, *c = NULL;
	struct lw_err err = { "" };
	char text[SANLK_MAX_RES_STR];

	(void)state;
	/* -1: by path (a host that resolves the same path gets the same lease) */
	assert_int_equal(lw_paxos_lease_auto("LS", "/srv/leases", -1, "/", false, &a, &err), 0);
	assert_int_equal(lw_paxos_lease_auto("LS", "/srv/leases", -1, "/", true, &b, &err), 0);
	assert_int_equal(lw_paxos_lease_auto("LS", "/srv/leases", -1, "/tmp", false, &c, &err), 0);
	assert_memory_equal(a->name, b->name, SANLK_NAME_LEN);
	assert_memory_not_equal(a->name, c->name, SANLK_NAME_LEN);
	assert_int_equal(strncmp(a->name, "lw-", 3), 0);
	assert_int_equal(strnlen(a->name, SANLK_NAME_LEN), 43);
	assert_int_equal(a->flags & SANLK_RES_SHARED, 0);
	assert_int_equal(b->flags & SANLK_RES_SHARED, SANLK_RES_SHARED);
	assert_int_equal(lw_paxos_lease_text(a, text, sizeof(text), &err), 0);
	assert_int_equal(strncmp(text, "LS:lw-", 6), 0);
	assert_non_null(strstr(text, ":/srv/leases/lw-"));
	assert_non_null(strstr(text, ".lease:0"));
	free(a);
	free(b);
	free(c);
}

static void automatic_lease_needs_a_lease_dir(void **state)
{
	struct sanlk_resource *r = NULL;
	struct lw_err err = { "" };

	(void)state;
	assert_int_equal(lw_paxos_lease_auto("LS", "", -1, "/", false, &r, &err), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err.msg, "--lease LOCKSPACE:RESOURCE:PATH:OFFSET"));
}

static void manual_lease_is_parsed_with_sanlocks_escaping(void **state)
{
	struct sanlk_resource *r = NULL;
	struct lw_err err = { "" };
	char text[SANLK_MAX_RES_STR];

	(void)state;
	assert_int_equal(lw_paxos_lease_manual("LS:vm1:/dev/a\\:b:1048576", "LS", true, &r, &err), 0);
	assert_string_equal(r->disks[0].path, "/dev/a:b");
	assert_int_equal(r->disks[0].offset, 1048576);
	assert_int_equal(r->flags & SANLK_RES_SHARED, SANLK_RES_SHARED);
	assert_int_equal(lw_paxos_lease_text(r, text, sizeof(text), &err), 0);
	assert_string_equal(text, "LS:vm1:/dev/a\\:b:1048576");
	free(r);
}

static void expect_manual_refused(const char *text, int expected, const char *reason)
{
	struct sanlk_resource *r = NULL;
	struct lw_err err = { "" };
	int rv = lw_paxos_lease_manual(text, "LS", false, &r, &err);

	free(r);
	if (rv != expected || !strstr(err.msg, reason))
		fail_msg("lease \"%s\": expected %d naming \"%s\", got %d: %s", text, expected, reason, rv, err.msg);
}

static void manual_lease_errors_say_why(void **state)
{
	(void)state;
	expect_manual_refused("LS:vm1", -EINVAL, "is not LOCKSPACE:RESOURCE:PATH:OFFSET");
	expect_manual_refused("LS:vm1:relative:0", -EINVAL, "one absolute path");
	expect_manual_refused("LS:vm1:/a:0:/b:0", -EINVAL, "one absolute path");
	expect_manual_refused("LS:vm1:/a:0:7", -EINVAL, "no version");
	expect_manual_refused("LS::/a:0", -EINVAL, "LOCKSPACE:RESOURCE:PATH:OFFSET");
	/* no sanlock daemon here: OTHER is joined nowhere */
	expect_manual_refused("OTHER:vm1:/a:0", -ENOENT, "lockspace OTHER is not joined on this host (this daemon joins LS)");
}

/* A state change is told from the loop only, never from inside the open:
 * the caller has no handle yet (lw_paxos_on_lockspace_changed reads it). */
static struct lw_paxos_lockspace *opened;

static void lockspace_changed(void *ctx)
{
	(void)ctx;
	if (!opened)
		fail_msg("expected no state change before lw_paxos_lockspace_open returned, got one");
}

static void lockspace_refused_at_once_calls_back_only_from_the_loop(void **state)
{
	struct lw_paxos_lockspace_config cfg = {
		.name = "LS", .path = "/nonexistent/lockspace", .host_id = 1, .io_timeout = 1,
	};
	struct lw_err err = { "" };
	sd_event *event;

	(void)state;
	assert_int_equal(sd_event_new(&event), 0);
	opened = NULL;
	/* no sanlock daemon here: sanlock refuses the add at once */
	assert_int_equal(lw_paxos_lockspace_open(&cfg, event, lockspace_changed, NULL, &opened, &err), 0);
	assert_non_null(opened);
	lw_paxos_lockspace_close(opened);
	sd_event_unref(event);
}

/* A child that opens path with flags (and maps it shared if asked), then waits. */
static pid_t child_with(const char *path, int flags, bool map_shared_then_close)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		/* only what it opens itself: not the test's own descriptor of path */
		close(ready[0]);
		if (dup2(ready[1], 3) < 0)
			_exit(1);
		ready[1] = 3;
		close_range(4, ~0u, 0);
		fd = open(path, flags);

		if (fd < 0)
			_exit(1);
		if (map_shared_then_close) {
			if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
				_exit(1);
			close(fd);
		}
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static bool killed_by_sigkill(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void fence_stops_writers_and_spares_readers(void **state)
{
	char path[] = "/tmp/lw-test-paxos-fence.XXXXXX";
	int fd = mkstemp(path), status;
	pid_t writer, mapper, reader;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	writer = child_with(path, O_RDWR, false);
	mapper = child_with(path, O_RDWR, true);	/* writes through a mapping, no descriptor */
	reader = child_with(path, O_RDONLY, false);
	/* this process has it open too (read-write): the caller is never fenced */
	assert_int_equal(lw_paxos_fence_writers(fd, 5000), 2);
	if (!killed_by_sigkill(writer))
		fail_msg("expected the writer %d to be killed by SIGKILL", (int)writer);
	if (!killed_by_sigkill(mapper))
		fail_msg("expected the process with a shared writable mapping %d to be killed", (int)mapper);
	assert_int_equal(waitpid(reader, &status, WNOHANG), 0);	/* still running */
	kill(reader, SIGKILL);
	waitpid(reader, &status, 0);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paxos_keys_accept_good_values),
		cmocka_unit_test(paxos_keys_refuse_bad_values_with_a_reason),
		cmocka_unit_test(paxos_open_needs_lockspace_path_and_host_id),
		cmocka_unit_test(automatic_lease_name_is_the_same_for_the_same_path),
		cmocka_unit_test(automatic_lease_needs_a_lease_dir),
		cmocka_unit_test(manual_lease_is_parsed_with_sanlocks_escaping),
		cmocka_unit_test(manual_lease_errors_say_why),
		cmocka_unit_test(lockspace_refused_at_once_calls_back_only_from_the_loop),
		cmocka_unit_test(fence_stops_writers_and_spares_readers),
	};

	return cmocka_run_group_tests_name("paxos", tests, NULL, NULL);
}
