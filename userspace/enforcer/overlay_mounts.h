/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The overlay mounts this process sees, from /proc/self/mountinfo, with
 * their layer folders resolved. Kept between acquires and read again only
 * when the mount table changed (mountinfo polls POLLPRI after any mount,
 * unmount or move), so an acquire on a host with hundreds of mounts and
 * dozens of overlays costs one poll(2), not a read of the whole table and
 * a realpath(3) of every layer. */
#ifndef LW_ENFORCER_OVERLAY_MOUNTS_H
#define LW_ENFORCER_OVERLAY_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A mount an overlay's files may be on: its own, or a layer's. */
struct lw_overlay_on {
	int mnt_id;		/* -1 unknown */
	uint64_t sb_dev;	/* its superblock's dev (the kernel's dev_t, as the image
				 * key has it); 0 unknown */
};

/* One overlay mount, as mountinfo shows it. */
struct lw_overlay {
	char *root;		/* the folder of the overlay this mount shows; "" for its top */
	char *point;		/* where it is mounted; "" for / */
	char *upper;		/* resolved; "" if none (a read-only overlay) */
	char **lowers;		/* resolved, topmost first */
	size_t nr_lowers;
	int mnt_id;
	struct lw_overlay_on *on;	/* its own mount, then its layers' */
	size_t nr_on;
};

struct lw_overlay_mounts {
	struct lw_overlay *at;
	size_t n;
	void *source;		/* the open mountinfo (FILE *), polled for changes */
	int read;		/* at has been read at least once */
};

/* The overlay mounts as of now: the kept list, or the list read again if
 * the mount table changed since. -errno (mountinfo unreadable, no memory);
 * then the list is empty, and it is read again next time. */
int lw_overlay_mounts_current(struct lw_overlay_mounts *m);
void lw_overlay_mounts_free(struct lw_overlay_mounts *m);
/* Whether a file on mount mnt_id may have a name in some overlay of m: it
 * is on an overlay mount or on the mount of some layer (overlayfs looks
 * up layer files within the layer's mount), or a layer's mount is not
 * known. False lets an acquire skip reading the image's path. */
bool lw_overlay_mounts_may_name(const struct lw_overlay_mounts *m, int mnt_id);
/* Whether a file on superblock sb_dev may have a name in some overlay of
 * m: some overlay or layer mount is of that superblock, or of one not
 * known. False lets an acquire skip asking which mount the image is on (a
 * mount is of one superblock: no mount of another holds the file). */
bool lw_overlay_mounts_may_hold(const struct lw_overlay_mounts *m, uint64_t sb_dev);
/* The id mountinfo names for the mount of path (statx(2) dirfd, path and
 * flags: AT_EMPTY_PATH for dirfd's own file), in one call; -1 if unknown. */
int lw_mount_id(int dirfd, const char *path, int flags);

#endif
