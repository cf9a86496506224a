// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading the audit log line by line and, with --follow, going on as it
 * grows: across logrotate moving it away (create mode), deleting it, or
 * truncating it in place (copytruncate). inotify says when to look; the
 * inode behind the path says whether the file was replaced. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit/audit_reader.h"

#define FILE_EVENTS (IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)

static void file_reset(struct lw_audit_tail_file *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->watch = -1;
}

static void file_close(struct lw_audit_tail *tail, struct lw_audit_tail_file *f)
{
	if (f->watch >= 0 && tail->inotify_fd >= 0)
		inotify_rm_watch(tail->inotify_fd, f->watch);
	if (f->fd >= 0)
		close(f->fd);
	free(f->partial);
	file_reset(f);
}

static int file_open(struct lw_audit_tail *tail, struct lw_audit_tail_file *f)
{
	struct stat st;
	int fd = open(tail->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	file_reset(f);
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (tail->inotify_fd >= 0)
		f->watch = inotify_add_watch(tail->inotify_fd, tail->path, FILE_EVENTS);
	return 0;
}

int lw_audit_tail_open(struct lw_audit_tail *tail, const char *path, bool follow)
{
	char dir[sizeof(tail->path)];
	int r;

	memset(tail, 0, sizeof(*tail));
	tail->inotify_fd = -1;
	file_reset(&tail->cur);
	file_reset(&tail->old);
	tail->follow = follow;
	if (strlen(path) >= sizeof(tail->path))
		return -ENAMETOOLONG;
	snprintf(tail->path, sizeof(tail->path), "%s", path);
	if (follow) {
		tail->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (tail->inotify_fd < 0)
			return -errno;
		/* the folder tells when a new file takes the name */
		snprintf(dir, sizeof(dir), "%s", path);
		if (inotify_add_watch(tail->inotify_fd, dirname(dir),
				      IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
			r = -errno;
			lw_audit_tail_close(tail);
			return r;
		}
	}
	r = file_open(tail, &tail->cur);
	if (r < 0 && !(follow && r == -ENOENT)) {
		lw_audit_tail_close(tail);
		return r;
	}
	return 0;
}

static int append_partial(struct lw_audit_tail_file *f, const char *data, size_t len)
{
	char *grown = realloc(f->partial, f->partial_len + len + 1);

	if (!grown)
		return -ENOMEM;
	f->partial = grown;
	memcpy(f->partial + f->partial_len, data, len);
	f->partial_len += len;
	f->partial[f->partial_len] = '\0';
	return 0;
}

/* Deliver the complete lines in data; keep an unfinished last line. */
static int deliver(struct lw_audit_tail_file *f, const char *data, size_t len,
		   lw_audit_line_fn fn, void *ctx)
{
	const char *nl;
	int r;

	while (len && (nl = memchr(data, '\n', len))) {
		size_t piece = (size_t)(nl - data);

		r = append_partial(f, data, piece);
		if (r)
			return r;
		f->partial_len = 0;
		data += piece + 1;
		len -= piece + 1;
		r = fn(f->partial, ctx);
		if (r)
			return r;
	}
	return len ? append_partial(f, data, len) : 0;
}

static int read_to_end(struct lw_audit_tail_file *f, lw_audit_line_fn fn, void *ctx)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int r;

	/* truncated in place (copytruncate): start again from the top */
	if (fstat(f->fd, &st) == 0 && st.st_size < lseek(f->fd, 0, SEEK_CUR)) {
		lseek(f->fd, 0, SEEK_SET);
		f->partial_len = 0;
	}
	for (;;) {
		n = read(f->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = deliver(f, buf, (size_t)n, fn, ctx);
		if (r)
			return r;
	}
}

/* Another file now has the name: the current one was moved or deleted. */
static bool replaced(const struct lw_audit_tail *tail)
{
	struct stat st;

	if (stat(tail->path, &st) < 0)
		return false;
	return st.st_dev != tail->cur.dev || st.st_ino != tail->cur.ino;
}

static bool has_data(const struct lw_audit_tail_file *f)
{
	struct stat st;

	return fstat(f->fd, &st) == 0 && st.st_size > 0;
}

int lw_audit_tail_read(struct lw_audit_tail *tail, lw_audit_line_fn fn, void *ctx)
{
	int r;

	for (;;) {
		if (tail->old.fd >= 0) {
			/* the writer moves to the new file on its reopen; until
			 * then it still appends to the old one */
			bool writer_moved = tail->cur.fd >= 0 && has_data(&tail->cur);

			r = read_to_end(&tail->old, fn, ctx);
			if (r)
				return r;
			if (writer_moved)
				file_close(tail, &tail->old);
		}
		if (tail->cur.fd < 0) {
			r = file_open(tail, &tail->cur);
			if (r == -ENOENT)
				return 0;	/* following: not there yet */
			if (r < 0)
				return r;
		}
		r = read_to_end(&tail->cur, fn, ctx);
		if (r || !tail->follow || !replaced(tail))
			return r;
		/* rotated: keep the old file until the writer has left it */
		file_close(tail, &tail->old);
		tail->old = tail->cur;
		file_reset(&tail->cur);
	}
}

int lw_audit_tail_wait(struct lw_audit_tail *tail, int timeout_ms)
{
	struct pollfd pfd = { .fd = tail->inotify_fd, .events = POLLIN };
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int r;

	if (tail->inotify_fd < 0)
		return -EINVAL;
	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	/* what changed does not matter: the next read looks at the files */
	while (read(tail->inotify_fd, buf, sizeof(buf)) > 0)
		;
	return 1;
}

void lw_audit_tail_close(struct lw_audit_tail *tail)
{
	file_close(tail, &tail->cur);
	file_close(tail, &tail->old);
	if (tail->inotify_fd >= 0)
		close(tail->inotify_fd);
	tail->inotify_fd = -1;
}
