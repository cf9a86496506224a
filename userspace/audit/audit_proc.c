/* /proc lookups for the denied process's executable and the holder's command. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit/audit_proc.h"

int lw_audit_proc_exe(uint32_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%" PRIu32 "/exe", pid);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int lw_audit_proc_comm(uint32_t pid, uint64_t start_time, char *buf, size_t len)
{
	char path[64], stat[1024], *open_paren, *close_paren, *field;
	unsigned long long start;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	stat[n] = '\0';
	/* "PID (COMM) STATE ..." where COMM may hold spaces and parentheses */
	open_paren = strchr(stat, '(');
	close_paren = strrchr(stat, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EIO;
	/* start time is field 22; field 3 (state) follows ") " */
	field = close_paren + 2;
	for (i = 3; i < 22 && field; i++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	if (!field || sscanf(field, "%llu", &start) != 1)
		return -EIO;
	if (start != start_time)
		return -ESRCH;
	snprintf(buf, len, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	return 0;
}
