// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state's files on disk: framed records, a file replaced atomically and
 * durably, a file read whole, one JSON document parsed strictly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "common/json_write.h"
#include "state_internal.h"

/* Far above any real table (max_images leases of a few hundred bytes each)
 * yet small enough to read whole. */
#define STATE_SIZE_MAX (256 << 20)

int lw_state_write_all(int fd, const char *buf, size_t len)
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

/* "CRC32 JSON\n" of the record's text, appended to *buf. */
int lw_state_frame(const char *text, size_t n, char **buf, size_t *len, size_t *size)
{
	struct lw_json_buf b = { .text = *buf, .len = *len, .size = *size };
	static const char hex[] = "0123456789abcdef";
	uLong sum = crc32(0L, (const Bytef *)text, (uInt)n);
	char crc[9] = { [8] = ' ' };
	int r;

	/* "%08lx " by hand: snprintf was a fifth of a journal record's cost */
	for (int i = 7; i >= 0; i--, sum >>= 4)
		crc[i] = hex[sum & 15];
	r = lw_json_put(&b, crc, 9);
	if (!r)
		r = lw_json_put(&b, text, n);
	if (!r)
		r = lw_json_put(&b, "\n", 1);
	*buf = b.text;	/* moved, perhaps, even when it failed */
	*size = b.size;
	if (!r)
		*len = b.len;
	return r;
}

/* Whether line (without its newline) is "CRC32 JSON" with a matching CRC. */
bool lw_state_frame_ok(const char *line, size_t len)
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

struct text {
	const char *text;
	size_t len;
};

static int fill_text(int fd, void *ctx)
{
	const struct text *t = ctx;

	return lw_state_write_all(fd, t->text, t->len);
}

int lw_state_replace_file(const char *dir, const char *name, const char *text, size_t len,
			int *keep_fd, struct lw_err *err)
{
	struct text t = { .text = text, .len = len };

	return lw_state_replace_file_with(dir, name, fill_text, &t, keep_fd, err);
}

int lw_state_replace_file_with(const char *dir, const char *name, lw_state_fill_fn fill, void *ctx,
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
	r = fill(fd, ctx);
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

/* The whole file, NUL-terminated. A missing file is *text == NULL with 0. */
int lw_state_read_file(const char *path, char **text, size_t *len, struct lw_err *err)
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
struct json_object *lw_state_parse_one(const char *text, size_t len, bool trailing_space,
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
