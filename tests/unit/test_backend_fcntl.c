/* The fcntl backend with real files and real OFD locks. A forked child with
 * its own backend stands in for another daemon (or host) sharing the storage. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "daemon/keeper.h"

struct fixture {
	char dir[64];
	char image[PATH_MAX];
	char lockspace[PATH_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-fcntl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->image, sizeof(f->image), "%s/disk.img", f->dir);
	snprintf(f->lockspace, sizeof(f->lockspace), "%s/lockspace", f->dir);
	fd = open(f->image, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0 || mkdir(f->lockspace, 0700) < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct lw_backend *open_backend(const char *lockspace)
{
	struct lw_backend_config cfg = { .lockspace = lockspace };
	struct lw_backend *be = NULL;

	assert_int_equal(lw_backend_open("fcntl", &cfg, &be), 0);
	return be;
}

/* What another daemon's acquire returns, run in a child process: 0 or -errno. */
static int other_process_acquire(const char *lockspace, const char *image, bool shared)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct lw_backend_config cfg = { .lockspace = lockspace };
		struct lw_backend *be = NULL;
		int fd, r;

		if (lw_backend_open("fcntl", &cfg, &be) < 0)
			_exit(100);
		r = be->ops->acquire(be, image, -1, shared, &fd);
		_exit(r == 0 ? 0 : r == -EAGAIN ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	switch (WEXITSTATUS(status)) {
	case 0: return 0;
	case 1: return -EAGAIN;
	default: fail_msg("other process's acquire failed with exit %d (expected success or EAGAIN)",
			  WEXITSTATUS(status));
	}
	return -EIO;
}

static void direct_exclusive_lease_blocks_other_process(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	int fd = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	assert_int_equal(other_process_acquire(NULL, f->image, true), -EAGAIN);
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	lw_backend_close(be);
}

static void direct_release_lets_other_process_acquire(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	int fd = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	lw_backend_close(be);
}

static void direct_shared_leases_coexist_and_block_exclusive(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	int fd = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, true, &fd), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, true), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	lw_backend_close(be);
}

static void direct_lock_leaves_qemu_lock_bytes_free(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	int fd = -1, status;
	pid_t pid;

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* QEMU's image locking uses bytes 100+ (permissions) and 200+ (shared permissions) */
		int qfd = open(f->image, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 1 };

		if (qfd < 0 || fcntl(qfd, F_OFD_SETLK, &fl) < 0)
			_exit(1);
		fl.l_start = 200;
		_exit(fcntl(qfd, F_OFD_SETLK, &fl) < 0 ? 2 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("expected QEMU-style locks on bytes 100 and 200 to succeed, child exit %d",
			 WEXITSTATUS(status));
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	lw_backend_close(be);
}

static void indirect_lock_file_is_named_by_sha256_of_image_path(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	char expected[PATH_MAX + 80];
	int fd = -1;

	/* sha256("/var/lib/images/a.qcow2"); the image need not exist in indirect mode */
	snprintf(expected, sizeof(expected),
		 "%s/c294c881d15385b999870f80674c107a616a0379ede84fe32abec903fb314642", f->lockspace);
	assert_int_equal(be->ops->acquire(be, "/var/lib/images/a.qcow2", -1, false, &fd), 0);
	if (access(expected, F_OK) < 0)
		fail_msg("expected lock file %s, it does not exist", expected);
	assert_int_equal(be->ops->release(be, "/var/lib/images/a.qcow2", fd), 0);
	lw_backend_close(be);
}

static void indirect_exclusive_lease_blocks_other_process_until_release(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	int fd = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);
	/* indirect mode never touches the image's own bytes */
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), 0);
	lw_backend_close(be);
}

static void indirect_shared_leases_coexist(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	int fd = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, true, &fd), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, true), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);
	assert_int_equal(be->ops->release(be, f->image, fd), 0);
	lw_backend_close(be);
}

static void lock_survives_in_a_duplicate_descriptor(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	int fd = -1, kept;

	/* what the keeper does: a dup keeps the OFD lock after the daemon's copy is gone */
	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	kept = dup(fd);
	assert_true(kept >= 0);
	close(fd);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	/* release through the kept copy unlocks even if other duplicates remain */
	fd = dup(kept);
	assert_int_equal(be->ops->release(be, f->image, kept), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	close(fd);
	lw_backend_close(be);
}

static void verify_keeps_a_held_lock_and_reports_a_lost_one(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	int fd = -1, other = -1;

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &fd), 0);
	assert_int_equal(be->ops->verify(be, f->image, false, fd), 0);
	/* simulate losing it: unlock, let another description take it */
	assert_int_equal(be->ops->release(be, f->image, dup(fd)), 0);
	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &other), 0);
	assert_int_equal(be->ops->verify(be, f->image, false, fd), -EAGAIN);
	assert_non_null(strstr(lw_backend_error(be), "lost"));
	assert_int_equal(be->ops->release(be, f->image, other), 0);
	close(fd);
	lw_backend_close(be);
}

static int take_kept(const char *name, int fd, void *ctx)
{
	int *out = ctx;

	(void)name;
	*out = fd;
	return 0;
}

static void lock_kept_by_keeper_survives_kill_9_of_the_daemon(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_keeper *k = NULL;
	char err[256] = "";
	int status, kept = -1;
	pid_t daemon = fork();

	assert_true(daemon >= 0);
	if (daemon == 0) {
		/* the daemon: take the lock, hand it to the keeper, then die hard */
		int fd;

		if (be->ops->acquire(be, f->image, -1, false, &fd) < 0 ||
		    lw_keeper_connect(f->dir, &k, err, sizeof(err)) < 0 ||
		    lw_keeper_put(k, f->image, fd) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	assert_int_equal(waitpid(daemon, &status, 0), daemon);
	if (!WIFSIGNALED(status))
		fail_msg("expected the stand-in daemon to die by SIGKILL, exit status %d", WEXITSTATUS(status));
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);

	/* the restarted daemon takes it back and releases it */
	if (lw_keeper_connect(f->dir, &k, err, sizeof(err)) < 0)
		fail_msg("expected to reconnect to the keeper, got: %s", err);
	assert_int_equal(lw_keeper_list(k, take_kept, &kept), 0);
	assert_true(kept >= 0);
	assert_int_equal(be->ops->verify(be, f->image, false, kept), 0);
	assert_int_equal(be->ops->release(be, f->image, kept), 0);
	assert_int_equal(lw_keeper_drop(k, f->image), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), 0);
	lw_keeper_close(k);	/* holding nothing, the keeper exits */
	lw_backend_close(be);
}

/* Polls until another process can take the lock (up to 3 s). */
static int acquire_within_seconds(const char *lockspace, const char *image)
{
	int r = -EAGAIN;

	for (int i = 0; i < 300 && r == -EAGAIN; i++) {
		r = other_process_acquire(lockspace, image, false);
		if (r == -EAGAIN)
			usleep(10000);
	}
	return r;
}

/* The keeper is replaced (old_told: the old one is told to quit; else the
 * daemon hangs up on it, as when it dies before telling it): the new one
 * holds the lock alone once the daemon closes its copy, and when it dies
 * too the lock is free, so the old keeper kept no copy. */
static void replace_keeper(struct fixture *f, bool old_told)
{
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_keeper *old = NULL, *fresh = NULL;
	struct lw_keeper_lock lock = { .name = f->image };
	char err[256] = "";

	assert_int_equal(be->ops->acquire(be, f->image, -1, false, &lock.fd), 0);
	if (lw_keeper_connect(f->dir, &old, err, sizeof(err)) < 0)
		fail_msg("expected a keeper, got: %s", err);
	assert_int_equal(lw_keeper_put(old, f->image, lock.fd), 0);
	if (lw_keeper_replace(f->dir, &lock, 1, old_told ? old : NULL, &fresh, err, sizeof(err)) < 0)
		fail_msg("expected a new keeper holding 1 lock, got: %s", err);
	assert_int_not_equal(lw_keeper_pid(fresh), lw_keeper_pid(old));
	lw_keeper_close(old);
	close(lock.fd);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);
	assert_int_equal(kill(lw_keeper_pid(fresh), SIGKILL), 0);
	lw_keeper_close(fresh);
	if (acquire_within_seconds(f->lockspace, f->image) != 0)
		fail_msg("expected the lock free once the new keeper died, but it is still held (the old keeper kept a copy)");
	lw_backend_close(be);
}

static void replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_told(void **state)
{
	replace_keeper(*state, true);
}

static void replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_its_daemon_hangs_up(void **state)
{
	replace_keeper(*state, false);
}

static void missing_image_is_enoent_with_reason(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	char missing[PATH_MAX + 16];
	int fd = -1;

	snprintf(missing, sizeof(missing), "%s/nope.img", f->dir);
	assert_int_equal(be->ops->acquire(be, missing, -1, false, &fd), -ENOENT);
	assert_non_null(strstr(lw_backend_error(be), "nope.img"));
	lw_backend_close(be);
}

static void missing_lockspace_folder_is_enoent(void **state)
{
	struct lw_backend_config cfg = { .lockspace = "/nonexistent/lockspace" };
	struct lw_backend *be = NULL;

	(void)state;
	assert_int_equal(lw_backend_open("fcntl", &cfg, &be), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(direct_exclusive_lease_blocks_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_release_lets_other_process_acquire, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_shared_leases_coexist_and_block_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_lock_leaves_qemu_lock_bytes_free, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_lock_file_is_named_by_sha256_of_image_path, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_exclusive_lease_blocks_other_process_until_release, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_shared_leases_coexist, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_survives_in_a_duplicate_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_keeps_a_held_lock_and_reports_a_lost_one, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_kept_by_keeper_survives_kill_9_of_the_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_told,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_its_daemon_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_image_is_enoent_with_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_lockspace_folder_is_enoent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
