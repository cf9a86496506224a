// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state: a snapshot plus a journal of changes. See state.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zlib.h>

#include "enforcer/enforcer.h"
#include "lease_json.h"
#include "state.h"

#define STATE_VERSION 2
#define STATE_VERSION_SINGLE_FILE 1	/* before the journal: still read */
/* Far above any real table (max_images leases of a few hundred bytes each)
 * yet small enough to read whole. */
#define STATE_SIZE_MAX (256 << 20)
/* Compact once the journal passes twice the snapshot, and not before it
 * holds this much: a small table is not rewritten every few changes. */
#define COMPACT_MIN_BYTES (1 << 20)
#define ID_LEN 16

struct lw_state {
	char dir[PATH_MAX];
	char id[ID_LEN + 1];	/* the snapshot the journal follows */
	int journal_fd;
	off_t durable;		/* journal bytes written and synced */
	uint64_t durable_seq;	/* the last durable record's sequence number */
	uint64_t seq;		/* the last queued record's */
	off_t snapshot_bytes;
	char *queue;		/* records queued, not yet written */
	size_t queued, queue_size;
	bool broken;		/* the journal's tail is unknown: compact at the next commit */
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
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

/* "CRC32 JSON\n" of obj, appended to *buf. */
static int frame(struct json_object *obj, char **buf, size_t *len, size_t *size)
{
	size_t n;
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);

	if (!text)
		return -ENOMEM;
	n = strlen(text);
	if (*len + n + 10 > *size) {
		size_t want = (*len + n + 10) * 2;
		char *grown = realloc(*buf, want);

		if (!grown)
			return -ENOMEM;
		*buf = grown;
		*size = want;
	}
	snprintf(*buf + *len, 10, "%08lx", crc32(0L, (const Bytef *)text, (uInt)n));
	(*buf)[*len + 8] = ' ';
	memcpy(*buf + *len + 9, text, n);
	(*buf)[*len + 9 + n] = '\n';
	*len += n + 10;
	return 0;
}

static int sync_dir(const char *dir, struct lw_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || fsync(fd) < 0) {
		r = lw_err_set(err, errno, "state: cannot sync %s: %s", dir, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Write text to dir/name through a synced temporary file and rename it in
 * place; the folder is synced too. Returns the open file in *keep_fd if
 * asked (for appending), else closes it. */
static int replace_file(const char *dir, const char *name, const char *text, size_t len,
			int *keep_fd, struct lw_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = lw_err_set(err, errno, "state: cannot create %s: %s", tmp, strerror(errno));
		return r;
	}
	r = write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		lw_err_set(err, -r, "state: cannot write %s: %s", tmp, strerror(-r));
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = lw_err_set(err, errno, "state: cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	/* the rename itself must reach the disk before anything follows it */
	r = sync_dir(dir, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return r;
}

static int write_snapshot(const char *dir, struct lw_lease_table *t, const char *id,
			  off_t *bytes, struct lw_err *err)
{
	struct json_object *root = json_object_new_object(), *leases = json_object_new_array();
	const char *text;
	int r;

	if (!root || !leases) {
		json_object_put(root);
		json_object_put(leases);
		return lw_err_set(err, ENOMEM, "state: out of memory");
	}
	json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(root, "id", json_object_new_string(id));
	for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
		json_object_array_add(leases, lw_lease_to_json(e, true));
	json_object_object_add(root, "leases", leases);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (!text) {
		json_object_put(root);
		return lw_err_set(err, ENOMEM, "state: out of memory");
	}
	*bytes = (off_t)strlen(text);
	r = replace_file(dir, LW_STATE_FILE, text, strlen(text), NULL, err);
	json_object_put(root);
	return r;
}

/* A new snapshot of t, then a journal that follows it. The snapshot goes
 * first: a crash between leaves the old journal, which names the old
 * snapshot and is ignored. */
static int compact(const char *dir, struct lw_lease_table *t, char id[ID_LEN + 1],
		   off_t *snapshot_bytes, int *journal_fd, off_t *journal_bytes,
		   struct lw_err *err)
{
	struct json_object *head = json_object_new_object();
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
	r = head ? 0 : -ENOMEM;
	if (r == 0) {
		json_object_object_add(head, "snapshot", json_object_new_string(id));
		r = frame(head, &buf, &len, &size);
	}
	if (r < 0) {
		lw_err_set(err, -r, "state: out of memory");
		goto cleanup;
	}
	r = replace_file(dir, LW_STATE_JOURNAL, buf, len, journal_fd, err);
	*journal_bytes = (off_t)len;
cleanup:
	json_object_put(head);
	free(buf);
	return r;
}

int lw_state_save(const char *state_dir, struct lw_lease_table *t, struct lw_err *err)
{
	char id[ID_LEN + 1];
	off_t snapshot_bytes, journal_bytes;

	return compact(state_dir, t, id, &snapshot_bytes, NULL, &journal_bytes, err);
}

int lw_state_open(const char *state_dir, struct lw_lease_table *t, struct lw_state **out,
		  struct lw_err *err)
{
	struct lw_state *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		return lw_err_set(err, ENOMEM, "state: out of memory");
	}
	snprintf(s->dir, sizeof(s->dir), "%s", state_dir);
	s->journal_fd = -1;
	r = compact(state_dir, t, s->id, &s->snapshot_bytes, &s->journal_fd, &s->durable, err);
	if (r < 0) {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void lw_state_close(struct lw_state *s)
{
	if (!s)
		return;
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	free(s->queue);
	free(s);
}

int lw_state_append(struct lw_state *s, const struct lw_lease_entry *e, bool ended,
		    struct lw_err *err)
{
	struct json_object *rec = json_object_new_object(), *what;
	int r;

	if (!rec) {
		return lw_err_set(err, ENOMEM, "state: out of memory");
	}
	json_object_object_add(rec, "seq", json_object_new_uint64(s->seq + 1));
	if (ended) {
		what = json_object_new_object();
		if (what) {
			json_object_object_add(what, "image", json_object_new_string(e->image));
			json_object_object_add(what, "dev", json_object_new_uint64(e->key.dev));
			json_object_object_add(what, "ino", json_object_new_uint64(e->key.ino));
		}
		json_object_object_add(rec, "end", what);
	} else {
		json_object_object_add(rec, "lease", lw_lease_to_json(e, true));
	}
	r = frame(rec, &s->queue, &s->queued, &s->queue_size);
	json_object_put(rec);
	if (r < 0) {
		return lw_err_set(err, -r, "state: out of memory");
	}
	s->seq++;
	return 0;
}

bool lw_state_pending(const struct lw_state *s)
{
	return s->queued > 0;
}

static void drop_queue(struct lw_state *s)
{
	s->queued = 0;
	s->seq = s->durable_seq;
}

static int compact_state(struct lw_state *s, struct lw_lease_table *t, struct lw_err *err)
{
	int fd = -1, r;
	off_t bytes;

	r = compact(s->dir, t, s->id, &s->snapshot_bytes, &fd, &bytes, err);
	if (r < 0) {
		/* the old snapshot may have been replaced: only a whole new pair is trusted */
		s->broken = true;
		return r;
	}
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	s->journal_fd = fd;
	s->durable = bytes;
	s->seq = s->durable_seq = 0;
	s->broken = false;
	return 0;
}

int lw_state_commit(struct lw_state *s, struct lw_lease_table *t, struct lw_err *err)
{
	size_t done = 0;
	int r = 0;

	if (!s->queued)
		return 0;
	if (s->broken || s->durable + (off_t)s->queued > 2 * s->snapshot_bytes + COMPACT_MIN_BYTES) {
		/* the new snapshot holds the queued changes */
		drop_queue(s);
		return compact_state(s, t, err);
	}
	while (done < s->queued) {
		ssize_t n = pwrite(s->journal_fd, s->queue + done, s->queued - done, s->durable + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (r == 0 && fdatasync(s->journal_fd) < 0)
		r = -errno;
	if (r < 0) {
		lw_err_set(err, -r, "state: cannot write %s/%s: %s", s->dir, LW_STATE_JOURNAL, strerror(-r));
		/* a cut record must not stay before the next good one; after a
		 * failed sync the page cache cannot be trusted: compact next time */
		if (ftruncate(s->journal_fd, s->durable) < 0 || done == s->queued)
			s->broken = true;
		drop_queue(s);
		return r;
	}
	s->durable += (off_t)s->queued;
	s->durable_seq = s->seq;
	s->queued = 0;
	return 0;
}

/* The whole file, NUL-terminated. A missing file is *text == NULL with 0. */
static int read_file(const char *path, char **text, size_t *len, struct lw_err *err)
{
	struct stat st;
	size_t done = 0;
	char *buf = NULL;
	int fd, r = 0;

	*text = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return lw_err_set(err, errno, "state: cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_SIZE_MAX) {
		r = lw_err_set(err, EBADMSG, "state: %s is not a regular file of at most %d bytes", path,
			       STATE_SIZE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = lw_err_set(err, ENOMEM, "state: out of memory");
		goto cleanup;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EBADMSG;
			lw_err_set(err, -r, "state: cannot read %s: %s", path,
				   n < 0 ? strerror(errno) : "it shrank while read");
			goto cleanup;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	*text = buf;
	*len = done;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return r;
}

/* One JSON document in text[0..len) and nothing after it but, if allowed,
 * white space: a document cut or glued to another is refused, not read in
 * part. NULL with *why set. */
static struct json_object *parse_one(const char *text, size_t len, bool trailing_space,
				     char *why, size_t why_size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end;

	if (!tok || len > INT_MAX) {
		snprintf(why, why_size, "out of memory");
		goto cleanup;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root || jerr != json_tokener_success) {
		snprintf(why, why_size, "at byte %zu: %s", end,
			 jerr == json_tokener_continue ? "the text ends inside the document"
						       : json_tokener_error_desc(jerr));
		json_object_put(root);
		root = NULL;
		goto cleanup;
	}
	while (trailing_space && end < len && strchr(" \t\r\n", text[end]) && text[end])
		end++;
	if (end < len) {
		snprintf(why, why_size, "unexpected data at byte %zu", end);
		json_object_put(root);
		root = NULL;
	}
cleanup:
	if (tok)
		json_tokener_free(tok);
	return root;
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
static struct lw_lease_entry *lease_from(struct json_object *o, struct lw_lease_table *t,
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
	free(e);
	return NULL;
}

/* The snapshot into loaded; *id gets its id ("" for version 1). */
static int load_snapshot(const char *dir, struct lw_lease_table *t, struct lw_lease_table *loaded,
			 char id[ID_LEN + 1], struct lw_err *err)
{
	char path[PATH_MAX], why_buf[128], *text = NULL;
	struct json_object *root = NULL, *leases, *version, *jid;
	const char *why;
	int64_t v;
	size_t n, len;
	int r;

	id[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_FILE);
	r = read_file(path, &text, &len, err);
	if (r < 0 || !text)
		return r;
	root = parse_one(text, len, true, why_buf, sizeof(why_buf));
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
	for (size_t i = 0; i < n; i++) {
		struct lw_lease_entry *e = lease_from(json_object_array_get_idx(leases, i), t, loaded, NULL, &why);

		if (!e) {
			r = lw_err_set(err, EBADMSG, "state: %s: lease %zu: %s", path, i, why);
			goto cleanup;
		}
		lw_lease_table_insert(loaded, e);
	}
cleanup:
	json_object_put(root);
	free(text);
	return r;
}

/* Whether line (without its newline) is "CRC32 JSON" with a matching CRC. */
static bool frame_ok(const char *line, size_t len)
{
	char hex[9];
	char *end;
	unsigned long want;

	if (len < 10 || line[8] != ' ')
		return false;
	memcpy(hex, line, 8);
	hex[8] = '\0';
	if (strspn(hex, "0123456789abcdef") != 8)
		return false;
	want = strtoul(hex, &end, 16);
	return want == crc32(0L, (const Bytef *)line + 9, (uInt)(len - 9));
}

/* Whether a whole, good record starts anywhere in text[from..len). */
static bool good_record_after(const char *text, size_t from, size_t len)
{
	while (from < len) {
		const char *nl = memchr(text + from, '\n', len - from);

		if (!nl)
			return false;	/* a line without its newline is never whole */
		if (frame_ok(text + from, (size_t)(nl - text) - from))
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
		e = lease_from(o, t, loaded, old, why);
		if (!e)
			return -EBADMSG;
		if (old) {
			lw_lease_table_remove(loaded, old);
			free(old);
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
	free(old);
	return 0;
}

/* Replay the journal that follows snapshot id into loaded. */
static int replay_journal(const char *dir, const char *id, struct lw_lease_table *t,
			  struct lw_lease_table *loaded, struct lw_err *err)
{
	char path[PATH_MAX], why_buf[128], *text = NULL;
	struct json_object *rec = NULL, *v;
	const char *why = NULL;
	size_t len, at = 0;
	uint64_t n = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_JOURNAL);
	r = read_file(path, &text, &len, err);
	if (r < 0 || !text)
		return r;
	while (at < len) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t line_len = nl ? (size_t)(nl - line) : len - at;

		if (!nl || !frame_ok(line, line_len)) {
			/* cut by a crash if nothing good follows: never acknowledged */
			if (n > 0 && !good_record_after(text, at + line_len + (nl ? 1 : 0), len))
				break;
			r = lw_err_set(err, EBADMSG, "state: %s: record %" PRIu64 " at byte %zu: %s", path, n, at,
				       nl ? "CRC mismatch" : "cut short");
			goto cleanup;
		}
		rec = parse_one(line + 9, line_len - 9, false, why_buf, sizeof(why_buf));
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

int lw_state_load(const char *state_dir, struct lw_lease_table *t, struct lw_err *err)
{
	struct lw_lease_table *loaded = NULL;
	struct lw_lease_entry *e;
	char id[ID_LEN + 1];
	int r;

	/* read into a table of its own: a state refused adds nothing to t */
	r = lw_lease_table_new(0, &loaded);
	if (r < 0) {
		return lw_err_set(err, -r, "state: out of memory");
	}
	r = load_snapshot(state_dir, t, loaded, id, err);
	if (r == 0 && id[0])
		r = replay_journal(state_dir, id, t, loaded, err);
	if (r == 0)
		while ((e = lw_lease_first(loaded))) {
			lw_lease_table_remove(loaded, e);
			lw_lease_table_insert(t, e);
		}
	lw_lease_table_free(loaded);
	return r;
}
