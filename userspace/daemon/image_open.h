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

#include "common/lease_types.h"

/* Who asks: the lookup and the access check are done as this identity
 * unless privileged (root or the admin group: as the daemon). */
struct lw_image_caller {
	pid_t pid;		/* for its supplementary groups (/proc/PID/status) */
	uid_t uid;
	gid_t gid;
	bool privileged;
};

#define LW_IMAGE_MAX_GROUPS 256

/* One lookup of a path: what it asks, then what it found. */
struct lw_image_lookup {
	const char *path;	/* absolute; must outlive the lookup */
	uid_t uid;
	gid_t gid;
	gid_t groups[LW_IMAGE_MAX_GROUPS];
	int nr_groups;
	bool as_caller;		/* not privileged: looked up with the caller's identity */
	/* found */
	int err;		/* 0 or a negative errno (what the caller's own lookup would have got) */
	int fd;			/* O_PATH, opens nothing; -1 on error or once taken */
	struct stat st;		/* its fstat */
	bool writable;		/* the caller may open it for write */
	bool no_identity;	/* the thread could not take the caller's identity */
};

/* Make l a lookup of path as caller (for an unprivileged one, with its
 * supplementary groups read now). Returns 0 or -EINVAL for a relative path. */
int lw_image_lookup_prepare(struct lw_image_lookup *l, const char *path, const struct lw_image_caller *caller);

/* Do the lookup: l->err, l->fd and the rest. As the daemon for a privileged
 * caller, here. For another (l->as_caller) the thread that calls this takes
 * the caller's identity for good: a thread of its own, which ends right
 * after; and the lookup may never end (a FUSE server that never answers
 * stalls it), so the event loop must not wait for it (looking_up.h). */
void lw_image_lookup_run(struct lw_image_lookup *l);

/* Close what l found and did not give away. */
void lw_image_lookup_release(struct lw_image_lookup *l);

/* What acquire's open found: the file, named by a descriptor that opens
 * nothing, and what the kernel says of it. */
struct lw_image {
	int fd;			/* O_PATH */
	struct stat st;
	long fs_magic;		/* statfs(2)'s f_type */
};

/* Acquire's open, from a lookup done as caller (l): check it found an image
 * the caller may protect (a regular file or block device, on no kernel
 * pseudo filesystem; for an unprivileged caller its own, or one it may
 * write), and take its descriptor into image. Opens nothing yet: each later
 * step opens what it needs from image->fd, after the lease checks. On
 * failure returns a negative errno and *why says why in one line: -EINVAL
 * not an image, -EPERM not the caller's to lease, else the lookup's own
 * error. */
int lw_image_open(struct lw_image_lookup *l, const struct lw_image_caller *caller, struct lw_image *image,
		  const char **why);

/* The file path_fd names (an O_PATH descriptor), open for read: non-blocking
 * and no controlling tty, so opening neither waits nor acts. Through the
 * descriptor, so the same file whatever its path names by now. A new
 * descriptor, or -errno. */
int lw_image_open_read(int path_fd);

/* The image's kernel key (lease_types.h) from its stat, where stat tells
 * exactly what the kernel keys by: a block device's i_rdev; a file's
 * superblock dev and inode number on ext2/3/4 and tmpfs, whose stat
 * reports both as they are (generic_fillattr). 0, or -ENOENT elsewhere
 * (btrfs reports a subvolume's dev, overlayfs a layer's inode): the
 * enforcer must ask the kernel then. */
int lw_image_key_of_stat(const struct stat *st, long fs_magic, struct lw_image_key *key);

/* Whether a file of this type on a filesystem of this magic may be an image. */
bool lw_image_kind_ok(mode_t mode, long fs_magic);

#endif /* LW_DAEMON_IMAGE_OPEN_H */
