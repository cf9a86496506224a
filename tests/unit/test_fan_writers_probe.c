// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer's writers check asks the kernel first (a read lease
 * taken and dropped, fan_lease_probe.c) and walks /proc only when the kernel
 * cannot rule a writer out. Natively, as root, on real files: the test
 * process plays the daemon, children play the other processes. Each case
 * says whether the walk ran (lw_fan_writer_walks), so a fast path that
 * stopped working, or a refusal that stopped naming the writer, fails.
 * fcntl's direct lock (a descriptor open for write) is probed with a write
 * lease instead. */
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
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fanotify/fan_internal.h"

static struct lw_enforcement *enf;

struct fixture {
	char dir[64];
	char image[PATH_MAX];
	int image_fd;		/* the daemon's read-only descriptor, as lw_image_open gives */
	pid_t child;		/* the other process of the case, or 0 */
	int child_go;		/* write end: the child leaves when it closes */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/var/tmp/lw-test-probe-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->image, sizeof(f->image), "%s/disk.img", f->dir);
	fd = open(f->image, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 65536))
		return -1;
	close(fd);
	f->image_fd = open(f->image, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	f->child_go = -1;
	*state = f;
	return f->image_fd < 0 ? -1 : 0;
}

static int remove_each(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx)
{
	(void)lease;
	(void)ctx;
	lw_fan_enforcer_remove_lease(enf, key);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	lw_fan_enforcer_foreach(enf, remove_each, NULL);
	if (f->child > 0) {
		close(f->child_go);
		waitpid(f->child, NULL, 0);
	}
	close(f->image_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) ? -1 : 0;
}

enum hold { HOLD_READ, HOLD_WRITE, HOLD_SHARED_MAPPING };

/* A child that opens the image as told, says so, and keeps it until
 * child_go closes. Returns the descriptor number it holds (-1 for a mapping
 * whose descriptor it closed). */
static int start_child(struct fixture *f, enum hold how)
{
	int ready[2], go[2], fd = -1;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		void *map;

		close(ready[0]);
		close(go[1]);
		fd = open(f->image, how == HOLD_READ ? O_RDONLY : O_RDWR);
		if (fd < 0)
			_exit(1);
		if (how == HOLD_SHARED_MAPPING) {
			map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (map == MAP_FAILED)
				_exit(2);
			close(fd);
			fd = -1;
		}
		if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(3);
		while (read(go[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	f->child_go = go[1];
	assert_int_equal(read(ready[0], &fd, sizeof(fd)), sizeof(fd));
	close(ready[0]);
	return fd;
}

/* Lease the image as the daemon does and report the walks it cost. */
static int lease_counting_walks(int fd, struct lw_writer *writer, unsigned long *walks)
{
	struct lw_holder holder;
	unsigned long before = lw_fan_writer_walks();
	int err;

	/* a holder that is not the test: the children's writes are not its */
	assert_int_equal(lw_holder_of_pid(getppid(), &holder), 0);
	err = lw_fan_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &holder, 0, NULL, writer);
	*walks = lw_fan_writer_walks() - before;
	return err;
}

static void image_open_nowhere_else_is_leased_without_walking_proc(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;

	assert_int_equal(lease_counting_walks(f->image_fd, NULL, &walks), 0);
	if (walks != 0)
		fail_msg("expected no /proc walk for an image nobody writes, got %lu", walks);
}

static void image_open_read_only_elsewhere_is_leased_without_walking_proc(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;

	start_child(f, HOLD_READ);
	assert_int_equal(lease_counting_walks(f->image_fd, NULL, &walks), 0);
	if (walks != 0)
		fail_msg("expected no /proc walk (readers do not count), got %lu", walks);
}

static void image_open_for_write_elsewhere_is_refused_naming_the_writer(void **state)
{
	struct fixture *f = *state;
	struct lw_writer w = { 0 };
	unsigned long walks;
	int fd = start_child(f, HOLD_WRITE), err;

	err = lease_counting_walks(f->image_fd, &w, &walks);
	if (err != -EBUSY)
		fail_msg("expected -EBUSY for a foreign writer, got %d (%s)", err, lw_fan_enforcer_error(enf));
	if (w.pid != (__u32)f->child || w.fd != (__u32)fd)
		fail_msg("expected the writer named as pid %d fd %d, got pid %u fd %u", f->child, fd, w.pid,
			 w.fd);
	assert_int_equal(walks, 1);
	assert_non_null(strstr(lw_fan_enforcer_error(enf), "open for write by process"));
}

static void shared_writable_mapping_with_closed_descriptor_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_writer w = { 0 };
	unsigned long walks;
	int err;

	start_child(f, HOLD_SHARED_MAPPING);
	err = lease_counting_walks(f->image_fd, &w, &walks);
	if (err != -EBUSY)
		fail_msg("expected -EBUSY for a shared writable mapping, got %d (%s)", err,
			 lw_fan_enforcer_error(enf));
	if (w.pid != (__u32)f->child || w.fd != UINT32_MAX)
		fail_msg("expected the mapping's process %d with no descriptor, got pid %u fd %u", f->child,
			 w.pid, w.fd);
	assert_non_null(strstr(lw_fan_enforcer_error(enf), "mapped for write by process"));
}

/* fcntl's direct mode hands the enforcer its lock: the image open for write
 * by the daemon itself, and makes its own read-only descriptor an O_PATH one
 * (leasing.c). A write lease on the lock's own file, taken and dropped, then
 * proves that no other file has the image open at all. The lock is opened
 * here as the backend does; returns it. */
static int direct_lock(struct fixture *f)
{
	char path[64];
	int lock = open(f->image, O_RDWR | O_CLOEXEC | O_NONBLOCK), name;

	assert_true(lock >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->image_fd);
	name = open(path, O_PATH | O_CLOEXEC);
	assert_true(name >= 0);
	assert_int_equal(dup3(name, f->image_fd, O_CLOEXEC), f->image_fd);
	close(name);
	return lock;
}

/* No lease left on the lock's file, and no signal set on it: the keeper's
 * copy is that same file. */
static void assert_probe_left_nothing(int lock)
{
	int lease = fcntl(lock, F_GETLEASE), sig = fcntl(lock, F_GETSIG);

	if (lease != F_UNLCK)
		fail_msg("expected no lease left on the lock after the probe (F_UNLCK %d), got %d", F_UNLCK, lease);
	if (sig != 0)
		fail_msg("expected no lease signal left on the lock after the probe, got %d", sig);
}

static void own_write_descriptor_alone_is_leased_without_walking_proc(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;
	int lock = direct_lock(f);

	assert_int_equal(lease_counting_walks(lock, NULL, &walks), 0);
	if (walks != 0)
		fail_msg("expected no /proc walk when our lock is the image's only open file, got %lu", walks);
	assert_probe_left_nothing(lock);
	close(lock);
}

/* The keeper holds a copy of the lock: the same open file, not a second
 * writer. */
static void own_write_descriptor_copied_to_another_process_is_leased_without_walking_proc(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;
	int lock = direct_lock(f), go[2];
	char c;

	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {	/* holds its inherited copy of the lock until told */
		close(go[1]);
		while (read(go[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	f->child_go = go[1];
	assert_int_equal(lease_counting_walks(lock, NULL, &walks), 0);
	if (walks != 0)
		fail_msg("expected no /proc walk with the lock copied to another process, got %lu", walks);
	assert_probe_left_nothing(lock);
	close(lock);
}

static void own_write_descriptor_beside_a_foreign_writer_is_refused_naming_it(void **state)
{
	struct fixture *f = *state;
	struct lw_writer w = { 0 };
	unsigned long walks;
	int lock = direct_lock(f), fd = start_child(f, HOLD_WRITE), err;

	err = lease_counting_walks(lock, &w, &walks);
	if (err != -EBUSY)
		fail_msg("expected -EBUSY for a foreign writer beside our lock, got %d (%s)", err,
			 lw_fan_enforcer_error(enf));
	if (w.pid != (__u32)f->child || w.fd != (__u32)fd)
		fail_msg("expected the writer named as pid %d fd %d, got pid %u fd %u", f->child, fd, w.pid,
			 w.fd);
	if (walks != 1)
		fail_msg("expected one /proc walk to name the writer, got %lu", walks);
	assert_probe_left_nothing(lock);
	close(lock);
}

/* A reader anywhere is in the way of the write lease: the kernel cannot
 * rule a writer out then, so the walk runs, and finds none. */
static void own_write_descriptor_beside_a_reader_walks_and_is_leased(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;
	int lock = direct_lock(f);

	start_child(f, HOLD_READ);
	assert_int_equal(lease_counting_walks(lock, NULL, &walks), 0);
	if (walks != 1)
		fail_msg("expected one /proc walk with a reader beside our lock, got %lu", walks);
	assert_probe_left_nothing(lock);
	close(lock);
}

/* Why the daemon drops its own read-only descriptor first: kept open, it
 * alone refuses the write lease. */
static void own_write_descriptor_beside_our_own_read_descriptor_walks(void **state)
{
	struct fixture *f = *state;
	unsigned long walks;
	int lock = open(f->image, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	assert_true(lock >= 0);
	assert_int_equal(lease_counting_walks(lock, NULL, &walks), 0);
	if (walks != 1)
		fail_msg("expected one /proc walk with our own read-only descriptor open, got %lu", walks);
	assert_probe_left_nothing(lock);
	close(lock);
}

/* A holder opens the image in a loop (for write, and read-only with
 * read_too) while fd is leased for it 300 times: an open that fanotify lets
 * through breaks the probe's lease, waits a moment, and is not refused, and
 * the lease's signal does not kill the caller. SIGURG is blocked here so its
 * arrival can be seen; SIGIO, had the probe left it, would end the test.
 * A write lease is also broken by the answering thread's own open of the
 * event: neither may wait for the other. */
static void lease_beside_a_holder_opening(struct fixture *f, int lease_fd, bool read_too)
{
	int status, go[2], fd, errors = 0;
	unsigned long walks;
	sigset_t pending;
	pid_t opener;
	char c;

	sigemptyset(&pending);
	sigaddset(&pending, SIGURG);
	while (sigtimedwait(&pending, NULL, &(struct timespec){ 0, 0 }) == SIGURG)
		;	/* one left by an earlier case: this case's own is reported */
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	opener = fork();
	assert_true(opener >= 0);
	if (opener == 0) {
		close(go[1]);
		fcntl(go[0], F_SETFL, O_NONBLOCK);
		for (int n = 0; read(go[0], &c, 1) < 0 && errno == EAGAIN; n++) {
			fd = open(f->image, (read_too && n % 2 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
			if (fd < 0)
				errors++;
			else
				close(fd);
			/* mostly closed: most probes are granted, some are broken */
			usleep(20);
		}
		_exit(errors > 255 ? 255 : errors);
	}
	close(go[0]);
	walks = lw_fan_writer_walks();
	for (int i = 0; i < 300; i++) {
		struct lw_holder h;
		struct lw_image_key key;
		int err;

		assert_int_equal(lw_holder_of_pid(opener, &h), 0);
		err = lw_fan_enforcer_add_lease_flags(enf, lease_fd, LW_LEASE_EXCLUSIVE, &h, 0, &key, NULL);
		if (err)
			fail_msg("lease %d for the opening holder: expected 0, got %d (%s)", i, err,
				 lw_fan_enforcer_error(enf));
		assert_int_equal(lw_fan_enforcer_remove_lease(enf, &key), 0);
	}
	close(go[1]);
	fprintf(stderr, "# 300 leases beside an opening holder: %lu walks\n", lw_fan_writer_walks() - walks);
	assert_int_equal(waitpid(opener, &status, 0), opener);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("expected every open of the holder to succeed, got status %#x", status);
	sigpending(&pending);
	fprintf(stderr, "# probe leases broken by the holder's opens: %s\n",
		sigismember(&pending, SIGURG) ? "at least once" : "none seen this run");
}

static void holder_opening_for_write_during_probes_is_never_refused(void **state)
{
	struct fixture *f = *state;

	lease_beside_a_holder_opening(f, f->image_fd, false);
}

static void holder_opening_during_write_lease_probes_is_never_refused(void **state)
{
	struct fixture *f = *state;
	int lock = direct_lock(f);

	lease_beside_a_holder_opening(f, lock, true);
	assert_probe_left_nothing(lock);
	close(lock);
}

static int group_setup(void **state)
{
	struct lw_err why;
	sigset_t urg;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_fan_writers_probe: must run as root (fanotify permission events)\n");
		return -1;
	}
	sigemptyset(&urg);
	sigaddset(&urg, SIGURG);
	sigprocmask(SIG_BLOCK, &urg, NULL);	/* before the enforcer's thread: it inherits it */
	if (lw_fan_enforcer_open(NULL, &enf, &why)) {
		fprintf(stderr, "test_fan_writers_probe: %s\n", why.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lw_fan_enforcer_close(enf);
	return 0;
}

/* The mark's proof (an open of our own that our thread must see) is a
 * superblock's: a second image beside the first needs none, and is still
 * guarded and checked for writers. */
static void second_image_on_a_superblock_needs_no_proving_open(void **state)
{
	struct fixture *f = *state;
	char other[PATH_MAX + 8];
	struct lw_writer writer;
	unsigned long walks, proofs;
	int fd, err, status;
	pid_t child;

	assert_int_equal(lease_counting_walks(f->image_fd, &writer, &walks), 0);
	snprintf(other, sizeof(other), "%s/other.img", f->dir);
	fd = open(other, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = open(other, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	assert_true(fd >= 0);
	proofs = lw_fan_mark_proofs();
	err = lease_counting_walks(fd, &writer, &walks);
	if (err)
		fail_msg("expected the second image to be leased, got %d: %s", err, lw_fan_enforcer_error(enf));
	assert_int_equal(lw_fan_mark_proofs() - proofs, 0);
	assert_int_equal(walks, 0);
	/* guarded all the same: a child's write open is refused */
	child = fork();
	if (child == 0)
		_exit(open(other, O_WRONLY) < 0 && errno == EPERM ? 0 : 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("expected the child's write open of the second image to be refused (EPERM), status %#x", status);
	close(fd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(image_open_nowhere_else_is_leased_without_walking_proc),
		T(image_open_read_only_elsewhere_is_leased_without_walking_proc),
		T(image_open_for_write_elsewhere_is_refused_naming_the_writer),
		T(shared_writable_mapping_with_closed_descriptor_is_refused),
		T(own_write_descriptor_alone_is_leased_without_walking_proc),
		T(own_write_descriptor_copied_to_another_process_is_leased_without_walking_proc),
		T(own_write_descriptor_beside_a_foreign_writer_is_refused_naming_it),
		T(own_write_descriptor_beside_a_reader_walks_and_is_leased),
		T(own_write_descriptor_beside_our_own_read_descriptor_walks),
		T(holder_opening_for_write_during_probes_is_never_refused),
		T(holder_opening_during_write_lease_probes_is_never_refused),
		T(second_image_on_a_superblock_needs_no_proving_open),
	};

	return cmocka_run_group_tests_name("fanotify writers probe", tests, group_setup, group_teardown);
}
