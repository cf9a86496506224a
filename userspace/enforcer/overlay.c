// SPDX-License-Identifier: LGPL-2.1-or-later
/* Overlay names: a lease taken through any name of an overlay file covers
 * the merged, upper and lower names. At acquire, from /proc/self/mountinfo
 * (each overlay's upperdir= and lowerdir= and the image's path):
 * - an image on an overlay mount (the merged name): the file its merged
 *   name shows (its upper file, else the topmost lower file), and with
 *   metacopy=on an upper file holding only metadata and the lower data;
 * - an image in an overlay's upper folder, or a lower file that the merged
 *   name shows: the merged name of every such overlay.
 * The overlay mounts are kept between acquires until the mount table
 * changes (overlay_mounts.c). Which file a merged name shows is asked of
 * the kernel where it tells (data_key), else read from which layer paths
 * exist. Each name becomes an alias of the lease, keyed as the kernel keys
 * it (an O_PATH descriptor through the files iterator: overlayfs reports
 * other numbers to stat()).
 * A copy-up made later (a new upper inode) is added by the programs
 * (bpf/overlay_track.bpf.h). Overlays mounted after the acquire are not
 * followed. */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fd_stat.h"
#include "enforcer/enforcer_internal.h"

#define MAX_NAMES 64		/* other names of one image */

enum name_role { NAME_MERGED, NAME_UPPER, NAME_LOWER };

/* The names this acquire made aliases (or found already there). */
struct names {
	struct {
		struct lw_map_key key;
		int fd;			/* O_PATH, for the writers check; -1: no name found */
		bool behind_merged;	/* the upper file: the overlay's own files
					 * behind write opens of the merged name write it */
		bool added;		/* made by this call: undone on failure */
		char path[PATH_MAX];	/* for messages */
	} at[MAX_NAMES];
	size_t n;
};

/* path under dir: *rel gets the rest ("/x/y"); false if not under it. */
static bool under(const char *path, const char *dir, const char **rel)
{
	size_t len = strlen(dir);

	if (strncmp(path, dir, len) || (path[len] != '/' && path[len] != 0))
		return false;
	*rel = path + len;
	return true;
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s%s", dir, rel) >= (int)sizeof(path))
		return false;
	return lstat(path, &st) == 0;
}

/* An upper file whose data is still in a lower layer (metacopy=on). */
static bool metacopy(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s%s", dir, rel) >= (int)sizeof(path))
		return false;
	return lgetxattr(path, "trusted.overlay.metacopy", NULL, 0) >= 0 ||
	       lgetxattr(path, "user.overlay.metacopy", NULL, 0) >= 0;
}

static bool same_key(const struct lw_map_key *a, const struct lw_map_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* dir + rel as an O_PATH descriptor of a regular file, and its key;
 * false if there is none. */
static bool open_key(struct lw_enforcer *enf, const char *dir, const char *rel, int *fd,
		     struct lw_map_key *key)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s%s", dir, rel) >= (int)sizeof(path))
		return false;
	*fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return false;
	if (!fstat(*fd, &st) && S_ISREG(st.st_mode) && !lw_map_key_of_fd(enf, *fd, key))
		return true;
	close(*fd);
	return false;
}

/* The key of the file whose data path shows, from the kernel: overlayfs
 * maps the layer file behind an overlay file (the mapping's vm_file), and
 * /proc/self/maps names its (superblock dev, inode) on 6.1. Newer kernels
 * name the overlay file there (a backing file's user path, 6.8+): the
 * caller compares with the overlay file's own key. false if unknown. */
static bool data_key(const char *path, struct lw_map_key *key)
{
	unsigned long start, end, ino;
	unsigned int major, minor;
	char line[512];
	bool found = false;
	struct stat st;
	void *map;
	FILE *maps;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (lw_fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (map = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return false;
	}
	close(fd);
	if ((maps = fopen("/proc/self/maps", "re"))) {
		while (!found && fgets(line, sizeof(line), maps))
			if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu", &start, &end, &major, &minor, &ino) == 5 &&
			    start == (unsigned long)map) {
				key->dev = (__u64)major << 20 | minor;	/* the kernel's MKDEV */
				key->ino = ino;
				found = true;
			}
		fclose(maps);
	}
	munmap(map, 1);
	return found;
}

/* key, named path (fd: an O_PATH descriptor of it, or -1 if no name was
 * found), becomes an alias of lease; kept in names either way (fd too). */
static int cover_key(struct lw_enforcer *enf, const struct lw_map_key *key, int fd, const char *path,
		     enum name_role role, bool behind_merged, const struct lw_map_key *lease, struct names *names)
{
	static const char *const role_name[] = { "merged", "upper", "lower" };
	struct lw_map_lease leased;
	struct lw_alias alias;
	int err;

	for (size_t i = 0; i < names->n; i++)
		if (same_key(&names->at[i].key, key)) {
			if (fd >= 0)
				close(fd);
			return 0;	/* a bind mount of the same overlay */
		}
	if (same_key(key, lease)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (names->n == MAX_NAMES) {
		if (fd >= 0)
			close(fd);
		return lw_fail(enf, -E2BIG, "the image has more than %d overlay names", MAX_NAMES);
	}
	names->at[names->n].key = *key;
	names->at[names->n].fd = fd;
	names->at[names->n].behind_merged = behind_merged;
	names->at[names->n].added = false;
	snprintf(names->at[names->n].path, sizeof(names->at[names->n].path), "%s", path);
	names->n++;
	if (!bpf_map_lookup_elem(enf->leases_fd, key, &leased))
		return lw_fail(enf, -EEXIST, "the overlay's %s name %s is leased by itself", role_name[role], path);
	if (!bpf_map_lookup_elem(enf->aliases_fd, key, &alias)) {
		if (same_key(&alias.lease, lease))
			return 0;	/* put there before (a lease put back after a restart) */
		return lw_fail(enf, -EEXIST, "the overlay's %s name %s is part of another lease "
			       "(a lower file shared by two leased overlays?)", role_name[role], path);
	}
	alias = (struct lw_alias){ .lease = *lease, .count = 1 };
	enf->file_aliases_none = false;	/* a release walks to find it */
	/* filter first: the programs must never skip a covered name */
	if ((err = lw_filter_add(enf, key, 1)))
		return err;
	if (bpf_map_update_elem(enf->aliases_fd, key, &alias, BPF_NOEXIST)) {
		err = -errno;
		lw_filter_add(enf, key, -1);
		return lw_fail(enf, err, "cannot insert an overlay alias: %s", strerror(-err));
	}
	names->at[names->n - 1].added = true;
	return 0;
}

/* dir + rel by name: covered if it is the file shown (want; NULL: any
 * regular file) or, when metacopy, whatever it is; false if not covered. */
static bool cover_name(struct lw_enforcer *enf, const char *dir, const char *rel, enum name_role role,
		       const struct lw_map_key *want, bool meta, const struct lw_map_key *lease,
		       struct names *names, int *err)
{
	char path[PATH_MAX];
	struct lw_map_key key;
	int fd;

	if (!open_key(enf, dir, rel, &fd, &key))
		return false;
	if (want && !same_key(&key, want) && !meta) {
		close(fd);	/* not the file the merged name shows (another namespace's path?) */
		return false;
	}
	snprintf(path, sizeof(path), "%s%s", dir, rel);
	*err = cover_key(enf, &key, fd, path, role, role == NAME_UPPER, lease, names);
	return true;
}

/* The image is on overlay o at path (image: a readable name of it): the
 * file its merged name shows (checked against the kernel's mapping), and
 * for a metadata-only upper file (metacopy=on) the upper file too. */
static int cover_layers(struct lw_enforcer *enf, const struct lw_overlay *o, const char *path,
			const char *image, const struct lw_map_key *lease, struct names *names)
{
	struct lw_map_key shown, *want = NULL;
	char rel[PATH_MAX];
	const char *inside;
	int err = 0;

	if (!under(path, o->point, &inside) ||
	    snprintf(rel, sizeof(rel), "%s%s", o->root, inside) >= (int)sizeof(rel))
		return 0;
	if (data_key(image, &shown) && !same_key(&shown, lease))	/* lease: the merged key */
		want = &shown;
	if (o->upper[0] && exists(o->upper, rel)) {
		bool meta = metacopy(o->upper, rel);

		if (cover_name(enf, o->upper, rel, NAME_UPPER, want, meta, lease, names, &err) &&
		    (err || !meta))
			return err;
	}
	for (size_t i = 0; i < o->nr_lowers; i++)
		if (exists(o->lowers[i], rel) &&
		    cover_name(enf, o->lowers[i], rel, NAME_LOWER, want, false, lease, names, &err))
			return err;
	/* no layer path names it here (a mount made in another namespace):
	 * the kernel's key still covers it */
	if (want)
		return cover_key(enf, want, -1, "(the overlay's layer file)", NAME_LOWER, true, lease, names);
	return 0;
}

/* The image at path may be a layer file of overlay o: the merged name, if
 * it shows this file (the kernel's mapping of the merged file is the
 * image; without it, no upper or higher lower file of the same name). */
static int cover_merged(struct lw_enforcer *enf, const struct lw_overlay *o, const char *path,
			const struct lw_map_key *lease, struct names *names)
{
	const char *rel = NULL, *inside;
	struct lw_map_key shown, key;
	char merged[PATH_MAX];
	bool in_upper = o->upper[0] && under(path, o->upper, &rel);
	size_t layer = 0;
	int fd;

	if (!in_upper) {
		for (layer = 0; layer < o->nr_lowers; layer++)
			if (under(path, o->lowers[layer], &rel))
				break;
		if (layer == o->nr_lowers)
			return 0;
	}
	if (!*rel || !under(rel, o->root, &inside) || !*inside ||
	    snprintf(merged, sizeof(merged), "%s%s", o->point, inside) >= (int)sizeof(merged))
		return 0;
	if (!open_key(enf, o->point, inside, &fd, &key))
		return 0;
	if (data_key(merged, &shown) && !same_key(&shown, &key)) {
		if (!same_key(&shown, lease))
			goto not_shown;
	} else if (!in_upper) {
		if (o->upper[0] && exists(o->upper, rel) && !metacopy(o->upper, rel))
			goto not_shown;
		for (size_t i = 0; i < layer; i++)
			if (exists(o->lowers[i], rel))
				goto not_shown;
	}
	return cover_key(enf, &key, fd, merged, NAME_MERGED, false, lease, names);
not_shown:
	close(fd);
	return 0;
}

/* Writers of the other names: the upper file is also written by the overlay's own files behind each write open of the merged
 * name (in no descriptor table; those writers are checked on the merged
 * name). A name without a path is checked for descriptors only. */
static int check_names(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		       const struct lw_map_lease *lease, const struct names *names,
		       struct lw_writer *writer)
{
	__s32 merged_writers = 0;
	int err;

	for (size_t i = 0; i < names->n; i++)
		if (names->at[i].behind_merged && (err = lw_writecount(enf, fd, key, &merged_writers)))
			return err;
	for (size_t i = 0; i < names->n; i++) {
		__s32 hidden = names->at[i].behind_merged ? merged_writers : 0;

		if (names->at[i].fd >= 0)
			err = lw_check_writers_allowing(enf, names->at[i].fd, &names->at[i].key, lease,
							hidden, writer);
		else
			err = lw_check_writers(enf, fd, &names->at[i].key, lease, false, writer);
		if (err) {
			lw_err_prefix(&enf->err, "through %s", names->at[i].path);
			return err;
		}
	}
	return 0;
}

static void undo(struct lw_enforcer *enf, struct names *names)
{
	for (size_t i = 0; i < names->n; i++)
		if (names->at[i].added && !bpf_map_delete_elem(enf->aliases_fd, &names->at[i].key))
			lw_filter_add(enf, &names->at[i].key, -1);
}

/* A file's key is (its superblock's dev, its inode); a device's is not. */
static bool is_file_key(const struct lw_map_key *key)
{
	return key->ino && key->ino != LW_KEY_CHRDEV;
}

/* fd's path, as this process sees it; false if unknown (a deleted file,
 * or a path too long). */
static bool path_of(int fd, char *path, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return false;
	path[n] = 0;
	return path[0] == '/' && !strstr(path, " (deleted)");
}

int lw_overlay_lease(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		     const struct lw_map_lease *lease, unsigned int flags, struct lw_writer *writer)
{
	struct lw_overlay_mounts *mounts = &enf->overlays;
	struct names *names;
	char path[PATH_MAX];
	int mnt_id, err;

	if ((err = lw_overlay_mounts_current(mounts)) < 0)
		return err == -ENOMEM ? lw_fail(enf, err, "out of memory reading the overlay mounts") : 0;
	/* most hosts have no overlay, and most images are on no mount an
	 * overlay uses: nothing more (the path is read only past this). A
	 * file's key names its superblock: no overlay or layer mount of that
	 * superblock, no name, without asking which mount fd is on (statx,
	 * which 6.1 gives a zeroed 4 KiB name buffer for its empty path). */
	if (!mounts->n || (is_file_key(key) && !lw_overlay_mounts_may_hold(mounts, key->dev)) ||
	    (mnt_id = lw_mount_id(fd, "", AT_EMPTY_PATH)) < 0 ||
	    !lw_overlay_mounts_may_name(mounts, mnt_id) || !path_of(fd, path, sizeof(path)))
		return 0;
	if (!(names = malloc(sizeof(*names))))	/* large (~260 KiB): not on the stack, not zeroed */
		return lw_fail(enf, -ENOMEM, "out of memory finding the image's overlay names");
	names->n = 0;	/* an entry is read only below n, and filled whole when added */
	for (size_t i = 0; !err && i < mounts->n; i++) {
		const struct lw_overlay *o = &mounts->at[i];

		if (o->mnt_id == mnt_id) {
			char image[64];

			snprintf(image, sizeof(image), "/proc/self/fd/%d", fd);	/* the same name, readable */
			err = cover_layers(enf, o, path, image, key, names);
		} else
			err = cover_merged(enf, o, path, key, names);
	}
	if (!err && !(flags & LW_LEASE_FORCE))
		err = check_names(enf, fd, key, lease, names, writer);
	if (err) {
		struct lw_err reason = enf->err;

		undo(enf, names);
		enf->err = reason;
	}
	for (size_t i = 0; i < names->n; i++)
		if (names->at[i].fd >= 0)
			close(names->at[i].fd);
	free(names);
	return err;
}
