// SPDX-License-Identifier: LGPL-2.1-or-later
/* Image keys without BPF: the same (superblock dev, inode) or i_rdev the
 * BPF enforcer reads from the kernel's inode. stat()'s st_dev is not that on
 * btrfs (a subvolume's anonymous dev), so the superblock's dev comes from
 * the mount the descriptor is on (/proc/self/mountinfo prints sb->s_dev). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
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

/* The superblock dev of each mount seen so far, kept while the mount table
 * stays as it was: mountinfo polls POLLPRI after any mount, unmount or move
 * (a mount id may be reused after an unmount). Every acquire needs a key,
 * and reading the table each time costs its whole length on a host with
 * hundreds of mounts. */
#define MOUNTS_KEPT 64

static struct {
	pthread_mutex_t lock;
	int watch;	/* /proc/self/mountinfo, open for the poll only */
	size_t n, next;
	struct { int mnt_id; uint64_t dev; } at[MOUNTS_KEPT];
} mounts = { .lock = PTHREAD_MUTEX_INITIALIZER, .watch = -1 };

static bool mount_table_changed(void)
{
	struct pollfd p = { .events = POLLPRI };

	if (mounts.watch < 0) {
		mounts.watch = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		return true;	/* nothing kept yet; this first poll below arms it */
	}
	p.fd = mounts.watch;
	return poll(&p, 1, 0) != 0 && (p.revents & (POLLPRI | POLLERR));
}

static int read_superblock_dev(int mnt_id, uint64_t *dev)
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

static int superblock_dev_of_mount(int mnt_id, uint64_t *dev)
{
	int err = 0;

	pthread_mutex_lock(&mounts.lock);
	if (mount_table_changed()) {
		mounts.n = mounts.next = 0;
		if (mounts.watch >= 0)
			mount_table_changed();	/* the change is seen: the next poll tells a new one */
	}
	for (size_t i = 0; i < mounts.n; i++)
		if (mounts.at[i].mnt_id == mnt_id) {
			*dev = mounts.at[i].dev;
			goto out;
		}
	/* read after the poll: a change from here on shows at the next one */
	if ((err = read_superblock_dev(mnt_id, dev)))
		goto out;
	if (mounts.watch < 0)
		goto out;	/* cannot watch: nothing kept */
	mounts.at[mounts.next].mnt_id = mnt_id;
	mounts.at[mounts.next].dev = *dev;
	mounts.next = (mounts.next + 1) % MOUNTS_KEPT;
	if (mounts.n < MOUNTS_KEPT)
		mounts.n++;
out:
	pthread_mutex_unlock(&mounts.lock);
	return err;
}

int lw_fan_key_of(int fd, struct lw_image_key *key, dev_t *st_dev, ino_t *st_ino)
{
	struct statx stx;

	/* what fstat tells and the mount's id (the one mountinfo names), in one call */
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx))
		return -errno;
	*st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	*st_ino = stx.stx_ino;
	if (S_ISBLK(stx.stx_mode)) {
		key->dev = lw_fan_kdev(makedev(stx.stx_rdev_major, stx.stx_rdev_minor));
		key->ino = 0;
		return 0;
	}
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -ENOENT;
	key->ino = stx.stx_ino;
	return superblock_dev_of_mount((int)stx.stx_mnt_id, &key->dev);
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
