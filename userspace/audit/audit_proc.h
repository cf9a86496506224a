/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What /proc still tells about a process when its event is consumed
 * (internal to audit/). Best effort: the process may be gone by then. */
#ifndef LW_AUDIT_PROC_H
#define LW_AUDIT_PROC_H

#include <stddef.h>
#include <stdint.h>

/* readlink /proc/PID/exe into buf; -errno when the process is gone. */
int lw_audit_proc_exe(uint32_t pid, char *buf, size_t len);
/* The command of pid, only if it still is the process started at
 * start_time (so a reused pid never lends its name). */
int lw_audit_proc_comm(uint32_t pid, uint64_t start_time, char *buf, size_t len);

#endif /* LW_AUDIT_PROC_H */
