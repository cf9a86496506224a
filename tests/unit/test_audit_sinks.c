// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the journal and Linux audit sinks send, checked without sending:
 * the host has no journald and may not allow audit writes, so the VM tests
 * read them back for real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "audit/audit_record.h"
#include "audit/audit_sinks.h"

/* A record's text as the tree the journal and Linux audit sinks read
 * (audit.c parses it the same way). */
static struct json_object *record_tree(int r, struct lw_json_buf *b)
{
	struct json_object *rec;

	assert_int_equal(r, 0);
	rec = json_tokener_parse(b->text);
	assert_non_null(rec);
	lw_json_buf_free(b);
	return rec;
}

static struct json_object *sample_denial(const char *comm)
{
	struct lw_json_buf b = { 0 };
	struct lw_denial ev = {
		.pid = 31, .tgid = 30, .uid = 1000, .gid = 1000, .loginuid = UINT32_MAX,
		.sessionid = 3, .op = LW_OP_OPEN_WRITE, .open_flags = 0100002,
		.key = { .dev = (253ULL << 20) | 1, .ino = 12 }, .lease_mode = LW_LEASE_EXCLUSIVE,
		.suppressed = 4,
		.holder = { .kind = LW_HOLDER_PROCESS, .pid = 20, .start_time = 5 },
	};
	struct lw_audit_lease_ctx ctx = { .image = "/img/vm.raw", .holder_comm = "qemu" };

	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	snprintf(ev.path, sizeof(ev.path), "/img/vm.raw");
	return record_tree(lw_audit_record_denial(&b, &ev, &ctx, "/usr/bin/dd",
						  1700000000000000000LL), &b);
}

/* The value of field NAME in the iovec list, or NULL. */
static const char *journal_field(struct iovec *iov, size_t n, const char *name)
{
	size_t len = strlen(name), i;

	for (i = 0; i < n; i++) {
		const char *f = iov[i].iov_base;

		if (!strncmp(f, name, len) && f[len] == '=')
			return f + len + 1;
	}
	return NULL;
}

static void assert_journal_field(struct iovec *iov, size_t n, const char *name, const char *want)
{
	const char *got = journal_field(iov, n, name);

	if (!got || strcmp(got, want))
		fail_msg("expected journal field %s=%s, got %s", name, want, got ? got : "(absent)");
}

static void journal_denial_has_fixed_message_id_and_flattened_fields(void **state)
{
	struct json_object *rec = sample_denial("dd");
	struct iovec *iov;
	size_t n;

	(void)state;
	assert_int_equal(lw_audit_journal_fields(rec, &iov, &n), 0);
	assert_journal_field(iov, n, "MESSAGE_ID", LW_AUDIT_DENIAL_MESSAGE_ID);
	assert_journal_field(iov, n, "PRIORITY", "4");
	assert_journal_field(iov, n, "LOCKWARDEN_TYPE", "denial");
	assert_journal_field(iov, n, "LOCKWARDEN_OP", "open-write");
	assert_journal_field(iov, n, "LOCKWARDEN_TGID", "30");
	assert_journal_field(iov, n, "LOCKWARDEN_PATH", "/img/vm.raw");
	assert_journal_field(iov, n, "LOCKWARDEN_KEY_MAJOR", "253");
	assert_journal_field(iov, n, "LOCKWARDEN_HOLDER_PID", "20");
	assert_journal_field(iov, n, "LOCKWARDEN_HOLDER_COMM", "qemu");
	assert_journal_field(iov, n, "LOCKWARDEN_SUPPRESSED", "4");
	assert_journal_field(iov, n, "MESSAGE",
			     "denied open-write of /img/vm.raw by pid 30 (dd) uid 1000; "
			     "exclusive lease held by pid 20 (qemu); 4 suppressed");
	/* null in the record: absent in the journal */
	if (journal_field(iov, n, "LOCKWARDEN_LOGINUID"))
		fail_msg("expected no LOCKWARDEN_LOGINUID for an unset loginuid");
	lw_audit_journal_fields_free(iov, n);
	json_object_put(rec);
}

static void journal_lease_event_has_its_own_message_id(void **state)
{
	struct lw_holder holder = { .kind = LW_HOLDER_PROCESS, .pid = 20, .start_time = 5 };
	struct lw_audit_lease_record lr = { .event = LW_LEASE_HOLDER_DEATH, .image = "/img/vm.raw",
					    .mode = LW_LEASE_EXCLUSIVE, .holder = &holder,
					    .holder_comm = "qemu" };
	struct lw_json_buf b = { 0 };
	struct json_object *rec = record_tree(lw_audit_record_lease(&b, &lr, 1), &b);
	struct iovec *iov;
	size_t n;

	(void)state;
	assert_int_equal(lw_audit_journal_fields(rec, &iov, &n), 0);
	assert_journal_field(iov, n, "MESSAGE_ID", LW_AUDIT_LEASE_MESSAGE_ID);
	assert_journal_field(iov, n, "PRIORITY", "6");
	assert_journal_field(iov, n, "LOCKWARDEN_EVENT", "holder-death");
	assert_journal_field(iov, n, "MESSAGE",
			     "lease holder-death: /img/vm.raw exclusive by pid 20 (qemu)");
	lw_audit_journal_fields_free(iov, n);
	json_object_put(rec);
}

static void linux_audit_message_carries_the_denial(void **state)
{
	struct json_object *rec = sample_denial("dd");
	char *msg = lw_audit_linux_message(rec);

	(void)state;
	assert_non_null(msg);
	assert_string_equal(msg,
		"lockwarden denied op=open-write proc_pid=31 proc_tgid=30 proc_uid=1000 "
		"proc_gid=1000 proc_loginuid=? proc_session=3 proc_comm=\"dd\" "
		"proc_exe=\"/usr/bin/dd\" path=\"/img/vm.raw\" image=\"/img/vm.raw\" dev=253:1 "
		"ino=12 flags=0x8002 lease_mode=exclusive holder_pid=20 holder_comm=\"qemu\" "
		"suppressed=4");
	free(msg);
	json_object_put(rec);
}

/* A comm with a space or quote could forge fields: libaudit hex-encodes it. */
static void linux_audit_message_hex_encodes_untrusted_text(void **state)
{
	struct json_object *rec = sample_denial("x ok=1\"");
	char *msg = lw_audit_linux_message(rec);

	(void)state;
	assert_non_null(msg);
	if (!strstr(msg, " proc_comm=78206F6B3D3122 "))
		fail_msg("expected proc_comm hex-encoded as 78206F6B3D3122, got %s", msg);
	free(msg);
	json_object_put(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_denial_has_fixed_message_id_and_flattened_fields),
		cmocka_unit_test(journal_lease_event_has_its_own_message_id),
		cmocka_unit_test(linux_audit_message_carries_the_denial),
		cmocka_unit_test(linux_audit_message_hex_encodes_untrusted_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
