// SPDX-License-Identifier: LGPL-2.1-or-later
/* Who holds a lease and what may stop one from being taken: cgroup holders,
 * shared leases, a reused pid, block devices by i_rdev, write descriptors
 * opened before the lease, and a full lease table. Images on tmpfs. */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "enforce_common.h"
#include "enforcer/enforcer_internal.h"

#define DIR_ "/tmp/lw-holders"

static struct lw_enforcement *enf;
static char pin_dir[128];
static const char *image = DIR_ "/image.raw";
static int image_fd = -1;
static struct lw_image_key key;

static int fresh_image(void **state)
{
	(void)state;
	write_file(image, "image content\n");
	image_fd = open(image, O_RDONLY | O_CLOEXEC);
	return image_fd < 0 ? -1 : 0;
}

static int drop_image(void **state)
{
	(void)state;
	lw_enforcer_remove_lease(enf, &key);	/* if a test left it */
	memset(&key, 0, sizeof(key));
	if (image_fd >= 0)
		close(image_fd);
	image_fd = -1;
	unlink(image);
	return 0;
}

static void take_lease(enum lw_lease_mode mode, const struct lw_holder *holder)
{
	int err = lw_enforcer_add_lease(enf, image_fd, mode, holder, &key);

	if (err)
		fail_msg("expected the lease to be taken, got %s: %s", strerror(-err), lw_enforcer_error(enf));
}

static int open_image_rdwr(void *arg)
{
	(void)arg;
	return try_open(image, O_RDWR);
}

/* --- cgroup holders --- */

static char cgroup_dir[128];

static int join_cgroup(void *arg)
{
	char procs[256];
	const char *sub = arg;

	snprintf(procs, sizeof(procs), "%s/%s/cgroup.procs", cgroup_dir, sub);
	FILE *f = fopen(procs, "we");
	if (!f)
		return 250;
	fprintf(f, "%d\n", getpid());
	if (fclose(f))
		return 250;
	return try_open(image, O_RDWR);
}

static void lease_to_cgroup(void)
{
	char path[256];
	struct lw_holder holder;
	int err;

	snprintf(cgroup_dir, sizeof(cgroup_dir), "/sys/fs/cgroup/lw-test-%d", getpid());
	if (sh("mkdir -p %s/holder/below", cgroup_dir))
		fail_msg("expected to create cgroups under %s (is cgroup2 mounted at /sys/fs/cgroup?)", cgroup_dir);
	snprintf(path, sizeof(path), "%s/holder", cgroup_dir);
	if ((err = lw_holder_of_cgroup(path, &holder)))
		fail_msg("cannot describe %s as a holder: %s", path, strerror(-err));
	take_lease(LW_LEASE_EXCLUSIVE, &holder);
}

static int remove_cgroups(void **state)
{
	drop_image(state);
	sh("rmdir %s/holder/below %s/holder %s 2>/dev/null; true", cgroup_dir, cgroup_dir, cgroup_dir);
	return 0;
}

static void task_in_cgroup_holder_open_rdwr_is_allowed(void **state)
{
	(void)state;
	lease_to_cgroup();
	assert_allowed(in_child(join_cgroup, "holder"), "an O_RDWR open by a task in the holder cgroup");
}

static void task_below_cgroup_holder_open_rdwr_is_allowed(void **state)
{
	(void)state;
	lease_to_cgroup();
	assert_allowed(in_child(join_cgroup, "holder/below"),
		       "an O_RDWR open by a task in a cgroup below the holder");
}

static void task_outside_cgroup_holder_open_rdwr_is_denied(void **state)
{
	(void)state;
	lease_to_cgroup();
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open by a task outside the holder cgroup");
}

/* --- process holders and shared leases --- */

static int open_image_rdwr_if_pid(void *arg)
{
	if (getpid() != *(pid_t *)arg)
		return 253;
	return try_open(image, O_RDWR);
}

static void new_process_with_dead_holders_pid_is_denied(void **state)
{
	struct helper holder_proc = { .pid = 0, .go_fd = -1 };
	struct lw_holder holder;
	pid_t dead;
	FILE *f;
	int r;

	(void)state;
	helper_start(&holder_proc, NULL, NULL, NULL);
	dead = holder_proc.pid;
	holder = holder_of(dead);
	take_lease(LW_LEASE_EXCLUSIVE, &holder);
	helper_finish(&holder_proc);
	/* Start times have clock-tick (10 ms) resolution. */
	usleep(30 * 1000);
	/* The next fork gets the dead holder's pid. */
	f = fopen("/proc/sys/kernel/ns_last_pid", "we");
	if (!f)
		fail_msg("cannot open ns_last_pid: %s", strerror(errno));
	fprintf(f, "%d", dead - 1);
	fclose(f);
	r = in_child(open_image_rdwr_if_pid, &dead);
	if (r == 253)
		fail_msg("expected the new process to get pid %d, it got another", dead);
	assert_denied(r, "an O_RDWR open by a new process with the dead holder's pid");
}

static void exclusive_lease_refuses_a_second_holder(void **state)
{
	struct lw_holder self = holder_of(getpid()), other = self;

	(void)state;
	take_lease(LW_LEASE_EXCLUSIVE, &self);
	other.pid = 1;
	assert_int_equal(lw_enforcer_add_holder(enf, &key, &other), -EINVAL);
}

static void shared_lease_second_holder_open_rdwr_is_allowed(void **state)
{
	struct lw_holder self = holder_of(getpid()), second;
	struct helper h = { .pid = 0, .go_fd = -1 };
	int err;

	(void)state;
	take_lease(LW_LEASE_SHARED, &self);
	helper_start(&h, NULL, open_image_rdwr, NULL);
	second = holder_of(h.pid);
	if ((err = lw_enforcer_add_holder(enf, &key, &second)))
		fail_msg("expected a second holder to be added, got %s: %s", strerror(-err), lw_enforcer_error(enf));
	assert_allowed(helper_finish(&h), "an O_RDWR open by the shared lease's second holder");
}

static void shared_lease_refuses_more_than_max_holders(void **state)
{
	struct lw_holder holder = holder_of(getpid());
	int err = 0;

	(void)state;
	take_lease(LW_LEASE_SHARED, &holder);
	for (int i = 1; i <= LW_MAX_HOLDERS && !err; i++) {
		holder.pid = getpid() + 100000 + i;	/* distinct, never running */
		err = lw_enforcer_add_holder(enf, &key, &holder);
		if (err && i < LW_MAX_HOLDERS)
			fail_msg("expected holder %d of %d to be added, got %s", i + 1, LW_MAX_HOLDERS, strerror(-err));
	}
	assert_int_equal(err, -E2BIG);
}

static void removing_the_last_holder_releases_the_lease(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_lease lease;

	(void)state;
	take_lease(LW_LEASE_EXCLUSIVE, &self);
	assert_int_equal(lw_enforcer_remove_holder(enf, &key, &self), 0);
	assert_int_equal(lw_enforcer_lookup(enf, &key, &lease), -ENOENT);
	assert_allowed(child_open(image, O_RDWR), "an O_RDWR open after the last holder left");
}

static void second_lease_on_a_leased_image_is_eexist(void **state)
{
	struct lw_holder self = holder_of(getpid());

	(void)state;
	take_lease(LW_LEASE_EXCLUSIVE, &self);
	assert_int_equal(lw_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, NULL), -EEXIST);
}

/* --- write descriptors opened before the lease --- */

static int hold_write_fd(void *arg)
{
	(void)arg;
	return open(image, O_RDWR) < 0 ? errno : 0;	/* kept open until exit */
}

static int map_shared_writable_then_close(void *arg)
{
	int fd = open(image, O_RDWR);
	void *map;

	(void)arg;
	if (fd < 0)
		return errno;
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);	/* the mapping keeps write access */
	return map == MAP_FAILED ? errno : 0;
}

static void acquire_with_a_non_holder_write_fd_is_busy_and_names_it(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_writer writer = {};
	char comm[LW_COMM_LEN + 1] = "";
	struct helper h = { .pid = 0, .go_fd = -1 };
	pid_t writer_pid;
	int err;

	(void)state;
	assert_int_equal(helper_start(&h, hold_write_fd, NULL, NULL), 0);
	writer_pid = h.pid;
	err = lw_enforcer_add_lease_flags(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, 0, &key, &writer);
	helper_finish(&h);
	if (err != -EBUSY)
		fail_msg("expected EBUSY with a write descriptor open, got %s", errno_name(-err));
	FILE *f = fopen("/proc/self/comm", "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
	if (writer.pid != (__u32)writer_pid)
		fail_msg("expected the writer's pid %d in the answer, got %u", writer_pid, writer.pid);
	if (strncmp(writer.comm, comm, LW_COMM_LEN))
		fail_msg("expected the writer's comm '%s', got '%.16s'", comm, writer.comm);
	if (!strstr(lw_enforcer_error(enf), "open for write by pid"))
		fail_msg("expected a reason naming the writer, got '%s'", lw_enforcer_error(enf));
}

static void busy_acquire_leaves_the_image_unleased(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_image_key probe;
	struct lw_lease lease;
	struct helper h = { .pid = 0, .go_fd = -1 };

	(void)state;
	assert_int_equal(helper_start(&h, hold_write_fd, NULL, NULL), 0);
	assert_int_equal(lw_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, NULL), -EBUSY);
	helper_finish(&h);
	assert_int_equal(lw_enforcer_key_of_fd(enf, image_fd, &probe), 0);
	assert_int_equal(lw_enforcer_lookup(enf, &probe, &lease), -ENOENT);
	assert_allowed(child_open(image, O_RDWR), "an O_RDWR open after a refused acquire");
}

static void acquire_with_a_shared_writable_mapping_is_busy(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_writer writer = { .pid = 12345 };
	struct helper h = { .pid = 0, .go_fd = -1 };
	int err;

	(void)state;
	assert_int_equal(helper_start(&h, map_shared_writable_then_close, NULL, NULL), 0);
	err = lw_enforcer_add_lease_flags(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, 0, &key, &writer);
	helper_finish(&h);
	if (err != -EBUSY)
		fail_msg("expected EBUSY with a shared writable mapping, got %s", errno_name(-err));
	assert_int_equal(writer.pid, 0);
}

static void forced_acquire_with_a_write_fd_succeeds(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct helper h = { .pid = 0, .go_fd = -1 };
	int err;

	(void)state;
	assert_int_equal(helper_start(&h, hold_write_fd, NULL, NULL), 0);
	err = lw_enforcer_add_lease_flags(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, LW_LEASE_FORCE, &key, NULL);
	helper_finish(&h);
	if (err)
		fail_msg("expected a forced acquire to succeed, got %s: %s", strerror(-err), lw_enforcer_error(enf));
}

static void acquire_with_the_holders_own_write_fd_succeeds(void **state)
{
	struct lw_holder holder;
	struct helper h = { .pid = 0, .go_fd = -1 };
	int err;

	(void)state;
	assert_int_equal(helper_start(&h, hold_write_fd, NULL, NULL), 0);
	holder = holder_of(h.pid);
	err = lw_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &holder, &key);
	helper_finish(&h);
	if (err)
		fail_msg("expected the acquire to succeed (the writer is the holder), got %s: %s",
			 strerror(-err), lw_enforcer_error(enf));
}

/* The writers check trusts the kernel's write count when it shows no
 * opener but the caller's own write descriptor: these prove it still walks
 * and names a writer when there is one more. */
static void acquire_by_own_write_fd_with_another_writer_is_busy(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_writer writer = {};
	struct helper h = { .pid = 0, .go_fd = -1 };
	int own = open(image, O_RDWR | O_CLOEXEC), err;
	pid_t writer_pid;

	(void)state;
	assert_true(own >= 0);
	assert_int_equal(helper_start(&h, hold_write_fd, NULL, NULL), 0);
	writer_pid = h.pid;
	err = lw_enforcer_add_lease_flags(enf, own, LW_LEASE_EXCLUSIVE, &self, 0, &key, &writer);
	helper_finish(&h);
	close(own);
	if (err != -EBUSY)
		fail_msg("expected EBUSY with our write descriptor and another writer's, got %s",
			 errno_name(-err));
	if (writer.pid != (__u32)writer_pid)
		fail_msg("expected the other writer's pid %d in the answer, got %u", writer_pid, writer.pid);
}

static void acquire_by_own_write_fd_with_a_hidden_mapping_is_busy(void **state)
{
	struct lw_holder self = holder_of(getpid());
	struct lw_writer writer = { .pid = 12345 };
	struct helper h = { .pid = 0, .go_fd = -1 };
	int own = open(image, O_RDWR | O_CLOEXEC), err;

	(void)state;
	assert_true(own >= 0);
	assert_int_equal(helper_start(&h, map_shared_writable_then_close, NULL, NULL), 0);
	err = lw_enforcer_add_lease_flags(enf, own, LW_LEASE_EXCLUSIVE, &self, 0, &key, &writer);
	helper_finish(&h);
	close(own);
	if (err != -EBUSY)
		fail_msg("expected EBUSY with our write descriptor and a shared writable mapping, got %s",
			 errno_name(-err));
	assert_int_equal(writer.pid, 0);
}

static void acquire_by_own_only_write_fd_succeeds(void **state)
{
	struct lw_holder self = holder_of(getpid());
	int own = open(image, O_RDWR | O_CLOEXEC), err;

	(void)state;
	assert_true(own >= 0);
	err = lw_enforcer_add_lease(enf, own, LW_LEASE_EXCLUSIVE, &self, &key);
	close(own);
	if (err)
		fail_msg("expected the acquire to succeed (the one writer is ours), got %s: %s",
			 strerror(-err), lw_enforcer_error(enf));
}

static void key_probe_answers_for_our_descriptor(void **state)
{
	struct lw_image_key walked;
	struct lw_key_probe answer;
	struct stat st;

	(void)state;
	/* the constant-time answer, not the files iterator's fallback */
	assert_int_equal(lw_key_probe(lw_bpf_of(enf), image_fd, &answer), 0);
	assert_int_equal(fstat(image_fd, &st), 0);
	assert_int_equal(answer.key.ino, st.st_ino);
	assert_int_equal(answer.writecount, 0);
	assert_int_equal(answer.f_mode & LW_FMODE_WRITE, 0);
	assert_int_equal(lw_enforcer_key_of_fd(enf, image_fd, &walked), 0);
	assert_int_equal(walked.dev, answer.key.dev);
}

/* Every enforcer attached answers into its own map, also when another
 * one's program ran first (other pin folders: several daemons, tests). */
static void key_probe_answers_two_enforcers_at_once(void **state)
{
	char other_dir[128];
	struct lw_enforcement *other;
	struct lw_key_probe mine, theirs;

	(void)state;
	test_pin_dir(other_dir, sizeof(other_dir), "holders-other");
	other = open_enforcer(other_dir, 16);
	assert_non_null(other);
	assert_int_equal(lw_key_probe(lw_bpf_of(other), image_fd, &theirs), 0);
	assert_int_equal(lw_key_probe(lw_bpf_of(enf), image_fd, &mine), 0);
	close_and_unpin(other);
	assert_int_equal(mine.key.ino, theirs.key.ino);
	assert_int_equal(mine.key.dev, theirs.key.dev);
}

/* The writers probe answers in the ioctl's own result: EALREADY while no
 * one but the probing descriptor writes the file, EBUSY once another
 * does; every enforcer attached alike; untagged, the file's own answer. */
static int writers_probe(int fd, unsigned long arg)
{
	return ioctl(fd, LW_IOC_WRITERS_PROBE, arg) == 0 ? 0 : errno;
}

static void writers_probe_answers_in_the_call(void **state)
{
	char other_dir[128];
	struct lw_enforcement *other;
	int own, second;

	(void)state;
	assert_int_equal(writers_probe(image_fd, LW_KEY_PROBE_TAG), EALREADY);	/* read-only, no writer */
	own = open(image, O_RDWR | O_CLOEXEC);
	assert_true(own >= 0);
	assert_int_equal(writers_probe(image_fd, LW_KEY_PROBE_TAG), EBUSY);	/* own writes, not image_fd */
	assert_int_equal(writers_probe(own, LW_KEY_PROBE_TAG), EALREADY);	/* the one writer is itself */
	assert_int_equal(writers_probe(own, 0), ENOTTY);
	second = open(image, O_WRONLY | O_CLOEXEC);
	assert_true(second >= 0);
	assert_int_equal(writers_probe(own, LW_KEY_PROBE_TAG), EBUSY);
	assert_int_equal(writers_probe(image_fd, LW_KEY_PROBE_TAG), EBUSY);
	test_pin_dir(other_dir, sizeof(other_dir), "holders-other");
	other = open_enforcer(other_dir, 16);
	assert_non_null(other);
	assert_int_equal(writers_probe(own, LW_KEY_PROBE_TAG), EBUSY);
	close(second);
	assert_int_equal(writers_probe(own, LW_KEY_PROBE_TAG), EALREADY);
	close_and_unpin(other);
	close(own);
}

/* Anyone may send the key probe (it tells a file's key, which fstat does
 * too); it must neither change the file nor disturb our answers. */
static int probe_as_a_stranger(void *arg)
{
	int fd = open(image, O_RDONLY);

	(void)arg;
	if (fd < 0)
		return errno;
	for (int i = 0; i < 1000; i++)
		if (ioctl(fd, 0x4c57, 0x4c57000000000000ULL | (unsigned long)i) == 0 || errno != ENOTTY)
			return EPROTO;
	/* untagged: not a probe, the file's own answer */
	return ioctl(fd, 0x4c57, 0UL) == 0 ? EPROTO : 0;
}

static void probes_by_a_stranger_leave_the_key_right(void **state)
{
	struct lw_image_key before, after;
	struct stat st;

	(void)state;
	assert_int_equal(lw_enforcer_key_of_fd(enf, image_fd, &before), 0);
	assert_int_equal(in_child(probe_as_a_stranger, NULL), 0);
	assert_int_equal(lw_enforcer_key_of_fd(enf, image_fd, &after), 0);
	assert_int_equal(fstat(image_fd, &st), 0);
	assert_int_equal(after.dev, before.dev);
	assert_int_equal(after.ino, st.st_ino);
}

/* --- block devices --- */

static char loop_dev[64];
static const char *backing = DIR_ "/disk.img";
static const char *second_node = DIR_ "/second-node";

static int attach_loop(void **state)
{
	FILE *p;

	(void)state;
	if (sh("modprobe loop 2>/dev/null; truncate -s 16M %s", backing))
		return -1;
	p = popen("losetup -f --show " DIR_ "/disk.img", "r");
	if (!p || !fgets(loop_dev, sizeof(loop_dev), p)) {
		fprintf(stderr, "# expected losetup to attach %s, it did not\n", backing);
		if (p)
			pclose(p);
		return -1;
	}
	pclose(p);
	loop_dev[strcspn(loop_dev, "\n")] = 0;
	image_fd = open(loop_dev, O_RDONLY | O_CLOEXEC);
	if (image_fd < 0)
		return -1;
	struct lw_holder self;
	lw_holder_of_pid(getpid(), &self);
	if (lw_enforcer_add_lease(enf, image_fd, LW_LEASE_EXCLUSIVE, &self, &key)) {
		fprintf(stderr, "# expected a lease on %s: %s\n", loop_dev, lw_enforcer_error(enf));
		return -1;
	}
	return 0;
}

static int detach_loop(void **state)
{
	(void)state;
	lw_enforcer_remove_lease(enf, &key);
	close(image_fd);
	image_fd = -1;
	unlink(second_node);
	sh("losetup -d %s; rm -f %s", loop_dev, backing);
	return 0;
}

static void block_device_key_is_its_rdev(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(loop_dev, &st), 0);
	/* The kernel's dev_t: major << 20 | minor. */
	assert_int_equal(key.dev, ((__u64)major(st.st_rdev) << 20) | minor(st.st_rdev));
	assert_int_equal(key.ino, 0);
}

static void non_holder_open_block_device_rdwr_is_denied(void **state)
{
	(void)state;
	assert_denied(child_open(loop_dev, O_RDWR), "a non-holder's O_RDWR open of the leased loop device");
}

static void non_holder_open_second_device_node_is_denied(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(loop_dev, &st), 0);
	if (mknod(second_node, S_IFBLK | 0600, st.st_rdev))
		fail_msg("cannot mknod %s: %s", second_node, strerror(errno));
	assert_denied(child_open(second_node, O_RDWR), "an O_RDWR open through a second device node");
}

static void holder_open_block_device_rdwr_is_allowed(void **state)
{
	(void)state;
	assert_allowed(try_open(loop_dev, O_RDWR), "the holder's O_RDWR open of the loop device");
}

static void non_holder_open_block_device_rdonly_is_allowed(void **state)
{
	(void)state;
	assert_allowed(child_open(loop_dev, O_RDONLY), "a non-holder's O_RDONLY open of the loop device");
}

/* --- keys from the kernel: btrfs and overlayfs --- */

#define BTRFS_DIR "/tmp/lw-keys-btrfs"
#define OVL "/tmp/lw-keys-ovl"

/* Lease path to this process; the key in *out. */
static int lease_path(const char *path, struct lw_image_key *out)
{
	struct lw_holder self = holder_of(getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, out);
	close(fd);
	if (err)
		fail_msg("expected a lease on %s, got %s: %s", path, strerror(-err), lw_enforcer_error(enf));
	return 0;
}

static void btrfs_image_key_differs_from_stat_and_is_enforced(void **state)
{
	const char *path = BTRFS_DIR "/image.raw";
	struct lw_image_key btrfs_key;
	struct stat st;
	__u64 stat_dev;

	(void)state;
	if (mount_test_fs("btrfs", BTRFS_DIR))
		fail_msg("expected to make a btrfs filesystem in the guest");
	write_file(path, "x");
	lease_path(path, &btrfs_key);
	assert_int_equal(stat(path, &st), 0);
	stat_dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	fprintf(stderr, "# btrfs: stat() says dev %u:%u, the kernel's key has %llu:%llu\n", major(st.st_dev),
		minor(st.st_dev), (unsigned long long)(btrfs_key.dev >> 20),
		(unsigned long long)(btrfs_key.dev & 0xfffff));
	if (stat_dev == btrfs_key.dev)
		fail_msg("expected btrfs's stat() dev to differ from the superblock's s_dev");
	assert_denied(child_open(path, O_RDWR), "a non-holder's O_RDWR open on btrfs");
	lw_enforcer_remove_lease(enf, &btrfs_key);
	unmount_test_fs(BTRFS_DIR);
}

static int mount_overlay(void **state)
{
	(void)state;
	if (sh("mkdir -p " OVL " && mount -t tmpfs lw-ovl " OVL " && mkdir " OVL "/lower " OVL "/upper "
	       OVL "/work " OVL "/merged && echo x > " OVL "/upper/image.raw && modprobe overlay 2>/dev/null; "
	       "mount -t overlay overlay -o lowerdir=" OVL "/lower,upperdir=" OVL "/upper,workdir=" OVL
	       "/work " OVL "/merged"))
		return -1;
	return 0;
}

static int unmount_overlay(void **state)
{
	(void)state;
	lw_enforcer_remove_lease(enf, &key);
	sh("umount " OVL "/merged; umount " OVL "; rmdir " OVL);
	return 0;
}

static void overlay_lease_by_upper_path_denies_opens_through_the_overlay(void **state)
{
	(void)state;
	lease_path(OVL "/upper/image.raw", &key);
	assert_denied(child_open(OVL "/merged/image.raw", O_RDWR), "an O_RDWR open through the overlay");
}

static void overlay_lease_by_upper_path_denies_opens_of_the_upper_path(void **state)
{
	(void)state;
	lease_path(OVL "/upper/image.raw", &key);
	assert_denied(child_open(OVL "/upper/image.raw", O_RDWR), "an O_RDWR open of the upper file");
}

static void overlay_lease_by_overlay_path_denies_opens_through_the_overlay(void **state)
{
	(void)state;
	lease_path(OVL "/merged/image.raw", &key);
	assert_denied(child_open(OVL "/merged/image.raw", O_RDWR), "an O_RDWR open through the overlay");
}

/* --- capacity --- */

static void full_lease_table_is_enospc_and_changes_nothing(void **state)
{
	char small_pins[128], path[64];
	struct lw_holder self = holder_of(getpid());
	struct lw_image_key keys[3];
	struct lw_lease lease;
	struct lw_enforcement *small;
	int fds[3], err;

	(void)state;
	test_pin_dir(small_pins, sizeof(small_pins), "small");
	small = open_enforcer(small_pins, 2);
	assert_non_null(small);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), DIR_ "/img%d", i);
		write_file(path, "x");
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		err = lw_enforcer_add_lease(small, fds[i], LW_LEASE_EXCLUSIVE, &self, &keys[i]);
		if (i < 2 && err)
			fail_msg("expected lease %d of 2 to be taken, got %s", i + 1, strerror(-err));
	}
	if (err != -ENOSPC)
		fail_msg("expected ENOSPC for a third lease in a table of 2, got %s", errno_name(-err));
	if (!strstr(lw_enforcer_error(small), "full"))
		fail_msg("expected a reason saying the table is full, got '%s'", lw_enforcer_error(small));
	assert_int_equal(lw_enforcer_lookup(small, &keys[0], &lease), 0);
	assert_int_equal(lw_enforcer_lookup(small, &keys[1], &lease), 0);
	assert_allowed(child_open(DIR_ "/img2", O_RDWR), "an O_RDWR open of the image that did not fit");
	assert_denied(child_open(DIR_ "/img0", O_RDWR), "an O_RDWR open of a leased image in a full table");
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close_and_unpin(small);
}

static const struct CMUnitTest holders[] = {
	cmocka_unit_test_setup_teardown(task_in_cgroup_holder_open_rdwr_is_allowed, fresh_image, remove_cgroups),
	cmocka_unit_test_setup_teardown(task_below_cgroup_holder_open_rdwr_is_allowed, fresh_image, remove_cgroups),
	cmocka_unit_test_setup_teardown(task_outside_cgroup_holder_open_rdwr_is_denied, fresh_image, remove_cgroups),
	cmocka_unit_test_setup_teardown(new_process_with_dead_holders_pid_is_denied, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(exclusive_lease_refuses_a_second_holder, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(shared_lease_second_holder_open_rdwr_is_allowed, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(shared_lease_refuses_more_than_max_holders, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(removing_the_last_holder_releases_the_lease, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(second_lease_on_a_leased_image_is_eexist, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(full_lease_table_is_enospc_and_changes_nothing, fresh_image, drop_image),
};

static const struct CMUnitTest writers_before_lease[] = {
	cmocka_unit_test_setup_teardown(acquire_with_a_non_holder_write_fd_is_busy_and_names_it, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(busy_acquire_leaves_the_image_unleased, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(acquire_with_a_shared_writable_mapping_is_busy, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(forced_acquire_with_a_write_fd_succeeds, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(acquire_by_own_write_fd_with_another_writer_is_busy, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(acquire_by_own_write_fd_with_a_hidden_mapping_is_busy, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(acquire_by_own_only_write_fd_succeeds, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(key_probe_answers_for_our_descriptor, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(key_probe_answers_two_enforcers_at_once, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(probes_by_a_stranger_leave_the_key_right, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(writers_probe_answers_in_the_call, fresh_image, drop_image),
	cmocka_unit_test_setup_teardown(acquire_with_the_holders_own_write_fd_succeeds, fresh_image, drop_image),
};

static const struct CMUnitTest block_device[] = {
	cmocka_unit_test(block_device_key_is_its_rdev),
	cmocka_unit_test(non_holder_open_block_device_rdwr_is_denied),
	cmocka_unit_test(non_holder_open_second_device_node_is_denied),
	cmocka_unit_test(non_holder_open_block_device_rdonly_is_allowed),
	cmocka_unit_test(holder_open_block_device_rdwr_is_allowed),
};

static const struct CMUnitTest kernel_keys[] = {
	cmocka_unit_test(btrfs_image_key_differs_from_stat_and_is_enforced),
	cmocka_unit_test_setup_teardown(overlay_lease_by_upper_path_denies_opens_through_the_overlay,
					mount_overlay, unmount_overlay),
	cmocka_unit_test_setup_teardown(overlay_lease_by_upper_path_denies_opens_of_the_upper_path,
					mount_overlay, unmount_overlay),
	cmocka_unit_test_setup_teardown(overlay_lease_by_overlay_path_denies_opens_through_the_overlay,
					mount_overlay, unmount_overlay),
};

int main(void)
{
	int failed = 0;

	test_pin_dir(pin_dir, sizeof(pin_dir), "holders");
	if (mount_test_fs("tmpfs", DIR_))
		return 1;
	enf = open_enforcer(pin_dir, 0);
	if (!enf)
		return 1;
	failed += cmocka_run_group_tests_name("holders", holders, NULL, NULL);
	failed += cmocka_run_group_tests_name("write descriptors opened before the lease",
					      writers_before_lease, NULL, NULL);
	failed += cmocka_run_group_tests_name("block devices by i_rdev", block_device, attach_loop, detach_loop);
	failed += cmocka_run_group_tests_name("keys from the kernel", kernel_keys, NULL, NULL);
	close_and_unpin(enf);
	unmount_test_fs(DIR_);
	return failed ? 1 : 0;
}
