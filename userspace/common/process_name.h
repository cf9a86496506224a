/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How every message names a process and a holder: "pid 1234 (qemu)",
 * "cgroup /machine.slice/vm1". The caller has escaped the names already. */
#ifndef LW_COMMON_PROCESS_NAME_H
#define LW_COMMON_PROCESS_NAME_H

#include <stddef.h>

/* "pid PID (COMM)", or "pid PID" when comm is NULL; snprintf's return. */
int lw_process_name(char *buf, size_t len, const char *pid, const char *comm);
/* A holder: the process as above, or "cgroup PATH" when cgroup is not NULL. */
int lw_holder_name(char *buf, size_t len, const char *pid, const char *comm, const char *cgroup);

#endif /* LW_COMMON_PROCESS_NAME_H */
