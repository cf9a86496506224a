// SPDX-License-Identifier: LGPL-2.1-or-later
/* Continuity: a second loader adopts the pins, killing a loader leaves no
 * moment without enforcement, a new program version replaces the old one
 * without a gap and keeps the leases, and unpinning stops enforcement.
 * A writer keeps trying to open the image for write throughout. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "enforce_common.h"

#define DIR_ "/tmp/lw-pins"
/* How long the kernel may take to release unpinned links: an RCU grace
 * period and a work item, far less than this even on a loaded host. */
#define UNPIN_RELEASE_BOUND_MS 20000

static const char *image = DIR_ "/image.raw";
static char pin_dir[128];

/* --- the writer that polls --- */

struct poller {
	pid_t pid;
	int stop_fd;	/* write end: closing it stops the poller */
	int result_fd;	/* read end: attempts and successes */
};

static void poller_start(struct poller *p)
{
	int stop[2], result[2];

	if (pipe(stop) || pipe(result))
		fail_msg("cannot create pipes: %s", strerror(errno));
	p->pid = fork();
	if (p->pid == 0) {
		__u64 counts[2] = { 0, 0 };	/* attempts, successes */
		struct pollfd pfd = { .fd = stop[0], .events = POLLIN };

		close(stop[1]);
		close(result[0]);
		while (poll(&pfd, 1, 0) == 0) {
			counts[0]++;
			counts[1] += try_open(image, O_RDWR) == 0;
		}
		_exit(write(result[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
	}
	close(stop[0]);
	close(result[1]);
	p->stop_fd = stop[1];
	p->result_fd = result[0];
}

static void poller_stop_and_check(struct poller *p, const char *during)
{
	__u64 counts[2] = { 0, 0 };

	close(p->stop_fd);
	if (read(p->result_fd, counts, sizeof(counts)) != sizeof(counts))
		fail_msg("the writer did not report its counts");
	close(p->result_fd);
	waitpid(p->pid, NULL, 0);
	fprintf(stderr, "# %s: %llu write opens attempted, %llu succeeded\n", during,
		(unsigned long long)counts[0], (unsigned long long)counts[1]);
	if (counts[0] == 0)
		fail_msg("expected the writer to attempt opens %s, it made none", during);
	if (counts[1] != 0)
		fail_msg("expected no write open to succeed %s, %llu of %llu did", during,
			 (unsigned long long)counts[1], (unsigned long long)counts[0]);
}

/* --- helpers --- */

static void lease_to(struct lw_enforcement *enf, pid_t holder_pid, struct lw_image_key *key)
{
	struct lw_holder holder;
	int fd = open(image, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0 || lw_holder_of_pid(holder_pid, &holder))
		fail_msg("cannot prepare a lease on %s", image);
	err = lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &holder, key);
	close(fd);
	if (err)
		fail_msg("expected the lease to be taken, got %s: %s", strerror(-err), lw_enforcer_error(enf));
}

/* How many links attach a program named name, kernel-wide. */
static int links_of_program(const char *name)
{
	__u32 id = 0;
	int count = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info link = {};
		struct bpf_prog_info prog = {};
		__u32 len = sizeof(link), plen = sizeof(prog);
		int fd = bpf_link_get_fd_by_id(id), pfd;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &link, &len) &&
		    (pfd = bpf_prog_get_fd_by_id(link.prog_id)) >= 0) {
			if (!bpf_obj_get_info_by_fd(pfd, &prog, &plen) && !strcmp(prog.name, name))
				count++;
			close(pfd);
		}
		close(fd);
	}
	return count;
}

/* The program version folders in the pin folder, as "a,b". */
static void version_folders(char *out, size_t size)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;

	out[0] = 0;
	while (d && (e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.')
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? "," : "", e->d_name);
	if (d)
		closedir(d);
}

static int fresh_pins(void **state)
{
	(void)state;
	write_file(image, "image content\n");
	test_pin_dir(pin_dir, sizeof(pin_dir), "pins");
	return 0;
}

static int remove_pins(void **state)
{
	struct lw_enforcement *enf;
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir };

	(void)state;
	if (!access(pin_dir, F_OK) && !lw_enforcer_open(&opts, &enf, NULL))
		close_and_unpin(enf);
	unlink(image);
	return 0;
}

/* --- tests --- */

static void second_loader_adopts_the_pins_and_the_leases(void **state)
{
	struct lw_enforcement *first, *second;
	struct lw_image_key key;
	struct lw_lease lease;
	char versions[256];

	(void)state;
	first = open_enforcer(pin_dir, 0);
	assert_non_null(first);
	lease_to(first, getpid(), &key);
	second = open_enforcer(pin_dir, 0);
	assert_non_null(second);
	if (lw_enforcer_lookup(second, &key, &lease))
		fail_msg("expected the second loader to see the first one's lease: %s", lw_enforcer_error(second));
	lw_enforcer_close(first);
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open after the first loader closed");
	version_folders(versions, sizeof(versions));
	if (strchr(versions, ','))
		fail_msg("expected one program version pinned, found %s", versions);
	lw_enforcer_close(second);
}

static int loader(void *arg)
{
	struct lw_image_key key;
	struct lw_enforcement *enf = open_enforcer(pin_dir, 0);

	(void)arg;
	if (!enf)
		return 1;
	lease_to(enf, getppid(), &key);
	return 0;	/* then waits, holding the enforcer, until killed */
}

static void killing_the_loader_leaves_no_gap(void **state)
{
	struct lw_enforcement *adopter;
	struct poller writer;
	struct helper h = { .pid = 0, .go_fd = -1 };
	struct lw_lease lease;
	struct lw_image_key key;
	int fd;

	(void)state;
	if (helper_start(&h, loader, NULL, NULL))
		fail_msg("expected the loader process to load and take a lease");
	poller_start(&writer);
	usleep(300 * 1000);
	kill(h.pid, SIGKILL);
	waitpid(h.pid, NULL, 0);
	h.pid = 0;
	close(h.go_fd);
	usleep(300 * 1000);
	adopter = open_enforcer(pin_dir, 0);
	assert_non_null(adopter);
	usleep(300 * 1000);
	poller_stop_and_check(&writer, "while the loader was killed and another adopted its pins");
	fd = open(image, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lw_enforcer_key_of_fd(adopter, fd, &key), 0);
	close(fd);
	if (lw_enforcer_lookup(adopter, &key, &lease))
		fail_msg("expected the adopter to find the killed loader's lease: %s", lw_enforcer_error(adopter));
	lw_enforcer_close(adopter);
}

static void program_replacement_leaves_no_gap_and_keeps_the_leases(void **state)
{
	struct lw_enforcer_opts upgrade = { .pin_dir = pin_dir, .program_version = "upgrade" };
	struct lw_enforcement *old, *new = NULL;
	struct poller writer;
	struct lw_image_key key;
	struct lw_err why;
	char versions[256];
	int links_before, links_after, err;

	(void)state;
	old = open_enforcer(pin_dir, 0);
	assert_non_null(old);
	lease_to(old, getpid(), &key);
	lw_enforcer_close(old);
	links_before = links_of_program("lw_file_open");
	poller_start(&writer);
	usleep(300 * 1000);
	err = lw_enforcer_open(&upgrade, &new, &why);
	usleep(300 * 1000);
	poller_stop_and_check(&writer, "while the programs were replaced");
	if (err)
		fail_msg("expected the new version to load, got %s: %s", strerror(-err), why.msg);
	version_folders(versions, sizeof(versions));
	if (strcmp(versions, "v-upgrade"))
		fail_msg("expected only v-upgrade pinned after the replacement, found %s", versions);
	links_after = links_of_program("lw_file_open");
	if (links_after != links_before)
		fail_msg("expected the old file_open link to be detached (%d links before, %d after)",
			 links_before, links_after);
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open after the replacement (lease kept)");
	lw_enforcer_close(new);
}

static int upgrading_loader(void *arg)
{
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir, .program_version = arg };
	struct lw_enforcement *enf;

	return lw_enforcer_open(&opts, &enf, NULL) ? 1 : 0;
}

/* Loaders of new versions killed at different moments of loading,
 * attaching, pinning and retiring the old version. */
static void killing_loaders_midway_through_upgrades_leaves_no_gap(void **state)
{
	static const char *names[] = { "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7" };
	struct lw_enforcement *enf;
	struct poller writer;
	struct lw_image_key key;
	char versions[256];

	(void)state;
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lease_to(enf, getpid(), &key);
	lw_enforcer_close(enf);
	poller_start(&writer);
	for (int i = 0; i < 8; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(upgrading_loader((void *)names[i]));
		usleep(i * 60 * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	version_folders(versions, sizeof(versions));
	fprintf(stderr, "# pinned after the killed upgrades: %s\n", versions);
	enf = open_enforcer(pin_dir, 0);
	usleep(200 * 1000);
	poller_stop_and_check(&writer, "while upgrading loaders were killed midway");
	assert_non_null(enf);
	version_folders(versions, sizeof(versions));
	fprintf(stderr, "# pinned after the killed upgrades and one clean start: %s\n", versions);
	if (strchr(versions, ','))
		fail_msg("expected one version folder after a clean start, found %s", versions);
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open after the killed upgrades");
	lw_enforcer_close(enf);
}

static void next_loader_removes_an_interrupted_loaders_leftovers(void **state)
{
	struct lw_enforcement *enf;
	char leftover[256], versions[256];

	(void)state;
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lw_enforcer_close(enf);
	/* What a loader killed before renaming its folder into place leaves. */
	snprintf(leftover, sizeof(leftover), "%s/new-v-killed-99999", pin_dir);
	if (mkdir(leftover, 0700))
		fail_msg("cannot create %s: %s", leftover, strerror(errno));
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lw_enforcer_close(enf);
	version_folders(versions, sizeof(versions));
	if (strchr(versions, ',') || strncmp(versions, "v-", 2))
		fail_msg("expected only the current version folder left, found %s", versions);
}

static void loader_recovers_when_a_map_pin_was_removed(void **state)
{
	struct lw_enforcement *enf;
	struct lw_image_key key;
	char path[256], versions[256];

	(void)state;
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lw_enforcer_close(enf);
	snprintf(path, sizeof(path), "%s/leases", pin_dir);
	assert_int_equal(unlink(path), 0);
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lease_to(enf, getpid(), &key);
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open with the re-created leases map");
	version_folders(versions, sizeof(versions));
	if (strchr(versions, ','))
		fail_msg("expected one version folder, found %s", versions);
	lw_enforcer_close(enf);
}

static void unpin_stops_enforcement(void **state)
{
	struct lw_enforcement *enf;
	struct lw_image_key key;
	struct timespec start, now;
	long waited_ms;
	int r;

	(void)state;
	enf = open_enforcer(pin_dir, 0);
	assert_non_null(enf);
	lease_to(enf, getpid(), &key);
	assert_denied(child_open(image, O_RDWR), "an O_RDWR open before unpinning");
	assert_int_equal(lw_enforcer_unpin(enf), 0);
	lw_enforcer_close(enf);
	/* The last reference to each link is the pin, dropped when bpffs frees
	 * the inode (an RCU callback); the kernel then detaches the program
	 * from a work item (6.5+ always defers bpf_link_put), so enforcement
	 * stops shortly after unpin returns, not at once: wait, with a bound. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		r = child_open(image, O_RDWR);
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (r != EACCES || waited_ms > UNPIN_RELEASE_BOUND_MS)
			break;
		usleep(10 * 1000);
	}
	fprintf(stderr, "# write opens allowed %ld ms after unpinning\n", waited_ms);
	if (r == EACCES)
		fail_msg("expected an O_RDWR open to be allowed within %d ms of unpinning, "
			 "still denied after %ld ms", UNPIN_RELEASE_BOUND_MS, waited_ms);
	assert_allowed(r, "an O_RDWR open after unpinning");
	if (!access(pin_dir, F_OK))
		fail_msg("expected %s to be gone after unpinning", pin_dir);
}

static const struct CMUnitTest pins[] = {
	cmocka_unit_test_setup_teardown(second_loader_adopts_the_pins_and_the_leases, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(killing_the_loader_leaves_no_gap, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(program_replacement_leaves_no_gap_and_keeps_the_leases, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(killing_loaders_midway_through_upgrades_leaves_no_gap, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(next_loader_removes_an_interrupted_loaders_leftovers, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(loader_recovers_when_a_map_pin_was_removed, fresh_pins, remove_pins),
	cmocka_unit_test_setup_teardown(unpin_stops_enforcement, fresh_pins, remove_pins),
};

int main(void)
{
	int failed;

	if (mount_test_fs("tmpfs", DIR_))
		return 1;
	failed = cmocka_run_group_tests_name("pinning and continuity", pins, NULL, NULL);
	unmount_test_fs(DIR_);
	return failed ? 1 : 0;
}
