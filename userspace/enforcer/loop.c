// SPDX-License-Identifier: LGPL-2.1-or-later
/* The file behind a loop device, keyed the way the programs key it, so a
 * loop device's lease can cover its backing file. sysfs names the file;
 * LOOP_GET_STATUS64 confirms that the name still leads to it (a rename or
 * a swapped mount would otherwise lease the wrong file). */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"

#define LW_LOOP_MAJOR 7

/* sysfs's name of the file behind loop device rdev into buf; -ENOENT if
 * none is attached. */
static int backing_file_name(__u64 rdev, char *buf, size_t size)
{
	char path[96];
	FILE *f;
	bool got;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", (unsigned int)(rdev >> 20),
		 (unsigned int)(rdev & 0xfffff));
	if (!(f = fopen(path, "re")))
		return -ENOENT;
	got = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!got)
		return -ENOENT;
	buf[strcspn(buf, "\n")] = 0;
	return buf[0] ? 0 : -ENOENT;
}

int lw_loop_backing_key(struct lw_enforcer *enf, __u64 rdev, struct lw_map_key *file)
{
	struct loop_info64 info;
	char name[4096];
	struct stat st;
	int loop_fd, fd, err;

	if ((rdev >> 20) != LW_LOOP_MAJOR || backing_file_name(rdev, name, sizeof(name)))
		return -ENOENT;
	if ((loop_fd = lw_blockdev_open(rdev, O_RDONLY | O_NONBLOCK)) < 0)
		return lw_fail(enf, loop_fd, "cannot open the loop device: %s", strerror(-loop_fd));
	err = ioctl(loop_fd, LOOP_GET_STATUS64, &info) ? -errno : 0;
	close(loop_fd);
	if (err == -ENXIO)	/* detached meanwhile */
		return -ENOENT;
	if (err)
		return lw_fail(enf, err, "cannot read the loop device's status: %s", strerror(-err));
	fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)	/* not -ENOENT: that would read as "nothing attached" */
		return lw_fail(enf, errno == ENOENT ? -ESTALE : -errno,
			       "cannot open the loop device's backing file %s: %s", name, strerror(errno));
	if (fstat(fd, &st) || st.st_ino != info.lo_inode || st.st_dev != info.lo_device) {
		close(fd);
		return lw_fail(enf, -ESTALE, "%s is no longer the loop device's backing file", name);
	}
	err = lw_map_key_of_fd(enf, fd, file);
	close(fd);
	return err;
}
