// SPDX-License-Identifier: LGPL-2.1-or-later
/* Image keys without BPF: the same (superblock dev, inode) or i_rdev the
 * BPF enforcer reads from the kernel's inode. stat()'s st_dev is not that on
 * btrfs (a subvolume's anonymous dev), so the superblock's dev comes from
 * the mount the descriptor is on (/proc/self/mountinfo prints sb->s_dev). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/proc.h"
#include "fanotify/fan_internal.h"

uint64_t lw_fan_kdev(dev_t dev)
{
	return lw_kdev(major(dev), minor(dev));
}

static int mount_id_of(int fd)
{
	char path[64];
	int mnt_id = -1, err;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	err = lw_proc_int_field(path, "mnt_id: %d", &mnt_id);
	return err ? err : mnt_id >= 0 ? mnt_id : -ENOENT;
}

static int superblock_dev_of_mount(int mnt_id, uint64_t *dev)
{
	unsigned int maj, min;
	char line[4096];
	int id, err = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %*d %u:%u", &id, &maj, &min) == 3 && id == mnt_id) {
			*dev = lw_kdev(maj, min);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int lw_fan_key_of(int fd, struct lw_image_key *key, dev_t *st_dev, ino_t *st_ino)
{
	struct stat st;
	int mnt_id, err;

	if (fstat(fd, &st))
		return -errno;
	*st_dev = st.st_dev;
	*st_ino = st.st_ino;
	if (S_ISBLK(st.st_mode)) {
		key->dev = lw_fan_kdev(st.st_rdev);
		key->ino = 0;
		return 0;
	}
	mnt_id = mount_id_of(fd);
	if (mnt_id < 0)
		return mnt_id;
	err = superblock_dev_of_mount(mnt_id, &key->dev);
	key->ino = st.st_ino;
	return err;
}

int lw_fan_enforcer_key_of_fd(struct lw_enforcement *handle, int fd, struct lw_image_key *key)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	dev_t st_dev;
	ino_t st_ino;
	int err;

	if (fd < 0)
		return lw_fan_fail(enf, -EBADF, "bad descriptor %d", fd);
	err = lw_fan_key_of(fd, key, &st_dev, &st_ino);
	if (err)
		return lw_fan_fail(enf, err, "cannot find the key of descriptor %d: %s", fd,
				   strerror(-err));
	return 0;
}
