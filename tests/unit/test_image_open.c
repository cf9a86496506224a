// SPDX-License-Identifier: LGPL-2.1-or-later
/* One resolution of an image, as the caller: what an unprivileged caller may
 * lease, what is an image at all, and that a lookup the caller could not
 * make fails the same way whether the file exists or not. Runs as root (the
 * lookup as another uid needs the daemon's privileges), on real files. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "lease_tree.h"

#include "backend.h"
#include "daemon/image_open.h"
#include "daemon/lease.h"
#include "daemon/lease_json.h"
#include "fanotify/fan_internal.h"

#define USER 65534	/* an unprivileged uid that owns nothing here */

struct fixture {
	char dir[64];
	char path[192];
};

static const struct lw_image_caller user = { .pid = 0, .uid = USER, .gid = USER, .privileged = false };
static const struct lw_image_caller admin = { .pid = 0, .uid = 0, .gid = 0, .privileged = true };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (geteuid() != 0) {
		fprintf(stderr, "test_image_open: must run as root (it looks paths up as uid %d)\n", USER);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-image-XXXXXX");
	if (!mkdtemp(f->dir) || chmod(f->dir, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* make_file(f, name, uid, mode): a file under the fixture's folder */
static const char *make_file(struct fixture *f, const char *name, uid_t uid, mode_t mode)
{
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chown(f->path, uid, uid), 0);
	assert_int_equal(chmod(f->path, mode), 0);
	return f->path;
}

static void *run_lookup(void *l)
{
	lw_image_lookup_run(l);
	return NULL;
}

/* look path up as c, as the daemon does: for a caller that is not
 * privileged, in a thread of its own (it takes the caller's identity) */
static void look_up(const char *path, const struct lw_image_caller *c, struct lw_image_lookup *l)
{
	pthread_t thread;

	assert_int_equal(lw_image_lookup_prepare(l, path, c), 0);
	if (!l->as_caller) {
		lw_image_lookup_run(l);
		return;
	}
	assert_int_equal(pthread_create(&thread, NULL, run_lookup, l), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
}

/* acquire's open of path as c: the lookup, then its checks */
static int image_open(const char *path, const struct lw_image_caller *c, struct lw_image *image, const char **why)
{
	struct lw_image_lookup l;
	int r;

	look_up(path, c, &l);
	r = lw_image_open(&l, c, image, why);
	lw_image_lookup_release(&l);
	return r;
}

static int open_as(const char *path, const struct lw_image_caller *c, const char **why)
{
	struct lw_image image;
	int r = image_open(path, c, &image, why);

	if (r == 0) {
		assert_true(image.fd >= 0);
		close(image.fd);
	} else {
		assert_int_equal(image.fd, -1);
	}
	return r;
}

static void user_may_open_its_own_file(void **state)
{
	const char *why = NULL;

	assert_int_equal(open_as(make_file(*state, "own.img", USER, 0600), &user, &why), 0);
}

static void user_may_open_a_root_file_it_may_write(void **state)
{
	const char *why = NULL;

	assert_int_equal(open_as(make_file(*state, "rw.img", 0, 0666), &user, &why), 0);
}

static void user_may_not_open_a_root_file_it_may_only_read(void **state)
{
	const char *why = NULL;

	assert_int_equal(open_as(make_file(*state, "ro.img", 0, 0644), &user, &why), -EPERM);
	assert_non_null(strstr(why, "neither owns nor may write"));
}

static void admin_may_open_any_file(void **state)
{
	const char *why = NULL;

	assert_int_equal(open_as(make_file(*state, "root.img", 0, 0600), &admin, &why), 0);
}

static void user_may_not_follow_a_symlink_to_a_root_file(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;
	char link[256];

	make_file(f, "target.img", 0, 0644);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(open_as(link, &user, &why), -EPERM);
}

static void magic_links_are_never_followed(void **state)
{
	char path[64];
	const char *why = NULL;
	int fd = open(make_file(*state, "magic.img", 0, 0600), O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(open_as(path, &admin, &why), -ELOOP);
	close(fd);
}

/* in a folder the user cannot search, existing and missing names fail alike */
static void unsearchable_folder_hides_which_names_exist(void **state)
{
	struct fixture *f = *state;
	const char *why_exists = NULL, *why_missing = NULL;
	char secret[128], exists[160], missing[160];
	int r_exists, r_missing;

	snprintf(secret, sizeof(secret), "%s/secret", f->dir);
	assert_int_equal(mkdir(secret, 0700), 0);
	snprintf(exists, sizeof(exists), "%s/exists.img", secret);
	snprintf(missing, sizeof(missing), "%s/missing.img", secret);
	close(open(exists, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
	r_exists = open_as(exists, &user, &why_exists);
	r_missing = open_as(missing, &user, &why_missing);
	assert_int_equal(r_exists, -EACCES);
	assert_int_equal(r_missing, r_exists);
	assert_string_equal(why_missing, why_exists);
}

static void non_images_are_refused_even_for_root(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;

	assert_int_equal(open_as("/proc/self/mem", &admin, &why), -EINVAL);
	assert_non_null(strstr(why, "not an image"));
	assert_int_equal(open_as("/dev/null", &admin, &why), -EINVAL);
	assert_int_equal(open_as(f->dir, &admin, &why), -EINVAL);
	assert_int_equal(open_as("/sys/kernel/notes", &admin, &why), -EINVAL);
}

static void image_kinds(void **state)
{
	(void)state;
	assert_true(lw_image_kind_ok(S_IFREG | 0600, EXT4_SUPER_MAGIC));
	assert_true(lw_image_kind_ok(S_IFBLK | 0600, TMPFS_MAGIC));
	assert_false(lw_image_kind_ok(S_IFCHR | 0600, TMPFS_MAGIC));
	assert_false(lw_image_kind_ok(S_IFDIR | 0755, EXT4_SUPER_MAGIC));
	assert_false(lw_image_kind_ok(S_IFIFO | 0600, EXT4_SUPER_MAGIC));
	assert_false(lw_image_kind_ok(S_IFREG | 0600, PROC_SUPER_MAGIC));
	assert_false(lw_image_kind_ok(S_IFREG | 0600, SYSFS_MAGIC));
	assert_false(lw_image_kind_ok(S_IFREG | 0600, BPF_FS_MAGIC));
}

static void lookup_opens_nothing_yet_names_the_file(void **state)
{
	const char *path = make_file(*state, "lookup.img", USER, 0600);
	struct lw_image_lookup l;
	struct stat want;

	look_up(path, &user, &l);
	assert_int_equal(l.err, 0);
	assert_int_equal(fcntl(l.fd, F_GETFL) & O_PATH, O_PATH);
	assert_int_equal(stat(path, &want), 0);
	assert_true(l.st.st_ino == want.st_ino && l.st.st_dev == want.st_dev);
	lw_image_lookup_release(&l);
}

/* acquire's open opens nothing either; the image is opened for read from
 * it later, as the same file whatever the path names by then */
static void open_names_the_file_and_opens_it_for_read_when_asked(void **state)
{
	struct fixture *f = *state;
	const char *path = make_file(f, "open.img", USER, 0600);
	struct lw_image image;
	struct stat st, want;
	const char *why = NULL;
	char moved[256];
	int fd;

	assert_int_equal(image_open(path, &user, &image, &why), 0);
	assert_int_equal(fcntl(image.fd, F_GETFL) & O_PATH, O_PATH);
	assert_int_equal(stat(path, &want), 0);
	assert_true(image.st.st_ino == want.st_ino && image.st.st_dev == want.st_dev);
	snprintf(moved, sizeof(moved), "%s/moved", f->dir);
	assert_int_equal(rename(path, moved), 0);
	make_file(f, "open.img", USER, 0600);	/* another file under the name */
	fd = lw_image_open_read(image.fd);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_PATH), O_RDONLY);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_ino == want.st_ino && st.st_dev == want.st_dev);
	close(fd);
	close(image.fd);
}

/* stat tells the kernel's key (bpf/image_key.bpf.h) only where it reports
 * the superblock's dev and the inode as they are; the VM tests compare it
 * with the kernel's own answer (tests/vm/enforce_keys.c) */
static void key_of_stat_only_where_stat_tells_it(void **state)
{
	struct stat st = { .st_mode = S_IFREG | 0600, .st_dev = makedev(8, 3), .st_ino = 1234 };
	struct lw_image_key key;

	(void)state;
	assert_int_equal(lw_image_key_of_stat(&st, EXT4_SUPER_MAGIC, &key), 0);
	assert_true(key.dev == lw_kdev(8, 3) && key.ino == 1234);
	assert_int_equal(lw_image_key_of_stat(&st, TMPFS_MAGIC, &key), 0);
	assert_int_equal(lw_image_key_of_stat(&st, BTRFS_SUPER_MAGIC, &key), -ENOENT);
	assert_int_equal(lw_image_key_of_stat(&st, OVERLAYFS_SUPER_MAGIC, &key), -ENOENT);
	assert_int_equal(lw_image_key_of_stat(&st, XFS_SUPER_MAGIC, &key), -ENOENT);
	st = (struct stat){ .st_mode = S_IFBLK | 0600, .st_dev = makedev(0, 5), .st_rdev = makedev(259, 1) };
	assert_int_equal(lw_image_key_of_stat(&st, BTRFS_SUPER_MAGIC, &key), 0);
	assert_true(key.dev == lw_kdev(259, 1) && key.ino == 0);
	st.st_mode = S_IFCHR | 0600;
	assert_int_equal(lw_image_key_of_stat(&st, TMPFS_MAGIC, &key), -ENOENT);
}

/* the fanotify enforcer finds the superblock's dev in mountinfo: the same
 * key, on the fixture's filesystem (if stat tells it there) and on tmpfs */
static void key_of_stat_is_the_fanotify_enforcers(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { make_file(f, "key.img", 0, 0600), "/dev/shm/lw-test-image-key" };
	struct lw_image_key from_stat, from_mounts;
	struct statfs fs;
	struct stat st;
	dev_t st_dev;
	ino_t st_ino;
	int checked = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int fd = open(paths[i], O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(fstatfs(fd, &fs), 0);
		assert_int_equal(lw_fan_key_of(fd, &from_mounts, &st_dev, &st_ino), 0);
		if (lw_image_key_of_stat(&st, (long)fs.f_type, &from_stat) == 0) {
			assert_true(from_stat.dev == from_mounts.dev && from_stat.ino == from_mounts.ino);
			checked++;
		}
		close(fd);
	}
	unlink(paths[1]);
	assert_true(checked >= 1);	/* /dev/shm is tmpfs */
}

/* the holder's uid is kept in the state file: who may see the lease after a restart */
static void holder_uid_survives_the_state_format(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new(), *back = lw_lease_entry_new();
	struct json_object *o;
	const char *why;

	(void)state;
	assert_int_equal(lw_lease_set_image(e, "/images/a.img"), 0);
	snprintf(e->backend, sizeof(e->backend), "nop");
	e->nr_holders = 1;
	e->holders[0].id.kind = LW_HOLDER_PROCESS;
	e->holders[0].id.pid = 42;
	e->holders[0].uid = 1234;
	o = lease_tree(e);
	assert_int_equal(lw_lease_from_json(o, back, &why), 0);
	assert_int_equal(back->holders[0].uid, 1234);
	assert_true(lw_lease_held_by_uid(back, 1234));
	assert_false(lw_lease_held_by_uid(back, 0));
	json_object_put(o);
	lw_lease_entry_free(e);
	lw_lease_entry_free(back);
}

/* A symlink put in place of a user's file, to root's file or to a device:
 * refused to the user's lookup, the device even to root's. */
static void holder_lookup_refuses_a_symlink_to_root_file_or_device(void **state)
{
	struct fixture *f = *state;
	struct lw_image_caller c;
	struct lw_image image;
	char target[256];
	const char *why;
	int fd;

	c = (struct lw_image_caller){ .uid = USER, .gid = USER };
	snprintf(f->path, sizeof(f->path), "%s/user.img", f->dir);
	snprintf(target, sizeof(target), "%s/root.img", f->dir);
	assert_true((fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) >= 0);
	close(fd);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(image_open(f->path, &c, &image, &why), -EPERM);
	unlink(f->path);
	assert_int_equal(symlink("/dev/ptmx", f->path), 0);
	assert_int_equal(image_open(f->path, &c, &image, &why), -EINVAL);
	c.privileged = true;	/* not even for root */
	assert_int_equal(image_open(f->path, &c, &image, &why), -EINVAL);
	unlink(f->path);
	unlink(target);
}

static void leases_are_counted_per_uid(void **state)
{
	struct lw_lease_table *t;
	unsigned int uids[] = { 1000, 1000, 1001 };

	(void)state;
	assert_int_equal(lw_lease_table_new(8, &t), 0);
	for (unsigned int i = 0; i < 3; i++) {
		struct lw_lease_entry *e = lw_lease_entry_new();

		char image[32];

		snprintf(image, sizeof(image), "/images/%u.img", i);
		assert_int_equal(lw_lease_set_image(e, image), 0);
		e->key.ino = i + 1;
		e->nr_holders = 1;
		e->holders[0].uid = uids[i];
		lw_lease_table_insert(t, e);
	}
	assert_int_equal(lw_lease_count_uid(t, 1000), 2);
	assert_int_equal(lw_lease_count_uid(t, 1001), 1);
	assert_int_equal(lw_lease_count_uid(t, 0), 0);
	lw_lease_table_free(t);
}

static bool byte0_locked(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	return fl.l_type != F_UNLCK;
}

/* the backend locks the file the daemon resolved, not what the path names by then */
static void fcntl_lock_goes_on_the_resolved_file_not_the_path(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *be = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_request req;
	char image[192], other[192];
	int image_fd, other_fd;

	snprintf(image, sizeof(image), "%s", make_file(f, "image.img", 0, 0600));
	snprintf(other, sizeof(other), "%s", make_file(f, "other.img", 0, 0600));
	image_fd = open(image, O_RDONLY | O_CLOEXEC);
	other_fd = open(other, O_RDONLY | O_CLOEXEC);
	assert_true(image_fd >= 0 && other_fd >= 0);
	assert_int_equal(rename(other, image), 0);	/* the path now names the other file */
	assert_int_equal(lw_backend_open("fcntl", NULL, &be, NULL), 0);
	req = (struct lw_backend_request){ .image = image, .image_fd = image_fd };
	assert_int_equal(lw_backend_acquire(be, &req, NULL, NULL, &lock, &pending, NULL), 0);
	assert_true(byte0_locked(image_fd));
	assert_false(byte0_locked(other_fd));
	lw_backend_release(be, lock, NULL, NULL, NULL);
	lw_backend_close(be);
	close(image_fd);
	close(other_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(user_may_open_its_own_file, setup, teardown),
		cmocka_unit_test_setup_teardown(user_may_open_a_root_file_it_may_write, setup, teardown),
		cmocka_unit_test_setup_teardown(user_may_not_open_a_root_file_it_may_only_read, setup, teardown),
		cmocka_unit_test_setup_teardown(admin_may_open_any_file, setup, teardown),
		cmocka_unit_test_setup_teardown(user_may_not_follow_a_symlink_to_a_root_file, setup, teardown),
		cmocka_unit_test_setup_teardown(magic_links_are_never_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(unsearchable_folder_hides_which_names_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(non_images_are_refused_even_for_root, setup, teardown),
		cmocka_unit_test_setup_teardown(lookup_opens_nothing_yet_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(open_names_the_file_and_opens_it_for_read_when_asked, setup, teardown),
		cmocka_unit_test(key_of_stat_only_where_stat_tells_it),
		cmocka_unit_test_setup_teardown(key_of_stat_is_the_fanotify_enforcers, setup, teardown),
		cmocka_unit_test_setup_teardown(fcntl_lock_goes_on_the_resolved_file_not_the_path, setup, teardown),
		cmocka_unit_test(image_kinds),
		cmocka_unit_test(holder_uid_survives_the_state_format),
		cmocka_unit_test(leases_are_counted_per_uid),
		cmocka_unit_test_setup_teardown(holder_lookup_refuses_a_symlink_to_root_file_or_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
