/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the small text files of /proc (and /sys). */
#ifndef LW_COMMON_PROC_H
#define LW_COMMON_PROC_H

#include <stddef.h>

/* As much of path as fits in buf (size - 1 bytes), NUL-terminated; the
 * byte count, or -errno (-ENOENT when the file or its process is gone). */
int lw_read_text(const char *path, char *buf, size_t size);
/* The value of the first line of path that fmt (one %d, e.g. "Tgid: %d")
 * matches; -ENOENT if none does, -errno if path cannot be read. */
int lw_proc_int_field(const char *path, const char *fmt, int *value);
/* The fields of /proc/PID/stat after the command name, which may hold
 * spaces and parentheses: "STATE PPID PGRP ...", read into buf. NULL with
 * errno set if the file cannot be read or has no command name. */
const char *lw_proc_stat_fields(int pid, char *buf, size_t size);

#endif /* LW_COMMON_PROC_H */
