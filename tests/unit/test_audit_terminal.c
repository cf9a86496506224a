// SPDX-License-Identifier: LGPL-2.1-or-later
/* The audit trail as a person reads it (`lockwarden audit` rows, the
 * journal's MESSAGE sentence): a process that names itself or its target
 * with escape sequences, newlines or bad UTF-8 cannot steer the terminal
 * or forge a second line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit_reader.h"
#include "audit/audit_sinks.h"
#include "common/terminal.h"

/* comm: ESC ] 0 ; title BEL (sets the window title); path: clear screen,
 * a newline that would start a forged row, a raw 0x9b and a C1 CSI. */
#define HOSTILE_DENIAL                                                                      \
	"{\"type\":\"denial\",\"time_ns\":1700000000000000000,\"tgid\":30,\"uid\":1000,"     \
	"\"comm\":\"\\u001b]0;owned\\u0007\",\"path\":\"/img/\\u001b[2Ja\\nFORGED\\r\\u009b"  \
	"x\",\"op\":\"open-write\",\"lease_mode\":\"exclusive\",\"holder\":{\"kind\":"       \
	"\"cgroup\",\"cgroup_id\":7,\"cgroup\":\"/vm\\u001b[31m\"},\"suppressed\":0}"

static struct json_object *record(const char *json)
{
	struct json_object *rec = json_tokener_parse(json);

	if (!rec)
		fail_msg("test record is not JSON: %s", json);
	return rec;
}

/* Add a raw byte json-c cannot express with \u (a lone 0x9b, not UTF-8). */
static void set_raw_path(struct json_object *rec, const char *path)
{
	json_object_object_add(rec, "path", json_object_new_string(path));
}

static void expect_inert(const char *what, const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == 0x9b ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			fail_msg("expected no control byte in the %s, found 0x%02x at %td: \"%s\"",
				 what, *p, (const char *)p - text, text);
}

static int utf8_terminal(void **state)
{
	(void)state;
	lw_terminal_set_utf8(true);
	return 0;
}

static void table_row_shows_hostile_names_escaped(void **state)
{
	struct json_object *rec = record(HOSTILE_DENIAL);
	char row[4096];

	(void)state;
	lw_audit_format_row(rec, row, sizeof(row));
	expect_inert("table row", row);
	if (!strstr(row, "\\x1b]0;owned\\x07") || !strstr(row, "/img/\\x1b[2Ja\\nFORGED\\r\\u009bx") ||
	    !strstr(row, "cgroup /vm\\x1b[31m"))
		fail_msg("expected comm, path and cgroup shown escaped, got \"%s\"", row);
	json_object_put(rec);
}

static void table_row_shows_invalid_utf8_as_hex(void **state)
{
	struct json_object *rec = record(HOSTILE_DENIAL);
	char row[4096];

	(void)state;
	set_raw_path(rec, "/img/\x9b" "2J\xff");
	lw_audit_format_row(rec, row, sizeof(row));
	expect_inert("table row", row);
	if (!strstr(row, "/img/\\x9b2J\\xff"))
		fail_msg("expected the raw bytes as \\x9b and \\xff, got \"%s\"", row);
	json_object_put(rec);
}

static void table_row_keeps_utf8_names_readable(void **state)
{
	struct json_object *rec = record(HOSTILE_DENIAL);
	char row[4096];

	(void)state;
	set_raw_path(rec, "/img/Bild-\xc3\xa4.qcow2");
	lw_audit_format_row(rec, row, sizeof(row));
	if (!strstr(row, "/img/Bild-\xc3\xa4.qcow2"))
		fail_msg("expected the UTF-8 name unchanged, got \"%s\"", row);
	json_object_put(rec);
}

static void lease_row_escapes_image_and_reason(void **state)
{
	struct json_object *rec = record(
		"{\"type\":\"lease\",\"event\":\"forced-release\",\"time_ns\":1,\"image\":"
		"\"/img/\\u001b[2J\",\"lease_mode\":\"shared\",\"reason\":\"by\\nroot\","
		"\"holder\":{\"kind\":\"process\",\"pid\":5,\"comm\":\"q\\u001bemu\"}}");
	char row[4096];

	(void)state;
	lw_audit_format_row(rec, row, sizeof(row));
	expect_inert("lease row", row);
	if (!strstr(row, "/img/\\x1b[2J") || !strstr(row, "by\\nroot") ||
	    !strstr(row, "5(q\\x1bemu)"))
		fail_msg("expected image, reason and holder comm escaped, got \"%s\"", row);
	json_object_put(rec);
}

static void journal_sentence_escapes_every_value(void **state)
{
	struct json_object *rec = record(HOSTILE_DENIAL);
	char text[4096];

	(void)state;
	lw_audit_summary(rec, text, sizeof(text));
	expect_inert("summary", text);
	if (!strstr(text, "denied open-write of /img/\\x1b[2Ja\\nFORGED\\r\\u009bx by pid 30 "
			  "(\\x1b]0;owned\\x07)") ||
	    !strstr(text, "held by cgroup /vm\\x1b[31m"))
		fail_msg("expected the sentence with every value escaped, got \"%s\"", text);
	json_object_put(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_row_shows_hostile_names_escaped),
		cmocka_unit_test(table_row_shows_invalid_utf8_as_hex),
		cmocka_unit_test(table_row_keeps_utf8_names_readable),
		cmocka_unit_test(lease_row_escapes_image_and_reason),
		cmocka_unit_test(journal_sentence_escapes_every_value),
	};

	return cmocka_run_group_tests(tests, utf8_terminal, NULL);
}
