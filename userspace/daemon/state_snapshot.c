// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state's snapshot: the whole table written at once (a compaction,
 * which starts an empty journal after it), and read back at start. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/holder.h"
#include "common/json_write.h"
#include "common/proc.h"
#include "lease_json.h"
#include "state.h"
#include "state_internal.h"

#define STATE_VERSION 2
#define STATE_VERSION_SINGLE_FILE 1	/* before the journal: still read */

#define BOOT_ID_LEN 36	/* a UUID's text */

/* This boot's id ("" if the kernel does not say). A lease cannot outlive
 * the boot it was taken in: its holder, its backend lock and its kernel
 * entry all end with it. So a state from another boot is dropped whole,
 * and the journal needs no sync (state.h). */
static void boot_id(char id[BOOT_ID_LEN + 1])
{
	char buf[64];

	id[0] = '\0';
	if (lw_read_text("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) >= 0 &&
	    strcspn(buf, "\n") == BOOT_ID_LEN) {
		memcpy(id, buf, BOOT_ID_LEN);
		id[BOOT_ID_LEN] = '\0';
	}
}

static int new_id(char id[ID_LEN + 1])
{
	unsigned char raw[ID_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -errno;
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(id + 2 * i, "%02x", raw[i]);
	return 0;
}

/* The snapshot is written lease by lease through a small buffer: built as
 * one JSON tree, the table at 65,536 leases took a hundred MiB of small
 * blocks whose holes stayed in the daemon's heap after. The bytes are
 * those json-c would write for the whole tree ({"version":..,"id":..,
 * "leases":[..]}, plain). */
struct snapshot_writer {
	struct lw_lease_table *t;
	const char *id;
	int fd;
	size_t len;		/* in buf */
	off_t bytes;		/* written in all */
	char buf[64 * 1024];
	struct lw_json_buf text;	/* one lease's, its room reused */
};

static int put(struct snapshot_writer *w, const char *text, size_t n)
{
	int r;

	if (w->len + n > sizeof(w->buf)) {
		if ((r = lw_state_write_all(w->fd, w->buf, w->len)) < 0)
			return r;
		w->len = 0;
	}
	w->bytes += (off_t)n;
	if (n > sizeof(w->buf))
		return lw_state_write_all(w->fd, text, n);
	memcpy(w->buf + w->len, text, n);
	w->len += n;
	return 0;
}

/* The lease's text, streamed into w->text first: put only whole. */
static int put_lease(struct snapshot_writer *w, const struct lw_lease_entry *e)
{
	int r;

	w->text.len = 0;
	lw_lease_json_put(&w->text, e, true, false);
	if ((r = lw_json_end(&w->text, 0)) < 0)
		return r;
	return put(w, w->text.text, w->text.len);
}

/* {"version":..,"id":..,"boot":..} without its closing brace. */
static int put_head(struct snapshot_writer *w)
{
	char boot[BOOT_ID_LEN + 1];
	int r;

	boot_id(boot);
	w->text.len = 0;
	lw_json_open(&w->text, '{');
	lw_json_key(&w->text, "version");
	lw_json_int(&w->text, STATE_VERSION);
	lw_json_key(&w->text, "id");
	lw_json_text(&w->text, w->id);
	if (boot[0]) {
		lw_json_key(&w->text, "boot");
		lw_json_text(&w->text, boot);
	}
	if ((r = lw_json_end(&w->text, 0)) < 0)
		return r;
	return put(w, w->text.text, w->text.len);
}

static int fill_snapshot(int fd, void *ctx)
{
	struct snapshot_writer *w = ctx;
	int r;

	w->fd = fd;
	w->len = 0;
	w->bytes = 0;
	/* the head, then the leases */
	if ((r = put_head(w)) < 0 || (r = put(w, ",\"leases\":[", 11)) < 0)
		return r;
	for (struct lw_lease_entry *e = lw_lease_first(w->t); e; e = e->next)
		if ((e != lw_lease_first(w->t) && (r = put(w, ",", 1)) < 0) ||
		    (r = put_lease(w, e)) < 0)
			return r;
	if ((r = put(w, "]}", 2)) < 0)
		return r;
	return lw_state_write_all(fd, w->buf, w->len);
}

static int write_snapshot(const char *dir, struct lw_lease_table *t, const char *id,
			  off_t *bytes, struct lw_err *err)
{
	struct snapshot_writer *w = malloc(sizeof(*w));
	int r;

	if (!w)
		return lw_err_set(err, ENOMEM, "state: out of memory");
	w->t = t;
	w->id = id;
	w->text = (struct lw_json_buf){ 0 };
	r = lw_state_replace_file_with(dir, LW_STATE_FILE, fill_snapshot, w, NULL, err);
	*bytes = w->bytes;
	lw_json_buf_free(&w->text);
	free(w);
	return r;
}

/* A new snapshot of t, then a journal that follows it. The snapshot goes
 * first: a crash between leaves the old journal, which names the old
 * snapshot and is ignored. */
int lw_state_compact(const char *dir, struct lw_lease_table *t, char id[ID_LEN + 1],
		   off_t *snapshot_bytes, int *journal_fd, off_t *journal_bytes,
		   struct lw_err *err)
{
	struct lw_json_buf head = { 0 };
	char *buf = NULL;
	size_t len = 0, size = 0;
	int r = new_id(id);

	if (r < 0) {
		lw_err_set(err, -r, "state: cannot make a snapshot id: %s", strerror(-r));
		goto cleanup;
	}
	r = write_snapshot(dir, t, id, snapshot_bytes, err);
	if (r < 0)
		goto cleanup;
	lw_json_open(&head, '{');
	lw_json_key(&head, "snapshot");
	lw_json_text(&head, id);
	lw_json_close(&head, '}');
	r = lw_json_end(&head, 0);
	if (r == 0)
		r = lw_state_frame(head.text, head.len, &buf, &len, &size);
	if (r < 0) {
		lw_err_set(err, -r, "state: out of memory");
		goto cleanup;
	}
	r = lw_state_replace_file(dir, LW_STATE_JOURNAL, buf, len, journal_fd, err);
	*journal_bytes = (off_t)len;
cleanup:
	lw_json_buf_free(&head);
	free(buf);
	return r;
}

int lw_state_save(const char *state_dir, struct lw_lease_table *t, struct lw_err *err)
{
	char id[ID_LEN + 1];
	off_t snapshot_bytes, journal_bytes;

	return lw_state_compact(state_dir, t, id, &snapshot_bytes, NULL, &journal_bytes, err);
}

static bool has_duplicate_holder(const struct lw_lease_entry *e)
{
	for (unsigned int i = 0; i < e->nr_holders; i++)
		for (unsigned int j = 0; j < i; j++)
			if (lw_holder_equal(&e->holders[i].id, &e->holders[j].id))
				return true;
	return false;
}

/* A lease read from the state, checked against both tables. except is an
 * entry it may replace (same image). NULL with *why set. */
struct lw_lease_entry *lw_state_lease_from(struct json_object *o, struct lw_lease_table *t,
					 struct lw_lease_table *loaded,
					 const struct lw_lease_entry *except, const char **why)
{
	struct lw_lease_entry *e = lw_lease_entry_new(), *other;

	if (!e) {
		*why = "out of memory";
		return NULL;
	}
	if (lw_lease_from_json(o, e, why) < 0)
		goto fail;
	if (has_duplicate_holder(e)) {
		*why = "a holder is listed twice";
		goto fail;
	}
	other = lw_lease_by_key(loaded, &e->key);
	if (lw_lease_by_image(t, e->image) || lw_lease_by_key(t, &e->key) ||
	    (lw_lease_by_image(loaded, e->image) && lw_lease_by_image(loaded, e->image) != except) ||
	    (other && other != except)) {
		*why = "duplicate image";
		goto fail;
	}
	if (except && (except->key.dev != e->key.dev || except->key.ino != e->key.ino)) {
		*why = "the image's key changed without its lease ending";
		goto fail;
	}
	return e;
fail:
	lw_lease_entry_free(e);
	return NULL;
}

/* Whether the snapshot names a boot other than this one. A snapshot
 * without a boot (written before it was recorded) is taken as this boot's:
 * its leases are checked one by one at adoption, as then. */
static bool from_earlier_boot(struct json_object *root)
{
	char now[BOOT_ID_LEN + 1];
	struct json_object *boot;

	if (!json_object_object_get_ex(root, "boot", &boot) || !json_object_is_type(boot, json_type_string))
		return false;
	boot_id(now);
	return now[0] && strcmp(json_object_get_string(boot), now) != 0;
}

/* The snapshot in text[0..len) into loaded, parsed whole; *id gets its id
 * ("" for version 1, or for a snapshot of an earlier boot, whose journal
 * is not read). */
static int parse_snapshot(const char *path, const char *text, size_t len, struct lw_lease_table *t,
			  struct lw_lease_table *loaded, char id[ID_LEN + 1], bool *earlier_boot,
			  struct lw_err *err)
{
	struct json_object *root = NULL, *leases, *version, *jid;
	char why_buf[128];
	const char *why;
	int64_t v;
	size_t n;
	int r = 0;

	id[0] = '\0';
	root = lw_state_parse_one(text, len, true, why_buf, sizeof(why_buf));
	if (!root) {
		r = lw_err_set(err, EBADMSG, "state: cannot parse %s %s", path, why_buf);
		goto cleanup;
	}
	v = json_object_object_get_ex(root, "version", &version) &&
	    json_object_is_type(version, json_type_int) ? json_object_get_int64(version) : 0;
	if ((v != STATE_VERSION && v != STATE_VERSION_SINGLE_FILE) ||
	    !json_object_object_get_ex(root, "leases", &leases) ||
	    !json_object_is_type(leases, json_type_array)) {
		r = lw_err_set(err, EBADMSG, "state: %s: no version %d or %d lease list", path,
			       STATE_VERSION_SINGLE_FILE, STATE_VERSION);
		goto cleanup;
	}
	if (v == STATE_VERSION) {
		if (!json_object_object_get_ex(root, "id", &jid) || !json_object_is_type(jid, json_type_string) ||
		    json_object_get_string_len(jid) != ID_LEN ||
		    strspn(json_object_get_string(jid), "0123456789abcdef") != ID_LEN) {
			r = lw_err_set(err, EBADMSG, "state: %s: no snapshot id of %d hex digits", path, ID_LEN);
			goto cleanup;
		}
		memcpy(id, json_object_get_string(jid), ID_LEN + 1);
	}
	n = json_object_array_length(leases);
	if (from_earlier_boot(root)) {
		/* the journal after it may be torn anywhere (it is not synced):
		 * neither is read, their leases ended with that boot */
		*earlier_boot = true;
		id[0] = '\0';
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct lw_lease_entry *e = lw_state_lease_from(json_object_array_get_idx(leases, i), t, loaded, NULL, &why);

		if (!e) {
			r = lw_err_set(err, EBADMSG, "state: %s: lease %zu: %s", path, i, why);
			goto cleanup;
		}
		lw_lease_table_insert(loaded, e);
	}
cleanup:
	json_object_put(root);
	return r;
}

static size_t skip_space(const char *text, size_t len, size_t at)
{
	while (at < len && strchr(" \t\r\n", text[at]) && text[at])
		at++;
	return at;
}

/* The leases from text[at..len) on, as fill_snapshot writes them (after
 * its "leases":[), each read, checked and freed before the next: json-c's
 * tree of the whole table, built and freed at once, cost more than the
 * leases themselves at 65,536. -1 on anything else: the caller parses the
 * text whole, which says what is wrong. */
static int stream_leases(const char *text, size_t len, size_t at, struct lw_lease_table *t,
			 struct lw_lease_table *loaded)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	struct lw_lease_entry *e;
	const char *why;
	int r = -1;

	if (!tok)
		return -1;
	at = skip_space(text, len, at);
	if (at < len && text[at] == ']')
		at++;
	else
		for (;;) {
			json_tokener_reset(tok);
			o = json_tokener_parse_ex(tok, text + at, (int)(len - at));
			if (!o || json_tokener_get_error(tok) != json_tokener_success) {
				json_object_put(o);
				goto cleanup;
			}
			at += json_tokener_get_parse_end(tok);
			e = lw_state_lease_from(o, t, loaded, NULL, &why);
			json_object_put(o);
			if (!e)
				goto cleanup;
			lw_lease_table_insert(loaded, e);
			at = skip_space(text, len, at);
			if (at < len && text[at] == ',') {
				at++;
				continue;
			}
			if (at >= len || text[at++] != ']')
				goto cleanup;
			break;
		}
	at = skip_space(text, len, at);
	if (at < len && text[at] == '}' && skip_space(text, len, at + 1) == len)
		r = 0;
cleanup:
	json_tokener_free(tok);
	return r;
}

static void empty(struct lw_lease_table *t)
{
	struct lw_lease_entry *e;

	while ((e = lw_lease_first(t))) {
		lw_lease_table_remove(t, e);
		lw_lease_entry_free(e);
	}
}

/* The snapshot into loaded (parse_snapshot). One as fill_snapshot writes
 * it is read head first (parsed with no leases), then lease by lease;
 * any other, or one that does not read so, is parsed whole. */
static int load_snapshot(const char *dir, struct lw_lease_table *t, struct lw_lease_table *loaded,
			 char id[ID_LEN + 1], bool *earlier_boot, struct lw_err *err)
{
	static const char mark[] = ",\"leases\":[", no_leases[] = ",\"leases\":[]}";
	char path[PATH_MAX], head[256], *text = NULL;
	const char *at;
	size_t len, head_len;
	int r;

	id[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_FILE);
	r = lw_state_read_file(path, &text, &len, err);
	if (r < 0 || !text)
		return r;
	/* a JSON string holds no bare quote: the first mark is the list's */
	at = memmem(text, len, mark, sizeof(mark) - 1);
	head_len = at ? (size_t)(at - text) : sizeof(head);
	if (head_len + sizeof(no_leases) <= sizeof(head)) {
		memcpy(head, text, head_len);
		memcpy(head + head_len, no_leases, sizeof(no_leases));
		r = parse_snapshot(path, head, head_len + sizeof(no_leases) - 1, t, loaded, id, earlier_boot, err);
		if (r == 0 && (*earlier_boot ||
			       stream_leases(text, len, head_len + sizeof(mark) - 1, t, loaded) == 0))
			goto cleanup;
		empty(loaded);
	}
	r = parse_snapshot(path, text, len, t, loaded, id, earlier_boot, err);
cleanup:
	free(text);
	return r;
}

int lw_state_load(const char *state_dir, struct lw_lease_table *t, bool *earlier_boot,
		  struct lw_err *err)
{
	struct lw_lease_table *loaded = NULL;
	struct lw_lease_entry *e;
	bool dropped = false;
	char id[ID_LEN + 1];
	int r;

	/* read into a table of its own: a state refused adds nothing to t */
	r = lw_lease_table_new(0, &loaded);
	if (r < 0) {
		return lw_err_set(err, -r, "state: out of memory");
	}
	r = load_snapshot(state_dir, t, loaded, id, &dropped, err);
	if (r == 0 && id[0])
		r = lw_state_replay_journal(state_dir, id, t, loaded, err);
	if (r == 0)
		while ((e = lw_lease_first(loaded))) {
			lw_lease_table_remove(loaded, e);
			lw_lease_table_insert(t, e);
		}
	lw_lease_table_free(loaded);
	if (earlier_boot)
		*earlier_boot = r == 0 && dropped;
	return r;
}
