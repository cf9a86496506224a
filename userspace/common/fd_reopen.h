/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A new open of the file a descriptor names, as open("/proc/self/fd/N")
 * does, through a directory descriptor of /proc/self/fd kept open: the
 * path's first steps (/, proc, the self link, the pid, fd) are walked once,
 * not at every call (a quarter of such an open's cost natively). */
#ifndef LW_COMMON_FD_REOPEN_H
#define LW_COMMON_FD_REOPEN_H

/* The descriptor of this process's /proc/self/fd (opened at the first call,
 * and again in a forked child), or -errno. Nothing may close it: code that
 * closes descriptors it did not open (close_range) must do so before any
 * call here, or in a child of its own. */
int lw_proc_fd_dir(void);
/* fd's number as a name in that directory (a negative fd names nothing
 * there); buf of at least 12 bytes. */
const char *lw_proc_fd_name(int fd, char *buf);
/* open(2) of what fd names with flags (O_PATH, O_RDONLY ...); -1 and errno
 * as open sets them. O_PATH alone: open_tree(fd, "", AT_EMPTY_PATH), which
 * walks nothing at all. */
int lw_reopen(int fd, int flags);

#endif /* LW_COMMON_FD_REOPEN_H */
