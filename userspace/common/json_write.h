/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compact JSON text, for what every lease round trip writes: varlink
 * messages from json-c trees (lw_json_write), and the records of the state
 * journal and the audit file streamed with no tree at all (below). json-c's own
 * writer spends about 15,000 instructions on a 250-byte record: a printbuf
 * grown by realloc, an append per key, quote and value, and snprintf for
 * every integer. This one writes into a buffer the caller keeps, in one
 * pass; the text is what json_object_to_json_string_ext gives with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, members in
 * json-c's order, doubles written by json-c itself. */
#ifndef LW_COMMON_JSON_WRITE_H
#define LW_COMMON_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct lw_json_buf {
	char *text;	/* NUL-terminated after a successful write */
	size_t len;	/* bytes written, the NUL not counted */
	size_t size;	/* bytes allocated */
	bool failed;	/* streaming: out of memory since the last lw_json_end */
};

/* Appends o's text (NULL: null) to b; 0, or -ENOMEM (b keeps what it had). */
int lw_json_write(struct lw_json_buf *b, struct json_object *o);
/* Appends n bytes of s as they are (a frame around the text); 0 or -ENOMEM. */
int lw_json_put(struct lw_json_buf *b, const char *s, size_t n);
void lw_json_buf_free(struct lw_json_buf *b);

/* A string object whose bytes are JSON text already, written as they are
 * by lw_json_write and by json-c: a record written by the streaming calls
 * below, placed in a tree (a reply's parameters). NULL: out of memory. */
struct json_object *lw_json_new_raw(const char *text, size_t n);

/* Streaming: a record written member by member, with no tree at all (a
 * tree costs an allocation and a hash table a member). The calls place
 * the commas; keys are the caller's literals, written unescaped. An
 * allocation failure is remembered and makes later calls do nothing, so a
 * builder checks once, with lw_json_end. */
void lw_json_open(struct lw_json_buf *b, char bracket);	/* '{' or '[' */
void lw_json_close(struct lw_json_buf *b, char bracket);	/* '}' or ']' */
void lw_json_key(struct lw_json_buf *b, const char *key);	/* a member, its value next */
void lw_json_item(struct lw_json_buf *b);			/* an element, its value next */
void lw_json_string(struct lw_json_buf *b, const char *s, size_t n);
void lw_json_text(struct lw_json_buf *b, const char *s);	/* NULL: null */
void lw_json_int(struct lw_json_buf *b, int64_t v);
void lw_json_uint(struct lw_json_buf *b, uint64_t v);
void lw_json_bool(struct lw_json_buf *b, bool v);
void lw_json_null(struct lw_json_buf *b);
/* 0 with the text NUL-terminated, or -ENOMEM with b cut back to from (its
 * length before the record) and ready for the next. */
int lw_json_end(struct lw_json_buf *b, size_t from);

#endif /* LW_COMMON_JSON_WRITE_H */
