// SPDX-License-Identifier: LGPL-2.1-or-later
/* The JSON Lines file sink through the public API: one line per record,
 * reopen after logrotate moved the file, config keys, counters. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit/audit.h"
#include "audit/audit_record.h"
#include <json-c/json.h>

struct fixture {
	char dir[64];
	char log[PATH_MAX];
	struct lw_audit *audit;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-audit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* a folder that does not exist yet: the sink creates it */
	snprintf(f->log, sizeof(f->log), "%s/log/lockwarden/audit.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	lw_audit_close(f->audit);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void open_file_sink(struct fixture *f)
{
	struct lw_audit_config cfg;
	int r;

	lw_audit_config_defaults(&cfg);
	snprintf(cfg.file_path, sizeof(cfg.file_path), "%s", f->log);
	r = lw_audit_open(&cfg, &f->audit, NULL);
	if (r < 0)
		fail_msg("expected the file sink to open %s, got %s", f->log, strerror(-r));
}

/* The test process itself plays the denied process, so /proc lookups work. */
static struct lw_denial own_event(uint32_t suppressed)
{
	struct lw_denial ev = {
		.pid = (uint32_t)getpid(), .tgid = (uint32_t)getpid(),
		.uid = getuid(), .gid = getgid(), .loginuid = UINT32_MAX, .sessionid = UINT32_MAX,
		.op = LW_OP_OPEN_WRITE, .open_flags = 01, .key = { .dev = 1, .ino = 2 },
		.lease_mode = LW_LEASE_EXCLUSIVE, .suppressed = suppressed,
		.holder = { .kind = LW_HOLDER_PROCESS, .pid = 1, .start_time = 1 },
	};

	snprintf(ev.comm, sizeof(ev.comm), "test");
	snprintf(ev.path, sizeof(ev.path), "/img/a");
	return ev;
}

/* The lines of path, parsed; fails the test on a line that is not JSON. */
static size_t read_records(const char *path, struct json_object **recs, size_t max)
{
	char line[16384];
	size_t n = 0;
	FILE *in = fopen(path, "r");

	if (!in)
		fail_msg("expected %s to exist: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), in)) {
		if (line[strlen(line) - 1] != '\n')
			fail_msg("expected every record to end its line in %s, got %s", path, line);
		if (n == max)
			fail_msg("expected at most %zu records in %s", max, path);
		recs[n] = json_tokener_parse(line);
		if (!recs[n])
			fail_msg("expected a JSON record, got %s", line);
		n++;
	}
	fclose(in);
	return n;
}

static void free_records(struct json_object **recs, size_t n)
{
	while (n--)
		json_object_put(recs[n]);
}

static const char *text(struct json_object *rec, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(rec, key, &v);
	return v ? json_object_get_string(v) : NULL;
}

static void each_record_is_one_appended_line(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	struct lw_holder holder = { .kind = LW_HOLDER_PROCESS, .pid = 1, .start_time = 1 };
	struct lw_audit_lease_record lr = {
		.event = LW_LEASE_ACQUIRE, .image = "/img/a", .mode = LW_LEASE_EXCLUSIVE,
		.holder = &holder, .holder_comm = "qemu",
	};
	struct json_object *recs[4];
	size_t n;

	open_file_sink(f);
	assert_int_equal(lw_audit_lease_event(f->audit, &lr), 0);
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	lr.event = LW_LEASE_RELEASE;
	assert_int_equal(lw_audit_lease_event(f->audit, &lr), 0);
	n = read_records(f->log, recs, 4);
	assert_int_equal(n, 3);
	assert_string_equal(text(recs[0], "event"), "acquire");
	assert_string_equal(text(recs[1], "type"), "denial");
	assert_string_equal(text(recs[2], "event"), "release");
	free_records(recs, n);
}

/* The daemon gives a lease record the time its loop woke for the change;
 * one without a time is stamped when written. */
static void lease_record_keeps_the_time_it_is_given(void **state)
{
	struct fixture *f = *state;
	struct lw_holder holder = { .kind = LW_HOLDER_PROCESS, .pid = 1, .start_time = 1 };
	struct lw_audit_lease_record lr = {
		.event = LW_LEASE_ACQUIRE, .image = "/img/a", .mode = LW_LEASE_EXCLUSIVE,
		.holder = &holder, .holder_comm = "qemu", .time_ns = 1700000000123456000,
	};
	struct json_object *recs[2], *t = NULL;
	int64_t before = lw_audit_now_ns();
	size_t n;

	open_file_sink(f);
	assert_int_equal(lw_audit_lease_event(f->audit, &lr), 0);
	lr.time_ns = 0;
	assert_int_equal(lw_audit_lease_event(f->audit, &lr), 0);
	n = read_records(f->log, recs, 2);
	assert_int_equal(n, 2);
	assert_true(json_object_object_get_ex(recs[0], "time_ns", &t));
	assert_int_equal(json_object_get_int64(t), 1700000000123456000);
	assert_true(json_object_object_get_ex(recs[1], "time_ns", &t));
	assert_true(json_object_get_int64(t) >= before);
	free_records(recs, n);
}

static void denial_looks_up_the_exe_of_a_live_process(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	struct json_object *rec;
	char exe[PATH_MAX];
	ssize_t len;

	open_file_sink(f);
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_int_equal(read_records(f->log, &rec, 1), 1);
	assert_non_null(text(rec, "exe"));
	assert_string_equal(text(rec, "exe"), exe);
	json_object_put(rec);
}

/* logrotate (create mode): rename the log, create an empty one, SIGHUP. */
static void reopen_after_rename_writes_to_the_new_file(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	struct json_object *recs[4];
	char rotated[PATH_MAX + 8];
	size_t n;

	open_file_sink(f);
	ev.suppressed = 1;
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	snprintf(rotated, sizeof(rotated), "%s.1", f->log);
	assert_int_equal(rename(f->log, rotated), 0);
	/* before the signal the record still goes to the moved file */
	ev.suppressed = 2;
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	assert_int_equal(lw_audit_reopen(f->audit), 0);
	ev.suppressed = 3;
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);

	n = read_records(rotated, recs, 4);
	assert_int_equal(n, 2);
	assert_string_equal(text(recs[0], "suppressed"), "1");
	assert_string_equal(text(recs[1], "suppressed"), "2");
	free_records(recs, n);
	n = read_records(f->log, recs, 4);
	assert_int_equal(n, 1);
	assert_string_equal(text(recs[0], "suppressed"), "3");
	free_records(recs, n);
}

static void failed_reopen_keeps_writing_to_the_old_file(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	char folder[PATH_MAX], moved[PATH_MAX + 8], moved_log[PATH_MAX + 32];
	struct json_object *rec;
	int fd, r;

	open_file_sink(f);
	/* the log's folder replaced by a plain file: the path cannot be opened */
	snprintf(folder, sizeof(folder), "%s", f->log);
	*strrchr(folder, '/') = '\0';
	snprintf(moved, sizeof(moved), "%s.old", folder);
	assert_int_equal(rename(folder, moved), 0);
	fd = open(folder, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	r = lw_audit_reopen(f->audit);
	if (r != -ENOTDIR)
		fail_msg("expected reopen to fail with ENOTDIR, got %d", r);
	if (!strstr(lw_audit_error(f->audit), "cannot open"))
		fail_msg("expected a reason naming the failed open, got \"%s\"",
			 lw_audit_error(f->audit));
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	snprintf(moved_log, sizeof(moved_log), "%s/audit.log", moved);
	assert_int_equal(read_records(moved_log, &rec, 1), 1);
	json_object_put(rec);
}

static void stats_count_denials_suppressed_and_lease_events(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(10);
	struct lw_audit_lease_record lr = { .event = LW_LEASE_HOLDER_DEATH, .image = "/img/a",
					    .mode = LW_LEASE_EXCLUSIVE };
	struct lw_audit_stats stats;

	open_file_sink(f);
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	ev.suppressed = 32;
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	assert_int_equal(lw_audit_lease_event(f->audit, &lr), 0);
	lw_audit_stats(f->audit, &stats);
	assert_int_equal(stats.denials, 2);
	assert_int_equal(stats.suppressed, 42);
	assert_int_equal(stats.lease_events, 1);
	assert_int_equal(stats.sink_errors, 0);
}

static void fsync_policy_still_writes_every_record(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	struct lw_audit_config cfg;
	struct json_object *rec;

	lw_audit_config_defaults(&cfg);
	snprintf(cfg.file_path, sizeof(cfg.file_path), "%s", f->log);
	assert_int_equal(lw_audit_config_set(&cfg, "fsync", "yes"), 0);
	assert_int_equal(lw_audit_open(&cfg, &f->audit, NULL), 0);
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	assert_int_equal(read_records(f->log, &rec, 1), 1);
	json_object_put(rec);
}

static void open_failure_gives_a_reason(void **state)
{
	struct fixture *f = *state;
	struct lw_audit_config cfg;
	char blocker[PATH_MAX];
	struct lw_err why;
	int fd, r;

	/* a plain file where the log's folder should be */
	snprintf(blocker, sizeof(blocker), "%s/log", f->dir);
	fd = open(blocker, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	lw_audit_config_defaults(&cfg);
	snprintf(cfg.file_path, sizeof(cfg.file_path), "%s", f->log);
	r = lw_audit_open(&cfg, &f->audit, &why);
	if (r != -ENOTDIR && r != -EEXIST)
		fail_msg("expected open to fail with ENOTDIR or EEXIST, got %d", r);
	assert_null(f->audit);
	if (!strstr(why.msg, f->dir))
		fail_msg("expected a reason naming the path, got \"%s\"", why.msg);
}

/* Field 22 of /proc/self/stat: this process's start time. */
static uint64_t own_start_time(void)
{
	char buf[1024], *p;
	unsigned long long start = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	int i;

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')') + 2;
	for (i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	assert_int_equal(sscanf(p, "%llu", &start), 1);
	return start;
}

static void holder_comm_comes_from_proc_only_for_the_same_process(void **state)
{
	struct fixture *f = *state;
	struct lw_denial ev = own_event(0);
	struct json_object *recs[2], *holder;
	char comm[32];
	FILE *in;

	open_file_sink(f);
	ev.holder.pid = (uint32_t)getpid();
	ev.holder.start_time = own_start_time();
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	ev.holder.start_time++;	/* a reused pid: another process */
	assert_int_equal(lw_audit_denial(f->audit, &ev, NULL), 0);
	in = fopen("/proc/self/comm", "r");
	assert_non_null(fgets(comm, sizeof(comm), in));
	fclose(in);
	comm[strcspn(comm, "\n")] = '\0';
	assert_int_equal(read_records(f->log, recs, 2), 2);
	json_object_object_get_ex(recs[0], "holder", &holder);
	if (!text(holder, "comm") || strcmp(text(holder, "comm"), comm))
		fail_msg("expected the holder's comm %s, got %s", comm,
			 text(holder, "comm") ? text(holder, "comm") : "null");
	json_object_object_get_ex(recs[1], "holder", &holder);
	if (text(holder, "comm"))
		fail_msg("expected no comm for a holder whose start time does not match, got %s",
			 text(holder, "comm"));
	free_records(recs, 2);
}

static void config_keys_parse_and_reject_bad_values(void **state)
{
	struct lw_audit_config cfg;

	(void)state;
	lw_audit_config_defaults(&cfg);
	assert_true(cfg.file);
	assert_false(cfg.journal);
	assert_false(cfg.linux_audit);
	assert_false(cfg.fsync);
	assert_string_equal(cfg.file_path, LW_AUDIT_DEFAULT_PATH);
	assert_int_equal(lw_audit_config_set(&cfg, "journal", "yes"), 0);
	assert_true(cfg.journal);
	assert_int_equal(lw_audit_config_set(&cfg, "linux_audit", "true"), 0);
	assert_true(cfg.linux_audit);
	assert_int_equal(lw_audit_config_set(&cfg, "file", "no"), 0);
	assert_false(cfg.file);
	assert_int_equal(lw_audit_config_set(&cfg, "path", "/srv/audit.log"), 0);
	assert_string_equal(cfg.file_path, "/srv/audit.log");
	assert_int_equal(lw_audit_config_set(&cfg, "path", "relative.log"), -EINVAL);
	assert_int_equal(lw_audit_config_set(&cfg, "journal", "maybe"), -EINVAL);
	assert_int_equal(lw_audit_config_set(&cfg, "colour", "yes"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(each_record_is_one_appended_line, setup, teardown),
		cmocka_unit_test_setup_teardown(lease_record_keeps_the_time_it_is_given, setup, teardown),
		cmocka_unit_test_setup_teardown(denial_looks_up_the_exe_of_a_live_process, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_after_rename_writes_to_the_new_file, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_reopen_keeps_writing_to_the_old_file, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_count_denials_suppressed_and_lease_events, setup, teardown),
		cmocka_unit_test_setup_teardown(fsync_policy_still_writes_every_record, setup, teardown),
		cmocka_unit_test_setup_teardown(holder_comm_comes_from_proc_only_for_the_same_process, setup, teardown),
		cmocka_unit_test_setup_teardown(open_failure_gives_a_reason, setup, teardown),
		cmocka_unit_test(config_keys_parse_and_reject_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
