/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the state's files share (state.c, state_files.c, state_snapshot.c,
 * state_replay.c); not part of the API (state.h). */
#ifndef LW_DAEMON_STATE_INTERNAL_H
#define LW_DAEMON_STATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "common/err.h"
#include "lease.h"

#define ID_LEN 16	/* hex digits of a snapshot id */

/* state_files.c: the files on disk. */
/* "CRC32 JSON\n" of a record's text (n bytes), appended to *buf. */
int lw_state_frame(const char *text, size_t n, char **buf, size_t *len, size_t *size);
/* Whether line (without its newline) is "CRC32 JSON" with a matching CRC. */
bool lw_state_frame_ok(const char *line, size_t len);
/* Write text to dir/name through a synced temporary file and rename it in
 * place; the folder is synced too. Returns the open file in *keep_fd if
 * asked (for appending), else closes it. */
int lw_state_replace_file(const char *dir, const char *name, const char *text, size_t len,
			  int *keep_fd, struct lw_err *err);
/* Writes a file's bytes to fd: 0, or a negative errno. */
typedef int (*lw_state_fill_fn)(int fd, void *ctx);
/* lw_state_replace_file with the bytes written by fill, piece by piece (a
 * snapshot of the whole table is never all in memory at once). */
int lw_state_replace_file_with(const char *dir, const char *name, lw_state_fill_fn fill, void *ctx,
			       int *keep_fd, struct lw_err *err);
/* write(2) until all of buf is written: 0 or a negative errno. */
int lw_state_write_all(int fd, const char *buf, size_t len);
/* The whole file, NUL-terminated. A missing file is *text == NULL with 0. */
int lw_state_read_file(const char *path, char **text, size_t *len, struct lw_err *err);
/* One JSON document in text[0..len) and nothing after it but, if allowed,
 * white space. NULL with *why set. */
struct json_object *lw_state_parse_one(const char *text, size_t len, bool trailing_space,
				       char *why, size_t why_size);

/* state_snapshot.c: a new snapshot of t, then a journal that follows it
 * (its id in id; the journal open in *journal_fd if asked). */
int lw_state_compact(const char *dir, struct lw_lease_table *t, char id[ID_LEN + 1],
		     off_t *snapshot_bytes, int *journal_fd, off_t *journal_bytes, struct lw_err *err);
/* A lease read from the state, checked against both tables. except is an
 * entry it may replace (same image). NULL with *why set. */
struct lw_lease_entry *lw_state_lease_from(struct json_object *o, struct lw_lease_table *t,
					   struct lw_lease_table *loaded,
					   const struct lw_lease_entry *except, const char **why);

/* state_replay.c: replay the journal that follows snapshot id into loaded. */
int lw_state_replay_journal(const char *dir, const char *id, struct lw_lease_table *t,
			    struct lw_lease_table *loaded, struct lw_err *err);

#endif /* LW_DAEMON_STATE_INTERNAL_H */
