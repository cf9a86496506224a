/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Holders (lease_types.h) as the running system shows them: from a pid or a
 * cgroup folder, and whether a process is one. Reads /proc and /sys. */
#ifndef LW_COMMON_HOLDER_H
#define LW_COMMON_HOLDER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/lease_types.h"

/* Whether a lookup's error is ours (out of descriptors or memory), which
 * says nothing of the process, rather than -ESRCH: the process is gone. */
static inline bool lw_lookup_failed_here(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/* A process holder for pid (any thread of it), with its start time;
 * -ESRCH if no such process, or an error lw_lookup_failed_here. */
int lw_holder_of_pid(int pid, struct lw_holder *holder);
/* A cgroup holder for a cgroup v2 folder (e.g. /sys/fs/cgroup/machine.slice/x). */
int lw_holder_of_cgroup(const char *cgroup_path, struct lw_holder *holder);
/* Whether a process holder's pid still runs the process it names: its
 * start time in /proc/PID/stat (a pid reused, even as a thread id of
 * another process, has a later one). */
bool lw_holder_process_alive(const struct lw_holder *holder);
/* Whether process pid is covered by holder (same process, or inside the
 * cgroup subtree; cgroup v2 mounted at /sys/fs/cgroup). */
bool lw_holder_covers_pid(const struct lw_holder *holder, int pid);
/* The same holder: kind and pid + start time, or cgroup id. */
bool lw_holder_equal(const struct lw_holder *a, const struct lw_holder *b);
/* A process holder's pid and start time mixed into 32 bits, for the hash
 * tables that find its per-process state. */
uint32_t lw_holder_hash(const struct lw_holder *holder);

/* From /proc/PID/stat: the start time (field 22, clock ticks since boot)
 * and, if comm is not NULL, the command. -ESRCH if no such process, or an
 * error lw_lookup_failed_here. */
int lw_proc_stat(int pid, uint64_t *start_time, char *comm, size_t comm_size);

#endif /* LW_COMMON_HOLDER_H */
