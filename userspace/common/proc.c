// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small text files of /proc (proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"

/* Plain reads, not stdio: no fstat for a buffer size (a system call less
 * on the acquire path, which reads comm and stat files of /proc). */
int lw_read_text(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n < size - 1 && (got = read(fd, buf + n, size - 1 - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;	/* what was read so far, as fread gave */
		}
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

int lw_proc_int_field(const char *path, const char *fmt, int *value)
{
	char line[4096];
	int err = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, value) == 1)
			err = 0;
	fclose(f);
	return err;
}

const char *lw_proc_stat_fields(int pid, char *buf, size_t size)
{
	char path[64], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? errno : EIO;
		return NULL;
	}
	buf[n] = '\0';
	end = strrchr(buf, ')');
	if (!end || !end[1]) {
		errno = EIO;
		return NULL;
	}
	return end + 2;
}
