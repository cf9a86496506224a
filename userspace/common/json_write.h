/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compact JSON text of a json-c tree, for the records of every lease round
 * trip (the state journal, the audit file, varlink messages). json-c's own
 * writer spends about 15,000 instructions on a 250-byte record: a printbuf
 * grown by realloc, an append per key, quote and value, and snprintf for
 * every integer. This one writes into a buffer the caller keeps, in one
 * pass; the text is what json_object_to_json_string_ext gives with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, members in
 * json-c's order, doubles written by json-c itself. */
#ifndef LW_COMMON_JSON_WRITE_H
#define LW_COMMON_JSON_WRITE_H

#include <stddef.h>
#include <json-c/json.h>

struct lw_json_buf {
	char *text;	/* NUL-terminated after a successful write */
	size_t len;	/* bytes written, the NUL not counted */
	size_t size;	/* bytes allocated */
};

/* Appends o's text (NULL: null) to b; 0, or -ENOMEM (b keeps what it had). */
int lw_json_write(struct lw_json_buf *b, struct json_object *o);
/* Appends n bytes of s as they are (a frame around the text); 0 or -ENOMEM. */
int lw_json_put(struct lw_json_buf *b, const char *s, size_t n);
void lw_json_buf_free(struct lw_json_buf *b);

#endif /* LW_COMMON_JSON_WRITE_H */
