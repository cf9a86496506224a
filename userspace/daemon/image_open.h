/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One resolution of an image path, as the caller would resolve it.
 *
 * The path is looked up once, into an O_PATH descriptor (which opens no
 * device), and everything after uses that descriptor: the checks, the
 * kernel key, the backend. For an unprivileged caller the lookup runs with
 * the caller's own uid, gid and groups, so the kernel refuses every folder
 * the caller could not search and every symlink it could not follow, and a
 * path the caller cannot look up fails the same way whether it exists or
 * not. Magic links (/proc/PID/fd/N, /proc/PID/root) are never followed. */
#ifndef LW_DAEMON_IMAGE_OPEN_H
#define LW_DAEMON_IMAGE_OPEN_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Who asks: the lookup and the access check are done as this identity
 * unless privileged (root or the admin group: as the daemon). */
struct lw_image_caller {
	pid_t pid;		/* for its supplementary groups (/proc/PID/status) */
	uid_t uid;
	gid_t gid;
	bool privileged;
};

/* Look path up as caller into an O_PATH descriptor (*fd), with its fstat in
 * *st. Returns 0 or a negative errno (what the caller's own lookup would
 * have got). Opens nothing, so it has no side effect on devices. */
int lw_image_lookup(const char *path, const struct lw_image_caller *caller, int *fd, struct stat *st);

/* Acquire's open: look path up as caller, check it is an image the caller
 * may protect (a regular file or block device, on no kernel pseudo
 * filesystem; for an unprivileged caller its own, or one it may write),
 * then reopen that same file read-only and non-blocking (*fd). On failure
 * returns a negative errno and *why says why in one line: -EINVAL not an
 * image, -EPERM not the caller's to lease, else the lookup's own error. */
int lw_image_open(const char *path, const struct lw_image_caller *caller, int *fd, const char **why);

/* Whether a file of this type on a filesystem of this magic may be an image. */
bool lw_image_kind_ok(mode_t mode, long fs_magic);

#endif /* LW_DAEMON_IMAGE_OPEN_H */
