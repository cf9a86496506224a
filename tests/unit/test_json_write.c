// SPDX-License-Identifier: LGPL-2.1-or-later
/* lw_json_write (userspace/common/json_write.c) against json-c's own
 * writer: the same text, byte for byte, for every kind of value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/json_write.h"

/* o's text both ways must be the same; o is freed. */
static void assert_as_json_c(struct json_object *o)
{
	struct lw_json_buf ours = { 0 };
	size_t n;
	const char *theirs = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	assert_int_equal(lw_json_write(&ours, o), 0);
	assert_int_equal(ours.len, n);
	assert_memory_equal(ours.text, theirs, n);
	assert_int_equal(ours.text[ours.len], '\0');
	lw_json_buf_free(&ours);
	json_object_put(o);
}

static void every_byte_in_a_string_is_written_as_json_c_does(void **state)
{
	char all[256];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;	/* the NUL among them: \\u0000 */
	assert_as_json_c(json_object_new_string_len(all, sizeof(all)));
	assert_as_json_c(json_object_new_string("/var/lib/libvirt/images/\"a\\b\".qcow2"));
	assert_as_json_c(json_object_new_string(""));
	assert_as_json_c(json_object_new_string("\xff\xfe not UTF-8 \xc3("));
}

/* Strings are scanned 8 bytes at a time: each byte that needs escaping
 * (and one that does not, above 0x7f), alone or beside another, at every
 * place of strings of every length across a few words. */
static void an_escape_anywhere_in_a_word_is_written_as_json_c_does(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x01, 0x1f, '"', '\\', 0x20, 0x21, 0x5b,
					       0x7f, 0x80, 0x9f, 0xa2, 0xdc, 0xff };
	char text[26];

	(void)state;
	for (size_t len = 1; len <= sizeof(text); len++)
		for (size_t at = 0; at < len; at++)
			for (size_t b = 0; b < sizeof(bytes); b++) {
				memset(text, 'a', len);
				text[at] = (char)bytes[b];
				if (at + 9 < len)	/* a second one, a word further */
					text[at + 9] = '"';
				assert_as_json_c(json_object_new_string_len(text, (int)len));
			}
}

static void integers_at_their_limits_are_written_as_json_c_does(void **state)
{
	(void)state;
	assert_as_json_c(json_object_new_int64(0));
	assert_as_json_c(json_object_new_int64(-1));
	assert_as_json_c(json_object_new_int64(INT64_MIN));
	assert_as_json_c(json_object_new_int64(INT64_MAX));
	assert_as_json_c(json_object_new_uint64((uint64_t)INT64_MAX + 1));
	assert_as_json_c(json_object_new_uint64(UINT64_MAX));
	assert_as_json_c(json_object_new_int(-2147483647 - 1));
	assert_as_json_c(json_object_new_int64(7340032));
}

static void other_kinds_and_nesting_are_written_as_json_c_does(void **state)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)state;
	json_object_array_add(a, json_object_new_boolean(1));
	json_object_array_add(a, json_object_new_boolean(0));
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_double(1.5));
	json_object_array_add(a, json_object_new_double(-0.25));
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	json_object_object_add(o, "list", a);
	json_object_object_add(o, "absent", NULL);
	json_object_object_add(o, "key \"with\" \n escapes/", json_object_new_string("v"));
	json_object_object_add(o, "nested", json_object_new_object());
	json_object_object_add(json_object_object_get(o, "nested"), "seq", json_object_new_uint64(41));
	assert_as_json_c(o);
	assert_as_json_c(NULL);
}

/* A write appends; one that cannot be made leaves the buffer as it was
 * (here: the text before it is still whole after the next write). */
static void writes_append_to_what_the_buffer_holds(void **state)
{
	struct lw_json_buf b = { 0 };
	struct json_object *one = json_object_new_int64(1), *s = json_object_new_string("x");

	(void)state;
	assert_int_equal(lw_json_put(&b, "00000000 ", 9), 0);
	assert_int_equal(lw_json_write(&b, one), 0);
	assert_int_equal(lw_json_put(&b, "\n", 1), 0);
	assert_int_equal(lw_json_write(&b, s), 0);
	assert_string_equal(b.text, "00000000 1\n\"x\"");
	assert_int_equal(b.len, strlen(b.text));
	lw_json_buf_free(&b);
	assert_null(b.text);
	json_object_put(one);
	json_object_put(s);
}

/* A record streamed member by member is the text json-c gives for the
 * same tree: commas placed, nesting, every kind of value. */
static void streamed_records_are_written_as_json_c_writes_their_tree(void **state)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(),
			   *inner = json_object_new_object();
	struct lw_json_buf b = { 0 };
	size_t n;
	const char *theirs;

	(void)state;
	json_object_object_add(inner, "pid", json_object_new_int64(-7));
	json_object_object_add(inner, "comm", json_object_new_string("q\"e\\m\nu\x01"));
	json_object_array_add(a, inner);
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
	json_object_object_add(o, "image", json_object_new_string("/img/a.raw"));
	json_object_object_add(o, "min", json_object_new_int64(INT64_MIN));
	json_object_object_add(o, "holders", a);
	json_object_object_add(o, "empty", json_object_new_array());
	json_object_object_add(o, "yes", json_object_new_boolean(1));
	json_object_object_add(o, "no", json_object_new_boolean(0));
	json_object_object_add(o, "none", NULL);
	theirs = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	lw_json_open(&b, '{');
	lw_json_key(&b, "image");
	lw_json_text(&b, "/img/a.raw");
	lw_json_key(&b, "min");
	lw_json_int(&b, INT64_MIN);
	lw_json_key(&b, "holders");
	lw_json_open(&b, '[');
	lw_json_item(&b);
	lw_json_open(&b, '{');
	lw_json_key(&b, "pid");
	lw_json_int(&b, -7);
	lw_json_key(&b, "comm");
	lw_json_string(&b, "q\"e\\m\nu\x01", 8);
	lw_json_close(&b, '}');
	lw_json_item(&b);
	lw_json_open(&b, '{');
	lw_json_close(&b, '}');
	lw_json_item(&b);
	lw_json_text(&b, NULL);
	lw_json_item(&b);
	lw_json_uint(&b, UINT64_MAX);
	lw_json_close(&b, ']');
	lw_json_key(&b, "empty");
	lw_json_open(&b, '[');
	lw_json_close(&b, ']');
	lw_json_key(&b, "yes");
	lw_json_bool(&b, true);
	lw_json_key(&b, "no");
	lw_json_bool(&b, false);
	lw_json_key(&b, "none");
	lw_json_null(&b);
	lw_json_close(&b, '}');
	assert_int_equal(lw_json_end(&b, 0), 0);
	assert_string_equal(b.text, theirs);
	assert_int_equal(b.len, n);
	lw_json_buf_free(&b);
	json_object_put(o);
}

/* A failed record is cut back to where it began, the text before it
 * whole, and the next record is written as if nothing happened. */
static void a_failed_record_leaves_the_buffer_as_it_was(void **state)
{
	struct lw_json_buf b = { 0 };

	(void)state;
	assert_int_equal(lw_json_put(&b, "00000000 ", 9), 0);
	lw_json_open(&b, '{');
	lw_json_key(&b, "seq");
	b.failed = true;	/* as an allocation that failed here would */
	lw_json_uint(&b, 41);
	lw_json_close(&b, '}');
	assert_int_equal(lw_json_end(&b, 9), -ENOMEM);
	assert_string_equal(b.text, "00000000 ");
	lw_json_open(&b, '{');
	lw_json_key(&b, "seq");
	lw_json_uint(&b, 42);
	lw_json_close(&b, '}');
	assert_int_equal(lw_json_end(&b, 9), 0);
	assert_string_equal(b.text, "00000000 {\"seq\":42}");
	lw_json_buf_free(&b);
}

/* Text streamed earlier, placed in a tree as a raw value, is written as
 * it is, by this writer and by json-c's. */
static void raw_values_are_written_as_they_are_by_both_writers(void **state)
{
	static const char lease[] = "{\"image\":\"/i\",\"holders\":[]}";
	struct json_object *o = json_object_new_object();
	struct lw_json_buf b = { 0 };

	(void)state;
	json_object_object_add(o, "lease", lw_json_new_raw(lease, sizeof(lease) - 1));
	assert_int_equal(lw_json_write(&b, o), 0);
	assert_string_equal(b.text, "{\"lease\":{\"image\":\"/i\",\"holders\":[]}}");
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), b.text);
	lw_json_buf_free(&b);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_byte_in_a_string_is_written_as_json_c_does),
		cmocka_unit_test(an_escape_anywhere_in_a_word_is_written_as_json_c_does),
		cmocka_unit_test(integers_at_their_limits_are_written_as_json_c_does),
		cmocka_unit_test(other_kinds_and_nesting_are_written_as_json_c_does),
		cmocka_unit_test(writes_append_to_what_the_buffer_holds),
		cmocka_unit_test(streamed_records_are_written_as_json_c_writes_their_tree),
		cmocka_unit_test(a_failed_record_leaves_the_buffer_as_it_was),
		cmocka_unit_test(raw_values_are_written_as_they_are_by_both_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
