// SPDX-License-Identifier: LGPL-2.1-or-later
/* Replaying the state's journal at start: each record checked (frame, CRC,
 * sequence) and applied over the snapshot. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lease_json.h"
#include "state.h"
#include "state_internal.h"

/* Whether a whole, good record starts anywhere in text[from..len). */
static bool good_record_after(const char *text, size_t from, size_t len)
{
	while (from < len) {
		const char *nl = memchr(text + from, '\n', len - from);

		if (!nl)
			return false;	/* a line without its newline is never whole */
		if (lw_state_frame_ok(text + from, (size_t)(nl - text) - from))
			return true;
		from = (size_t)(nl - text) + 1;
	}
	return false;
}

/* One journal record applied to loaded. */
static int apply(struct json_object *rec, uint64_t want_seq, struct lw_lease_table *t,
		 struct lw_lease_table *loaded, const char **why)
{
	struct json_object *o, *v;
	struct lw_lease_entry *old, *e;
	uint64_t seq, dev, ino;
	const char *image;

	if (!json_object_is_type(rec, json_type_object) || lw_json_get_u64(rec, "seq", &seq) < 0)
		return *why = "no sequence number", -EBADMSG;
	if (seq != want_seq)
		return *why = "out of sequence (a record lost or repeated)", -EBADMSG;
	if (json_object_object_length(rec) != 2)
		return *why = "not one change", -EBADMSG;
	if (json_object_object_get_ex(rec, "lease", &o)) {
		image = json_object_is_type(o, json_type_object) &&
			json_object_object_get_ex(o, "image", &v) ? json_object_get_string(v) : NULL;
		old = image ? lw_lease_by_image(loaded, image) : NULL;
		e = lw_state_lease_from(o, t, loaded, old, why);
		if (!e)
			return -EBADMSG;
		if (old) {
			lw_lease_table_remove(loaded, old);
			lw_lease_entry_free(old);
		}
		lw_lease_table_insert(loaded, e);
		return 0;
	}
	if (!json_object_object_get_ex(rec, "end", &o) || !json_object_is_type(o, json_type_object))
		return *why = "neither a lease nor an end", -EBADMSG;
	/* the end names the lease as a lease does: image, dev, ino */
	if (!json_object_object_get_ex(o, "image", &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v)) ||
	    !(old = lw_lease_by_image(loaded, json_object_get_string(v))) ||
	    lw_json_get_u64(o, "dev", &dev) < 0 || dev != old->key.dev ||
	    lw_json_get_u64(o, "ino", &ino) < 0 || ino != old->key.ino)
		return *why = "the end of a lease the state does not hold", -EBADMSG;
	lw_lease_table_remove(loaded, old);
	lw_lease_entry_free(old);
	return 0;
}

/* Replay the journal that follows snapshot id into loaded. */
int lw_state_replay_journal(const char *dir, const char *id, struct lw_lease_table *t,
			  struct lw_lease_table *loaded, struct lw_err *err)
{
	char path[PATH_MAX], why_buf[128], *text = NULL;
	struct json_object *rec = NULL, *v;
	const char *why = NULL;
	size_t len, at = 0;
	uint64_t n = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_JOURNAL);
	r = lw_state_read_file(path, &text, &len, err);
	if (r < 0 || !text)
		return r;
	while (at < len) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t line_len = nl ? (size_t)(nl - line) : len - at;

		if (!nl || !lw_state_frame_ok(line, line_len)) {
			/* cut by a crash if nothing good follows: never acknowledged */
			if (n > 0 && !good_record_after(text, at + line_len + (nl ? 1 : 0), len))
				break;
			r = lw_err_set(err, EBADMSG, "state: %s: record %" PRIu64 " at byte %zu: %s", path, n, at,
				       nl ? "CRC mismatch" : "cut short");
			goto cleanup;
		}
		rec = lw_state_parse_one(line + 9, line_len - 9, false, why_buf, sizeof(why_buf));
		if (!rec) {
			r = lw_err_set(err, EBADMSG, "state: %s: record %" PRIu64 " at byte %zu: %s", path, n, at, why_buf);
			goto cleanup;
		}
		if (n == 0) {
			/* the header: which snapshot this journal follows */
			if (!json_object_is_type(rec, json_type_object) ||
			    !json_object_object_get_ex(rec, "snapshot", &v) || !json_object_is_type(v, json_type_string)) {
				r = lw_err_set(err, EBADMSG, "state: %s: no snapshot id in its first record", path);
				goto cleanup;
			}
			if (strcmp(json_object_get_string(v), id) != 0)
				goto cleanup;	/* older than the snapshot: all in it already */
		} else if (apply(rec, n, t, loaded, &why) < 0) {
			r = lw_err_set(err, EBADMSG, "state: %s: record %" PRIu64 " at byte %zu: %s", path, n, at, why);
			goto cleanup;
		}
		json_object_put(rec);
		rec = NULL;
		n++;
		at += line_len + 1;
	}
cleanup:
	json_object_put(rec);
	free(text);
	return r;
}
