// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading the audit log back for `lockwarden audit`: --since, --image, the
 * table, and following the file across rotation and truncation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit/audit_reader.h"

#define NSEC 1000000000LL
#define NOW (1700000000LL * NSEC)

static void assert_since(const char *spec, int64_t want)
{
	int64_t got = 0;
	int r = lw_audit_parse_since(spec, NOW, &got);

	if (r < 0)
		fail_msg("expected --since \"%s\" to parse, got %d", spec, r);
	if (got != want)
		fail_msg("expected --since \"%s\" = %lld, got %lld", spec, (long long)want,
			 (long long)got);
}

static void since_accepts_relative_times(void **state)
{
	(void)state;
	assert_since("-30s", NOW - 30 * NSEC);
	assert_since("-10min", NOW - 600 * NSEC);
	assert_since("-10m", NOW - 600 * NSEC);
	assert_since("-2h", NOW - 7200 * NSEC);
	assert_since("-2hours", NOW - 7200 * NSEC);
	assert_since("-1d", NOW - 86400 * NSEC);
	assert_since("-1w", NOW - 604800 * NSEC);
	assert_since("10 min ago", NOW - 600 * NSEC);
	assert_since("now", NOW);
}

static void since_accepts_iso_times_with_zones(void **state)
{
	(void)state;
	assert_since("2023-11-14T22:13:20Z", NOW);
	assert_since("2023-11-14 22:13:20Z", NOW);
	assert_since("2023-11-14T22:13:20.5Z", NOW + NSEC / 2);
	assert_since("2023-11-15T00:13:20+02:00", NOW);
	assert_since("2023-11-14T17:13:20-0500", NOW);
	assert_since("2023-11-14T22:13Z", NOW - 20 * NSEC);
	assert_since("@1700000000", NOW);
	assert_since("@1700000000.25", NOW + NSEC / 4);
}

static void since_without_zone_is_local_time(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	assert_since("2023-11-14 23:13:20", NOW);	/* CET is UTC+1 in November */
	assert_since("2023-11-14", NOW - (22 * 3600 + 13 * 60 + 20 + 3600) * NSEC);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void since_rejects_what_is_not_a_time(void **state)
{
	static const char *const bad[] = { "", "yesterdayish", "-10", "-10parsecs", "10min",
					   "2023-13-45", "2023-11-14T22:13:20+25:00",
					   "2023-11-14 junk", "@", "@x" };
	int64_t out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lw_audit_parse_since(bad[i], NOW, &out) != -EINVAL)
			fail_msg("expected --since \"%s\" to be rejected with EINVAL", bad[i]);
}

static struct json_object *record(const char *json)
{
	struct json_object *rec = json_tokener_parse(json);

	if (!rec)
		fail_msg("bad test record %s", json);
	return rec;
}

static void filter_matches_image_by_lease_image_or_kernel_path(void **state)
{
	struct json_object *by_image = record("{\"time_ns\":5,\"image\":\"/img/a\",\"path\":\"/mnt/x\"}");
	struct json_object *by_path = record("{\"time_ns\":5,\"image\":null,\"path\":\"/img/a\"}");
	struct json_object *other = record("{\"time_ns\":5,\"image\":\"/img/b\",\"path\":\"/img/b\"}");
	struct lw_audit_filter filter;

	(void)state;
	lw_audit_filter_init(&filter);
	assert_true(lw_audit_filter_match(&filter, other));
	lw_audit_filter_set_image(&filter, "/img/a");
	assert_true(lw_audit_filter_match(&filter, by_image));
	assert_true(lw_audit_filter_match(&filter, by_path));
	assert_false(lw_audit_filter_match(&filter, other));
	json_object_put(by_image);
	json_object_put(by_path);
	json_object_put(other);
}

static void filter_drops_records_before_since(void **state)
{
	struct json_object *old = record("{\"time_ns\":99}");
	struct json_object *recent = record("{\"time_ns\":100}");
	struct lw_audit_filter filter;

	(void)state;
	lw_audit_filter_init(&filter);
	filter.since_set = true;
	filter.since_ns = 100;
	assert_false(lw_audit_filter_match(&filter, old));
	assert_true(lw_audit_filter_match(&filter, recent));
	json_object_put(old);
	json_object_put(recent);
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t n = strlen(text), m = strlen(suffix);

	return n >= m && strcmp(text + n - m, suffix) == 0;
}

static void table_row_shows_who_what_when_and_holder(void **state)
{
	struct json_object *denial = record(
		"{\"type\":\"denial\",\"time_ns\":1700000000123456789,\"tgid\":30,\"uid\":1000,"
		"\"comm\":\"dd\",\"path\":\"/img/a\",\"op\":\"truncate\",\"lease_mode\":\"exclusive\","
		"\"holder\":{\"kind\":\"process\",\"pid\":20,\"comm\":\"qemu\"},\"suppressed\":3}");
	struct json_object *lease = record(
		"{\"type\":\"lease\",\"event\":\"acquire\",\"time_ns\":1700000000000000000,"
		"\"image\":\"/img/a\",\"lease_mode\":\"shared\",\"reason\":null,"
		"\"holder\":{\"kind\":\"cgroup\",\"cgroup_id\":7,\"cgroup\":\"/machine.slice/vm\"}}");
	char row[1024];

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	lw_audit_format_row(denial, row, sizeof(row));
	if (strncmp(row, "2023-11-14 22:13:20.123  deny truncate     30       1000   dd ", 62) ||
	    !ends_with(row, "  /img/a") || !strstr(row, " 20(qemu) ") ||
	    !strstr(row, "exclusive, +3 suppressed"))
		fail_msg("expected a denial row with time, op, pid, uid, comm, holder, "
			 "suppressed count and the path last, got \"%s\"", row);
	lw_audit_format_row(lease, row, sizeof(row));
	if (!strstr(row, " acquire ") || !strstr(row, " cgroup /machine.slice/vm ") ||
	    !strstr(row, " shared"))
		fail_msg("expected a lease row with event, cgroup holder and mode, got \"%s\"", row);
	json_object_put(denial);
	json_object_put(lease);
}

/* Follow tests: the lines a tail delivered, in order. */
struct lines {
	char text[64][128];
	size_t n;
};

static int collect(const char *line, void *ctx)
{
	struct lines *lines = ctx;

	if (lines->n == 64)
		return -E2BIG;
	snprintf(lines->text[lines->n++], sizeof(lines->text[0]), "%s", line);
	return 0;
}

static void append(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		fail_msg("cannot append to %s: %s", path, strerror(errno));
	close(fd);
}

static void assert_lines(const struct lines *lines, size_t n, const char *const *want)
{
	size_t i;

	if (lines->n != n)
		fail_msg("expected %zu lines, got %zu (first: %s)", n, lines->n,
			 lines->n ? lines->text[0] : "none");
	for (i = 0; i < n; i++)
		if (strcmp(lines->text[i], want[i]))
			fail_msg("expected line %zu to be %s, got %s", i, want[i], lines->text[i]);
}

struct dir_fixture {
	char dir[64];
	char log[128];
};

static int setup_dir(void **state)
{
	struct dir_fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-tail-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
	*state = f;
	return 0;
}

static int teardown_dir(void **state)
{
	struct dir_fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void tail_holds_back_an_unfinished_line(void **state)
{
	struct dir_fixture *f = *state;
	static const char *const want[] = { "a", "bc" };
	struct lw_audit_tail tail;
	struct lines lines = { 0 };

	append(f->log, "a\nb");
	assert_int_equal(lw_audit_tail_open(&tail, f->log, true), 0);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_lines(&lines, 1, want);
	append(f->log, "c\n");
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_lines(&lines, 2, want);
	lw_audit_tail_close(&tail);
}

static void tail_without_follow_fails_on_a_missing_log(void **state)
{
	struct dir_fixture *f = *state;
	struct lw_audit_tail tail;

	assert_int_equal(lw_audit_tail_open(&tail, f->log, false), -ENOENT);
}

/* logrotate create mode: rename, create, and the daemon appends to the old
 * file until its SIGHUP reopen. No line may be lost or repeated. */
static void follow_survives_rename_and_create(void **state)
{
	struct dir_fixture *f = *state;
	static const char *const want[] = { "1", "2", "3", "4", "5" };
	char rotated[160];
	struct lw_audit_tail tail;
	struct lines lines = { 0 };

	append(f->log, "1\n");
	assert_int_equal(lw_audit_tail_open(&tail, f->log, true), 0);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	snprintf(rotated, sizeof(rotated), "%s.1", f->log);
	assert_int_equal(rename(f->log, rotated), 0);
	append(f->log, "");			/* logrotate creates the new, empty log */
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	append(rotated, "2\n");			/* the daemon has not reopened yet */
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	append(rotated, "3\n");
	append(f->log, "4\n");			/* reopened */
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	append(f->log, "5\n");
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_lines(&lines, 5, want);
	lw_audit_tail_close(&tail);
}

static void follow_survives_delete_and_late_create(void **state)
{
	struct dir_fixture *f = *state;
	static const char *const want[] = { "1", "2" };
	struct lw_audit_tail tail;
	struct lines lines = { 0 };

	append(f->log, "1\n");
	assert_int_equal(lw_audit_tail_open(&tail, f->log, true), 0);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	append(f->log, "2\n");
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_lines(&lines, 2, want);
	lw_audit_tail_close(&tail);
}

static void follow_starts_over_after_truncation(void **state)
{
	struct dir_fixture *f = *state;
	static const char *const want[] = { "first", "second" };
	struct lw_audit_tail tail;
	struct lines lines = { 0 };

	append(f->log, "first\n");
	assert_int_equal(lw_audit_tail_open(&tail, f->log, true), 0);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	/* copytruncate: seen only if the reader looks before the file grows
	 * past where it was, so docs/audit.md recommends create mode */
	assert_int_equal(truncate(f->log, 0), 0);
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	append(f->log, "second\n");
	assert_int_equal(lw_audit_tail_wait(&tail, 1000), 1);
	assert_int_equal(lw_audit_tail_read(&tail, collect, &lines), 0);
	assert_lines(&lines, 2, want);
	lw_audit_tail_close(&tail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(since_accepts_relative_times),
		cmocka_unit_test(since_accepts_iso_times_with_zones),
		cmocka_unit_test(since_without_zone_is_local_time),
		cmocka_unit_test(since_rejects_what_is_not_a_time),
		cmocka_unit_test(filter_matches_image_by_lease_image_or_kernel_path),
		cmocka_unit_test(filter_drops_records_before_since),
		cmocka_unit_test(table_row_shows_who_what_when_and_holder),
		cmocka_unit_test_setup_teardown(tail_holds_back_an_unfinished_line, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(tail_without_follow_fails_on_a_missing_log, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(follow_survives_rename_and_create, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(follow_survives_delete_and_late_create, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(follow_starts_over_after_truncation, setup_dir, teardown_dir),
	};

	/* the table prints local time: pin the zone */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
