/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fstat(2) by the fstat system call, for the descriptors a lease round trip
 * stats. glibc (since 2.33) makes fstat a newfstatat(fd, "", AT_EMPTY_PATH),
 * and 6.1 (profiled in the guest) copies that empty path into a fresh 4 KiB
 * name buffer first, zeroed where init_on_alloc is on (Debian's kernels):
 * that costs more than the stat. Only where the kernel's struct stat is
 * glibc's (x86-64, arm64). */
#ifndef LW_COMMON_FD_STAT_H
#define LW_COMMON_FD_STAT_H

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int lw_fstat(int fd, struct stat *st)
{
#if defined(SYS_fstat) && (defined(__x86_64__) || defined(__aarch64__))
	return (int)syscall(SYS_fstat, fd, st);
#else
	return fstat(fd, st);
#endif
}

#endif /* LW_COMMON_FD_STAT_H */
