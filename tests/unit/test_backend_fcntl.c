// SPDX-License-Identifier: LGPL-2.1-or-later
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

/* An fcntl backend with lockspace (NULL: direct mode), waiting up to
 * wait_sec on event (NULL: none) for a lock held elsewhere. */
static struct lw_backend *open_waiting_backend(const char *lockspace, const char *wait_sec, sd_event *event)
{
	struct lw_backend_option options[2];
	struct lw_backend_setup setup = { .event = event, .options = options };
	struct lw_backend *be = NULL;
	struct lw_err err = { { 0 } };

	if (lockspace)
		options[setup.nr_options++] = (struct lw_backend_option){ "lockspace", lockspace };
	if (wait_sec)
		options[setup.nr_options++] = (struct lw_backend_option){ "wait_timeout_sec", wait_sec };
	if (lw_backend_open("fcntl", &setup, &be, &err) < 0)
		fail_msg("expected the fcntl backend to open, got: %s", err.msg);
	return be;
}

static struct lw_backend *open_backend(const char *lockspace)
{
	return open_waiting_backend(lockspace, NULL, NULL);
}

/* An acquire that must answer at once: 0 with *lock, or -errno (reason in err). */
static int acquire_now(struct lw_backend *be, const char *image, bool shared, struct lw_backend_lock **lock,
		       struct lw_err *err)
{
	struct lw_backend_request req = { .image = image, .image_fd = -1, .shared = shared };
	struct lw_backend_pending *pending = NULL;
	struct lw_err scratch;
	int r;

	r = lw_backend_acquire(be, &req, NULL, NULL, lock, &pending, err ? err : &scratch);
	assert_null(pending);
	return r;
}

static int release(struct lw_backend *be, struct lw_backend_lock *lock)
{
	struct lw_err err;

	return lw_backend_release(be, lock, NULL, NULL, &err);
}

/* What another daemon's acquire returns, run in a child process: 0 or -errno. */
static int other_process_acquire(const char *lockspace, const char *image, bool shared)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct lw_backend *be = open_backend(lockspace);
		struct lw_backend_lock *lock;
		int r;

		r = acquire_now(be, image, shared, &lock, NULL);
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
	struct lw_backend_lock *lock = NULL;

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	assert_true(lw_backend_lock_keep_fd(lock) >= 0);
	assert_string_equal(lw_backend_lock_id(lock), f->image);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	assert_int_equal(other_process_acquire(NULL, f->image, true), -EAGAIN);
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
}

static void direct_release_lets_other_process_acquire(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_lock *lock = NULL;

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	assert_int_equal(release(be, lock), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	lw_backend_close(be);
}

static void direct_shared_leases_coexist_and_block_exclusive(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_lock *lock = NULL;

	assert_int_equal(acquire_now(be, f->image, true, &lock, NULL), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, true), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
}

static void direct_lock_leaves_qemu_lock_bytes_free(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_lock *lock = NULL;
	int status;
	pid_t pid;

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
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
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
}

/* Whether the lock's descriptor is the image open for write, for one
 * request: 1 yes, 0 no (and then the descriptor must not be that). */
static int lock_writes_image(struct lw_backend *be, const char *image, bool shared, bool by_descriptor)
{
	struct lw_backend_request req = { .image = image, .shared = shared, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct stat image_st, lock_st;
	struct lw_err err;
	int writes, keep;

	if (by_descriptor)
		assert_true((req.image_fd = open(image, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(lw_backend_acquire(be, &req, NULL, NULL, &lock, &pending, &err), 0);
	writes = lw_backend_lock_writes_image(lock);
	keep = lw_backend_lock_keep_fd(lock);
	assert_int_equal(stat(image, &image_st), 0);
	assert_int_equal(fstat(keep, &lock_st), 0);
	if (writes) {
		assert_true(lock_st.st_dev == image_st.st_dev && lock_st.st_ino == image_st.st_ino);
		assert_int_equal(fcntl(keep, F_GETFL) & O_ACCMODE, O_RDWR);
	}
	assert_int_equal(release(be, lock), 0);
	if (req.image_fd >= 0)
		close(req.image_fd);
	return writes;
}

/* The daemon takes the lock's own descriptor as the image's one writer
 * only when the backend says it is (leasing.c, enforcement_fd). */
static void lock_says_whether_it_is_the_image_open_for_write(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *direct = open_backend(NULL), *indirect = open_backend(f->lockspace);

	assert_int_equal(lock_writes_image(direct, f->image, false, true), 1);
	assert_int_equal(lock_writes_image(direct, f->image, true, true), 0);
	assert_int_equal(lock_writes_image(direct, f->image, false, false), 0);
	assert_int_equal(lock_writes_image(indirect, f->image, false, true), 0);
	assert_false(lw_backend_lock_writes_image(NULL));
	lw_backend_close(direct);
	lw_backend_close(indirect);
}

static void indirect_lock_file_is_named_by_sha256_of_image_path(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_backend_lock *lock = NULL;
	char expected[PATH_MAX + 80];

	/* sha256("/var/lib/images/a.qcow2"); the image need not exist in indirect mode */
	snprintf(expected, sizeof(expected),
		 "%s/c294c881d15385b999870f80674c107a616a0379ede84fe32abec903fb314642", f->lockspace);
	assert_int_equal(acquire_now(be, "/var/lib/images/a.qcow2", false, &lock, NULL), 0);
	if (access(expected, F_OK) < 0)
		fail_msg("expected lock file %s, it does not exist", expected);
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
}

static void indirect_exclusive_lease_blocks_other_process_until_release(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_backend_lock *lock = NULL;

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);
	/* indirect mode never touches the image's own bytes */
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	assert_int_equal(release(be, lock), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), 0);
	lw_backend_close(be);
}

static void indirect_shared_leases_coexist(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_backend_lock *lock = NULL;

	assert_int_equal(acquire_now(be, f->image, true, &lock, NULL), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, true), 0);
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
}

static void lock_survives_in_a_duplicate_descriptor(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_lock *lock = NULL;
	int kept;

	/* what the keeper does: a dup keeps the OFD lock after the daemon's copy is gone */
	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	kept = dup(lw_backend_lock_keep_fd(lock));
	assert_true(kept >= 0);
	lw_backend_forget(be, lock);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	/* release unlocks even while other duplicates remain (the keeper's) */
	assert_int_equal(lw_backend_adopt(be, &(struct lw_backend_request){ .image = f->image, .image_fd = -1 },
					  f->image, dup(kept), &lock, NULL), 0);
	assert_int_equal(release(be, lock), 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	close(kept);
	lw_backend_close(be);
}

static void adopt_keeps_a_held_lock_and_reports_a_lost_one(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(f->lockspace);
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_lock *lock = NULL, *adopted = NULL, *other = NULL;
	struct lw_err err = { { 0 } };
	int kept;

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	kept = dup(lw_backend_lock_keep_fd(lock));
	assert_int_equal(lw_backend_adopt(be, &req, lw_backend_lock_id(lock), dup(kept), &adopted, &err), 0);
	assert_string_equal(lw_backend_lock_id(adopted), lw_backend_lock_id(lock));
	lw_backend_forget(be, adopted);
	/* lose it: unlock, let another description take it */
	assert_int_equal(release(be, lock), 0);
	assert_int_equal(acquire_now(be, f->image, false, &other, NULL), 0);
	assert_int_equal(lw_backend_adopt(be, &req, "", kept, &adopted, &err), -EAGAIN);
	assert_null(adopted);
	if (!strstr(err.msg, "lost"))
		fail_msg("expected a reason saying the lock was lost, got: %s", err.msg);
	assert_int_equal(release(be, other), 0);
	lw_backend_close(be);
}

static void adopt_without_a_kept_copy_takes_a_free_lock_again(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_request req = { .image = f->image, .image_fd = open(f->image, O_PATH | O_CLOEXEC) };
	struct lw_backend_lock *lock = NULL;

	assert_true(req.image_fd >= 0);
	assert_int_equal(lw_backend_adopt(be, &req, f->image, -1, &lock, NULL), 0);
	assert_true(lw_backend_lock_keep_fd(lock) >= 0);
	assert_int_equal(other_process_acquire(NULL, f->image, false), -EAGAIN);
	assert_int_equal(release(be, lock), 0);
	close(req.image_fd);
	lw_backend_close(be);
}

/* The path may name another file by now, or a device (a symlink put in
 * its place while the daemon was down): only the daemon's descriptor of
 * the image it checked is locked again, never what the path names. */
static void adopt_without_a_kept_copy_nor_the_image_opens_nothing(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { { 0 } };

	assert_int_equal(lw_backend_adopt(be, &req, f->image, -1, &lock, &err), -EBADF);
	assert_null(lock);
	assert_non_null(strstr(err.msg, "lost with the keeper"));
	/* nothing took the lock: another holder gets it */
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
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
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_lock *lock = NULL;
	struct lw_keeper *k = NULL;
	struct lw_err err = { "" };
	int status, kept = -1;
	pid_t daemon = fork();

	assert_true(daemon >= 0);
	if (daemon == 0) {
		/* the daemon: take the lock, hand it to the keeper, then die hard */
		if (acquire_now(be, f->image, false, &lock, NULL) < 0 ||
		    lw_keeper_connect(f->dir, &k, &err) < 0 ||
		    lw_keeper_put(k, f->image, lw_backend_lock_keep_fd(lock)) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	assert_int_equal(waitpid(daemon, &status, 0), daemon);
	if (!WIFSIGNALED(status))
		fail_msg("expected the stand-in daemon to die by SIGKILL, exit status %d", WEXITSTATUS(status));
	assert_int_equal(other_process_acquire(f->lockspace, f->image, false), -EAGAIN);

	/* the restarted daemon takes it back and releases it */
	if (lw_keeper_connect(f->dir, &k, &err) < 0)
		fail_msg("expected to reconnect to the keeper, got: %s", err.msg);
	assert_int_equal(lw_keeper_list(k, take_kept, &kept), 0);
	assert_true(kept >= 0);
	assert_int_equal(lw_backend_adopt(be, &req, "", kept, &lock, NULL), 0);
	assert_int_equal(release(be, lock), 0);
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
	struct lw_keeper_lock kept = { .name = f->image };
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { "" };

	assert_int_equal(acquire_now(be, f->image, false, &lock, NULL), 0);
	kept.fd = lw_backend_lock_keep_fd(lock);
	if (lw_keeper_connect(f->dir, &old, &err) < 0)
		fail_msg("expected a keeper, got: %s", err.msg);
	assert_int_equal(lw_keeper_put(old, f->image, kept.fd), 0);
	if (lw_keeper_replace(f->dir, &kept, 1, old_told ? old : NULL, &fresh, &err) < 0)
		fail_msg("expected a new keeper holding 1 lock, got: %s", err.msg);
	assert_int_not_equal(lw_keeper_pid(fresh), lw_keeper_pid(old));
	lw_keeper_close(old);
	lw_backend_forget(be, lock);
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

static void named_lease_is_refused_with_reason_and_nothing_is_locked(void **state)
{
	struct fixture *f = *state;
	const char *modes[] = { NULL, f->lockspace };

	for (unsigned int m = 0; m < 2; m++) {
		struct lw_backend *be = open_backend(modes[m]);
		struct lw_backend_request req = { .image = f->image, .image_fd = -1,
						   .lease = "LS:vm1:/dev/sdb:1048576" };
		struct lw_backend_pending *pending = NULL;
		struct lw_backend_lock *lock = NULL;
		struct lw_err err = { { 0 } };
		int r;

		r = lw_backend_acquire(be, &req, NULL, NULL, &lock, &pending, &err);
		if (r != -EINVAL)
			fail_msg("%s mode: expected -EINVAL for lease=, got %d (%s)", modes[m] ? "indirect" : "direct",
				 r, err.msg);
		assert_null(lock);
		assert_null(pending);
		if (!strstr(err.msg, "fcntl has no named leases") || !strstr(err.msg, "paxos"))
			fail_msg("expected the reason to name fcntl and paxos, got: %s", err.msg);
		/* refused before anything was taken: another holder gets it at once */
		assert_int_equal(other_process_acquire(modes[m], f->image, false), 0);
		lw_backend_close(be);
	}
}

static void missing_image_is_enoent_with_reason(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = open_backend(NULL);
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { { 0 } };
	char missing[PATH_MAX + 16];

	snprintf(missing, sizeof(missing), "%s/nope.img", f->dir);
	assert_int_equal(acquire_now(be, missing, false, &lock, &err), -ENOENT);
	if (!strstr(err.msg, "nope.img"))
		fail_msg("expected the reason to name nope.img, got: %s", err.msg);
	lw_backend_close(be);
}

static void missing_lockspace_folder_is_enoent_with_reason(void **state)
{
	struct lw_backend_option option = { "lockspace", "/nonexistent/lockspace" };
	struct lw_backend_setup setup = { .options = &option, .nr_options = 1 };
	struct lw_backend *be = NULL;
	struct lw_err err = { { 0 } };

	(void)state;
	assert_int_equal(lw_backend_open("fcntl", &setup, &be, &err), -ENOENT);
	if (!strstr(err.msg, "/nonexistent/lockspace"))
		fail_msg("expected the reason to name the folder, got: %s", err.msg);
}

static void own_section_keys_are_checked_one_by_one(void **state)
{
	struct lw_err err = { { 0 } };

	(void)state;
	assert_int_equal(lw_backend_check_option("fcntl", "lockspace", "/shared/locks", &err), 0);
	assert_int_equal(lw_backend_check_option("fcntl", "lockspace", "", &err), 0);
	assert_int_equal(lw_backend_check_option("fcntl", "wait_timeout_sec", "30", &err), 0);
	assert_int_equal(lw_backend_check_option("fcntl", "lockspace", "relative/locks", &err), -EINVAL);
	assert_int_equal(lw_backend_check_option("fcntl", "wait_timeout_sec", "-1", &err), -EINVAL);
	assert_int_equal(lw_backend_check_option("fcntl", "wait_timeout_sec", "ten", &err), -EINVAL);
	assert_int_equal(lw_backend_check_option("fcntl", "wait_timeout_sec", "86401", &err), -EINVAL);
	assert_int_equal(lw_backend_check_option("fcntl", "lockspce", "/x", &err), -ENOENT);
	if (!strstr(err.msg, "lockspce"))
		fail_msg("expected the reason to name the unknown key, got: %s", err.msg);
}

/* ---- waiting mode: the answer comes later, from the event loop ---------- */

struct answer {
	bool called;
	int result;
	struct lw_backend_lock *lock;
	char reason[LW_ERR_MAX];
	sd_event *event;
};

static void on_done(void *ctx, int result, struct lw_backend_lock *lock, const struct lw_err *err)
{
	struct answer *a = ctx;

	a->called = true;
	a->result = result;
	a->lock = lock;
	snprintf(a->reason, sizeof(a->reason), "%s", err ? err->msg : "");
	sd_event_exit(a->event, 0);
}

/* Another open file description holding byte 0: OFD locks conflict even in one process. */
static int hold_elsewhere(const char *image)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int fd = open(image, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

static int close_blocker(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	close(*(int *)userdata);
	*(int *)userdata = -1;
	return 0;
}

/* Runs the loop until done() was called or seconds passed. */
static void run_until_answer(struct answer *a, unsigned int seconds)
{
	sd_event_source *guard = NULL;

	assert_int_equal(sd_event_add_time_relative(a->event, &guard, CLOCK_MONOTONIC,
						    (uint64_t)seconds * 1000000u, 0, NULL, NULL), 0);
	sd_event_loop(a->event);
	sd_event_source_disable_unref(guard);
}

static void waiting_mode_takes_a_free_lock_in_the_same_call(void **state)
{
	struct fixture *f = *state;
	sd_event *event = NULL;
	struct answer a = { 0 };
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend *be;

	assert_int_equal(sd_event_new(&event), 0);
	be = open_waiting_backend(NULL, "5", event);
	a.event = event;
	assert_int_equal(lw_backend_acquire(be, &req, on_done, &a, &lock, &pending, NULL), 0);
	assert_non_null(lock);
	assert_null(pending);
	assert_false(a.called);
	assert_int_equal(release(be, lock), 0);
	lw_backend_close(be);
	sd_event_unref(event);
}

static void waiting_mode_answers_later_from_the_loop_once_the_holder_lets_go(void **state)
{
	struct fixture *f = *state;
	sd_event *event = NULL;
	sd_event_source *timer = NULL;
	struct answer a = { 0 };
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend *be;
	struct json_object *status;
	int blocker = hold_elsewhere(f->image);

	assert_int_equal(sd_event_new(&event), 0);
	be = open_waiting_backend(NULL, "30", event);
	a.event = event;
	assert_int_equal(lw_backend_acquire(be, &req, on_done, &a, &lock, &pending, NULL), -EINPROGRESS);
	assert_non_null(pending);
	assert_null(lock);
	assert_false(a.called);	/* never from inside acquire */
	status = lw_backend_status(be);
	assert_int_equal(json_object_get_int(json_object_object_get(status, "waiting")), 1);
	json_object_put(status);
	/* the other holder lets go 100 ms from now */
	assert_int_equal(sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, 100000, 0,
						    close_blocker, &blocker), 0);
	run_until_answer(&a, 20);
	if (!a.called)
		fail_msg("expected done() within 20 s of the holder letting go, it was not called");
	if (a.result != 0)
		fail_msg("expected the lock granted, got %d: %s", a.result, a.reason);
	assert_int_equal(other_process_acquire(NULL, f->image, true), -EAGAIN);
	assert_int_equal(release(be, a.lock), 0);
	sd_event_source_disable_unref(timer);
	lw_backend_close(be);
	sd_event_unref(event);
}

static void waiting_mode_gives_up_after_wait_timeout_sec_with_a_reason(void **state)
{
	struct fixture *f = *state;
	sd_event *event = NULL;
	struct answer a = { 0 };
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend *be;
	int blocker = hold_elsewhere(f->image);

	assert_int_equal(sd_event_new(&event), 0);
	be = open_waiting_backend(NULL, "1", event);
	a.event = event;
	assert_int_equal(lw_backend_acquire(be, &req, on_done, &a, &lock, &pending, NULL), -EINPROGRESS);
	run_until_answer(&a, 30);
	if (!a.called)
		fail_msg("expected done() after wait_timeout_sec = 1, it was not called within 30 s");
	assert_int_equal(a.result, -EAGAIN);
	assert_null(a.lock);
	if (!strstr(a.reason, "wait_timeout_sec"))
		fail_msg("expected the reason to name wait_timeout_sec, got: %s", a.reason);
	close(blocker);
	lw_backend_close(be);
	sd_event_unref(event);
}

static void cancelled_wait_never_answers_and_leaves_the_lock_free(void **state)
{
	struct fixture *f = *state;
	sd_event *event = NULL;
	struct answer a = { 0 };
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend *be;
	int blocker = hold_elsewhere(f->image);

	assert_int_equal(sd_event_new(&event), 0);
	be = open_waiting_backend(NULL, "30", event);
	a.event = event;
	assert_int_equal(lw_backend_acquire(be, &req, on_done, &a, &lock, &pending, NULL), -EINPROGRESS);
	lw_backend_cancel(be, pending);
	close(blocker);
	/* time for several tries had it not been cancelled */
	run_until_answer(&a, 1);
	if (a.called)
		fail_msg("expected no done() after cancel, got one with result %d", a.result);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	lw_backend_close(be);
	sd_event_unref(event);
}

static void closing_the_backend_cancels_what_waits(void **state)
{
	struct fixture *f = *state;
	sd_event *event = NULL;
	struct answer a = { 0 };
	struct lw_backend_request req = { .image = f->image, .image_fd = -1 };
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend *be;
	int blocker = hold_elsewhere(f->image);

	assert_int_equal(sd_event_new(&event), 0);
	be = open_waiting_backend(NULL, "30", event);
	a.event = event;
	assert_int_equal(lw_backend_acquire(be, &req, on_done, &a, &lock, &pending, NULL), -EINPROGRESS);
	lw_backend_close(be);
	close(blocker);
	run_until_answer(&a, 1);
	assert_false(a.called);
	assert_int_equal(other_process_acquire(NULL, f->image, false), 0);
	sd_event_unref(event);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(direct_exclusive_lease_blocks_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_release_lets_other_process_acquire, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_shared_leases_coexist_and_block_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(direct_lock_leaves_qemu_lock_bytes_free, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_says_whether_it_is_the_image_open_for_write, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_lock_file_is_named_by_sha256_of_image_path, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_exclusive_lease_blocks_other_process_until_release, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect_shared_leases_coexist, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_survives_in_a_duplicate_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(adopt_keeps_a_held_lock_and_reports_a_lost_one, setup, teardown),
		cmocka_unit_test_setup_teardown(adopt_without_a_kept_copy_takes_a_free_lock_again, setup, teardown),
		cmocka_unit_test_setup_teardown(adopt_without_a_kept_copy_nor_the_image_opens_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_kept_by_keeper_survives_kill_9_of_the_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_told,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			replaced_keeper_holds_the_lock_and_the_old_one_lets_go_when_its_daemon_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(named_lease_is_refused_with_reason_and_nothing_is_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_image_is_enoent_with_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_lockspace_folder_is_enoent_with_reason, setup, teardown),
		cmocka_unit_test(own_section_keys_are_checked_one_by_one),
		cmocka_unit_test_setup_teardown(waiting_mode_takes_a_free_lock_in_the_same_call, setup, teardown),
		cmocka_unit_test_setup_teardown(waiting_mode_answers_later_from_the_loop_once_the_holder_lets_go,
						setup, teardown),
		cmocka_unit_test_setup_teardown(waiting_mode_gives_up_after_wait_timeout_sec_with_a_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(cancelled_wait_never_answers_and_leaves_the_lock_free, setup, teardown),
		cmocka_unit_test_setup_teardown(closing_the_backend_cancels_what_waits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
