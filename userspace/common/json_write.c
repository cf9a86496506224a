// SPDX-License-Identifier: LGPL-2.1-or-later
/* Compact JSON text of a json-c tree (json_write.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_write.h"

static bool grow(struct lw_json_buf *b, size_t more)
{
	size_t want = b->len + more + 1;	/* the NUL */
	char *grown;

	want = want < 256 ? 256 : want * 2;
	if (!(grown = realloc(b->text, want)))
		return false;
	b->text = grown;
	b->size = want;
	return true;
}

static inline bool room(struct lw_json_buf *b, size_t more)
{
	return b->len + more + 1 <= b->size || grow(b, more);
}

/* inline: most pieces are a byte or two, known where they are put */
static inline bool put(struct lw_json_buf *b, const char *s, size_t n)
{
	if (!room(b, n))
		return false;
	memcpy(b->text + b->len, s, n);
	b->len += n;
	return true;
}

/* The bytes json-c escapes: quote, backslash and control characters (a
 * NUL as \u0000, so that the only raw NUL of a varlink message ends it). */
static const unsigned char escaped[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static bool put_escape(struct lw_json_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"': return put(b, "\\\"", 2);
	case '\\': return put(b, "\\\\", 2);
	case '\b': return put(b, "\\b", 2);
	case '\f': return put(b, "\\f", 2);
	case '\n': return put(b, "\\n", 2);
	case '\r': return put(b, "\\r", 2);
	case '\t': return put(b, "\\t", 2);
	}
	return put(b, esc, sizeof(esc));
}

#define ONES (~(uint64_t)0 / 255)	/* 0x0101...01 */
#define HIGHS (ONES * 0x80)

/* Whether any of the 8 bytes of w needs escaping: one below 0x20, a quote
 * or a backslash (the word-at-a-time tests for a zero byte and for a
 * byte below n, n <= 128). Paths are most of what is written, and run
 * long between escapes, if any. */
static inline bool word_escapes(uint64_t w)
{
	uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');

	return (((w - ONES * 0x20) & ~w) | ((quote - ONES) & ~quote) |
		((backslash - ONES) & ~backslash)) & HIGHS;
}

static bool put_string(struct lw_json_buf *b, const char *s, size_t n)
{
	size_t run = 0, i = 0;

	if (!put(b, "\"", 1))
		return false;
	while (i < n) {
		uint64_t w;

		if (n - i >= sizeof(w)) {
			memcpy(&w, s + i, sizeof(w));
			if (!word_escapes(w)) {
				i += sizeof(w);
				continue;
			}
		}
		if (escaped[(unsigned char)s[i]]) {
			if (!put(b, s + run, i - run) || !put_escape(b, (unsigned char)s[i]))
				return false;
			run = i + 1;
		}
		i++;
	}
	return put(b, s + run, n - run) && put(b, "\"", 1);
}

static bool put_integer(struct lw_json_buf *b, struct json_object *o)
{
	/* json-c keeps an int64 or a uint64: a value past INT64_MAX reads as
	 * INT64_MAX signed, a negative one as 0 unsigned */
	int64_t v = json_object_get_int64(o);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : json_object_get_uint64(o);
	char digits[24], *at = digits + sizeof(digits);

	do {
		*--at = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--at = '-';
	return put(b, at, (size_t)(digits + sizeof(digits) - at));
}

static bool put_value(struct lw_json_buf *b, struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return put(b, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(o) ? put(b, "true", 4) : put(b, "false", 5);
	case json_type_int:
		return put_integer(b, o);
	case json_type_double: {
		/* rare on these paths: json-c's own formatting, kept as it is */
		size_t n;
		const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);

		return text && put(b, text, n);
	}
	case json_type_string:
		return put_string(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
	case json_type_array: {
		size_t n = json_object_array_length(o);

		if (!put(b, "[", 1))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((i && !put(b, ",", 1)) || !put_value(b, json_object_array_get_idx(o, i)))
				return false;
		return put(b, "]", 1);
	}
	case json_type_object: {
		bool first = true;

		if (!put(b, "{", 1))
			return false;
		json_object_object_foreach(o, key, value) {
			if ((!first && !put(b, ",", 1)) || !put_string(b, key, strlen(key)) ||
			    !put(b, ":", 1) || !put_value(b, value))
				return false;
			first = false;
		}
		return put(b, "}", 1);
	}
	}
	return false;
}

int lw_json_write(struct lw_json_buf *b, struct json_object *o)
{
	size_t had = b->len;

	if (!put_value(b, o)) {
		b->len = had;
		if (b->text)
			b->text[had] = '\0';
		return -ENOMEM;
	}
	b->text[b->len] = '\0';	/* put kept room for it */
	return 0;
}

int lw_json_put(struct lw_json_buf *b, const char *s, size_t n)
{
	if (!put(b, s, n))
		return -ENOMEM;
	b->text[b->len] = '\0';
	return 0;
}

void lw_json_buf_free(struct lw_json_buf *b)
{
	free(b->text);
	*b = (struct lw_json_buf){ 0 };
}
