/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* This process's pid without a system call each time: glibc no longer
 * caches getpid(), and the acquire path asks for it several times (a
 * system call costs microseconds on some hypervisors). */
#ifndef LW_COMMON_SELF_PID_H
#define LW_COMMON_SELF_PID_H

#include <sys/types.h>

/* getpid(), read once per process: a child made by fork() reads its own. */
pid_t lw_self_pid(void);

#endif
