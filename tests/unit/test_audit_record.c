// SPDX-License-Identifier: LGPL-2.1-or-later
/* The audit record: one JSON object per denial or lease change, with every
 * schema field, built from a kernel event and what the daemon knows. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "audit/audit_record.h"
#include "common/json_write.h"

/* dd as uid 1000 opening /images/vm.qcow2 O_WRONLY|O_TRUNC, leased to qemu */
static struct lw_denial sample_event(uint32_t op)
{
	struct lw_denial ev = {
		.time_ns = 0,
		.pid = 4242, .tgid = 4240, .uid = 1000, .gid = 1001,
		.loginuid = 1000, .sessionid = 7,
		.op = op,
		.open_flags = op == LW_OP_OPEN_WRITE ? (01 | 01000 | 0100000) : 0,
		.key = { .dev = (8ULL << 20) | 3, .ino = 131077 },
		.lease_mode = LW_LEASE_EXCLUSIVE,
		.suppressed = 5,
		.holder = { .kind = LW_HOLDER_PROCESS, .pid = 777, .start_time = 123456 },
	};

	snprintf(ev.comm, sizeof(ev.comm), "dd");
	snprintf(ev.path, sizeof(ev.path), "/images/vm.qcow2");
	return ev;
}

static const struct lw_audit_lease_ctx sample_ctx = {
	.image = "/var/lib/libvirt/images/vm.qcow2",
	.holder_comm = "qemu-system-x86",
};

/* The record's text (asserted to be one line) as a tree. */
static struct json_object *tree_of(int r, struct lw_json_buf *b)
{
	struct json_object *rec;

	assert_int_equal(r, 0);
	if (strchr(b->text, '\n'))
		fail_msg("expected one line, got %s", b->text);
	rec = json_tokener_parse(b->text);
	if (!rec)
		fail_msg("expected valid JSON, got %s", b->text);
	lw_json_buf_free(b);
	return rec;
}

static struct json_object *denial_record(const struct lw_denial *ev,
					 const struct lw_audit_lease_ctx *ctx, const char *exe,
					 int64_t wall_ns)
{
	struct lw_json_buf b = { 0 };

	return tree_of(lw_audit_record_denial(&b, ev, ctx, exe, wall_ns), &b);
}

static struct json_object *lease_record(const struct lw_audit_lease_record *lr, int64_t wall_ns)
{
	struct lw_json_buf b = { 0 };

	return tree_of(lw_audit_record_lease(&b, lr, wall_ns), &b);
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		fail_msg("expected field \"%s\" in %s, it is missing", key,
			 json_object_to_json_string(obj));
	return v;
}

static void assert_field_string(struct json_object *obj, const char *key, const char *want)
{
	struct json_object *v = get(obj, key);

	if (!v || !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), want))
		fail_msg("expected \"%s\": \"%s\", got %s", key, want,
			 v ? json_object_to_json_string(v) : "null");
}

static void assert_field_int(struct json_object *obj, const char *key, int64_t want)
{
	struct json_object *v = get(obj, key);

	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != want)
		fail_msg("expected \"%s\": %lld, got %s", key, (long long)want,
			 v ? json_object_to_json_string(v) : "null");
}

static void assert_field_null(struct json_object *obj, const char *key)
{
	struct json_object *v = get(obj, key);

	if (v)
		fail_msg("expected \"%s\": null, got %s", key, json_object_to_json_string(v));
}

static void denial_record_has_every_schema_field(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_OPEN_WRITE);
	struct json_object *rec, *key, *holder;

	(void)state;
	rec = denial_record(&ev, &sample_ctx, "/usr/bin/dd", 1700000000123456789LL);
	assert_non_null(rec);
	assert_field_string(rec, "type", "denial");
	assert_field_int(rec, "time_ns", 1700000000123456789LL);
	assert_field_string(rec, "time", "2023-11-14T22:13:20.123456789Z");
	assert_field_int(rec, "pid", 4242);
	assert_field_int(rec, "tgid", 4240);
	assert_field_int(rec, "uid", 1000);
	assert_field_int(rec, "gid", 1001);
	assert_field_int(rec, "loginuid", 1000);
	assert_field_int(rec, "session", 7);
	assert_field_string(rec, "comm", "dd");
	assert_field_string(rec, "exe", "/usr/bin/dd");
	assert_field_string(rec, "path", "/images/vm.qcow2");
	assert_field_string(rec, "image", "/var/lib/libvirt/images/vm.qcow2");
	assert_field_string(rec, "op", "open-write");
	assert_field_int(rec, "open_flags", 01 | 01000 | 0100000);
	assert_field_string(rec, "open_flags_names", "O_WRONLY|O_TRUNC|O_LARGEFILE");
	assert_field_string(rec, "lease_mode", "exclusive");
	assert_field_int(rec, "suppressed", 5);
	key = get(rec, "key");
	assert_field_int(key, "dev", (8LL << 20) | 3);
	assert_field_int(key, "major", 8);
	assert_field_int(key, "minor", 3);
	assert_field_int(key, "ino", 131077);
	holder = get(rec, "holder");
	assert_field_string(holder, "kind", "process");
	assert_field_int(holder, "pid", 777);
	assert_field_int(holder, "start_time", 123456);
	assert_field_string(holder, "comm", "qemu-system-x86");
	json_object_put(rec);
}

static void denial_record_names_each_operation(void **state)
{
	static const struct { uint32_t op; const char *name; } ops[] = {
		{ LW_OP_OPEN_WRITE, "open-write" }, { LW_OP_TRUNCATE, "truncate" },
		{ LW_OP_UNLINK, "unlink" }, { LW_OP_RENAME, "rename" }, { LW_OP_WRITE, "write" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct lw_denial ev = sample_event(ops[i].op);
		struct json_object *rec = denial_record(&ev, &sample_ctx, NULL, 1);

		assert_non_null(rec);
		assert_field_string(rec, "op", ops[i].name);
		/* only opens carry flags */
		assert_field_int(rec, "open_flags", ops[i].op == LW_OP_OPEN_WRITE ? 0100001 | 01000 : 0);
		if (ops[i].op != LW_OP_OPEN_WRITE)
			assert_field_null(rec, "open_flags_names");
		json_object_put(rec);
	}
}

static void open_flags_name_known_bits_and_show_the_rest_in_hex(void **state)
{
	char buf[256];

	(void)state;
	lw_audit_open_flags_names(02 | 02000 | 02000000, buf, sizeof(buf));
	assert_string_equal(buf, "O_RDWR|O_APPEND|O_CLOEXEC");
	lw_audit_open_flags_names(01 | 04010000, buf, sizeof(buf));
	assert_string_equal(buf, "O_WRONLY|O_SYNC");
	lw_audit_open_flags_names(01 | 0x80000000u, buf, sizeof(buf));
	assert_string_equal(buf, "O_WRONLY|0x80000000");
}

static void unset_loginuid_and_session_are_null(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_TRUNCATE);
	struct json_object *rec;

	(void)state;
	ev.loginuid = UINT32_MAX;
	ev.sessionid = UINT32_MAX;
	rec = denial_record(&ev, &sample_ctx, NULL, 1);
	assert_field_null(rec, "loginuid");
	assert_field_null(rec, "session");
	json_object_put(rec);
}

static void exe_of_a_gone_process_and_unknown_image_are_null(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_UNLINK);
	struct json_object *rec;

	(void)state;
	rec = denial_record(&ev, NULL, NULL, 1);
	assert_field_null(rec, "exe");
	assert_field_null(rec, "image");
	assert_field_null(get(rec, "holder"), "comm");
	json_object_put(rec);
}

static void cgroup_holder_is_named_by_its_path(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_OPEN_WRITE);
	struct lw_audit_lease_ctx ctx = { .image = "/img", .holder_cgroup = "/machine.slice/vm1" };
	struct json_object *rec, *holder;

	(void)state;
	ev.holder = (struct lw_holder){ .kind = LW_HOLDER_CGROUP, .cgroup_id = 9876 };
	ev.lease_mode = LW_LEASE_SHARED;
	rec = denial_record(&ev, &ctx, NULL, 1);
	holder = get(rec, "holder");
	assert_field_string(holder, "kind", "cgroup");
	assert_field_int(holder, "cgroup_id", 9876);
	assert_field_string(holder, "cgroup", "/machine.slice/vm1");
	assert_field_string(rec, "lease_mode", "shared");
	json_object_put(rec);
}

/* The denied process picks its comm and the name it opens the image by
 * (denial_record asserts the text is one line of valid JSON). */
static void invalid_utf8_in_comm_and_path_still_gives_valid_json(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_OPEN_WRITE);
	struct json_object *rec;

	(void)state;
	memcpy(ev.comm, "a\xff\"b\n", 6);
	memcpy(ev.path, "/x/\xc3(\x01.img", 11);
	rec = denial_record(&ev, &sample_ctx, NULL, 1);
	assert_field_string(rec, "comm", "a\xef\xbf\xbd\"b\n");
	assert_field_string(rec, "path", "/x/\xef\xbf\xbd(\x01.img");
	json_object_put(rec);
}

/* The text itself, byte for byte: members in the schema's order, paths
 * without escaped slashes, a newline escaped, unset values null. */
static void records_are_written_exactly(void **state)
{
	struct lw_denial ev = sample_event(LW_OP_OPEN_WRITE);
	struct lw_holder cgroup = { .kind = LW_HOLDER_CGROUP, .cgroup_id = 9876 };
	struct lw_image_key key = { .dev = (8ULL << 20) | 3, .ino = 18446744073709551615ULL };
	struct lw_audit_lease_record lr = {
		.event = LW_LEASE_FORCED_RELEASE, .image = "/img/a \"b\".raw", .key = &key,
		.mode = LW_LEASE_SHARED, .holder = &cgroup, .holder_cgroup = "/machine.slice/vm1",
		.reason = "operator",
	};
	struct lw_json_buf b = { 0 };

	(void)state;
	snprintf(ev.path, sizeof(ev.path), "/images/with\nnewline");
	ev.sessionid = UINT32_MAX;
	assert_int_equal(lw_audit_record_denial(&b, &ev, &sample_ctx, "/usr/bin/dd",
						1700000000123456789LL), 0);
	assert_string_equal(b.text,
		"{\"type\":\"denial\",\"time_ns\":1700000000123456789,"
		"\"time\":\"2023-11-14T22:13:20.123456789Z\",\"pid\":4242,\"tgid\":4240,"
		"\"uid\":1000,\"gid\":1001,\"loginuid\":1000,\"session\":null,\"comm\":\"dd\","
		"\"exe\":\"/usr/bin/dd\",\"path\":\"/images/with\\nnewline\","
		"\"image\":\"/var/lib/libvirt/images/vm.qcow2\","
		"\"key\":{\"dev\":8388611,\"major\":8,\"minor\":3,\"ino\":131077},"
		"\"op\":\"open-write\",\"open_flags\":33281,"
		"\"open_flags_names\":\"O_WRONLY|O_TRUNC|O_LARGEFILE\","
		"\"holder\":{\"kind\":\"process\",\"pid\":777,\"start_time\":123456,"
		"\"comm\":\"qemu-system-x86\"},\"lease_mode\":\"exclusive\",\"suppressed\":5}");
	b.len = 0;
	assert_int_equal(lw_audit_record_lease(&b, &lr, -1), 0);
	assert_string_equal(b.text,
		"{\"type\":\"lease\",\"time_ns\":-1,\"time\":\"1969-12-31T23:59:59.999999999Z\","
		"\"event\":\"forced-release\",\"image\":\"/img/a \\\"b\\\".raw\","
		"\"key\":{\"dev\":8388611,\"major\":8,\"minor\":3,\"ino\":18446744073709551615},"
		"\"lease_mode\":\"shared\",\"holder\":{\"kind\":\"cgroup\","
		"\"cgroup\":\"/machine.slice/vm1\",\"cgroup_id\":9876},\"reason\":\"operator\"}");
	b.len = 0;
	lr.holder = NULL;
	lr.key = NULL;
	lr.reason = NULL;
	assert_int_equal(lw_audit_record_suppressed(&b, 1000, 7, 600, 0), 0);
	assert_string_equal(b.text,
		"{\"type\":\"suppressed\",\"time_ns\":0,\"time\":\"1970-01-01T00:00:00.000000000Z\","
		"\"event\":\"denials-suppressed\",\"uid\":1000,\"suppressed\":7,"
		"\"reason\":\"7 denials of uid 1000 suppressed (more than 600 records a minute)\"}");
	b.len = 0;
	assert_int_equal(lw_audit_record_lease(&b, &lr, 0), 0);
	assert_string_equal(b.text,
		"{\"type\":\"lease\",\"time_ns\":0,\"time\":\"1970-01-01T00:00:00.000000000Z\","
		"\"event\":\"forced-release\",\"image\":\"/img/a \\\"b\\\".raw\",\"key\":null,"
		"\"lease_mode\":\"shared\",\"holder\":null,\"reason\":null}");
	lw_json_buf_free(&b);
}

static void boot_time_stamp_converts_to_wall_clock(void **state)
{
	struct timespec boot, real;
	int64_t boot_ns, real_ns, wall;

	(void)state;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	boot_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
	real_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
	/* an event stamped 2 s ago in boot time happened 2 s ago in wall time */
	wall = lw_audit_wall_ns_of_boot_ns((uint64_t)(boot_ns - 2000000000LL));
	if (llabs(wall - (real_ns - 2000000000LL)) > 50000000)
		fail_msg("expected wall time %lld (+-50 ms), got %lld", (long long)(real_ns - 2000000000LL),
			 (long long)wall);
}

/* The date part is made once a second and reused: each time still gets
 * its own second, also when one comes back after another. */
static void time_text_is_right_within_and_across_seconds(void **state)
{
	static const struct { int64_t ns; const char *text; } cases[] = {
		{ 1796168429000000005, "2026-12-01T23:40:29.000000005Z" },
		{ 1796168429999999999, "2026-12-01T23:40:29.999999999Z" },
		{ 1796168430000000000, "2026-12-01T23:40:30.000000000Z" },
		{ 1796168429500000000, "2026-12-01T23:40:29.500000000Z" },
		{ -1, "1969-12-31T23:59:59.999999999Z" },
		{ 0, "1970-01-01T00:00:00.000000000Z" },
	};
	char text[48];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lw_audit_format_time(cases[i].ns, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
}

static void lease_record_names_each_event_with_image_holder_and_mode(void **state)
{
	static const struct { enum lw_lease_event event; const char *name; } events[] = {
		{ LW_LEASE_ACQUIRE, "acquire" }, { LW_LEASE_RELEASE, "release" },
		{ LW_LEASE_HOLDER_DEATH, "holder-death" },
		{ LW_LEASE_FORCED_RELEASE, "forced-release" },
	};
	struct lw_holder holder = { .kind = LW_HOLDER_PROCESS, .pid = 55, .start_time = 99 };
	struct lw_image_key key = { .dev = 42, .ino = 7 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct lw_audit_lease_record lr = {
			.event = events[i].event, .image = "/img/a.raw", .key = &key,
			.mode = LW_LEASE_SHARED, .holder = &holder, .holder_comm = "qemu",
			.reason = events[i].event == LW_LEASE_FORCED_RELEASE ? "operator" : NULL,
		};
		struct json_object *rec = lease_record(&lr, 1700000000000000000LL);

		assert_field_string(rec, "type", "lease");
		assert_field_string(rec, "event", events[i].name);
		assert_field_string(rec, "time", "2023-11-14T22:13:20.000000000Z");
		assert_field_string(rec, "image", "/img/a.raw");
		assert_field_string(rec, "lease_mode", "shared");
		assert_field_int(get(rec, "key"), "ino", 7);
		assert_field_int(get(rec, "holder"), "pid", 55);
		assert_field_string(get(rec, "holder"), "comm", "qemu");
		if (lr.reason)
			assert_field_string(rec, "reason", "operator");
		else
			assert_field_null(rec, "reason");
		json_object_put(rec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(denial_record_has_every_schema_field),
		cmocka_unit_test(denial_record_names_each_operation),
		cmocka_unit_test(open_flags_name_known_bits_and_show_the_rest_in_hex),
		cmocka_unit_test(unset_loginuid_and_session_are_null),
		cmocka_unit_test(exe_of_a_gone_process_and_unknown_image_are_null),
		cmocka_unit_test(cgroup_holder_is_named_by_its_path),
		cmocka_unit_test(invalid_utf8_in_comm_and_path_still_gives_valid_json),
		cmocka_unit_test(records_are_written_exactly),
		cmocka_unit_test(boot_time_stamp_converts_to_wall_clock),
		cmocka_unit_test(lease_record_names_each_event_with_image_holder_and_mode),
		cmocka_unit_test(time_text_is_right_within_and_across_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
