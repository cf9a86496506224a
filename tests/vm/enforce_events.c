// SPDX-License-Identifier: LGPL-2.1-or-later
/* Denial events: each denial's event carries what the audit trail needs, and
 * a flood is rate-limited in the kernel with every attempt counted
 * (events + suppressed + dropped == denials) while other denials still get
 * through. */
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>

#include "enforce_common.h"

#define DIR_ "/tmp/lw-events"
#define ROGUE "lw-rogue"

static struct lw_enforcement *enf;
static char pin_dir[128];
static const char *image = DIR_ "/image.raw";
static const char *other = DIR_ "/other.raw";
static struct lw_image_key key;

#define MAX_EVENTS 4096
static struct lw_denial events[MAX_EVENTS];
static size_t nr_events;

static int collect(const struct lw_denial *event, void *ctx)
{
	(void)ctx;
	if (nr_events < MAX_EVENTS)
		events[nr_events] = *event;
	nr_events++;
	return 0;
}

/* Collect events until at least want arrived or timeout_ms passed. */
static void wait_events(size_t want, int timeout_ms)
{
	struct pollfd pfd = { .fd = lw_enforcer_events_fd(enf), .events = POLLIN };

	if (pfd.fd < 0)
		fail_msg("expected an events descriptor: %s", lw_enforcer_error(enf));
	for (int waited = 0; nr_events < want && waited < timeout_ms; waited += 50) {
		poll(&pfd, 1, 50);
		lw_enforcer_events_consume(enf, collect, NULL);
	}
	lw_enforcer_events_consume(enf, collect, NULL);
}

static int lease_image(void **state)
{
	struct lw_holder self;
	int fd;

	(void)state;
	write_file(image, "image content\n");
	write_file(other, "other\n");
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lw_holder_of_pid(getpid(), &self) ||
	    lw_enforcer_add_lease(enf, fd, LW_LEASE_EXCLUSIVE, &self, &key)) {
		fprintf(stderr, "# cannot lease %s: %s\n", image, lw_enforcer_error(enf));
		return -1;
	}
	close(fd);
	wait_events(0, 0);	/* drain what earlier tests left */
	nr_events = 0;
	return 0;
}

static int release_image(void **state)
{
	(void)state;
	lw_enforcer_remove_lease(enf, &key);
	unlink(image);
	unlink(other);
	return 0;
}

static int rogue_open(void *arg)
{
	prctl(PR_SET_NAME, ROGUE);
	return try_open(image, *(int *)arg);
}

static int rogue_unlink(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, ROGUE);
	return unlink(image) ? errno : 0;
}

static int rogue_truncate(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, ROGUE);
	return truncate(image, 0) ? errno : 0;
}

static int rogue_rename_over(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, ROGUE);
	return rename(other, image) ? errno : 0;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const struct lw_denial *only_event(void)
{
	wait_events(1, 2000);
	if (nr_events != 1)
		fail_msg("expected exactly one denial event within 2 s, got %zu", nr_events);
	return &events[0];
}

static void check_subject(const struct lw_denial *e, __u32 op)
{
	if (e->op != op)
		fail_msg("expected op %u, got %u", op, e->op);
	if (strcmp(e->comm, ROGUE))
		fail_msg("expected comm '%s', got '%.16s'", ROGUE, e->comm);
	if (e->pid != e->tgid || e->pid == 0 || e->pid == (__u32)getpid())
		fail_msg("expected the rogue child's pid and tgid, got pid %u tgid %u", e->pid, e->tgid);
	if (e->uid != getuid() || e->gid != getgid())
		fail_msg("expected uid %u gid %u, got %u %u", getuid(), getgid(), e->uid, e->gid);
	if (e->key.dev != key.dev || e->key.ino != key.ino)
		fail_msg("expected the lease's key in the event");
	if (e->lease_mode != LW_LEASE_EXCLUSIVE || e->holder.kind != LW_HOLDER_PROCESS ||
	    e->holder.pid != (__u32)getpid())
		fail_msg("expected the exclusive lease held by pid %d, got mode %u holder kind %u pid %u",
			 getpid(), e->lease_mode, e->holder.kind, e->holder.pid);
	if (e->suppressed != 0)
		fail_msg("expected nothing suppressed, got %u", e->suppressed);
}

static void denied_open_event_carries_every_field(void **state)
{
	int flags = O_RDWR | O_APPEND;
	__u64 before = boot_ns(), after;
	const struct lw_denial *e;

	(void)state;
	assert_denied(in_child(rogue_open, &flags), "the rogue's O_RDWR|O_APPEND open");
	after = boot_ns();
	e = only_event();
	check_subject(e, LW_OP_OPEN_WRITE);
	if ((e->open_flags & O_ACCMODE) != O_RDWR || !(e->open_flags & O_APPEND))
		fail_msg("expected open flags with O_RDWR|O_APPEND, got %#x", e->open_flags);
	if (strcmp(e->path, image))
		fail_msg("expected path '%s' (bpf_d_path), got '%s'", image, e->path);
	if (e->time_ns < before || e->time_ns > after)
		fail_msg("expected the event time between %llu and %llu, got %llu", (unsigned long long)before,
			 (unsigned long long)after, (unsigned long long)e->time_ns);
}

static void denied_truncate_event_names_the_image(void **state)
{
	const struct lw_denial *e;

	(void)state;
	assert_denied(in_child(rogue_truncate, NULL), "the rogue's truncate(2)");
	e = only_event();
	check_subject(e, LW_OP_TRUNCATE);
	if (strcmp(e->path, "image.raw"))
		fail_msg("expected the dentry name 'image.raw', got '%s'", e->path);
}

static void denied_unlink_event_names_the_image(void **state)
{
	const struct lw_denial *e;

	(void)state;
	assert_denied(in_child(rogue_unlink, NULL), "the rogue's unlink");
	e = only_event();
	check_subject(e, LW_OP_UNLINK);
	if (strcmp(e->path, "image.raw"))
		fail_msg("expected the dentry name 'image.raw', got '%s'", e->path);
}

static void denied_rename_over_event_names_the_image(void **state)
{
	const struct lw_denial *e;

	(void)state;
	assert_denied(in_child(rogue_rename_over, NULL), "the rogue's rename over the image");
	e = only_event();
	check_subject(e, LW_OP_RENAME);
}

#define FLOOD 100000

static int flood(void *arg)
{
	int denied = 0;

	(void)arg;
	prctl(PR_SET_NAME, ROGUE);
	for (int i = 0; i < FLOOD; i++)
		denied += try_open(image, O_RDWR) == EACCES;
	return denied == FLOOD ? 0 : 1;
}

static void flood_is_rate_limited_and_every_denial_counted(void **state)
{
	__u64 d0, s0, x0, d1, s1, x1, reported = 0;
	struct helper h = { .pid = 0, .go_fd = -1 };
	__u64 start = boot_ns(), seconds;
	size_t flood_events;
	int flags = O_RDWR;

	(void)state;
	assert_int_equal(lw_enforcer_counters(enf, &d0, &s0, &x0), 0);
	helper_start(&h, NULL, flood, NULL);
	if (helper_finish(&h))
		fail_msg("expected all %d opens of the flood to be denied", FLOOD);
	seconds = (boot_ns() - start) / 1000000000ULL + 1;
	wait_events(0, 500);
	flood_events = nr_events;
	assert_int_equal(lw_enforcer_counters(enf, &d1, &s1, &x1), 0);
	for (size_t i = 0; i < nr_events && i < MAX_EVENTS; i++)
		reported += events[i].suppressed;
	fprintf(stderr, "# flood of %d denied opens in ~%llu s: %zu events, %llu suppressed, %llu dropped, %llu reported as suppressed in events\n",
		FLOOD, (unsigned long long)seconds, flood_events, (unsigned long long)(s1 - s0),
		(unsigned long long)(x1 - x0), (unsigned long long)reported);
	if (d1 - d0 != FLOOD)
		fail_msg("expected %d denials counted, got %llu", FLOOD, (unsigned long long)(d1 - d0));
	if (flood_events + (s1 - s0) + (x1 - x0) != FLOOD)
		fail_msg("expected events + suppressed + dropped == %d, got %zu + %llu + %llu", FLOOD,
			 flood_events, (unsigned long long)(s1 - s0), (unsigned long long)(x1 - x0));
	if (flood_events > 10 * (seconds + 1))
		fail_msg("expected at most 10 events a second, got %zu in %llu s", flood_events,
			 (unsigned long long)seconds);
	/* Another subject's denial right after the flood still gets its event. */
	nr_events = 0;
	assert_denied(in_child(rogue_open, &flags), "another process's open after the flood");
	wait_events(1, 2000);
	if (nr_events != 1 || events[0].suppressed != 0)
		fail_msg("expected one event for the new process with nothing suppressed, got %zu", nr_events);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(denied_open_event_carries_every_field, lease_image, release_image),
	cmocka_unit_test_setup_teardown(denied_truncate_event_names_the_image, lease_image, release_image),
	cmocka_unit_test_setup_teardown(denied_unlink_event_names_the_image, lease_image, release_image),
	cmocka_unit_test_setup_teardown(denied_rename_over_event_names_the_image, lease_image, release_image),
	cmocka_unit_test_setup_teardown(flood_is_rate_limited_and_every_denial_counted, lease_image, release_image),
};

int main(void)
{
	int failed;

	test_pin_dir(pin_dir, sizeof(pin_dir), "events");
	if (mount_test_fs("tmpfs", DIR_))
		return 1;
	enf = open_enforcer(pin_dir, 0);
	if (!enf)
		return 1;
	failed = cmocka_run_group_tests_name("denial events and flood control", tests, NULL, NULL);
	close_and_unpin(enf);
	unmount_test_fs(DIR_);
	return failed ? 1 : 0;
}
