// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names of processes and holders in messages (process_name.h). */
#include <stdio.h>

#include "common/process_name.h"

int lw_process_name(char *buf, size_t len, const char *pid, const char *comm)
{
	if (comm)
		return snprintf(buf, len, "pid %s (%s)", pid, comm);
	return snprintf(buf, len, "pid %s", pid);
}

int lw_holder_name(char *buf, size_t len, const char *pid, const char *comm, const char *cgroup)
{
	if (cgroup)
		return snprintf(buf, len, "cgroup %s", cgroup);
	return lw_process_name(buf, len, pid, comm);
}
