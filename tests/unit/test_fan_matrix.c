// SPDX-License-Identifier: LGPL-2.1-or-later
/* The bypass matrix against the fanotify enforcer, natively on the host (as
 * root, real kernel, real files). The test process plays the daemon (always
 * allowed); a forked "holder" process owns the lease; every other attempt
 * runs in a fresh child, a non-holder. Cases fanotify cannot stop assert
 * that the attempt succeeds, so docs/fanotify.md's table stays true. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <sys/utsname.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <cmocka.h>

#include "fanotify/fan_enforcer.h"
#include "fanotify/fan_handover.h"	/* the shared table, to play a dead answerer */

static struct lw_enforcement *enf;	/* one group per cmocka group, like the daemon's */
static bool want_pre_content;		/* which of the two groups runs */

struct fixture {
	char dir[64];
	char image[PATH_MAX];
	char other[PATH_MAX];	/* an unleased file on the same filesystem */
	int image_fd;		/* the daemon's descriptor of the image */
	pid_t holder;		/* the holder process, serving commands */
	int holder_cmd;		/* socket to it: commands, answers, descriptors */
	struct lw_image_key key;
};

/* ---- children ---- */

/* Run fn in a fresh child (a non-holder); its return value (0 or an errno)
 * comes back as the exit status. */
static int as_non_holder(int (*fn)(struct fixture *f, const void *arg), struct fixture *f,
			 const void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(fn(f, arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Holder commands: one line of text, an int answer. */
enum { CMD_OPEN_RDWR = 1, CMD_SEND_FD, CMD_CHILD_OPEN_RDWR, CMD_CHILD_WRITE_INHERITED,
       CMD_THREAD_OPEN_RDWR, CMD_TRUNCATE, CMD_FD_NUMBER };

static void *thread_open_rdwr(void *image)
{
	return (void *)(intptr_t)try_open(image, O_RDWR);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'f';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1 || !(c = CMSG_FIRSTHDR(&msg)) || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int child_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void holder_serve(const char *image, int sock)
{
	int cmd, answer, fd = -1;

	while (read(sock, &cmd, sizeof(cmd)) == sizeof(cmd)) {
		pid_t child;

		switch (cmd) {
		case CMD_OPEN_RDWR:
			fd = open(image, O_RDWR);
			answer = fd < 0 ? errno : 0;
			break;
		case CMD_SEND_FD:
			answer = fd < 0 ? EBADF : 0;
			if (write(sock, &answer, sizeof(answer)) != sizeof(answer) || fd < 0)
				continue;
			answer = send_fd(sock, fd);
			break;
		case CMD_CHILD_OPEN_RDWR:	/* a child of the holder, opening itself */
			child = fork();
			if (child == 0)
				_exit(try_open(image, O_RDWR));
			answer = child_status(child);
			break;
		case CMD_CHILD_WRITE_INHERITED:	/* a child writing through the holder's descriptor */
			child = fork();
			if (child == 0)
				_exit(pwrite(fd, "C", 1, 0) == 1 ? 0 : errno);
			answer = child_status(child);
			break;
		case CMD_THREAD_OPEN_RDWR: {	/* another thread of the holder */
			pthread_t t;
			void *ret = (void *)(intptr_t)-1;

			if (!pthread_create(&t, NULL, thread_open_rdwr, (void *)image))
				pthread_join(t, &ret);
			answer = (int)(intptr_t)ret;
			break;
		}
		case CMD_TRUNCATE:
			answer = truncate(image, 10) ? errno : 0;
			break;
		case CMD_FD_NUMBER:	/* for pidfd_getfd(2) by someone else */
			answer = fd;
			break;
		default:
			answer = EINVAL;
		}
		if (write(sock, &answer, sizeof(answer)) != sizeof(answer))
			break;
	}
	_exit(0);
}

static int holder_do(struct fixture *f, int cmd)
{
	int answer = -1;

	if (write(f->holder_cmd, &cmd, sizeof(cmd)) != sizeof(cmd) ||
	    read(f->holder_cmd, &answer, sizeof(answer)) != sizeof(answer))
		return -1;
	return answer;
}

/* ---- fixture ---- */

static int drain(const struct lw_denial *e, void *ctx)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_holder holder;
	int sv[2], fd, n = 0;

	snprintf(f->dir, sizeof(f->dir), "/var/tmp/lw-test-fan-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->image, sizeof(f->image), "%s/disk.img", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/other.img", f->dir);
	for (int i = 0; i < 2; i++) {
		fd = open(i ? f->other : f->image, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || write(fd, "0123456789", 10) != 10)
			return -1;
		close(fd);
	}
	f->image_fd = open(f->image, O_RDONLY | O_CLOEXEC);
	if (f->image_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	f->holder = fork();
	if (f->holder == 0) {
		close(sv[0]);
		holder_serve(f->image, sv[1]);
	}
	close(sv[1]);
	f->holder_cmd = sv[0];
	if (lw_holder_of_pid(f->holder, &holder) ||
	    lw_fan_enforcer_add_lease(enf, f->image_fd, LW_LEASE_EXCLUSIVE, &holder, &f->key)) {
		fprintf(stderr, "setup: cannot lease %s: %s\n", f->image, lw_fan_enforcer_error(enf));
		return -1;
	}
	lw_fan_enforcer_events_consume(enf, drain, &n);	/* earlier tests' events */
	*state = f;
	return 0;
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
	close(f->holder_cmd);	/* the holder leaves on end of file */
	child_status(f->holder);
	close(f->image_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- attempts, each run by a non-holder ---- */

static int open_image(struct fixture *f, const void *flags)
{
	return try_open(f->image, *(const int *)flags);
}

static int open_other(struct fixture *f, const void *flags)
{
	return try_open(f->other, *(const int *)flags);
}

static int open_hard_link_rdwr(struct fixture *f, const void *arg)
{
	char name[PATH_MAX + 8];

	(void)arg;
	snprintf(name, sizeof(name), "%s.link", f->image);
	if (link(f->image, name))
		return 100;
	return try_open(name, O_RDWR);
}

static int open_symlink_rdwr(struct fixture *f, const void *arg)
{
	char name[PATH_MAX + 8];

	(void)arg;
	snprintf(name, sizeof(name), "%s.sym", f->image);
	if (symlink(f->image, name))
		return 100;
	return try_open(name, O_RDWR);
}

static int open_bind_mount_rdwr(struct fixture *f, const void *arg)
{
	char target[PATH_MAX + 8], path[2 * PATH_MAX];

	(void)arg;
	snprintf(target, sizeof(target), "%s/bind", f->dir);
	if (mkdir(target, 0700) || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(f->dir, target, NULL, MS_BIND, NULL))
		return 100;
	snprintf(path, sizeof(path), "%s/disk.img", target);
	return try_open(path, O_RDWR);
}

static int reopen_proc_fd_rdwr(struct fixture *f, const void *arg)
{
	char path[64];
	int fd = open(f->image, O_RDONLY);

	(void)arg;
	if (fd < 0)
		return 100;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return try_open(path, O_RDWR);
}

static int open_by_handle_rdwr(struct fixture *f, const void *arg)
{
	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id, mount_fd, fd;

	(void)arg;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, f->image, h, &mount_id, 0) ||
	    (mount_fd = open(f->dir, O_RDONLY | O_DIRECTORY)) < 0) {
		free(h);
		return 100;
	}
	fd = open_by_handle_at(mount_fd, h, O_RDWR);
	free(h);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int openat2_rdonly(struct fixture *f, const void *arg)
{
	struct open_how how = { .flags = O_RDONLY };
	int fd = syscall(SYS_openat2, AT_FDCWD, f->image, &how, sizeof(how));

	(void)arg;
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int read_image(struct fixture *f, const void *arg)
{
	char buf[10];
	int fd = open(f->image, O_RDONLY);

	(void)arg;
	if (fd < 0)
		return 100;
	return read(fd, buf, sizeof(buf)) == 10 ? 0 : errno;
}

static int truncate_by_path(struct fixture *f, const void *arg)
{
	(void)arg;
	return truncate(f->image, 2) ? errno : 0;
}

static int unlink_second_name(struct fixture *f, const void *arg)
{
	char name[PATH_MAX + 8];

	(void)arg;
	snprintf(name, sizeof(name), "%s.second", f->image);
	if (link(f->image, name))
		return 100;
	return unlink(name) ? errno : 0;
}

static int rename_image(struct fixture *f, const void *arg)
{
	char to[PATH_MAX + 8];

	(void)arg;
	snprintf(to, sizeof(to), "%s.renamed", f->image);
	if (rename(f->image, to))
		return errno;
	return rename(to, f->image) ? errno : 0;
}

static int write_received_fd(struct fixture *f, const void *arg)
{
	int answer = -1, cmd = CMD_SEND_FD, fd;

	(void)arg;
	if (write(f->holder_cmd, &cmd, sizeof(cmd)) != sizeof(cmd) ||
	    read(f->holder_cmd, &answer, sizeof(answer)) != sizeof(answer) || answer)
		return 100;
	fd = recv_fd(f->holder_cmd);
	if (fd < 0 || read(f->holder_cmd, &answer, sizeof(answer)) != sizeof(answer))
		return 101;
	return pwrite(fd, "R", 1, 0) == 1 ? 0 : errno;
}

static int mmap_received_fd_shared_write(struct fixture *f, const void *arg)
{
	int answer = -1, cmd = CMD_SEND_FD, fd;
	void *p;

	(void)arg;
	if (write(f->holder_cmd, &cmd, sizeof(cmd)) != sizeof(cmd) ||
	    read(f->holder_cmd, &answer, sizeof(answer)) != sizeof(answer) || answer)
		return 100;
	fd = recv_fd(f->holder_cmd);
	if (fd < 0 || read(f->holder_cmd, &answer, sizeof(answer)) != sizeof(answer))
		return 101;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? errno : 0;
}

static int write_fd_taken_with_pidfd_getfd(struct fixture *f, const void *arg)
{
	int holder_fd = holder_do(f, CMD_FD_NUMBER), pidfd, fd;

	(void)arg;
	pidfd = syscall(SYS_pidfd_open, f->holder, 0);
	if (holder_fd < 0 || pidfd < 0)
		return 100;
	fd = syscall(SYS_pidfd_getfd, pidfd, holder_fd, 0);
	if (fd < 0)
		return 101;
	return pwrite(fd, "G", 1, 0) == 1 ? 0 : errno;
}

/* ---- the matrix ---- */

static const char *name_of(int err)
{
	return err == 0 ? "allowed" : strerror(err);
}

#define EXPECT(got, want) do {								\
	int got_ = (got), want_ = (want);						\
	if (got_ != want_)								\
		fail_msg("expected %s, got %s (%d)", name_of(want_), name_of(got_), got_); \
} while (0)

static const int o_wronly = O_WRONLY, o_rdwr = O_RDWR, o_rdonly = O_RDONLY,
		 o_rdonly_trunc = O_RDONLY | O_TRUNC, o_append = O_WRONLY | O_APPEND,
		 o_creat_rdwr = O_CREAT | O_RDWR;

static void non_holder_open_wronly_is_denied(void **state)
{
	EXPECT(as_non_holder(open_image, *state, &o_wronly), EPERM);
}

static void non_holder_open_rdwr_is_denied(void **state)
{
	EXPECT(as_non_holder(open_image, *state, &o_rdwr), EPERM);
}

static void non_holder_open_rdonly_trunc_is_denied(void **state)
{
	struct stat st;

	EXPECT(as_non_holder(open_image, *state, &o_rdonly_trunc), EPERM);
	assert_int_equal(stat(((struct fixture *)*state)->image, &st), 0);
	assert_int_equal(st.st_size, 10);	/* not truncated */
}

static void non_holder_open_wronly_trunc_is_denied(void **state)
{
	static const int flags = O_WRONLY | O_TRUNC;

	EXPECT(as_non_holder(open_image, *state, &flags), EPERM);
}

static void non_holder_open_append_is_denied(void **state)
{
	EXPECT(as_non_holder(open_image, *state, &o_append), EPERM);
}

static void non_holder_open_creat_rdwr_of_existing_is_denied(void **state)
{
	EXPECT(as_non_holder(open_image, *state, &o_creat_rdwr), EPERM);
}

static void non_holder_open_through_hard_link_is_denied(void **state)
{
	EXPECT(as_non_holder(open_hard_link_rdwr, *state, NULL), EPERM);
}

static void non_holder_open_through_symlink_is_denied(void **state)
{
	EXPECT(as_non_holder(open_symlink_rdwr, *state, NULL), EPERM);
}

static void non_holder_open_through_bind_mount_is_denied(void **state)
{
	EXPECT(as_non_holder(open_bind_mount_rdwr, *state, NULL), EPERM);
}

static void non_holder_reopen_through_proc_fd_is_denied(void **state)
{
	EXPECT(as_non_holder(reopen_proc_fd_rdwr, *state, NULL), EPERM);
}

static void non_holder_open_by_handle_rdwr_is_denied(void **state)
{
	EXPECT(as_non_holder(open_by_handle_rdwr, *state, NULL), EPERM);
}

static void non_holder_open_rdonly_and_read_is_allowed(void **state)
{
	EXPECT(as_non_holder(read_image, *state, NULL), 0);
}

static void non_holder_openat2_even_rdonly_is_denied(void **state)
{
	/* openat2's flags live in user memory: nothing trustworthy tells. */
	EXPECT(as_non_holder(openat2_rdonly, *state, NULL), EPERM);
}

static void holder_open_rdwr_is_allowed(void **state)
{
	EXPECT(holder_do(*state, CMD_OPEN_RDWR), 0);
}

static void holder_other_thread_open_rdwr_is_allowed(void **state)
{
	EXPECT(holder_do(*state, CMD_THREAD_OPEN_RDWR), 0);
}

static void daemon_open_rdwr_is_allowed(void **state)
{
	EXPECT(try_open(((struct fixture *)*state)->image, O_RDWR), 0);
}

static void child_of_holder_open_rdwr_is_denied(void **state)
{
	/* A process holder is one process: its children are not holders
	 * (a cgroup holder covers them). */
	EXPECT(holder_do(*state, CMD_CHILD_OPEN_RDWR), EPERM);
}

static void child_of_holder_write_through_inherited_fd(void **state)
{
	/* Denied where pre-content events exist (the descriptor was opened
	 * after the mark); otherwise fanotify cannot stop it. */
	EXPECT(holder_do(*state, CMD_OPEN_RDWR), 0);
	EXPECT(holder_do(*state, CMD_CHILD_WRITE_INHERITED),
	       lw_fan_enforcer_pre_content(enf) ? EPERM : 0);
}

static void non_holder_write_through_received_fd(void **state)
{
	EXPECT(holder_do(*state, CMD_OPEN_RDWR), 0);
	EXPECT(as_non_holder(write_received_fd, *state, NULL),
	       lw_fan_enforcer_pre_content(enf) ? EPERM : 0);
}

static void non_holder_mmap_shared_writable_of_received_fd(void **state)
{
	EXPECT(holder_do(*state, CMD_OPEN_RDWR), 0);
	EXPECT(as_non_holder(mmap_received_fd_shared_write, *state, NULL),
	       lw_fan_enforcer_pre_content(enf) ? EPERM : 0);
}

static void non_holder_write_through_pidfd_getfd(void **state)
{
	EXPECT(holder_do(*state, CMD_OPEN_RDWR), 0);
	EXPECT(as_non_holder(write_fd_taken_with_pidfd_getfd, *state, NULL),
	       lw_fan_enforcer_pre_content(enf) ? EPERM : 0);
}

static void holder_truncate_by_path_is_allowed(void **state)
{
	EXPECT(holder_do(*state, CMD_TRUNCATE), 0);
}

static void non_holder_truncate_by_path(void **state)
{
	EXPECT(as_non_holder(truncate_by_path, *state, NULL),
	       lw_fan_enforcer_pre_content(enf) ? EPERM : 0);
}

static void unleased_file_open_rdwr_is_allowed(void **state)
{
	EXPECT(as_non_holder(open_other, *state, &o_rdwr), 0);
}

static void after_remove_lease_open_rdwr_is_allowed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(lw_fan_enforcer_remove_lease(enf, &f->key), 0);
	EXPECT(as_non_holder(open_image, f, &o_rdwr), 0);
}

static void unlink_is_allowed_fanotify_cannot_stop_it(void **state)
{
	EXPECT(as_non_holder(unlink_second_name, *state, NULL), 0);
}

static void rename_is_allowed_fanotify_cannot_stop_it(void **state)
{
	EXPECT(as_non_holder(rename_image, *state, NULL), 0);
}

static void write_through_descriptor_opened_before_lease_is_allowed(void **state)
{
	struct fixture *f = *state;
	struct lw_holder holder;
	struct lw_writer writer;
	int sv[2], answer = -1;
	pid_t early;

	/* An early writer keeps the image open for write from before the lease. */
	assert_int_equal(lw_fan_enforcer_remove_lease(enf, &f->key), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	early = fork();
	if (early == 0) {
		int fd = open(f->image, O_RDWR), go;

		answer = fd < 0 ? errno : 0;
		if (write(sv[1], &answer, sizeof(answer)) != sizeof(answer) ||
		    read(sv[1], &go, sizeof(go)) != sizeof(go))
			_exit(100);
		_exit(pwrite(fd, "E", 1, 0) == 1 ? 0 : errno);
	}
	assert_int_equal(read(sv[0], &answer, sizeof(answer)), sizeof(answer));
	assert_int_equal(answer, 0);
	assert_int_equal(lw_holder_of_pid(f->holder, &holder), 0);
	/* Without force, the early writer makes the image busy, and names it. */
	EXPECT(-lw_fan_enforcer_add_lease_flags(enf, f->image_fd, LW_LEASE_EXCLUSIVE, &holder, 0,
						NULL, &writer), EBUSY);
	assert_int_equal(writer.pid, early);
	assert_int_equal(lw_fan_enforcer_lookup(enf, &f->key, &(struct lw_lease){ 0 }), -ENOENT);
	/* Forced, the lease holds, and the early descriptor still writes. */
	assert_int_equal(lw_fan_enforcer_add_lease_flags(enf, f->image_fd, LW_LEASE_EXCLUSIVE,
							 &holder, LW_LEASE_FORCE, NULL, NULL), 0);
	assert_int_equal(write(sv[0], &answer, sizeof(answer)), sizeof(answer));
	EXPECT(child_status(early), 0);
	close(sv[0]);
	close(sv[1]);
}

static void block_device_lease_is_refused_kernel_sends_no_events(void **state)
{
	struct fixture *f = *state;
	char cmd[2 * PATH_MAX + 128], loop[64] = "";
	struct lw_image_key key;
	struct lw_holder holder;
	struct stat st;
	FILE *p;
	int fd, err;

	/* 6.18 places a mark on a device node but sends no permission event
	 * for opening it: the enforcer finds out and refuses the lease rather
	 * than pretend to guard the device. */
	snprintf(cmd, sizeof(cmd), "modprobe loop 2>/dev/null; truncate -s 1M '%s' && "
		 "losetup --find --show '%s'", f->other, f->other);
	p = popen(cmd, "r");
	if (!p || !fgets(loop, sizeof(loop), p) || pclose(p) != 0)
		fail_msg("expected a loop device over %s (losetup), got none", f->other);
	loop[strcspn(loop, "\n")] = 0;
	fd = open(loop, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && !fstat(fd, &st));
	/* The key is still i_rdev (kernel layout) and no inode, as the BPF side's. */
	assert_int_equal(lw_fan_enforcer_key_of_fd(enf, fd, &key), 0);
	assert_int_equal(key.dev >> 20, major(st.st_rdev));
	assert_int_equal(key.dev & 0xfffff, minor(st.st_rdev));
	assert_int_equal(key.ino, 0);
	assert_int_equal(lw_holder_of_pid(f->holder, &holder), 0);
	err = lw_fan_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &holder, NULL);
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup -d '%s'", loop);
	assert_int_equal(system(cmd), 0);
	if (err != -EOPNOTSUPP)
		fail_msg("expected -EOPNOTSUPP, got %d (%s)", err, lw_fan_enforcer_error(enf));
	assert_non_null(strstr(lw_fan_enforcer_error(enf), "no fanotify permission events"));
	assert_int_equal(lw_fan_enforcer_lookup(enf, &key, &(struct lw_lease){ 0 }), -ENOENT);
}

/* ---- the enforcer's bookkeeping ---- */

struct collected {
	int n;
	struct lw_denial first;
};

static int collect(const struct lw_denial *e, void *ctx)
{
	struct collected *c = ctx;

	if (!c->n++)
		c->first = *e;
	return 0;
}

static void denial_is_recorded_with_who_what_and_which_lease(void **state)
{
	struct fixture *f = *state;
	struct collected c = { 0 };
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(try_open(f->image, O_RDWR));
	EXPECT(child_status(pid), EPERM);
	lw_fan_enforcer_events_consume(enf, collect, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.first.op, LW_OP_OPEN_WRITE);
	assert_int_equal(c.first.tgid, pid);
	assert_int_equal(c.first.pid, pid);
	assert_int_equal(c.first.uid, getuid());
	assert_int_equal(c.first.open_flags & O_ACCMODE, O_RDWR);
	assert_true(c.first.key.dev == f->key.dev && c.first.key.ino == f->key.ino);
	assert_int_equal(c.first.lease_mode, LW_LEASE_EXCLUSIVE);
	assert_int_equal(c.first.holder.pid, f->holder);
	assert_string_equal(c.first.path, f->image);
}

static int deny_many(struct fixture *f, const void *arg)
{
	int denied = 0;

	for (int i = 0; i < *(const int *)arg; i++)
		denied += try_open(f->image, O_RDWR) == EPERM;
	return denied == *(const int *)arg ? 0 : 1;
}

static void denials_beyond_the_rate_limit_are_counted_as_suppressed(void **state)
{
	__u64 d0, s0, x0, d1, s1, x1;
	struct collected c = { 0 };
	const int attempts = 50;

	struct timespec t0, t1;
	int seconds;

	assert_int_equal(lw_fan_enforcer_counters(enf, &d0, &s0, &x0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(as_non_holder(deny_many, *state, &attempts), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lw_fan_enforcer_events_consume(enf, collect, &c);
	assert_int_equal(lw_fan_enforcer_counters(enf, &d1, &s1, &x1), 0);
	assert_int_equal(d1 - d0, attempts);
	/* events_per_sec is 10: at most 10 in each one-second window the burst touched. */
	seconds = (int)(t1.tv_sec - t0.tv_sec) + 2;
	assert_in_range(c.n, 1, 10 * seconds);
	if (seconds == 2)
		assert_true(c.n < attempts);
	assert_int_equal(c.n + (s1 - s0) + (x1 - x0), attempts);
}

static int count_fanotify_groups(struct fixture *f, const void *arg)
{
	char path[64], line[256];
	int groups = 0;

	(void)f;
	(void)arg;
	for (int fd = 0; fd < 1024; fd++) {
		FILE *info;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		if (!(info = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), info))
			groups += !strncmp(line, "fanotify flags:", 15);
		fclose(info);
	}
	return groups;
}

static void forked_child_does_not_keep_the_group(void **state)
{
	/* Otherwise the group would outlive the daemon with nobody answering. */
	assert_true(count_fanotify_groups(*state, NULL) >= 1);	/* the test process has it */
	EXPECT(as_non_holder(count_fanotify_groups, *state, NULL), 0);
}

static void closing_the_enforcer_ends_its_enforcement(void **state)
{
	struct fixture *f = *state;
	struct lw_enforcement *second;
	struct lw_holder holder;
	int fd = open(f->other, O_RDONLY | O_CLOEXEC);

	/* What a daemon exit does: the group goes, and with it every mark. */
	assert_true(fd >= 0);
	assert_int_equal(lw_fan_enforcer_open(NULL, &second, NULL), 0);
	assert_int_equal(lw_holder_of_pid(f->holder, &holder), 0);
	assert_int_equal(lw_fan_enforcer_add_lease(second, fd, LW_LEASE_EXCLUSIVE, &holder, NULL), 0);
	EXPECT(as_non_holder(open_other, f, &o_rdwr), EPERM);
	lw_fan_enforcer_close(second);
	EXPECT(as_non_holder(open_other, f, &o_rdwr), 0);
	close(fd);
}

/* A second enforcer with a lease on f->other, held by the holder. */
static struct lw_enforcement *enforcer_with_lease_on_other(struct fixture *f, struct lw_image_key *key)
{
	struct lw_enforcement *e;
	struct lw_holder holder;
	int fd = open(f->other, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(lw_fan_enforcer_open(NULL, &e, NULL), 0);
	assert_int_equal(lw_holder_of_pid(f->holder, &holder), 0);
	assert_int_equal(lw_fan_enforcer_add_lease(e, fd, LW_LEASE_EXCLUSIVE, &holder, key), 0);
	close(fd);
	return e;
}

/* What the keeper does with its copies: answer the group from its table. */
static struct lw_enforcement *adopt_copy_of(struct lw_enforcement *e)
{
	struct lw_enforcement *adopted;
	int group_fd, table_fd;

	lw_fan_enforcer_group_fds(e, &group_fd, &table_fd);
	assert_int_equal(lw_fan_enforcer_adopt(NULL, fcntl(group_fd, F_DUPFD_CLOEXEC, 3),
					       fcntl(table_fd, F_DUPFD_CLOEXEC, 3), &adopted, NULL), 0);
	return adopted;
}

static void adopted_group_enforces_after_its_maker_closes(void **state)
{
	struct fixture *f = *state;
	struct lw_image_key key;
	struct lw_enforcement *maker = enforcer_with_lease_on_other(f, &key), *adopted;
	struct lw_lease lease;

	adopted = adopt_copy_of(maker);
	lw_fan_enforcer_close(maker);	/* a daemon that crashed */
	EXPECT(as_non_holder(open_other, f, &o_rdwr), EPERM);
	EXPECT(as_non_holder(open_other, f, &o_rdonly), 0);
	assert_int_equal(lw_fan_enforcer_lookup(adopted, &key, &lease), 0);
	assert_int_equal(lease.nr_holders, 1);
	assert_int_equal(lease.holders[0].pid, f->holder);
	/* the mark is found again through the file handle and goes with the lease */
	assert_int_equal(lw_fan_enforcer_remove_lease(adopted, &key), 0);
	EXPECT(as_non_holder(open_other, f, &o_rdwr), 0);
	lw_fan_enforcer_close(adopted);
}

/* The opener's status once answered; a failure if it still waits after
 * 20 s (an event nobody will answer), and the opener is killed. */
static int answered_status(pid_t pid)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { pidfd, POLLIN, 0 };

	assert_true(pidfd >= 0);
	if (poll(&p, 1, 20000) != 1) {
		kill(pid, SIGKILL);
		child_status(pid);
		close(pidfd);
		fail_msg("expected the opener answered, got it still waiting after 20 s");
	}
	close(pidfd);
	return child_status(pid);
}

static void denials_nobody_consumed_reach_the_next_answerer(void **state)
{
	struct fixture *f = *state;
	struct lw_image_key key;
	struct lw_enforcement *keeper = enforcer_with_lease_on_other(f, &key), *daemon;
	struct collected c = { 0 };
	pid_t pid;
	int group_fd, table_fd;

	pid = fork();
	if (pid == 0)
		_exit(open_other(f, &o_rdwr));
	EXPECT(child_status(pid), EPERM);	/* denied by an answerer with no audit sink */
	lw_fan_enforcer_group_fds(keeper, &group_fd, &table_fd);
	group_fd = fcntl(group_fd, F_DUPFD_CLOEXEC, 3);
	table_fd = fcntl(table_fd, F_DUPFD_CLOEXEC, 3);
	lw_fan_enforcer_close(keeper);	/* it hands the group over */
	assert_int_equal(lw_fan_enforcer_adopt(NULL, group_fd, table_fd, &daemon, NULL), 0);
	lw_fan_enforcer_events_consume(daemon, collect, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.first.tgid, pid);
	assert_int_equal(c.first.op, LW_OP_OPEN_WRITE);
	assert_true(c.first.key.dev == key.dev && c.first.key.ino == key.ino);
	lw_fan_enforcer_close(daemon);
}

/* A non-holder child opening f->other for write; it blocks until answered. */
static pid_t start_blocked_opener(struct fixture *f)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(open_other(f, &o_rdwr));
	assert_true(pid > 0);
	return pid;
}

/* Play an answerer that read the opener's event and died before answering:
 * the event waits under a descriptor number of a table that is gone. */
static pid_t open_and_drop_its_event(struct fixture *f, struct lw_enforcement *e, bool record)
{
	struct fanotify_event_metadata m[4];
	struct pollfd p;
	struct stat st;
	pid_t opener;
	ssize_t n;

	lw_fan_thread_stop(lw_fan_of(e));	/* nobody answers now */
	opener = start_blocked_opener(f);
	lw_fan_enforcer_group_fds(e, &p.fd, &(int){ 0 });
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 10000), 1);
	n = read(p.fd, m, sizeof(m));
	assert_int_equal(n, sizeof(m[0]));	/* the opener's event, one */
	assert_int_equal(fstat(m[0].fd, &st), 0);
	if (record) {
		lw_fan_of(e)->table->inflight[0] = (struct lw_fan_table_event){
			.fd = m[0].fd, .tid = m[0].pid, .mask = m[0].mask,
			.st_dev = st.st_dev, .st_ino = st.st_ino,
		};
	} else {
		lw_fan_of(e)->table->reading = 1;	/* died inside the read */
	}
	close(m[0].fd);
	return opener;
}

static void event_a_dead_answerer_recorded_is_answered_by_the_next(void **state)
{
	struct fixture *f = *state;
	struct lw_image_key key;
	struct lw_enforcement *dead = enforcer_with_lease_on_other(f, &key), *next;
	pid_t opener = open_and_drop_its_event(f, dead, true);

	next = adopt_copy_of(dead);
	EXPECT(answered_status(opener), EPERM);	/* it was a non-holder's write open */
	assert_int_equal(lw_fan_of(dead)->table->inflight[0].fd, -1);
	lw_fan_enforcer_close(dead);
	lw_fan_enforcer_close(next);
}

static void event_a_dead_answerer_read_unrecorded_is_denied_by_the_next(void **state)
{
	struct fixture *f = *state;
	struct lw_image_key key;
	struct lw_enforcement *dead = enforcer_with_lease_on_other(f, &key), *next;
	pid_t opener = open_and_drop_its_event(f, dead, false);

	next = adopt_copy_of(dead);
	EXPECT(answered_status(opener), EPERM);	/* swept: denied, not left hanging */
	assert_int_equal(lw_fan_of(dead)->table->reading, 0);
	lw_fan_enforcer_close(dead);
	lw_fan_enforcer_close(next);
}

static void second_lease_of_an_image_is_eexist(void **state)
{
	struct fixture *f = *state;
	struct lw_holder holder;

	assert_int_equal(lw_holder_of_pid(getpid(), &holder), 0);
	assert_int_equal(lw_fan_enforcer_add_lease(enf, f->image_fd, LW_LEASE_EXCLUSIVE, &holder,
						   NULL), -EEXIST);
}

static void exclusive_lease_takes_one_holder_and_last_removal_ends_it(void **state)
{
	struct fixture *f = *state;
	struct lw_holder holder, other;

	assert_int_equal(lw_holder_of_pid(f->holder, &holder), 0);
	assert_int_equal(lw_holder_of_pid(getpid(), &other), 0);
	assert_int_equal(lw_fan_enforcer_add_holder(enf, &f->key, &holder), -EEXIST);
	assert_int_equal(lw_fan_enforcer_add_holder(enf, &f->key, &other), -EINVAL);
	assert_int_equal(lw_fan_enforcer_remove_holder(enf, &f->key, &holder), 0);
	assert_int_equal(lw_fan_enforcer_lookup(enf, &f->key, &(struct lw_lease){ 0 }), -ENOENT);
	EXPECT(as_non_holder(open_image, f, &o_rdwr), 0);
}

static void key_is_the_superblock_dev_and_inode(void **state)
{
	struct fixture *f = *state;
	struct lw_image_key key;
	struct stat st;

	struct statfs fs;

	/* On a plain filesystem (ext4 here) the superblock's dev is st_dev, in
	 * the kernel's layout. On overlayfs stat() reports the real file's dev,
	 * not the overlay superblock's, which is the BPF key: they differ. */
	assert_int_equal(fstat(f->image_fd, &st), 0);
	assert_int_equal(fstatfs(f->image_fd, &fs), 0);
	assert_int_equal(lw_fan_enforcer_key_of_fd(enf, f->image_fd, &key), 0);
	assert_int_equal(key.ino, st.st_ino);
	if (fs.f_type == OVERLAYFS_SUPER_MAGIC)
		return;
	assert_int_equal(key.dev >> 20, major(st.st_dev));
	assert_int_equal(key.dev & 0xfffff, minor(st.st_dev));
}

/* A key is not taken from a mount that is gone: the superblock dev kept
 * for a mount id (fan_key.c) is dropped when the mount table changes, and
 * the id of an unmounted mount is soon given to the next one. A tmpfs,
 * then a bind mount of the ext4 folder, at the same place. */
static void key_follows_a_new_mount_at_the_same_place(void **state)
{
	struct fixture *f = *state;
	char target[96], file[128];
	struct lw_image_key key;
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/remount", f->dir);
	snprintf(file, sizeof(file), "%s/remount.img", target);
	assert_int_equal(mkdir(target, 0700), 0);
	for (int round = 0; round < 2; round++) {
		if (round == 0)
			assert_int_equal(mount("lw-test", target, "tmpfs", 0, "size=1m"), 0);
		else
			assert_int_equal(mount(f->dir, target, NULL, MS_BIND, NULL), 0);
		fd = open(file, O_RDWR | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(lw_fan_enforcer_key_of_fd(enf, fd, &key), 0);
		close(fd);
		unlink(file);
		assert_int_equal(umount(target), 0);
		/* a plain filesystem's superblock dev is its st_dev */
		assert_int_equal(key.dev >> 20, major(st.st_dev));
		assert_int_equal(key.dev & 0xfffff, minor(st.st_dev));
	}
	rmdir(target);
}

static int group_setup(void **state)
{
	struct lw_err why;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_fan_matrix: must run as root (fanotify permission events)\n");
		return -1;
	}
	if (lw_fan_enforcer_open(&(struct lw_fan_enforcer_opts){ .pre_content = want_pre_content },
				 &enf, &why)) {
		fprintf(stderr, "test_fan_matrix: %s\n", why.msg);
		return -1;
	}
	if (lw_fan_enforcer_pre_content(enf) != want_pre_content) {
		struct utsname u;
		int major = 0, minor = 0;

		/* Kernels before 6.14 have no pre-content events: the group then
		 * proves the opens-only behaviour again, and says so. */
		uname(&u);
		sscanf(u.release, "%d.%d", &major, &minor);
		fprintf(stderr, "# asked for pre-content events %s, got them %s (kernel %s)\n",
			want_pre_content ? "on" : "off", lw_fan_enforcer_pre_content(enf) ? "on" : "off",
			u.release);
		if (!want_pre_content || major > 6 || (major == 6 && minor >= 14))
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

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(non_holder_open_wronly_is_denied),
		T(non_holder_open_rdwr_is_denied),
		T(non_holder_open_rdonly_trunc_is_denied),
		T(non_holder_open_wronly_trunc_is_denied),
		T(non_holder_open_append_is_denied),
		T(non_holder_open_creat_rdwr_of_existing_is_denied),
		T(non_holder_open_through_hard_link_is_denied),
		T(non_holder_open_through_symlink_is_denied),
		T(non_holder_open_through_bind_mount_is_denied),
		T(non_holder_reopen_through_proc_fd_is_denied),
		T(non_holder_open_by_handle_rdwr_is_denied),
		T(non_holder_open_rdonly_and_read_is_allowed),
		T(non_holder_openat2_even_rdonly_is_denied),
		T(holder_open_rdwr_is_allowed),
		T(holder_other_thread_open_rdwr_is_allowed),
		T(daemon_open_rdwr_is_allowed),
		T(child_of_holder_open_rdwr_is_denied),
		T(child_of_holder_write_through_inherited_fd),
		T(non_holder_write_through_received_fd),
		T(non_holder_mmap_shared_writable_of_received_fd),
		T(non_holder_write_through_pidfd_getfd),
		T(non_holder_truncate_by_path),
		T(holder_truncate_by_path_is_allowed),
		T(unleased_file_open_rdwr_is_allowed),
		T(after_remove_lease_open_rdwr_is_allowed),
		T(unlink_is_allowed_fanotify_cannot_stop_it),
		T(rename_is_allowed_fanotify_cannot_stop_it),
		T(write_through_descriptor_opened_before_lease_is_allowed),
		T(block_device_lease_is_refused_kernel_sends_no_events),
		T(denial_is_recorded_with_who_what_and_which_lease),
		T(denials_beyond_the_rate_limit_are_counted_as_suppressed),
		T(forked_child_does_not_keep_the_group),
		T(closing_the_enforcer_ends_its_enforcement),
		T(adopted_group_enforces_after_its_maker_closes),
		T(event_a_dead_answerer_recorded_is_answered_by_the_next),
		T(event_a_dead_answerer_read_unrecorded_is_denied_by_the_next),
		T(denials_nobody_consumed_reach_the_next_answerer),
		T(second_lease_of_an_image_is_eexist),
		T(exclusive_lease_takes_one_holder_and_last_removal_ends_it),
		T(key_is_the_superblock_dev_and_inode),
		T(key_follows_a_new_mount_at_the_same_place),
	};

	int failed;

	want_pre_content = false;
	failed = cmocka_run_group_tests_name("fanotify", tests, group_setup, group_teardown);
	want_pre_content = true;
	failed += cmocka_run_group_tests_name("fanotify-pre-content", tests, group_setup,
					      group_teardown);
	return failed;
}
