// SPDX-License-Identifier: LGPL-2.1-or-later
/* /proc lookups for the denied process's executable and the holder's command. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit/audit_proc.h"
#include "common/holder.h"

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
	uint64_t start;
	int err = lw_proc_stat((int)pid, &start, buf, len);

	if (!err && start != start_time)
		err = -ESRCH;
	if (err && len)
		buf[0] = '\0';	/* never another process's name */
	return err;
}
