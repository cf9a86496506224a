// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small text files of /proc (proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"

int lw_read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
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
