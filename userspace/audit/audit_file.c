// SPDX-License-Identifier: LGPL-2.1-or-later
/* The JSON Lines file sink. O_APPEND and one write(2) per line keep records
 * whole for readers and for other writers; reopen by path lets logrotate move
 * the file away and the daemon (on SIGHUP) continue in a fresh one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit/audit_sinks.h"
#include "common/mkdirs.h"

static int open_log(const char *path, struct lw_err *err)
{
	int fd, r;

	/* the log may hold other users' activity: its folders are not world-readable */
	r = lw_mkdirs_for_mode(path, 0750, err);
	if (r < 0) {
		lw_err_prefix(err, "audit file");
		return r;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return lw_err_set(err, errno, "audit file: cannot open %.150s: %s", path,
				  strerror(errno));
	return fd;
}

int lw_audit_file_open(struct lw_audit_file *file, const char *path, bool fsync,
		       struct lw_err *err)
{
	int fd;

	if (strlen(path) >= sizeof(file->path))
		return lw_err_set(err, ENAMETOOLONG, "audit file: path too long");
	fd = open_log(path, err);
	if (fd < 0)
		return fd;
	file->fd = fd;
	file->fsync = fsync;
	snprintf(file->path, sizeof(file->path), "%s", path);
	return 0;
}

int lw_audit_file_write(struct lw_audit_file *file, const char *line, size_t len,
			struct lw_err *err)
{
	ssize_t n;
	int r;

	do {
		n = write(file->fd, line, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return lw_err_set(err, errno, "audit file: write to %.150s: %s", file->path,
				  strerror(errno));
	if ((size_t)n != len)
		/* a regular file only writes short when the disk is full */
		return lw_err_set(err, ENOSPC, "audit file: short write to %.150s (%zd of %zu bytes)",
				  file->path, n, len);
	r = 0;
	if (file->fsync && fdatasync(file->fd) < 0)
		r = lw_err_set(err, errno, "audit file: fdatasync %.150s: %s", file->path,
			       strerror(errno));
	return r;
}

int lw_audit_file_reopen(struct lw_audit_file *file, struct lw_err *err)
{
	int fd = open_log(file->path, err);

	if (fd < 0)
		return fd;
	fdatasync(file->fd);
	close(file->fd);
	file->fd = fd;
	return 0;
}

void lw_audit_file_close(struct lw_audit_file *file)
{
	if (file->fd < 0)
		return;
	fdatasync(file->fd);
	close(file->fd);
	file->fd = -1;
}
