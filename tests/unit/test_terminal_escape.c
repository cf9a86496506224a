// SPDX-License-Identifier: LGPL-2.1-or-later
/* Hostile names made safe for a terminal: what lw_terminal_escape shows for
 * control characters, escape sequences and bad UTF-8, and that ordinary
 * non-ASCII names stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <iconv.h>
#include <json-c/json.h>

#include "common/terminal.h"

static void expect_escape(const char *in, const char *want)
{
	char buf[256];

	lw_terminal_escape(in, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("expected \"%s\", got \"%s\"", want, buf);
}

/* The output must be valid UTF-8 (checked by glibc's iconv, not by our
 * decoder) with no C0, DEL or C1 code point in it. */
static void expect_no_controls(const char *out)
{
	uint32_t cps[1024];
	char *in = (char *)out, *o = (char *)cps;
	size_t inleft = strlen(out), outleft = sizeof(cps), i;
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");

	assert_true(cd != (iconv_t)-1);
	assert_true(inleft < 1000);
	if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1)
		fail_msg("expected valid UTF-8, iconv stopped at offset %td of \"%s\"", in - out,
			 out);
	iconv_close(cd);
	for (i = 0; i < (sizeof(cps) - outleft) / 4; i++)
		if (cps[i] < 0x20 || (cps[i] >= 0x7f && cps[i] <= 0x9f))
			fail_msg("expected no control character, found U+%04X in \"%s\"",
				 (unsigned)cps[i], out);
}

static int utf8_terminal(void **state)
{
	(void)state;
	lw_terminal_set_utf8(true);
	return 0;
}

static void clear_screen_sequence_is_shown_not_run(void **state)
{
	(void)state;
	expect_escape("/img/\x1b[2J\x1b[Hvm.qcow2", "/img/\\x1b[2J\\x1b[Hvm.qcow2");
}

static void newline_carriage_return_and_tab_are_named(void **state)
{
	(void)state;
	expect_escape("a\nb\rc\td", "a\\nb\\rc\\td");
}

static void other_c0_controls_and_del_are_hex(void **state)
{
	(void)state;
	expect_escape("\x01\x07\x08\x7f", "\\x01\\x07\\x08\\x7f");
}

static void backslash_is_doubled_so_escapes_are_unambiguous(void **state)
{
	(void)state;
	/* A name that spells "\x1b" must not look like an escaped ESC. */
	expect_escape("a\\x1b", "a\\\\x1b");
}

static void lone_c1_byte_is_hex(void **state)
{
	(void)state;
	/* 0x9b is CSI on an 8-bit terminal: "\x9b2J" clears the screen. */
	expect_escape("x\x9b" "2J", "x\\x9b2J");
}

static void c1_control_in_utf8_is_escaped(void **state)
{
	(void)state;
	/* U+009B (CSI) and U+0085 (NEL) written as valid UTF-8. */
	expect_escape("x\xc2\x9b" "2J\xc2\x85", "x\\u009b2J\\u0085");
}

static void invalid_utf8_is_hex_per_byte(void **state)
{
	(void)state;
	/* truncated sequence, overlong '/', surrogate, above U+10FFFF, 0xff */
	expect_escape("\xc3", "\\xc3");
	expect_escape("\xc0\xaf", "\\xc0\\xaf");
	expect_escape("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	expect_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");
	expect_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	expect_escape("a\xff" "b", "a\\xffb");
	/* a lead byte followed by ESC: the ESC is escaped on its own */
	expect_escape("\xe2\x1b[2J", "\\xe2\\x1b[2J");
}

static void valid_utf8_names_stay_readable(void **state)
{
	(void)state;
	expect_escape("/img/Bild-\xc3\xa4.qcow2", "/img/Bild-\xc3\xa4.qcow2");
	expect_escape("\xe6\x98\xa0\xe5\x83\x8f", "\xe6\x98\xa0\xe5\x83\x8f");
	expect_escape("\xf0\x9f\x92\xbe disk", "\xf0\x9f\x92\xbe disk");
	expect_escape("plain-name_1.raw", "plain-name_1.raw");
}

static void bidi_override_and_invisible_characters_are_escaped(void **state)
{
	(void)state;
	/* U+202E RIGHT-TO-LEFT OVERRIDE would show "vm.qcow2" as "2woqc.mv". */
	expect_escape("\xe2\x80\xae" "vm", "\\u202evm");
	expect_escape("a\xe2\x80\x8b" "b", "a\\u200bb");   /* zero-width space */
	expect_escape("a\xe2\x80\xa8" "b", "a\\u2028b");   /* line separator */
	expect_escape("\xf3\xa0\x80\x81", "\\U000e0001");  /* language tag */
}

static void non_utf8_terminal_gets_ascii_only(void **state)
{
	char buf[64];

	(void)state;
	lw_terminal_set_utf8(false);
	lw_terminal_escape("Bild-\xc3\xa4\xf0\x9f\x92\xbe", buf, sizeof(buf));
	lw_terminal_set_utf8(true);
	assert_string_equal(buf, "Bild-\\u00e4\\U0001f4be");
}

static void null_prints_as_question_mark(void **state)
{
	(void)state;
	expect_escape(NULL, "?");
}

static void short_buffer_cuts_between_escapes_never_inside(void **state)
{
	char buf[8];

	(void)state;
	/* "ab" + "\x1b" (4) would need 6+1; "\xc3\xa4" must not be split either */
	lw_terminal_escape("ab\x1b" "cd", buf, 6);
	assert_string_equal(buf, "ab");
	lw_terminal_escape("abcd\xc3\xa4", buf, 6);
	assert_string_equal(buf, "abcd");
	lw_terminal_escape("abc", buf, 1);
	assert_string_equal(buf, "");
}

static void dup_returns_the_whole_escape_of_a_long_name(void **state)
{
	char in[5001], *out;

	(void)state;
	memset(in, '\x1b', 5000);
	in[5000] = '\0';
	out = lw_terminal_escape_dup(in);
	assert_non_null(out);
	assert_int_equal(strlen(out), 20000);
	assert_memory_equal(out, "\\x1b\\x1b", 8);
	assert_null(strchr(out, '\x1b'));
	free(out);
}

/* Every byte value, alone and in pairs after a lead byte: nothing that
 * steers a terminal comes out. */
static void no_input_lets_a_control_through(void **state)
{
	char in[4], out[64];
	unsigned a, b;

	(void)state;
	for (a = 1; a < 256; a++) {
		for (b = 1; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '\0';
			lw_terminal_escape(in, out, sizeof(out));
			expect_no_controls(out);
		}
	}
}

static void utf8_validity_follows_rfc_3629(void **state)
{
	(void)state;
	assert_true(lw_utf8_valid("/img/Bild-\xc3\xa4 \xf0\x9f\x92\xbe"));
	assert_true(lw_utf8_valid("\x1b[2J")); /* valid, if hostile: escaping is for display */
	assert_true(lw_utf8_valid(NULL));
	assert_false(lw_utf8_valid("a\x9b"));
	assert_false(lw_utf8_valid("\xc0\xaf"));
	assert_false(lw_utf8_valid("\xed\xa0\x80"));
	assert_false(lw_utf8_valid("\xf4\x90\x80\x80"));
	assert_false(lw_utf8_valid("\xe2\x82"));
}

static void expect_json(const char *in, const char *want)
{
	char *out = lw_terminal_json_dup(in);

	assert_non_null(out);
	if (strcmp(out, want) != 0)
		fail_msg("expected JSON \"%s\", got \"%s\"", want, out);
	free(out);
}

static void json_keeps_its_whitespace_and_json_c_escapes(void **state)
{
	(void)state;
	expect_json("{\n  \"image\": \"/a\\u001b[2J\\n\",\t\"n\": 1\r\n}",
		    "{\n  \"image\": \"/a\\u001b[2J\\n\",\t\"n\": 1\r\n}");
	expect_json("{\"name\": \"Bild-\xc3\xa4\"}", "{\"name\": \"Bild-\xc3\xa4\"}");
}

static void json_gets_what_json_c_lets_through_as_u_escapes(void **state)
{
	(void)state;
	/* DEL, C1 CSI in UTF-8, bidi override, a tag (surrogate pair), raw ESC */
	expect_json("[\"a\x7f\xc2\x9b\xe2\x80\xae\xf3\xa0\x80\x81\x1b\"]",
		    "[\"a\\u007f\\u009b\\u202e\\udb40\\udc01\\u001b\"]");
	/* a byte JSON cannot carry */
	expect_json("[\"a\x9b\xff\"]", "[\"a\\ufffd\\ufffd\"]");
}

static void json_escapes_keep_the_same_strings(void **state)
{
	const char *in = "{\"s\": \"x\x7f\xc2\x9b\xe2\x80\xae\xf3\xa0\x80\x81y\"}";
	char *out = lw_terminal_json_dup(in);
	struct json_object *a = json_tokener_parse(in), *b = json_tokener_parse(out), *sa, *sb;

	(void)state;
	assert_non_null(a);
	if (!b)
		fail_msg("expected JSON, got \"%s\"", out);
	assert_true(json_object_object_get_ex(a, "s", &sa));
	assert_true(json_object_object_get_ex(b, "s", &sb));
	assert_string_equal(json_object_get_string(sa), json_object_get_string(sb));
	json_object_put(a);
	json_object_put(b);
	free(out);
}

static void json_for_a_non_utf8_terminal_is_ascii(void **state)
{
	(void)state;
	lw_terminal_set_utf8(false);
	expect_json("[\"\xc3\xa4\xf0\x9f\x92\xbe\"]", "[\"\\u00e4\\ud83d\\udcbe\"]");
	lw_terminal_set_utf8(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clear_screen_sequence_is_shown_not_run),
		cmocka_unit_test(newline_carriage_return_and_tab_are_named),
		cmocka_unit_test(other_c0_controls_and_del_are_hex),
		cmocka_unit_test(backslash_is_doubled_so_escapes_are_unambiguous),
		cmocka_unit_test(lone_c1_byte_is_hex),
		cmocka_unit_test(c1_control_in_utf8_is_escaped),
		cmocka_unit_test(invalid_utf8_is_hex_per_byte),
		cmocka_unit_test(valid_utf8_names_stay_readable),
		cmocka_unit_test(bidi_override_and_invisible_characters_are_escaped),
		cmocka_unit_test(non_utf8_terminal_gets_ascii_only),
		cmocka_unit_test(null_prints_as_question_mark),
		cmocka_unit_test(short_buffer_cuts_between_escapes_never_inside),
		cmocka_unit_test(dup_returns_the_whole_escape_of_a_long_name),
		cmocka_unit_test(no_input_lets_a_control_through),
		cmocka_unit_test(utf8_validity_follows_rfc_3629),
		cmocka_unit_test(json_keeps_its_whitespace_and_json_c_escapes),
		cmocka_unit_test(json_gets_what_json_c_lets_through_as_u_escapes),
		cmocka_unit_test(json_escapes_keep_the_same_strings),
		cmocka_unit_test(json_for_a_non_utf8_terminal_is_ascii),
	};

	return cmocka_run_group_tests(tests, utf8_terminal, NULL);
}
