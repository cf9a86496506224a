/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the JSON Lines audit file back: what `lockwarden audit` needs,
 * kept here so the unit tests reach it. */
#ifndef LW_AUDIT_READER_H
#define LW_AUDIT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

/* --since TIME, as wall-clock ns. Accepted (documented in docs/audit.md):
 *   -30s, -10min, -2h, -1d, -1w (also "10min ago"; units s sec second
 *   m min minute h hour d day w week, plurals too), now,
 *   2026-11-30, 2026-11-30T01:02, 2026-11-30 01:02:03[.123456789]
 *   with an optional zone Z, +HH:MM, -HHMM (no zone: local time),
 *   @UNIXSECONDS[.fraction].
 * Returns -EINVAL for anything else. */
int lw_audit_parse_since(const char *spec, int64_t now_ns, int64_t *out_ns);

struct lw_audit_filter {
	bool since_set;
	int64_t since_ns;		/* records at or after this wall time */
	const char *image;		/* NULL: any; else the record's "image" or "path" */
	char image_resolved[4096];	/* image through realpath(3), "" if it does not resolve */
};

void lw_audit_filter_init(struct lw_audit_filter *filter);
void lw_audit_filter_set_image(struct lw_audit_filter *filter, const char *image);
bool lw_audit_filter_match(const struct lw_audit_filter *filter, struct json_object *rec);

/* The table: a header line and one row a record (no newline). */
extern const char lw_audit_table_header[];
void lw_audit_format_row(struct json_object *rec, char *buf, size_t len);

/* One open file of the log, with the start of a line not yet complete. */
struct lw_audit_tail_file {
	int fd;			/* -1: none */
	int watch;		/* its inotify watch, -1: none */
	dev_t dev;
	ino_t ino;
	char *partial;
	size_t partial_len;
};

/* A reader of the log that, when following, survives rotation (the file
 * moved away or deleted and created again) and truncation. After a
 * rotation it keeps reading the old file until the writer has reopened
 * (the new file has data), so no line written in between is lost. */
struct lw_audit_tail {
	char path[4096];
	bool follow;
	int inotify_fd;		/* -1 when not following */
	struct lw_audit_tail_file cur, old;
};

typedef int (*lw_audit_line_fn)(const char *line, void *ctx);

/* Open path. Without follow a missing file is an error (-ENOENT); with
 * follow the reader waits for it to appear. */
int lw_audit_tail_open(struct lw_audit_tail *tail, const char *path, bool follow);
/* Call fn for every complete line available now, switching to a new file
 * if the old one was rotated away; stops early if fn returns non-zero. */
int lw_audit_tail_read(struct lw_audit_tail *tail, lw_audit_line_fn fn, void *ctx);
/* Wait up to timeout_ms (-1: forever) for the log to change. Returns 1 on
 * a change, 0 on timeout. */
int lw_audit_tail_wait(struct lw_audit_tail *tail, int timeout_ms);
void lw_audit_tail_close(struct lw_audit_tail *tail);

#endif /* LW_AUDIT_READER_H */
