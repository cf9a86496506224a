// SPDX-License-Identifier: LGPL-2.1-or-later
/* The nodes through which a block device's sectors can be written, as sysfs
 * names them: partitions, the whole disk, SCSI generic and bsg nodes,
 * devices stacked on it (dm, md). See blockdev_nodes.h. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"
#include "blockdev_nodes.h"

/* DIR/NAME into buf; false if too long. */
static bool join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n >= 0 && (size_t)n < size;
}

static void add_key(struct related *r, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->keys[i].dev == dev && r->keys[i].ino == ino)
			return;
	if (r->n < LW_MAX_RELATED) {
		r->keys[r->n].dev = dev;
		r->keys[r->n].ino = ino;
		r->n++;
	}
}

/* The kernel dev_t in DIR/dev ("MAJ:MIN"), or 0. */
static __u64 dev_in(const char *dir)
{
	char path[PATH_MAX];
	unsigned int major, minor;
	FILE *f;
	int n;

	if (!join(path, sizeof(path), dir, "dev"))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fscanf(f, "%u:%u", &major, &minor);
	fclose(f);
	return n == 2 ? lw_kdev(major, minor) : 0;
}

static bool exists_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return join(path, sizeof(path), dir, name) && access(path, F_OK) == 0;
}

/* Every DIR/SUB/X/dev, as keys with ino (char devices: LW_KEY_CHRDEV). */
static void add_devs_under(struct related *r, const char *dir, const char *sub, __u64 ino,
			   bool partitions_only)
{
	char path[PATH_MAX], child[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (!join(path, sizeof(path), dir, sub) || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		__u64 dev;

		if (e->d_name[0] == '.')
			continue;
		if (!join(child, sizeof(child), path, e->d_name))
			continue;
		if (partitions_only && !exists_in(child, "partition"))
			continue;
		if ((dev = dev_in(child)))
			add_key(r, dev, ino);
	}
	closedir(d);
}

/* The SCSI generic and bsg nodes of a whole disk's sysfs folder. */
static void add_passthrough_nodes(struct related *r, const char *disk)
{
	add_devs_under(r, disk, "device/scsi_generic", LW_KEY_CHRDEV, false);
	add_devs_under(r, disk, "device/bsg", LW_KEY_CHRDEV, false);
}

/* Devices stacked on dir (dm, md: its holders/), and theirs, as leased. */
static void add_stacked(struct related *r, const char *dir, int depth)
{
	char path[PATH_MAX], child[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (depth > 4 || !join(path, sizeof(path), dir, "holders") || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		__u64 dev;

		if (e->d_name[0] == '.')
			continue;
		if (!join(child, sizeof(child), "/sys/class/block", e->d_name))
			continue;
		if ((dev = dev_in(child)))
			add_key(r, dev, 0);
		add_stacked(r, child, depth + 1);
	}
	closedir(d);
}

/* rdev's folder in sysfs, in dir (PATH_MAX); false if it has none. */
static bool sysfs_dir_of(__u64 rdev, char *dir)
{
	char link[64];

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", lw_kdev_major(rdev), lw_kdev_minor(rdev));
	return realpath(link, dir) != NULL;
}

/* The whole disk's folder of a partition's folder, in disk (PATH_MAX). */
static void disk_of_partition(const char *dir, char *disk)
{
	char *slash;

	snprintf(disk, PATH_MAX, "%s", dir);
	if ((slash = strrchr(disk, '/')))
		*slash = 0;
}

/* The other nodes of block device rdev: covered ones (they write only the
 * leased sectors or more of them through it) and nobody's ones (a whole
 * disk, or its passthrough nodes, under a leased partition). */
void lw_related_nodes(__u64 rdev, struct related *covered, struct related *nobodys)
{
	char dir[PATH_MAX], disk[PATH_MAX];

	covered->n = nobodys->n = 0;
	if (!sysfs_dir_of(rdev, dir))
		return;
	add_stacked(covered, dir, 0);
	if (exists_in(dir, "partition")) {
		disk_of_partition(dir, disk);
		add_key(nobodys, dev_in(disk), 0);
		add_passthrough_nodes(nobodys, disk);
		return;
	}
	add_devs_under(covered, dir, ".", 0, true);
	add_passthrough_nodes(covered, dir);
}

/* The devices below dir (its slaves/: dm, md), theirs, and the partitions
 * or whole disk of each, as lw_related_nodes sorts them. */
static void add_below(struct related *below, struct related *nobodys, const char *dir, int depth)
{
	char path[PATH_MAX], name[PATH_MAX], child[PATH_MAX], disk[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (depth > 4 || !join(path, sizeof(path), dir, "slaves") || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		__u64 dev;

		if (e->d_name[0] == '.')
			continue;
		if (!join(name, sizeof(name), "/sys/class/block", e->d_name) || !realpath(name, child))
			continue;
		if ((dev = dev_in(child)))
			add_key(below, dev, 0);
		if (exists_in(child, "partition")) {
			disk_of_partition(child, disk);
			if ((dev = dev_in(disk)))
				add_key(nobodys, dev, 0);
		} else
			add_devs_under(below, child, ".", 0, true);
		add_below(below, nobodys, child, depth + 1);
	}
	closedir(d);
}

void lw_below_nodes(__u64 rdev, struct related *below, struct related *nobodys)
{
	char dir[PATH_MAX];

	below->n = nobodys->n = 0;
	if (sysfs_dir_of(rdev, dir))
		add_below(below, nobodys, dir, 0);
}

int lw_blockdev_open(__u64 rdev, int flags)
{
	char path[PATH_MAX], line[256], name[128] = "";
	struct stat st;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", lw_kdev_major(rdev),
		 lw_kdev_minor(rdev));
	if (!(f = fopen(path, "re")))
		return -ENODEV;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "DEVNAME=%127s", name) == 1)
			break;
	fclose(f);
	if (!name[0])
		return -ENODEV;
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode) ||
	    lw_kdev(major(st.st_rdev), minor(st.st_rdev)) != rdev) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* The block nodes that write the sectors of the filesystem on block
 * device dev: dev, and its whole disk or its partitions. None if dev is no
 * block device (tmpfs, btrfs and overlayfs have anonymous devices).
 * Not the SCSI generic nodes nor the devices below a dm/md dev (LVM
 * physical volumes, multipath paths): LVM must still write its metadata
 * there, multipathd and udev must still send SCSI commands
 * (docs/routes.md). */
void lw_fs_device_nodes(__u64 dev, struct related *all)
{
	char link[64], dir[PATH_MAX];
	struct related covered, nobodys;

	all->n = 0;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", (unsigned int)(dev >> 20),
		 (unsigned int)(dev & 0xfffff));
	if ((dev >> 20) == 0 || !realpath(link, dir))
		return;
	add_key(all, dev, 0);
	lw_related_nodes(dev, &covered, &nobodys);
	for (size_t i = 0; i < covered.n; i++)
		if (covered.keys[i].ino == 0)
			add_key(all, covered.keys[i].dev, 0);
	for (size_t i = 0; i < nobodys.n; i++)
		if (nobodys.keys[i].ino == 0)
			add_key(all, nobodys.keys[i].dev, 0);
}
