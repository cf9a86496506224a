// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon takes an image's key from its stat where stat tells it
 * (daemon/image_open.h, lw_image_key_of_stat) and asks the kernel
 * elsewhere. Here the kernel's own answer (the key probe) is compared with
 * stat's on each filesystem that stat is trusted on, and on a block
 * device: a key that differed would lease another inode than the image. */
#include <sys/statfs.h>

#include "enforce_common.h"
#include "daemon/image_open.h"

static struct lw_enforcement *handle;
static char pin_dir[128];

/* stat's key and the kernel's of the file at path: equal, or fail. */
static void stat_key_is_the_kernels(const char *path)
{
	struct lw_image_key from_stat, from_kernel;
	struct statfs fs;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(fstatfs(fd, &fs), 0);
	if (lw_image_key_of_stat(&st, (long)fs.f_type, &from_stat))
		fail_msg("expected stat to tell the key of %s (filesystem 0x%lx)", path, (long)fs.f_type);
	if (lw_enforcer_key_of_fd(handle, fd, &from_kernel))
		fail_msg("the kernel did not tell the key of %s: %s", path, lw_enforcer_error(handle));
	close(fd);
	if (from_stat.dev != from_kernel.dev || from_stat.ino != from_kernel.ino)
		fail_msg("%s: stat's key is %llx:%llu, the kernel's %llx:%llu", path,
			 (unsigned long long)from_stat.dev, (unsigned long long)from_stat.ino,
			 (unsigned long long)from_kernel.dev, (unsigned long long)from_kernel.ino);
}

/* A file on a fresh filesystem of type fstype. */
static void file_on(const char *fstype)
{
	char dir[64], path[96];

	snprintf(dir, sizeof(dir), "/tmp/lw-keys-%s", fstype);
	if (mount_test_fs(fstype, dir))
		fail_msg("cannot mount %s at %s (the reason is above)", fstype, dir);
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	write_file(path, "image");
	stat_key_is_the_kernels(path);
	unmount_test_fs(dir);
}

static void ext4_file(void **state)
{
	(void)state;
	file_on("ext4");
}

static void tmpfs_file(void **state)
{
	(void)state;
	file_on("tmpfs");
}

/* A loop device over a file, by its node in /dev. */
static void block_device(void **state)
{
	char dev[64] = "";
	FILE *f;

	(void)state;
	if (sh("modprobe loop 2>/dev/null; truncate -s 8M /tmp/lw-keys-loop.img && "
	       "losetup --find --show /tmp/lw-keys-loop.img > /tmp/lw-keys-loop.dev"))
		fail_msg("cannot attach a loop device (the reason is above)");
	f = fopen("/tmp/lw-keys-loop.dev", "r");
	assert_non_null(f);
	assert_non_null(fgets(dev, sizeof(dev), f));
	fclose(f);
	dev[strcspn(dev, "\n")] = '\0';
	stat_key_is_the_kernels(dev);
	sh("losetup -d %s; rm -f /tmp/lw-keys-loop.img /tmp/lw-keys-loop.dev", dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ext4_file),
		cmocka_unit_test(tmpfs_file),
		cmocka_unit_test(block_device),
	};
	int failed;

	test_pin_dir(pin_dir, sizeof(pin_dir), "keys");
	handle = open_enforcer(pin_dir, 0);
	if (!handle) {
		fprintf(stderr, "enforce_keys: cannot load the enforcer (the reason is above)\n");
		return 1;
	}
	failed = cmocka_run_group_tests_name("image keys from stat", tests, NULL, NULL);
	close_and_unpin(handle);
	return failed ? 1 : 0;
}
