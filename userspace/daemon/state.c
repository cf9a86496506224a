/* The state file, written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lease_json.h"
#include "state.h"

#define STATE_VERSION 1
/* Far above any real table (max_images leases of a few hundred bytes each)
 * yet small enough to read whole. */
#define STATE_SIZE_MAX (256 << 20)

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

int lw_state_save(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct json_object *root = json_object_new_object(), *leases = json_object_new_array();
	const char *text;
	int fd = -1, dir_fd = -1, r = 0;

	if (!root || !leases) {
		json_object_put(leases);
		r = -ENOMEM;
		snprintf(err, err_size, "state: out of memory");
		goto cleanup;
	}
	json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
	for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
		json_object_array_add(leases, lw_lease_to_json(e, true));
	json_object_object_add(root, "leases", leases);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);

	snprintf(path, sizeof(path), "%s/%s", state_dir, LW_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", state_dir, LW_STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot create %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, err_size, "state: cannot write %s: %s", tmp, strerror(-r));
		goto cleanup;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
	/* the rename itself must reach the disk too */
	dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || fsync(dir_fd) < 0) {
		r = -errno;
		snprintf(err, err_size, "state: cannot sync %s: %s", state_dir, strerror(errno));
	}
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	json_object_put(root);
	return r;
}

/* The whole file, NUL-terminated, or NULL with err set. A missing file is
 * *text == NULL with 0 returned. */
static int read_state(const char *path, char **text, size_t *len, char *err, size_t err_size)
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
		snprintf(err, err_size, "state: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_SIZE_MAX) {
		r = -EBADMSG;
		snprintf(err, err_size, "state: %s is not a regular file of at most %d bytes", path,
			 STATE_SIZE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		snprintf(err, err_size, "state: out of memory");
		goto cleanup;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EBADMSG;
			snprintf(err, err_size, "state: cannot read %s: %s", path,
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

/* One JSON document and nothing after it but white space: a file cut or
 * glued to another is refused, not read in part. */
static struct json_object *parse_state(const char *path, const char *text, size_t len,
				       char *err, size_t err_size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end;

	if (!tok || len > INT_MAX) {
		snprintf(err, err_size, "state: cannot parse %s: out of memory", path);
		goto cleanup;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root || jerr != json_tokener_success) {
		snprintf(err, err_size, "state: cannot parse %s at byte %zu: %s", path, end,
			 jerr == json_tokener_continue ? "the file ends inside the document"
						       : json_tokener_error_desc(jerr));
		json_object_put(root);
		root = NULL;
		goto cleanup;
	}
	while (end < len && strchr(" \t\r\n", text[end]) && text[end])
		end++;
	if (end < len) {
		snprintf(err, err_size, "state: cannot parse %s: unexpected data at byte %zu", path, end);
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

int lw_state_load(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size)
{
	char path[PATH_MAX], *text = NULL;
	struct json_object *root = NULL, *leases, *version;
	struct lw_lease_table *loaded = NULL;
	struct lw_lease_entry *e;
	const char *why;
	size_t n, len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", state_dir, LW_STATE_FILE);
	r = read_state(path, &text, &len, err, err_size);
	if (r < 0 || !text)
		return r;
	root = parse_state(path, text, len, err, err_size);
	if (!root) {
		r = -EBADMSG;
		goto cleanup;
	}
	if (!json_object_object_get_ex(root, "version", &version) ||
	    !json_object_is_type(version, json_type_int) ||
	    json_object_get_int64(version) != STATE_VERSION ||
	    !json_object_object_get_ex(root, "leases", &leases) ||
	    !json_object_is_type(leases, json_type_array)) {
		snprintf(err, err_size, "state: %s: no version %d lease list", path, STATE_VERSION);
		r = -EBADMSG;
		goto cleanup;
	}
	/* read into a table of its own: a file refused adds nothing to t */
	r = lw_lease_table_new(0, &loaded);
	if (r < 0) {
		snprintf(err, err_size, "state: out of memory");
		goto cleanup;
	}
	n = json_object_array_length(leases);
	for (size_t i = 0; i < n; i++) {
		e = lw_lease_entry_new();
		if (!e) {
			r = -ENOMEM;
			snprintf(err, err_size, "state: out of memory");
			goto cleanup;
		}
		r = lw_lease_from_json(json_object_array_get_idx(leases, i), e, &why) < 0 ? -EBADMSG : 0;
		if (r == 0 && has_duplicate_holder(e)) {
			r = -EBADMSG;
			why = "a holder is listed twice";
		}
		if (r == 0 && (lw_lease_by_image(t, e->image) || lw_lease_by_key(t, &e->key) ||
			       lw_lease_by_image(loaded, e->image) || lw_lease_by_key(loaded, &e->key))) {
			r = -EBADMSG;
			why = "duplicate image";
		}
		if (r < 0) {
			snprintf(err, err_size, "state: %s: lease %zu: %s", path, i, why);
			free(e);
			goto cleanup;
		}
		lw_lease_table_insert(loaded, e);
	}
	while ((e = lw_lease_first(loaded))) {
		lw_lease_table_remove(loaded, e);
		lw_lease_table_insert(t, e);
	}
cleanup:
	lw_lease_table_free(loaded);
	json_object_put(root);
	free(text);
	return r;
}
