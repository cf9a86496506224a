// SPDX-License-Identifier: LGPL-2.1-or-later
/* A block device lease covers every node through which its sectors can be
 * written, on a scsi_debug disk with two partitions: a whole disk's lease
 * covers its partitions (also one made after the acquire) and its SCSI
 * generic node; a partition's lease makes the whole disk nobody's; SG_IO,
 * BLKPG and the like are refused to non-holders whatever the descriptor's
 * mode; device-mapper and mount cannot claim a leased device. Loop devices:
 * a file's lease covers a loop device attached to it (and a dm device
 * stacked on that later), a loop device's lease covers its backing file.
 * No mount of a leased or covered device, claim or not (the enforcer's
 * handle closed), and nothing written by the refused mount; a second mount
 * of a filesystem holding leased images still works. The devices below a
 * leased dm device (and one put below later) refuse non-holders' write
 * opens. The holder (this test process) keeps its QEMU-style
 * O_RDWR|O_DIRECT access. */
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <scsi/sg.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>

#include "enforce_common.h"
#include "enforcer/enforcer_internal.h"

#define SECTOR 512

static struct lw_enforcement *enf;
static char pin_dir[128];
static char disk[64], part1[64], part2[64], part3[64], sg[64];	/* /dev/ names */
static char loop_dev[64];	/* attached by a loop case, detached by release() */

#define LOOP_DIR "/tmp/lw-blockdev-loop"
#define LOOP_FILE LOOP_DIR "/backing.img"
#define LOOP_FILE_MIB 8
#define MNT2 "/tmp/lw-blockdev-mnt2"	/* a second mount point */
static struct lw_image_key key;
static bool leased;

/* --- the disk --- */

/* The first line a shell command prints, without its newline. */
static int first_line(char *buf, size_t size, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	bool got = p && fgets(buf, (int)size, p);

	if (p)
		pclose(p);
	if (!got)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return buf[0] ? 0 : -1;
}

static int add_partition(int fd, int number, long long start_mib, long long size_mib)
{
	struct blkpg_partition part = { .start = start_mib << 20, .length = size_mib << 20, .pno = number };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part };

	return ioctl(fd, BLKPG, &arg) ? errno : 0;
}

static int make_disk(void)
{
	char name[32] = "", sgname[32] = "", cmd[128];
	int fd;

	if (sh("modprobe scsi_debug dev_size_mb=32 && modprobe sd_mod && modprobe sg && modprobe dm-mod 2>/dev/null; modprobe ext4 2>/dev/null; true"))
		return -1;
	for (int i = 0; i < 50; i++) {	/* the disk appears asynchronously */
		if (!first_line(name, sizeof(name),
				"for d in /sys/block/sd*; do grep -qs scsi_debug $d/device/model && basename $d; done"))
			break;
		usleep(100000);
	}
	if (!name[0]) {
		fprintf(stderr, "# expected a scsi_debug disk after modprobe scsi_debug\n");
		return -1;
	}
	snprintf(disk, sizeof(disk), "/dev/%s", name);
	snprintf(part1, sizeof(part1), "/dev/%s1", name);
	snprintf(part2, sizeof(part2), "/dev/%s2", name);
	snprintf(part3, sizeof(part3), "/dev/%s3", name);
	snprintf(cmd, sizeof(cmd), "ls /sys/block/%s/device/scsi_generic 2>/dev/null", name);
	for (int i = 0; i < 50 && first_line(sgname, sizeof(sgname), cmd); i++)
		usleep(100000);
	if (!sgname[0]) {
		fprintf(stderr, "# expected a SCSI generic node for %s (modprobe sg)\n", disk);
		return -1;
	}
	snprintf(sg, sizeof(sg), "/dev/%s", sgname);
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || add_partition(fd, 1, 1, 15) || add_partition(fd, 2, 16, 15)) {
		fprintf(stderr, "# cannot partition %s: %s\n", disk, strerror(errno));
		return -1;
	}
	close(fd);
	for (int i = 0; i < 50 && access(part2, F_OK); i++)
		usleep(100000);
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", part1)) {
		fprintf(stderr, "# cannot make ext4 on %s\n", part1);
		return -1;
	}
	return 0;
}

/* This process's acquire of path: 0 or -errno; a lease on key is noted
 * for the teardown. */
static int try_lease(const char *path, struct lw_image_key *out)
{
	struct lw_holder self;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0 || lw_holder_of_pid(getpid(), &self))
		fail_msg("cannot prepare a lease on %s", path);
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, out);
	close(fd);
	if (!err && out == &key)
		leased = true;
	return err;
}

/* A device's or a file's lease, taken. */
static void lease_path(const char *path)
{
	int err = try_lease(path, &key);

	if (err)
		fail_msg("expected the lease on %s to be taken, got %s: %s", path, strerror(-err),
			 lw_enforcer_error(enf));
}

/* The name of a free loop device into loop_dev. */
static void pick_free_loop(void)
{
	int ctl, n = -1;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) >= 0) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		close(ctl);
	}
	if (n < 0)
		fail_msg("cannot find a free loop device: %s", strerror(errno));
	snprintf(loop_dev, sizeof(loop_dev), "/dev/loop%d", n);
}

/* Attach loop_dev to path with LOOP_CONFIGURE (as losetup does),
 * read-write if the descriptor is. 0 or errno. */
static int attach_loop(const char *path, int file_flags)
{
	struct loop_config config = { .block_size = 0 };
	int fd, file, r = 0;

	if ((fd = open(loop_dev, O_RDWR | O_CLOEXEC)) < 0)
		return errno;
	if ((file = open(path, file_flags | O_CLOEXEC)) < 0) {
		r = errno;
		close(fd);
		return r;
	}
	config.fd = (__u32)file;
	if ((file_flags & O_ACCMODE) == O_RDONLY)
		config.info.lo_flags = LO_FLAGS_READ_ONLY;
	if (ioctl(fd, LOOP_CONFIGURE, &config))
		r = errno;
	close(file);
	close(fd);
	return r;
}

static int attach_loop_read_only(void *arg)
{
	return attach_loop(arg, O_RDONLY);
}

static void detach_loop(void)
{
	int fd;

	if (!loop_dev[0])
		return;
	if ((fd = open(loop_dev, O_RDONLY | O_CLOEXEC)) >= 0) {
		ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
	}
	loop_dev[0] = 0;
}

static void release_lease(void)
{
	if (leased && lw_enforcer_remove_lease(enf, &key))
		fprintf(stderr, "# release failed: %s\n", lw_enforcer_error(enf));
	leased = false;
}

/* Whether a case left lw-test-linear (by sysfs: /dev/mapper needs udev). */
static bool dm_linear_exists(void)
{
	bool found = false;
	glob_t names;

	if (glob("/sys/block/dm-*/dm/name", 0, NULL, &names))
		return false;
	for (size_t i = 0; i < names.gl_pathc && !found; i++) {
		char name[64] = "";
		FILE *f = fopen(names.gl_pathv[i], "r");

		if (f) {
			found = fgets(name, sizeof(name), f) && !strcmp(name, "lw-test-linear\n");
			fclose(f);
		}
	}
	globfree(&names);
	return found;
}

static int release(void **state)
{
	(void)state;
	release_lease();
	/* in C, and dmsetup only when a case made the device: in a TCG guest
	 * each process started costs a tenth of a second and more */
	umount2(MNT2, 0);
	if (dm_linear_exists())
		sh("dmsetup remove lw-test-linear");
	umount2("/tmp/lw-blockdev-mnt", 0);
	detach_loop();
	return 0;
}

/* --- attempts --- */

/* 0 or errno of a 4 KiB O_DIRECT write of text at offset through dev. */
static int direct_write(const char *dev, off_t offset, char fill)
{
	void *buf;
	int fd, r = 0;

	if (posix_memalign(&buf, 4096, 4096))
		return ENOMEM;
	memset(buf, fill, 4096);
	fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		r = errno;
	else if (pwrite(fd, buf, 4096, offset) != 4096)
		r = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/* The byte at offset of dev, read around the page cache; -1 on error. */
static int byte_at(const char *dev, off_t offset)
{
	void *buf;
	int fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC), b = -1;

	if (fd < 0 || posix_memalign(&buf, 4096, 4096)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pread(fd, buf, 4096, offset & ~4095L) == 4096)
		b = ((unsigned char *)buf)[offset & 4095];
	free(buf);
	close(fd);
	return b;
}

struct target {
	const char *dev;
	off_t offset;
};

static int write_target(void *arg)
{
	const struct target *t = arg;

	return direct_write(t->dev, t->offset, 'X');
}

/* SCSI WRITE(10) of one sector at lba through dev opened read-only: 0 if
 * the device took it, else errno (EIO if the device refused). */
static int sg_io_write(void *arg)
{
	const struct target *t = arg;
	unsigned char cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, sense[32], data[SECTOR];
	unsigned int lba = (unsigned int)(t->offset / SECTOR);
	struct sg_io_hdr io = { .interface_id = 'S' };
	int fd = open(t->dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC), r = 0;

	if (fd < 0)
		return errno;
	memset(data, 'S', sizeof(data));
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	io.cmd_len = sizeof(cdb);
	io.cmdp = cdb;
	io.dxfer_direction = SG_DXFER_TO_DEV;
	io.dxfer_len = sizeof(data);
	io.dxferp = data;
	io.mx_sb_len = sizeof(sense);
	io.sbp = sense;
	io.timeout = 5000;
	if (ioctl(fd, SG_IO, &io))
		r = errno;
	else if (io.status || io.host_status || io.driver_status)
		r = EIO;
	close(fd);
	return r;
}

static int delete_partition_2(void *arg)
{
	struct blkpg_partition part = { .pno = 2 };
	struct blkpg_ioctl_arg a = { .op = BLKPG_DEL_PARTITION, .datalen = sizeof(part), .data = &part };
	int fd = open(disk, O_RDONLY | O_CLOEXEC), r = 0;

	(void)arg;
	if (fd < 0)
		return errno;
	if (ioctl(fd, BLKPG, &a))
		r = errno;
	close(fd);
	return r;
}

static int open_for_write(void *arg)
{
	return try_open(arg, O_RDWR);
}

/* Wait (bounded) for a device node to appear. */
static void wait_for_node(const char *path)
{
	for (int i = 0; i < 100 && access(path, F_OK); i++)
		usleep(50000);
	if (access(path, F_OK))
		fail_msg("expected %s to appear within 5 s", path);
}

#define assert_refused(result, what)                                                         \
	do {                                                                                 \
		int r_ = (result);                                                           \
		if (r_ != EPERM && r_ != EACCES)                                             \
			fail_msg("expected %s to be refused (EPERM or EACCES), got %s", what, \
				 errno_name(r_));                                            \
	} while (0)

static void assert_not_written(const char *dev, off_t offset, char fill, const char *what)
{
	int b = byte_at(dev, offset);

	if (b == fill)
		fail_msg("expected %s to leave %s at offset %lld unchanged, but it holds '%c'", what, dev,
			 (long long)offset, fill);
}

/* --- a whole disk's lease --- */

static void non_holder_write_through_a_partition_of_a_leased_disk_is_denied(void **state)
{
	struct target t = { part1, 8192 };

	(void)state;
	direct_write(disk, (1 << 20) + 8192, 0);
	lease_path(disk);
	assert_refused(in_child(write_target, &t), "an O_RDWR|O_DIRECT write through a partition");
	assert_not_written(disk, (1 << 20) + 8192, 'X', "a write through the partition");
}

static void non_holder_sg_io_write_on_a_read_only_disk_descriptor_is_denied(void **state)
{
	struct target t = { disk, 4096 };

	(void)state;
	direct_write(disk, 4096, 0);
	lease_path(disk);
	assert_refused(in_child(sg_io_write, &t), "SG_IO WRITE(10) on a read-only descriptor of the disk");
	assert_not_written(disk, 4096, 'S', "SG_IO on the disk");
}

static void non_holder_sg_io_write_through_the_scsi_generic_node_is_denied(void **state)
{
	struct target t = { sg, 4096 };

	(void)state;
	direct_write(disk, 4096, 0);
	lease_path(disk);
	assert_refused(in_child(open_for_write, sg), "an O_RDWR open of the SCSI generic node");
	assert_refused(in_child(sg_io_write, &t), "SG_IO WRITE(10) through the SCSI generic node");
	assert_not_written(disk, 4096, 'S', "SG_IO through the sg node");
}

static void non_holder_blkpg_on_a_leased_disk_is_denied(void **state)
{
	(void)state;
	lease_path(disk);
	assert_refused(in_child(delete_partition_2, NULL), "BLKPG (delete partition) on a read-only descriptor");
	if (access(part2, F_OK))
		fail_msg("expected %s to still exist after a refused BLKPG", part2);
}

static void dm_linear_over_a_leased_disk_is_refused(void **state)
{
	(void)state;
	lease_path(disk);
	if (!sh("echo '0 8192 linear %s 0' | dmsetup create lw-test-linear 2>/dev/null", disk))
		fail_msg("expected dmsetup create of a linear target over the leased %s to fail", disk);
}

static void holder_writes_the_disk_and_its_partition_with_o_direct(void **state)
{
	struct target whole = { disk, 4096 }, part = { part1, 8192 };

	(void)state;
	lease_path(disk);
	assert_allowed(write_target(&whole), "the holder's O_RDWR|O_DIRECT write of the disk");
	assert_allowed(write_target(&part), "the holder's O_RDWR|O_DIRECT write through a partition");
	if (byte_at(disk, 4096) != 'X' || byte_at(disk, (1 << 20) + 8192) != 'X')
		fail_msg("expected the holder's writes on %s to read back", disk);
}

static int remove_partition_3(void **state)
{
	struct blkpg_partition part = { .pno = 3 };
	struct blkpg_ioctl_arg a = { .op = BLKPG_DEL_PARTITION, .datalen = sizeof(part), .data = &part };
	int fd;

	release(state);
	if ((fd = open(disk, O_RDONLY | O_CLOEXEC)) >= 0) {
		ioctl(fd, BLKPG, &a);
		close(fd);
	}
	return 0;
}

/* The kernel tells the programs about the new partition as it adds it:
 * no rescan by the daemon, no moment when it is uncovered. */
static void partition_made_after_a_disk_lease_is_covered(void **state)
{
	struct target t = { part3, 4096 };
	int fd, err;

	(void)state;
	lease_path(disk);
	if ((fd = open(disk, O_RDONLY | O_CLOEXEC)) < 0)
		fail_msg("cannot open %s: %s", disk, strerror(errno));
	err = add_partition(fd, 3, 31, 1);
	close(fd);
	if (err)
		fail_msg("expected the holder to add partition 3 of %s, got %s", disk, strerror(err));
	wait_for_node(part3);
	direct_write(disk, (31 << 20) + 4096, 0);
	assert_refused(in_child(write_target, &t), "an O_RDWR|O_DIRECT write through a partition made after the lease");
	assert_not_written(disk, (31 << 20) + 4096, 'X', "a write through the later partition");
	assert_allowed(write_target(&t), "the holder's write through the partition it made");
	if (byte_at(disk, (31 << 20) + 4096) != 'X')
		fail_msg("expected the holder's write through %s to read back", part3);
}

/* --- loop devices --- */

static void make_loop_file(void)
{
	if (sh("rm -f %s && truncate -s %dM %s", LOOP_FILE, LOOP_FILE_MIB, LOOP_FILE))
		fail_msg("cannot make %s", LOOP_FILE);
}

/* A fresh LOOP_FILE with a free loop device attached read-write. */
static void loop_over_loop_file(void)
{
	int err;

	make_loop_file();
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("cannot attach a loop device to %s: %s", LOOP_FILE, strerror(err));
}

/* 0 or errno of writing 4 KiB of fill at offset of the (regular) file. */
static int file_write(const char *path, off_t offset, char fill)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return errno;
	memset(buf, fill, sizeof(buf));
	if (pwrite(fd, buf, sizeof(buf), offset) != (ssize_t)sizeof(buf))
		r = errno ? errno : EIO;
	close(fd);
	return r;
}

static int file_byte_at(const char *path, off_t offset)
{
	unsigned char b;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;

	if (fd >= 0 && pread(fd, &b, 1, offset) == 1)
		r = b;
	if (fd >= 0)
		close(fd);
	return r;
}

static int write_backing_file(void *arg)
{
	(void)arg;
	return file_write(LOOP_FILE, 8192, 'B');
}

static void non_holder_write_through_a_loop_device_on_a_leased_file_is_denied(void **state)
{
	struct target t = { loop_dev, 4096 };
	int err;

	(void)state;
	make_loop_file();
	lease_path(LOOP_FILE);
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("expected the holder to attach a loop device to its leased file, got %s", strerror(err));
	assert_refused(in_child(write_target, &t), "an O_RDWR|O_DIRECT write through the loop device");
	if (file_byte_at(LOOP_FILE, 4096) == 'X')
		fail_msg("expected the leased file to be unchanged by a write through %s", loop_dev);
	assert_allowed(write_target(&t), "the holder's write through the loop device");
	if (file_byte_at(LOOP_FILE, 4096) != 'X')
		fail_msg("expected the holder's write through %s to reach the file", loop_dev);
}

static void non_holder_attaches_a_loop_device_to_a_leased_file_read_only_at_most(void **state)
{
	struct target t = { loop_dev, 4096 };
	int r;

	(void)state;
	make_loop_file();
	lease_path(LOOP_FILE);
	assert_denied(child_open(LOOP_FILE, O_RDWR), "the non-holder's O_RDWR open of the file to attach");
	pick_free_loop();
	if ((r = in_child(attach_loop_read_only, LOOP_FILE)))
		fail_msg("expected a read-only attach by a non-holder to work, got %s", errno_name(r));
	r = in_child(write_target, &t);
	if (r != EPERM && r != EACCES && r != EROFS)
		fail_msg("expected a write through the read-only loop device to be refused, got %s", errno_name(r));
	if (file_byte_at(LOOP_FILE, 4096) == 'X')
		fail_msg("expected the leased file to be unchanged by a write through %s", loop_dev);
}

static void loop_device_lease_covers_its_backing_file(void **state)
{
	(void)state;
	loop_over_loop_file();
	lease_path(loop_dev);
	assert_denied(child_open(LOOP_FILE, O_RDWR), "a non-holder's O_RDWR open of the backing file");
	assert_refused(in_child(write_backing_file, NULL), "a non-holder's write of the backing file");
	if (file_byte_at(LOOP_FILE, 8192) == 'B')
		fail_msg("expected the backing file to be unchanged by a non-holder's write");
	assert_allowed(write_backing_file(NULL), "the holder's write of the backing file");
}

/* The loop device's open of the file counts in its write count, though it
 * is in no descriptor table: the busy check refuses the acquire. */
static void loop_device_attached_before_a_file_lease_refuses_the_acquire(void **state)
{
	int err;

	(void)state;
	loop_over_loop_file();
	err = try_lease(LOOP_FILE, &key);
	if (err != -EBUSY)
		fail_msg("expected the acquire to be refused with EBUSY while %s writes the file, got %s (%s)",
			 loop_dev, strerror(-err), lw_enforcer_error(enf));
}

/* The enforcer's exclusive claim keeps a leased loop device as it is: no
 * file can be attached to it (nor detached) while the lease lasts. */
static void leased_loop_device_cannot_be_attached(void **state)
{
	int err;

	(void)state;
	make_loop_file();
	pick_free_loop();
	lease_path(loop_dev);
	err = attach_loop(LOOP_FILE, O_RDWR);
	if (err != EBUSY)
		fail_msg("expected attaching the leased %s to fail with EBUSY (claimed), got %s", loop_dev,
			 errno_name(err));
}

static void dm_stacked_later_on_a_covered_loop_device_is_covered(void **state)
{
	char dm[64] = "/dev/";
	struct target t = { dm, 4096 };
	int err;

	(void)state;
	make_loop_file();
	lease_path(LOOP_FILE);
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("expected the holder to attach a loop device to its leased file, got %s", strerror(err));
	if (sh("echo '0 8192 linear %s 0' | dmsetup create lw-test-linear", loop_dev))
		fail_msg("expected dmsetup create over %s to work", loop_dev);
	if (first_line(dm + 5, sizeof(dm) - 5, "dmsetup info -c --noheadings -o blkdevname lw-test-linear"))
		fail_msg("expected dmsetup to name the device of lw-test-linear");
	wait_for_node(dm);
	assert_refused(in_child(write_target, &t), "an O_RDWR|O_DIRECT write through dm stacked on the loop device");
	if (file_byte_at(LOOP_FILE, 4096) == 'X')
		fail_msg("expected the leased file to be unchanged by a write through dm");
	assert_allowed(write_target(&t), "the holder's write through dm");
}

/* The release of a file drops the alias the programs gave a loop device
 * attached to it, also right after a release that found no alias to drop
 * (the release walks the aliases map only when an alias may name a file's
 * lease: here one the programs added since). */
static void loop_device_on_a_leased_file_is_free_after_the_release(void **state)
{
	struct target t = { loop_dev, 4096 };
	char other[] = LOOP_DIR "/quiet.img";
	struct lw_map_key stale;
	int err;

	(void)state;
	if (sh("truncate -s 1M %s", other))
		fail_msg("cannot make %s", other);
	lease_path(other);
	release_lease();	/* no alias anywhere: the next release of a file need not walk */
	make_loop_file();
	lease_path(LOOP_FILE);
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("expected the holder to attach a loop device to its leased file, got %s", strerror(err));
	assert_refused(in_child(write_target, &t), "an O_RDWR|O_DIRECT write through the loop device while leased");
	release_lease();
	assert_allowed(in_child(write_target, &t), "a write through the loop device after the file's release");
	/* the alias itself is gone (one naming no lease lets writes through,
	 * but would take the file's next lease over) */
	if (!bpf_map_get_next_key(lw_bpf_of(enf)->aliases_fd, NULL, &stale))
		fail_msg("expected no alias left after the release, found %llu:%llu",
			 (unsigned long long)stale.dev, (unsigned long long)stale.ino);
}

static void loop_device_detached_from_a_leased_file_is_free_when_attached_again(void **state)
{
	struct target t = { loop_dev, 4096 };
	char other[] = LOOP_DIR "/other.img", same[64];
	int err;

	(void)state;
	make_loop_file();
	lease_path(LOOP_FILE);
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("expected the holder to attach a loop device to its leased file, got %s", strerror(err));
	snprintf(same, sizeof(same), "%s", loop_dev);
	detach_loop();
	snprintf(loop_dev, sizeof(loop_dev), "%s", same);	/* the same device again */
	if (sh("truncate -s 4M %s", other))
		fail_msg("cannot make %s", other);
	if ((err = attach_loop(other, O_RDWR)))
		fail_msg("expected the loop device to attach to an unleased file, got %s", strerror(err));
	assert_allowed(in_child(write_target, &t), "a write through the loop device on the unleased file");
}

/* A child that maps node shared and writable, closes the descriptor and
 * waits to be killed; its pid once the mapping exists. */
static pid_t map_in_child(const char *node)
{
	int ready[2];
	char byte;
	pid_t child;

	if (pipe(ready))
		fail_msg("cannot create a pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		int dev = open(node, O_RDWR | O_CLOEXEC);
		char *map = dev < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);

		if (map == MAP_FAILED)
			_exit(1);
		close(dev);	/* only the mapping is left */
		map[0] = 'M';
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1) {
		waitpid(child, NULL, 0);
		fail_msg("expected the child to map %s shared and writable", node);
	}
	close(ready[0]);
	return child;
}

/* The acquire of node is refused while a child maps mapped, and works once
 * the child is gone. */
static void mapping_refuses_the_acquire(const char *node, const char *mapped)
{
	pid_t child = map_in_child(mapped);
	int err = try_lease(node, &key);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (err != -EBUSY)
		fail_msg("expected the acquire of %s to be refused with EBUSY while pid %d maps %s shared and writable, got %s (%s)",
			 node, (int)child, mapped, strerror(-err), lw_enforcer_error(enf));
	if ((err = try_lease(node, &key)))
		fail_msg("expected the acquire to work once the mapping is gone, got %s: %s", strerror(-err),
			 lw_enforcer_error(enf));
}

/* A mapping outlives its descriptor and devices keep no write count: the
 * busy check walks the mappings themselves. */
static void shared_writable_mapping_of_a_device_refuses_the_acquire(void **state)
{
	(void)state;
	loop_over_loop_file();
	mapping_refuses_the_acquire(loop_dev, loop_dev);
}

/* --- the device under a filesystem --- */

#define MNT "/tmp/lw-blockdev-mnt"
#define MNT_IMAGE MNT "/image.raw"

static void mount_part1_with_an_image(void)
{
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1 && mkdir -p %s && mount -t ext4 %s %s", part1, MNT, part1, MNT))
		fail_msg("cannot mount a fresh ext4 on %s", part1);
	if (sh("truncate -s 4M %s", MNT_IMAGE))
		fail_msg("cannot make %s", MNT_IMAGE);
}

/* debugfs -w, or dd at the image's blocks (debugfs bmap), would write the
 * image behind the filesystem's back: the device is nobody's. */
static void device_under_a_filesystem_with_a_leased_image_is_nobodys(void **state)
{
	struct target gap = { disk, 4096 };	/* before the first partition */

	(void)state;
	mount_part1_with_an_image();
	lease_path(MNT_IMAGE);
	assert_denied(child_open(part1, O_RDWR), "a non-holder's O_RDWR open of the filesystem's device");
	assert_refused(child_open(disk, O_RDWR), "a non-holder's O_RDWR open of the whole disk under it");
	assert_denied(try_open(part1, O_RDWR), "the holder's own O_RDWR open of the device (it writes through the filesystem)");
	assert_allowed(file_write(MNT_IMAGE, 4096, 'H'), "the holder's write of its image through the filesystem");
	assert_allowed(child_open(part1, O_RDONLY), "a read-only open of the device");
	/* SCSI commands stay allowed there (udev's scsi_id, smartctl, multipathd) */
	assert_allowed(in_child(sg_io_write, &gap), "SG_IO on the disk under the filesystem");
	release(NULL);
	assert_allowed(child_open(part1, O_RDWR), "an O_RDWR open of the device after release");
}

/* Each leased image on a file system counts once on its device: the
 * device stays nobody's until the last of them goes. */
static void device_under_a_filesystem_stays_nobodys_until_its_last_image_goes(void **state)
{
	struct lw_image_key second;
	struct lw_holder self;
	int fd, err, with_one;

	(void)state;
	mount_part1_with_an_image();
	if (sh("truncate -s 4M %s/second.raw", MNT))
		fail_msg("cannot make %s/second.raw", MNT);
	lease_path(MNT_IMAGE);
	if ((fd = open(MNT "/second.raw", O_RDONLY | O_CLOEXEC)) < 0)
		fail_msg("cannot open the second image: %s", strerror(errno));
	if ((err = lw_holder_of_pid(getpid(), &self)))
		fail_msg("cannot describe this process as a holder: %s", strerror(-err));
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &second);
	close(fd);
	if (err)
		fail_msg("expected the second lease, got %s: %s", strerror(-err), lw_enforcer_error(enf));
	release_lease();	/* the first image */
	with_one = child_open(part1, O_RDWR);
	if ((err = lw_enforcer_remove_lease(enf, &second)))
		fail_msg("cannot release the second image: %s", lw_enforcer_error(enf));
	assert_denied(with_one, "a non-holder's O_RDWR open of the device while one image is still leased");
	assert_allowed(child_open(part1, O_RDWR), "an O_RDWR open of the device after the last release");
}

/* The file system's devices become nobody's in the acquire's own system
 * call, before the writers check: an acquire refused there takes them
 * back, or the device would stay closed to every writer with no lease. */
static void refused_acquire_leaves_the_device_under_its_filesystem_open(void **state)
{
	pid_t child;
	int err;

	(void)state;
	mount_part1_with_an_image();
	child = map_in_child(MNT_IMAGE);
	err = try_lease(MNT_IMAGE, &key);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (err != -EBUSY)
		fail_msg("expected the acquire to be refused with EBUSY while pid %d maps the image shared and writable, got %s (%s)",
			 (int)child, strerror(-err), lw_enforcer_error(enf));
	assert_allowed(child_open(part1, O_RDWR), "an O_RDWR open of the device after the refused acquire");
}

/* A file already covered by a lease (a leased loop device's backing file)
 * is refused in the insert itself, named as such, and nothing of it is
 * left: its own release finds no lease. */
static void backing_file_of_a_leased_loop_device_cannot_be_leased(void **state)
{
	struct lw_image_key file_key;
	int err;

	(void)state;
	loop_over_loop_file();
	lease_path(loop_dev);
	err = try_lease(LOOP_FILE, &file_key);
	if (err != -EEXIST || !strstr(lw_enforcer_error(enf), "backing file of leased loop device"))
		fail_msg("expected the backing file's lease to be refused as the backing file of the leased loop device, got %s (%s)",
			 strerror(-err), lw_enforcer_error(enf));
	assert_denied(child_open(LOOP_FILE, O_RDWR), "a non-holder's O_RDWR open of the backing file");
}

static void writable_fs_devices_leaves_the_device_under_a_filesystem_open(void **state)
{
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir, .writable_fs_devices = true };
	struct lw_enforcement *loose = NULL;
	struct lw_image_key image_key;
	struct lw_holder self;
	struct lw_err why;
	int fd, err;

	(void)state;
	mount_part1_with_an_image();
	if ((err = lw_enforcer_open(&opts, &loose, &why)))
		fail_msg("cannot open a second enforcer handle: %s", why.msg);
	fd = open(MNT_IMAGE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lw_holder_of_pid(getpid(), &self))
		fail_msg("cannot prepare a lease on %s", MNT_IMAGE);
	err = lw_enforcer_add_lease(loose, fd, LW_LEASE_EXCLUSIVE, &self, &image_key);
	close(fd);
	if (err)
		fail_msg("expected the lease to be taken, got %s: %s", strerror(-err), lw_enforcer_error(loose));
	err = child_open(part1, O_RDWR);
	lw_enforcer_remove_lease(loose, &image_key);
	lw_enforcer_close(loose);
	assert_allowed(err, "an O_RDWR open of the device with writable_fs_devices");
}

/* --- a partition's lease --- */

static void non_holder_write_through_the_whole_disk_under_a_leased_partition_is_denied(void **state)
{
	struct target t = { disk, (1 << 20) + 8192 };

	(void)state;
	direct_write(part1, 8192, 0);
	lease_path(part1);
	assert_refused(in_child(write_target, &t), "a write of the whole disk at the leased partition's offset");
	assert_refused(in_child(sg_io_write, &t), "SG_IO WRITE(10) on the whole disk");
	t.dev = sg;
	assert_refused(in_child(sg_io_write, &t), "SG_IO WRITE(10) through the SCSI generic node");
	assert_not_written(part1, 8192, 'X', "a write through the whole disk");
	assert_not_written(part1, 8192, 'S', "SG_IO under the partition");
}

static void mount_of_a_leased_partition_is_refused(void **state)
{
	(void)state;
	lease_path(part1);
	if (!sh("mkdir -p /tmp/lw-blockdev-mnt && mount -t ext4 %s /tmp/lw-blockdev-mnt 2>/dev/null", part1))
		fail_msg("expected mount of the leased %s to fail", part1);
}

static void holder_writes_its_partition_and_the_other_partition_stays_free(void **state)
{
	struct target mine = { part1, 8192 }, other = { part2, 8192 };

	(void)state;
	lease_path(part1);
	assert_allowed(write_target(&mine), "the holder's O_RDWR|O_DIRECT write of its partition");
	assert_allowed(in_child(write_target, &other), "a write of the other, unleased partition");
}

/* --- after release --- */

static void after_release_dm_linear_and_partition_writes_work(void **state)
{
	struct target t = { part1, 8192 };

	(void)state;
	lease_path(disk);
	release(NULL);
	assert_allowed(in_child(write_target, &t), "a write through a partition after release");
	if (sh("echo '0 8192 linear %s 0' | dmsetup create lw-test-linear", disk))
		fail_msg("expected dmsetup create over %s to work after release", disk);
}

/* --- mounts, claim or not --- */

struct mount_attempt {
	const char *dev;
	const char *dir;
};

/* 0 or errno of mount(2) of an ext4 dev on dir. */
static int mount_ext4(void *arg)
{
	const struct mount_attempt *m = arg;

	mkdir(m->dir, 0755);
	return mount(m->dev, m->dir, "ext4", 0, NULL) ? errno : 0;
}

/* 0 or errno of the new mount API's superblock creation (fsopen,
 * fsconfig source, FSCONFIG_CMD_CREATE): the route without sb_kern_mount. */
static int fsconfig_create_ext4(void *arg)
{
	const struct mount_attempt *m = arg;
	int fs = fsopen("ext4", FSOPEN_CLOEXEC), r = 0;

	if (fs < 0)
		return errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", m->dev, 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		r = errno;
	close(fs);
	return r;
}

/* A cheap fingerprint of the first 2 MiB of a file or device (ext4's
 * superblock, group descriptors, and the start of its journal region). */
static unsigned long long fingerprint(const char *path)
{
	static unsigned char buf[2 << 20];
	unsigned long long h = 1469598103934665603ULL;
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n <= 0)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 1099511628211ULL;
	return h;
}

/* The errno is the filesystem's: refused while it reads its first inode,
 * ext4 answers EINVAL on 6.1 and ENOMEM on 6.12 (EBUSY if refused later).
 * That the refusal is the lease's, the same mount after release shows. */
static void assert_mount_refused(int r, const char *what)
{
	if (!r) {
		umount(MNT2);
		fail_msg("expected %s to be refused, but it mounted", what);
	}
}

/* The control: with the lease released, the same mount works. */
static void assert_mounts_after_release(const char *dev)
{
	struct mount_attempt m = { dev, MNT2 };
	int r;

	release_lease();
	r = in_child(mount_ext4, &m);
	if (r)
		fail_msg("expected %s to mount once the lease is released, got %s", dev, errno_name(r));
	umount(MNT2);
}

/* An ext4 image leased as a file, with a loop device attached by the
 * holder (the programs make it an alias; nobody claims it). */
static void lease_ext4_file_on_a_loop_device(void)
{
	int err;

	make_loop_file();
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", LOOP_FILE))
		fail_msg("cannot make ext4 in %s", LOOP_FILE);
	lease_path(LOOP_FILE);
	pick_free_loop();
	if ((err = attach_loop(LOOP_FILE, O_RDWR)))
		fail_msg("expected the holder to attach a loop device to its leased file, got %s", strerror(err));
}

static int note_mount_event(const struct lw_denial *event, void *ctx)
{
	if (event->op == LW_OP_MOUNT)
		*(bool *)ctx = true;
	return 0;
}

/* A refused mount reaches the events ring as op "mount" (the audit trail's). */
static void assert_mount_event_recorded(void)
{
	struct pollfd pfd = { .fd = lw_enforcer_events_fd(enf), .events = POLLIN };
	bool seen = false;

	for (int waited = 0; !seen && waited < 5000; waited += 50) {
		poll(&pfd, 1, 50);
		lw_enforcer_events_consume(enf, note_mount_event, &seen);
	}
	if (!seen)
		fail_msg("expected a denial event with op mount for the refused mount, got none");
}

static void mount_of_a_loop_device_on_a_leased_file_is_refused_and_writes_nothing(void **state)
{
	struct mount_attempt m = { loop_dev, MNT2 };
	unsigned long long before;

	(void)state;
	lease_ext4_file_on_a_loop_device();
	before = fingerprint(LOOP_FILE);
	assert_mount_refused(in_child(mount_ext4, &m), "a non-holder's mount of the loop device");
	assert_mount_refused(mount_ext4(&m), "the holder's own mount (a mounted filesystem writes for everyone)");
	if (fingerprint(LOOP_FILE) != before)
		fail_msg("expected the refused mounts to leave the leased file unchanged, but its first 2 MiB changed");
	assert_mount_event_recorded();
	assert_mounts_after_release(loop_dev);
}

static void fsconfig_create_on_a_loop_device_on_a_leased_file_is_refused(void **state)
{
	struct mount_attempt m = { loop_dev, MNT2 };
	unsigned long long before;

	(void)state;
	lease_ext4_file_on_a_loop_device();
	before = fingerprint(LOOP_FILE);
	assert_mount_refused(in_child(fsconfig_create_ext4, &m), "fsconfig(FSCONFIG_CMD_CREATE) of the loop device");
	if (fingerprint(LOOP_FILE) != before)
		fail_msg("expected the refused superblock to leave the leased file unchanged, but it changed");
}

/* The device under a mounted filesystem with leased images is nobody's for
 * write opens, but its filesystem may be mounted again (the superblock is
 * the one already mounted). */
static void second_mount_of_a_filesystem_holding_a_leased_image_works(void **state)
{
	struct mount_attempt m = { part1, MNT2 };

	(void)state;
	mount_part1_with_an_image();
	lease_path(MNT_IMAGE);
	assert_allowed(in_child(mount_ext4, &m), "a second mount of the filesystem holding the leased image");
	if (access(MNT2 "/image.raw", F_OK))
		fail_msg("expected the image to be visible through the second mount");
}

/* lw_enforcer_close drops the claims (as a daemon exit does); the pinned
 * programs stay. A handle again afterwards, as the restarted daemon. */
static void close_the_enforcer_handle(void)
{
	lw_enforcer_close(enf);
	enf = NULL;
}

static void reopen_the_enforcer_handle(void)
{
	if (!enf && !(enf = open_enforcer(pin_dir, 64)))
		fail_msg("expected the enforcer to open again on its pins");
}

static int reopen_and_release(void **state)
{
	reopen_the_enforcer_handle();
	return release(state);
}

static void with_no_claim_mount_of_a_leased_partition_is_refused_and_writes_nothing(void **state)
{
	struct mount_attempt m = { part1, MNT2 };
	unsigned long long before;

	(void)state;
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", part1))
		fail_msg("cannot make ext4 on %s", part1);
	lease_path(part1);
	close_the_enforcer_handle();
	before = fingerprint(part1);
	assert_mount_refused(in_child(mount_ext4, &m), "a mount of the leased partition while no claim is held");
	assert_mount_refused(in_child(fsconfig_create_ext4, &m), "fsconfig(FSCONFIG_CMD_CREATE) of it");
	if (fingerprint(part1) != before)
		fail_msg("expected the refused mounts to leave %s unchanged, but it changed", part1);
	reopen_the_enforcer_handle();
	assert_mounts_after_release(part1);
}

/* Without the claim dm can stack on the leased disk; bd_link_disk_holder
 * makes the dm device an alias at once. dm over partition 1's sectors, so
 * the mount below would find its ext4. */
static void with_no_claim_dm_stacked_on_a_leased_disk_is_covered(void **state)
{
	char dm[64] = "/dev/";
	struct target t = { dm, 8192 };
	struct mount_attempt m = { dm, MNT2 };

	(void)state;
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", part1))
		fail_msg("cannot make ext4 on %s", part1);
	lease_path(disk);
	close_the_enforcer_handle();
	if (sh("echo '0 30720 linear %s 2048' | dmsetup create lw-test-linear", disk))
		fail_msg("expected dmsetup create over %s to work while no claim is held", disk);
	if (first_line(dm + 5, sizeof(dm) - 5, "dmsetup info -c --noheadings -o blkdevname lw-test-linear"))
		fail_msg("expected dmsetup to name the device of lw-test-linear");
	wait_for_node(dm);
	direct_write(disk, (1 << 20) + 8192, 0);
	assert_refused(in_child(write_target, &t), "a non-holder's O_RDWR|O_DIRECT write through the dm device");
	assert_not_written(disk, (1 << 20) + 8192, 'X', "a write through dm on the leased disk");
	assert_mount_refused(in_child(mount_ext4, &m), "a mount of the dm device");
	assert_allowed(write_target(&t), "the holder's write through the dm device");
	reopen_the_enforcer_handle();
	release_lease();
	if (sh("mkdir -p %s && mount -t ext4 %s %s && umount %s", MNT2, dm, MNT2, MNT2))
		fail_msg("expected the dm device to mount once the disk's lease is released");
}

/* --- the devices below a leased dm device --- */

static void dm_over(const char *dev, long long sectors, char *dm, size_t size)
{
	if (sh("echo '0 %lld linear %s 0' | dmsetup create lw-test-linear", sectors, dev))
		fail_msg("expected dmsetup create over %s to work", dev);
	if (first_line(dm, size, "dmsetup info -c --noheadings -o blkdevname lw-test-linear"))
		fail_msg("expected dmsetup to name the device of lw-test-linear");
	memmove(dm + 5, dm, strlen(dm) + 1);
	memcpy(dm, "/dev/", 5);
	wait_for_node(dm);
}

/* The device below a dm device writes its sectors too. */
static void shared_writable_mapping_below_a_dm_device_refuses_the_acquire(void **state)
{
	char dm[64];
	(void)state;
	loop_over_loop_file();
	dm_over(loop_dev, 8192, dm, sizeof(dm));
	mapping_refuses_the_acquire(dm, loop_dev);
}

static void paths_below_a_leased_dm_device_refuse_non_holders_write_opens(void **state)
{
	struct target below = { part2, 8192 }, gap = { disk, 4096 };
	char dm[64];
	struct target mine = { dm, 8192 };

	(void)state;
	dm_over(part2, 8192, dm, sizeof(dm) - 5);
	lease_path(dm);
	assert_refused(in_child(write_target, &below), "a non-holder's O_RDWR write of the device below");
	assert_refused(child_open(disk, O_RDWR), "a non-holder's O_RDWR open of the whole disk of the partition below");
	assert_allowed(in_child(sg_io_write, &gap), "SG_IO on the disk below (multipathd, udev)");
	assert_allowed(write_target(&mine), "the holder's O_RDWR|O_DIRECT write of the dm device");
	release(NULL);
	assert_allowed(child_open(part2, O_RDWR), "an O_RDWR open of the device below after release");
	assert_allowed(child_open(disk, O_RDWR), "an O_RDWR open of the whole disk after release");
}

/* multipathd adds a path by reloading its map: the device put below the
 * leased dm device then is covered as the ones below it at the acquire. */
static void path_added_below_a_leased_dm_device_later_is_covered(void **state)
{
	char dm[64];

	(void)state;
	dm_over(part2, 8192, dm, sizeof(dm) - 5);
	lease_path(dm);
	if (sh("printf '0 8192 linear %s 0\\n8192 8192 linear %s 0\\n' | dmsetup reload lw-test-linear && "
	       "dmsetup resume lw-test-linear", part2, part1))
		fail_msg("expected the holder to reload lw-test-linear with a second device below");
	assert_refused(child_open(part1, O_RDWR), "a non-holder's O_RDWR open of the device put below later");
	release_lease();
	assert_allowed(child_open(part1, O_RDWR), "an O_RDWR open of that device after release");
}

static void partitions_of_a_disk_below_a_leased_dm_device_are_covered(void **state)
{
	char dm[64];

	(void)state;
	dm_over(disk, 8192, dm, sizeof(dm) - 5);
	lease_path(dm);
	assert_refused(child_open(disk, O_RDWR), "a non-holder's O_RDWR open of the disk below");
	assert_refused(child_open(part1, O_RDWR), "a non-holder's O_RDWR open of a partition of the disk below");
	release(NULL);
	assert_allowed(child_open(part1, O_RDWR), "an O_RDWR open of the partition after release");
}

#define CASE(t) cmocka_unit_test_teardown(t, release)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(non_holder_write_through_a_partition_of_a_leased_disk_is_denied),
		CASE(non_holder_sg_io_write_on_a_read_only_disk_descriptor_is_denied),
		CASE(non_holder_sg_io_write_through_the_scsi_generic_node_is_denied),
		CASE(non_holder_blkpg_on_a_leased_disk_is_denied),
		CASE(dm_linear_over_a_leased_disk_is_refused),
		CASE(holder_writes_the_disk_and_its_partition_with_o_direct),
		CASE(non_holder_write_through_the_whole_disk_under_a_leased_partition_is_denied),
		CASE(mount_of_a_leased_partition_is_refused),
		CASE(holder_writes_its_partition_and_the_other_partition_stays_free),
		CASE(after_release_dm_linear_and_partition_writes_work),
		cmocka_unit_test_teardown(partition_made_after_a_disk_lease_is_covered, remove_partition_3),
		CASE(non_holder_write_through_a_loop_device_on_a_leased_file_is_denied),
		CASE(non_holder_attaches_a_loop_device_to_a_leased_file_read_only_at_most),
		CASE(loop_device_lease_covers_its_backing_file),
		CASE(leased_loop_device_cannot_be_attached),
		CASE(loop_device_attached_before_a_file_lease_refuses_the_acquire),
		CASE(dm_stacked_later_on_a_covered_loop_device_is_covered),
		CASE(loop_device_on_a_leased_file_is_free_after_the_release),
		CASE(loop_device_detached_from_a_leased_file_is_free_when_attached_again),
		CASE(shared_writable_mapping_of_a_device_refuses_the_acquire),
		CASE(shared_writable_mapping_below_a_dm_device_refuses_the_acquire),
		CASE(device_under_a_filesystem_with_a_leased_image_is_nobodys),
		CASE(device_under_a_filesystem_stays_nobodys_until_its_last_image_goes),
		CASE(refused_acquire_leaves_the_device_under_its_filesystem_open),
		CASE(backing_file_of_a_leased_loop_device_cannot_be_leased),
		CASE(writable_fs_devices_leaves_the_device_under_a_filesystem_open),
		CASE(mount_of_a_loop_device_on_a_leased_file_is_refused_and_writes_nothing),
		CASE(fsconfig_create_on_a_loop_device_on_a_leased_file_is_refused),
		CASE(second_mount_of_a_filesystem_holding_a_leased_image_works),
		cmocka_unit_test_teardown(with_no_claim_mount_of_a_leased_partition_is_refused_and_writes_nothing,
					  reopen_and_release),
		cmocka_unit_test_teardown(with_no_claim_dm_stacked_on_a_leased_disk_is_covered, reopen_and_release),
		CASE(paths_below_a_leased_dm_device_refuse_non_holders_write_opens),
		CASE(partitions_of_a_disk_below_a_leased_dm_device_are_covered),
		CASE(path_added_below_a_leased_dm_device_later_is_covered),
	};
	int failed;

	if (make_disk() || mount_test_fs("tmpfs", LOOP_DIR) || sh("modprobe loop 2>/dev/null; true"))
		return 1;
	test_pin_dir(pin_dir, sizeof(pin_dir), "blockdev");
	enf = open_enforcer(pin_dir, 64);
	if (!enf)
		return 1;
	failed = cmocka_run_group_tests_name("block devices", tests, NULL, NULL);
	close_and_unpin(enf);
	sh("dmsetup remove lw-test-linear 2>/dev/null; rmmod scsi_debug 2>/dev/null; true");
	unmount_test_fs(LOOP_DIR);
	return failed;
}
