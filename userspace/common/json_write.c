// SPDX-License-Identifier: LGPL-2.1-or-later
/* Compact JSON text of a json-c tree (json_write.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/decimal.h"
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

/* u, after a minus sign if negative */
static bool put_digits(struct lw_json_buf *b, uint64_t u, bool negative)
{
	char digits[24], *at = lw_decimal(u, digits + sizeof(digits));

	if (negative)
		*--at = '-';
	return put(b, at, (size_t)(digits + sizeof(digits) - at));
}

static bool put_int64(struct lw_json_buf *b, int64_t v)
{
	return put_digits(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

static bool put_integer(struct lw_json_buf *b, struct json_object *o)
{
	/* json-c keeps an int64 or a uint64: a value past INT64_MAX reads as
	 * INT64_MAX signed, a negative one as 0 unsigned */
	int64_t v = json_object_get_int64(o);

	return v < 0 ? put_int64(b, v) : put_digits(b, json_object_get_uint64(o), false);
}

/* Marks a string object whose bytes are JSON text already (lw_json_new_raw). */
static const char raw_tag;

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
		if (json_object_get_userdata(o) == &raw_tag)
			return put(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
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

/* json-c's own writer puts a raw value's text as it is, as put_value does. */
static int write_raw(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, json_object_get_string(o), json_object_get_string_len(o));
}

struct json_object *lw_json_new_raw(const char *text, size_t n)
{
	struct json_object *o;

	if (n > INT32_MAX || !(o = json_object_new_string_len(text, (int)n)))
		return NULL;
	json_object_set_serializer(o, write_raw, (void *)&raw_tag, NULL);
	return o;
}

/* Streaming (json_write.h): after the first failure nothing more is put. */
static inline void stream(struct lw_json_buf *b, const char *s, size_t n)
{
	if (!b->failed && !put(b, s, n))
		b->failed = true;
}

static inline char last(const struct lw_json_buf *b)
{
	return b->len ? b->text[b->len - 1] : '\0';
}

void lw_json_open(struct lw_json_buf *b, char bracket)
{
	stream(b, &bracket, 1);
}

void lw_json_close(struct lw_json_buf *b, char bracket)
{
	stream(b, &bracket, 1);
}

void lw_json_key(struct lw_json_buf *b, const char *key)
{
	size_t n = strlen(key);
	char *at;

	/* one room check for the comma, the quoted key and the colon: a
	 * record is mostly keys */
	if (b->failed || !room(b, n + 4)) {
		b->failed = true;
		return;
	}
	at = b->text + b->len;
	if (last(b) != '{')
		*at++ = ',';
	*at++ = '"';
	memcpy(at, key, n);
	at += n;
	*at++ = '"';
	*at++ = ':';
	b->len = (size_t)(at - b->text);
}

void lw_json_item(struct lw_json_buf *b)
{
	if (!b->failed && last(b) != '[')
		stream(b, ",", 1);
}

void lw_json_string(struct lw_json_buf *b, const char *s, size_t n)
{
	if (!b->failed && !put_string(b, s, n))
		b->failed = true;
}

void lw_json_text(struct lw_json_buf *b, const char *s)
{
	if (s)
		lw_json_string(b, s, strlen(s));
	else
		lw_json_null(b);
}

void lw_json_int(struct lw_json_buf *b, int64_t v)
{
	if (!b->failed && !put_int64(b, v))
		b->failed = true;
}

void lw_json_uint(struct lw_json_buf *b, uint64_t v)
{
	if (!b->failed && !put_digits(b, v, false))
		b->failed = true;
}

void lw_json_bool(struct lw_json_buf *b, bool v)
{
	if (v)
		stream(b, "true", 4);
	else
		stream(b, "false", 5);
}

void lw_json_null(struct lw_json_buf *b)
{
	stream(b, "null", 4);
}

int lw_json_end(struct lw_json_buf *b, size_t from)
{
	if (b->failed) {
		b->failed = false;
		b->len = from;
		if (b->text)
			b->text[from] = '\0';
		return -ENOMEM;
	}
	if (b->text)
		b->text[b->len] = '\0';	/* put kept room for it */
	return 0;
}

void lw_json_buf_free(struct lw_json_buf *b)
{
	free(b->text);
	*b = (struct lw_json_buf){ 0 };
}
