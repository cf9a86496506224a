// SPDX-License-Identifier: LGPL-2.1-or-later
/* The bypass matrix: for an image leased to this test process, every way a
 * non-holder might change it is denied, the holder and read-only opens are
 * allowed, and everything is allowed again after release. Run once per
 * filesystem: tmpfs, ext4 and btrfs (loop-mounted). */
#include <liburing.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include <dirent.h>
#include <sys/mman.h>

#include "enforce_common.h"

static struct lw_enforcement *enf;
static char pin_dir[128];
static const char *fs_dir;	/* the current group's filesystem */
static char image[256], other[256];
static int image_fd = -1;	/* the "daemon's" read-only descriptor */
static struct lw_image_key key;
static bool leased;

static void path_on_fs(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", fs_dir, name);
}

/* Between cases: a bind mount undone and every file but folders removed,
 * without a shell (umount, find and sh cost a TCG guest 0.6 s a case). */
static void remove_files_of_fs(void)
{
	char target[300];
	struct dirent *e;
	struct stat st;
	DIR *dir;

	path_on_fs(target, sizeof(target), "bind-target");
	umount2(target, 0);	/* mounted by a case or not */
	if (!(dir = opendir(fs_dir)))
		return;
	while ((e = readdir(dir)))
		if (!fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) && !S_ISDIR(st.st_mode))
			unlinkat(dirfd(dir), e->d_name, 0);
	closedir(dir);
}

/* Each test starts with a fresh image leased (exclusive) to this process. */
static int lease_image(void **state)
{
	struct lw_holder self;
	int err;

	(void)state;
	path_on_fs(image, sizeof(image), "image.raw");
	path_on_fs(other, sizeof(other), "other.raw");
	write_file(image, "image content\n");
	write_file(other, "another file\n");
	image_fd = open(image, O_RDONLY | O_CLOEXEC);
	if (image_fd < 0)
		fail_msg("cannot open %s: %s", image, strerror(errno));
	if ((err = lw_holder_of_pid(getpid(), &self)))
		fail_msg("cannot describe this process as a holder: %s", strerror(-err));
	err = lw_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, &key);
	if (err)
		fail_msg("expected the lease on %s to be taken, got %s: %s", image, strerror(-err),
			 lw_enforcer_error(enf));
	leased = true;
	return 0;
}

static int release_image(void **state)
{
	(void)state;
	if (leased)
		lw_enforcer_remove_lease(enf, &key);
	leased = false;
	if (image_fd >= 0)
		close(image_fd);
	image_fd = -1;
	remove_files_of_fs();
	return 0;
}

static void non_holder_open_wronly_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(image, O_WRONLY), "a non-holder's O_WRONLY open");
}

static void non_holder_open_rdwr_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(image, O_RDWR), "a non-holder's O_RDWR open");
}

static void non_holder_open_rdonly_trunc_is_denied(void **state)
{
	struct stat st;

	(void)state;
	assert_denied(child_open(image, O_RDONLY | O_TRUNC), "a non-holder's O_RDONLY|O_TRUNC open");
	if (stat(image, &st) || st.st_size == 0)
		fail_msg("expected the image to keep its content, found it truncated");
}

static void non_holder_open_wronly_trunc_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(image, O_WRONLY | O_TRUNC), "a non-holder's O_WRONLY|O_TRUNC open");
}

static void non_holder_open_append_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(image, O_WRONLY | O_APPEND), "a non-holder's O_WRONLY|O_APPEND open");
}

static void non_holder_open_creat_on_existing_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(image, O_RDWR | O_CREAT), "a non-holder's O_RDWR|O_CREAT open of the existing image");
}

static void non_holder_open_rdonly_is_allowed(void **state)
{
	(void)state;
	assert_allowed(child_open(image, O_RDONLY), "a non-holder's O_RDONLY open");
}

static void holder_open_rdwr_is_allowed(void **state)
{
	(void)state;
	assert_allowed(try_open(image, O_RDWR), "the holder's O_RDWR open");
}

static void holder_truncate_is_allowed(void **state)
{
	(void)state;
	assert_allowed(truncate(image, 4096) ? errno : 0, "the holder's truncate(2)");
}

static void *thread_open_rdwr(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)try_open(image, O_RDWR);
}

static void holder_thread_open_rdwr_is_allowed(void **state)
{
	pthread_t thread;
	void *result;

	(void)state;
	assert_int_equal(pthread_create(&thread, NULL, thread_open_rdwr, NULL), 0);
	assert_int_equal(pthread_join(thread, &result), 0);
	assert_allowed((int)(intptr_t)result, "an O_RDWR open by a thread of the holder");
}

static void fork_of_holder_open_rdwr_is_denied(void **state)
{
	(void)state;
	/* child_open forks this process, the holder: the child is another process. */
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open by a fork of the holder");
}

static void non_holder_open_through_hard_link_is_denied(void **state)
{
	char link_path[300];

	(void)state;
	path_on_fs(link_path, sizeof(link_path), "hard-link.raw");
	if (link(image, link_path))
		fail_msg("cannot hard-link %s: %s", image, strerror(errno));
	assert_denied(child_open(link_path, O_RDWR), "an O_RDWR open through a hard link");
}

static void non_holder_open_through_symlink_is_denied(void **state)
{
	char link_path[300];

	(void)state;
	path_on_fs(link_path, sizeof(link_path), "symlink.raw");
	if (symlink(image, link_path))
		fail_msg("cannot symlink %s: %s", image, strerror(errno));
	assert_denied(child_open(link_path, O_RDWR), "an O_RDWR open through a symlink");
}

static void non_holder_open_through_bind_mount_is_denied(void **state)
{
	char target[300];

	(void)state;
	path_on_fs(target, sizeof(target), "bind-target");
	write_file(target, "");
	if (mount(image, target, NULL, MS_BIND, NULL))
		fail_msg("cannot bind-mount %s: %s", image, strerror(errno));
	assert_denied(child_open(target, O_RDWR), "an O_RDWR open through a bind mount");
}

static int reopen_through_proc(void *arg)
{
	char proc_path[64];

	(void)arg;
	/* The inherited read-only descriptor, reopened read-write by path. */
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", image_fd);
	return try_open(proc_path, O_RDWR);
}

static void non_holder_reopen_through_proc_fd_is_denied(void **state)
{
	(void)state;
	/* image_fd has O_CLOEXEC but fork keeps it. */
	assert_denied(in_child(reopen_through_proc, NULL), "an O_RDWR reopen through /proc/self/fd/N");
}

static int truncate_image(void *arg)
{
	(void)arg;
	return truncate(image, 0) ? errno : 0;
}

static void non_holder_truncate_is_denied(void **state)
{
	(void)state;
	assert_denied(in_child(truncate_image, NULL), "a non-holder's truncate(2)");
}

static int rename_other_over_image(void *arg)
{
	(void)arg;
	return rename(other, image) ? errno : 0;
}

static void non_holder_rename_over_image_is_denied(void **state)
{
	(void)state;
	assert_denied(in_child(rename_other_over_image, NULL), "renaming another file over the image");
}

static int rename_image_away(void *arg)
{
	char away[300];

	(void)arg;
	path_on_fs(away, sizeof(away), "renamed.raw");
	return rename(image, away) ? errno : 0;
}

static void non_holder_rename_image_away_is_denied(void **state)
{
	(void)state;
	assert_denied(in_child(rename_image_away, NULL), "renaming the image away");
}

static int unlink_image(void *arg)
{
	(void)arg;
	return unlink(image) ? errno : 0;
}

static void non_holder_unlink_is_denied(void **state)
{
	(void)state;
	assert_denied(in_child(unlink_image, NULL), "a non-holder's unlink of the image");
}

/* The last name goes only with the lease, the holder's unlink too: else
 * the inode number could be freed and given to another file, which the
 * lease would then cover. Another name of it may go. */
static void holder_unlink_of_the_last_name_is_denied(void **state)
{
	char second[300];

	(void)state;
	assert_denied(unlink_image(NULL), "the holder's unlink of the image's last name");
	path_on_fs(second, sizeof(second), "second-name.raw");
	if (link(image, second))
		fail_msg("cannot link %s to %s: %s", second, image, strerror(errno));
	assert_allowed(unlink(image) ? errno : 0, "the holder's unlink of one of two names");
	assert_denied(unlink(second) ? errno : 0, "the holder's unlink of the last name left");
	if (rename(second, image))	/* back where release_image expects it */
		fail_msg("cannot rename %s back: %s", second, strerror(errno));
}

static void holder_rename_over_the_last_name_is_denied(void **state)
{
	(void)state;
	assert_denied(rename_other_over_image(NULL), "the holder's rename of another file over the image");
}

static int io_uring_open_rdwr(void *arg)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int res, err;

	(void)arg;
	if ((err = io_uring_queue_init(4, &ring, 0)) < 0)
		return 254;	/* not a denial: the test reports it */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, image, O_RDWR, 0);
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0) {
		io_uring_queue_exit(&ring);
		return 254;
	}
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	if (res >= 0) {
		close(res);
		return 0;
	}
	return -res;
}

static void non_holder_io_uring_openat_is_denied(void **state)
{
	int r;

	(void)state;
	r = in_child(io_uring_open_rdwr, NULL);
	if (r == 254)
		fail_msg("expected an io_uring ring to set up, it did not");
	assert_denied(r, "an O_RDWR openat through io_uring");
}

static int receive_fd(void *arg)
{
	int sock = *(int *)arg;
	char byte, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;

	if (recvmsg(sock, &msg, 0) != 1)
		return 252;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_type == SCM_RIGHTS && cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		return 0;	/* got a write descriptor */
	return (msg.msg_flags & MSG_CTRUNC) ? EACCES : 251;
}

static void non_holder_receiving_a_write_fd_over_scm_rights_is_denied(void **state)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct helper h = { .pid = 0, .go_fd = -1 };
	struct cmsghdr *cmsg;
	int pair[2], fd, r;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	helper_start(&h, NULL, receive_fd, &pair[1]);	/* forked before the write open */
	fd = open(image, O_RDWR | O_CLOEXEC);	/* the holder's */
	if (fd < 0)
		fail_msg("expected the holder's O_RDWR open to work: %s", strerror(errno));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(pair[0], &msg, 0) != 1)
		fail_msg("cannot send the descriptor: %s", strerror(errno));
	r = helper_finish(&h);
	close(fd);
	close(pair[0]);
	close(pair[1]);
	if (r == 252 || r == 251)
		fail_msg("expected the receiver to get the message (status %d)", r);
	assert_denied(r, "receiving the holder's write descriptor over SCM_RIGHTS");
}

static int steal_fd(void *arg)
{
	int fd = *(int *)arg, pidfd, stolen;

	close(fd);	/* inherited by fork: steal it instead */
	pidfd = syscall(SYS_pidfd_open, getppid(), 0);
	if (pidfd < 0)
		return 250;
	stolen = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (stolen < 0)
		return errno;
	close(stolen);
	return 0;
}

static void non_holder_pidfd_getfd_of_a_write_fd_is_denied(void **state)
{
	int fd, r;

	(void)state;
	fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail_msg("expected the holder's O_RDWR open to work: %s", strerror(errno));
	r = in_child(steal_fd, &fd);
	close(fd);
	if (r == 250)
		fail_msg("expected pidfd_open to work in the guest");
	/* EPERM: protect_holders refuses pidfd_getfd of a holder outright
	 * (ptrace_access_check); EACCES: file_receive, where it is off */
	if (r != EPERM && r != EACCES)
		fail_msg("expected pidfd_getfd of the holder's write descriptor to be refused (EPERM or EACCES), got %s",
			 errno_name(r));
}


/* --- metadata: the immutable and append-only flags --- */

/* The image's FS_IOC_GETFLAGS flags, or -1. */
static long image_flags(void)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC), flags = 0;

	if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags))
		flags = -1;
	if (fd >= 0)
		close(fd);
	return flags;
}

/* 0 or errno of FS_IOC_SETFLAGS setting (on) or clearing flag, by this process. */
static int set_flag(long flag, bool on)
{
	int fd = open(image, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags, r = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		r = errno;
	flags = on ? flags | (int)flag : flags & ~(int)flag;
	if (!r && ioctl(fd, FS_IOC_SETFLAGS, &flags))
		r = errno;
	close(fd);
	return r;
}

static int chattr(void *arg)
{
	return sh("chattr %s %s 2>/dev/null", (const char *)arg, image) ? EPERM : 0;
}

/* FS_IOC32_SETFLAGS (+i) the way a 32-bit chattr sends it: through the
 * 32-bit syscall entry (int $0x80; ioctl is 54 there), so the kernel takes
 * its compat path and the file_ioctl_compat hook. The flags word must lie
 * below 4 GiB. 0 or errno. */
static int compat_set_immutable(void *arg)
{
	int fd = open(image, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags = 0;
	int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long r;

	(void)arg;
	if (fd < 0 || word == MAP_FAILED || ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return errno;
	*word = flags | FS_IMMUTABLE_FL;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(54L), "b"((long)fd), "c"((long)FS_IOC32_SETFLAGS), "d"((long)(unsigned long)word)
			 : "memory", "r8", "r9", "r10", "r11");
	close(fd);
	return r < 0 ? (int)-r : 0;
}

static int fssetxattr_immutable(void *arg)
{
	struct fsxattr fsx;
	int fd = open(image, O_RDONLY | O_CLOEXEC), r = 0;

	(void)arg;
	if (fd < 0)
		return errno;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx))
		r = errno;
	fsx.fsx_xflags |= FS_XFLAG_IMMUTABLE;
	if (!r && ioctl(fd, FS_IOC_FSSETXATTR, &fsx))
		r = errno;
	close(fd);
	return r;
}

/* fs-verity through a read-only descriptor: the file would be read-only
 * for good, the holder's writes refused. */
static int enable_verity(void *arg)
{
	struct fsverity_enable_arg verity = {
		.version = 1, .hash_algorithm = FS_VERITY_HASH_ALG_SHA256, .block_size = 4096,
	};
	int fd = open(image, O_RDONLY | O_CLOEXEC), r = 0;

	(void)arg;
	if (fd < 0)
		return errno;
	if (ioctl(fd, FS_IOC_ENABLE_VERITY, &verity))
		r = errno;
	close(fd);
	return r;
}

/* The holder still writes, and no flag was left behind. */
static void assert_holder_still_writes(const char *after)
{
	long flags = image_flags();
	int fd;

	if (flags < 0 || (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
		set_flag(FS_IMMUTABLE_FL | FS_APPEND_FL, false);
		fail_msg("expected neither immutable nor append-only on the image after %s, got flags %#lx",
			 after, flags);
	}
	fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, "held", 4, 0) != 4)
		fail_msg("expected the holder to write the image after %s: %s", after, strerror(errno));
	close(fd);
}

static void non_holder_chattr_immutable_is_denied(void **state)
{
	(void)state;
	if (in_child(chattr, "+i") == 0) {
		set_flag(FS_IMMUTABLE_FL, false);
		fail_msg("expected a non-holder's chattr +i to be refused, got success");
	}
	assert_holder_still_writes("a non-holder's chattr +i");
}

static void non_holder_32bit_chattr_immutable_is_denied(void **state)
{
	int r;

	(void)state;
	r = in_child(compat_set_immutable, NULL);
	if (r == 0) {
		set_flag(FS_IMMUTABLE_FL, false);
		fail_msg("expected a non-holder's 32-bit FS_IOC32_SETFLAGS (+i) to be refused, got success");
	}
	if (r != EPERM)
		fail_msg("expected a non-holder's 32-bit FS_IOC32_SETFLAGS (+i) to be refused with EPERM, got %s",
			 errno_name(r));
	assert_holder_still_writes("a non-holder's 32-bit chattr +i");
}

static void non_holder_chattr_append_only_is_denied(void **state)
{
	(void)state;
	if (in_child(chattr, "+a") == 0) {
		set_flag(FS_APPEND_FL, false);
		fail_msg("expected a non-holder's chattr +a to be refused, got success");
	}
	assert_holder_still_writes("a non-holder's chattr +a");
}

static void non_holder_fssetxattr_immutable_is_denied(void **state)
{
	int r;

	(void)state;
	r = in_child(fssetxattr_immutable, NULL);
	if (r == 0)
		set_flag(FS_IMMUTABLE_FL, false);
	if (r != EPERM)
		fail_msg("expected FS_IOC_FSSETXATTR immutable by a non-holder to be refused (EPERM), got %s",
			 errno_name(r));
	assert_holder_still_writes("a non-holder's FS_IOC_FSSETXATTR");
}

static void non_holder_enabling_fs_verity_is_denied(void **state)
{
	int r;

	(void)state;
	r = in_child(enable_verity, NULL);
	if (r != EPERM)
		fail_msg("expected FS_IOC_ENABLE_VERITY by a non-holder to be refused (EPERM), got %s",
			 r ? errno_name(r) : "success");
	assert_holder_still_writes("a non-holder's FS_IOC_ENABLE_VERITY");
}

static void non_holder_clearing_the_holders_append_only_is_denied(void **state)
{
	int r;

	(void)state;
	if ((r = set_flag(FS_APPEND_FL, true)))
		fail_msg("expected the holder to set append-only, got %s", errno_name(r));
	r = in_child(chattr, "-a");
	if (!(image_flags() & FS_APPEND_FL) || r == 0) {
		set_flag(FS_APPEND_FL, false);
		fail_msg("expected a non-holder's chattr -a to be refused, got %s", errno_name(r));
	}
	if ((r = set_flag(FS_APPEND_FL, false)))
		fail_msg("expected the holder to clear append-only, got %s", errno_name(r));
}

static void unleased_file_open_rdwr_is_allowed(void **state)
{
	(void)state;
	assert_allowed(child_open(other, O_RDWR), "an O_RDWR open of an unleased file");
}

static void everything_is_allowed_after_release(void **state)
{
	int err;

	(void)state;
	if ((err = lw_enforcer_remove_lease(enf, &key)))
		fail_msg("expected the lease to be released, got %s: %s", strerror(-err),
			 lw_enforcer_error(enf));
	leased = false;
	assert_allowed(child_open(image, O_RDWR), "an O_RDWR open after release");
	assert_allowed(in_child(truncate_image, NULL), "truncate(2) after release");
	assert_allowed(in_child(rename_image_away, NULL), "renaming the image after release");
}

#define MATRIX(t) cmocka_unit_test_setup_teardown(t, lease_image, release_image)

static const struct CMUnitTest matrix[] = {
	MATRIX(non_holder_open_wronly_is_denied),
	MATRIX(non_holder_open_rdwr_is_denied),
	MATRIX(non_holder_open_rdonly_trunc_is_denied),
	MATRIX(non_holder_open_wronly_trunc_is_denied),
	MATRIX(non_holder_open_append_is_denied),
	MATRIX(non_holder_open_creat_on_existing_is_denied),
	MATRIX(non_holder_open_rdonly_is_allowed),
	MATRIX(holder_open_rdwr_is_allowed),
	MATRIX(holder_truncate_is_allowed),
	MATRIX(holder_thread_open_rdwr_is_allowed),
	MATRIX(fork_of_holder_open_rdwr_is_denied),
	MATRIX(non_holder_open_through_hard_link_is_denied),
	MATRIX(non_holder_open_through_symlink_is_denied),
	MATRIX(non_holder_open_through_bind_mount_is_denied),
	MATRIX(non_holder_reopen_through_proc_fd_is_denied),
	MATRIX(non_holder_truncate_is_denied),
	MATRIX(non_holder_rename_over_image_is_denied),
	MATRIX(non_holder_rename_image_away_is_denied),
	MATRIX(non_holder_unlink_is_denied),
	MATRIX(holder_unlink_of_the_last_name_is_denied),
	MATRIX(holder_rename_over_the_last_name_is_denied),
	MATRIX(non_holder_io_uring_openat_is_denied),
	MATRIX(non_holder_receiving_a_write_fd_over_scm_rights_is_denied),
	MATRIX(non_holder_pidfd_getfd_of_a_write_fd_is_denied),
	MATRIX(non_holder_chattr_immutable_is_denied),
	MATRIX(non_holder_chattr_append_only_is_denied),
	MATRIX(non_holder_32bit_chattr_immutable_is_denied),
	MATRIX(non_holder_fssetxattr_immutable_is_denied),
	MATRIX(non_holder_enabling_fs_verity_is_denied),
	MATRIX(non_holder_clearing_the_holders_append_only_is_denied),
	MATRIX(unleased_file_open_rdwr_is_allowed),
	MATRIX(everything_is_allowed_after_release),
};

static int mount_group(const char *fstype, const char *dir)
{
	fs_dir = dir;
	if (mount_test_fs(fstype, dir)) {
		fprintf(stderr, "# cannot make a %s filesystem at %s\n", fstype, dir);
		return -1;
	}
	return 0;
}

static int setup_tmpfs(void **state) { (void)state; return mount_group("tmpfs", "/tmp/lw-matrix-tmpfs"); }
static int setup_ext4(void **state) { (void)state; return mount_group("ext4", "/tmp/lw-matrix-ext4"); }
static int setup_btrfs(void **state) { (void)state; return mount_group("btrfs", "/tmp/lw-matrix-btrfs"); }
static int teardown_fs(void **state) { (void)state; unmount_test_fs(fs_dir); return 0; }

int main(void)
{
	int failed = 0;

	test_pin_dir(pin_dir, sizeof(pin_dir), "matrix");
	enf = open_enforcer(pin_dir, 0);
	if (!enf) {
		fprintf(stderr, "enforce_matrix: cannot load the enforcer (the reason is above)\n");
		return 1;
	}
	failed += _cmocka_run_group_tests("bypass matrix on tmpfs", matrix, sizeof(matrix) / sizeof(matrix[0]),
					  setup_tmpfs, teardown_fs);
	failed += _cmocka_run_group_tests("bypass matrix on ext4", matrix, sizeof(matrix) / sizeof(matrix[0]),
					  setup_ext4, teardown_fs);
	failed += _cmocka_run_group_tests("bypass matrix on btrfs", matrix, sizeof(matrix) / sizeof(matrix[0]),
					  setup_btrfs, teardown_fs);
	close_and_unpin(enf);
	return failed ? 1 : 0;
}
