// SPDX-License-Identifier: LGPL-2.1-or-later
/* The overlay mounts, kept until the mount table changes. See
 * overlay_mounts.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/lease_types.h"
#include "enforcer/overlay_mounts.h"

#define MAX_LAYERS 512		/* overlayfs allows 500 lower layers */

/* mountinfo's octal escapes (\040 for a space...) undone in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else
			*out++ = *s;
	}
	*out = 0;
}

/* A layer path as given to the mount: absolute, resolved (the image's path
 * from /proc is), copied; NULL if it cannot be used or no memory. */
static char *resolve_layer(const char *given)
{
	char resolved[PATH_MAX];

	return given[0] == '/' && realpath(given, resolved) ? strdup(resolved) : NULL;
}

static int add_lower(struct lw_overlay *o, const char *given)
{
	char **more, *lower;

	if (o->nr_lowers == MAX_LAYERS || !(lower = resolve_layer(given)))
		return 0;	/* past overlayfs' own limit, or gone: not a layer to follow */
	more = realloc(o->lowers, (o->nr_lowers + 1) * sizeof(*more));
	if (!more) {
		free(lower);
		return -ENOMEM;
	}
	o->lowers = more;
	o->lowers[o->nr_lowers++] = lower;
	return 0;
}

/* lowerdir=a:b (a literal ':' escaped "\:"), lowerdir+=a, datadir+=a. */
static int add_lowers(struct lw_overlay *o, char *value, int one)
{
	char *start = value, *out = value;
	int err = 0;

	for (char *s = value; !err; s++) {
		if (*s == '\\' && s[1]) {
			*out++ = *++s;
			continue;
		}
		if (*s && (one || *s != ':')) {
			*out++ = *s;
			continue;
		}
		*out = 0;
		if (*start)
			err = add_lower(o, start);
		if (!*s)
			break;
		start = out = s + 1;
	}
	return err;
}

int lw_mount_id(int dirfd, const char *path, int flags)
{
	struct statx stx;

	if (statx(dirfd, path, flags, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		return -1;
	return (int)stx.stx_mnt_id;
}

/* The mount of a resolved layer folder. */
static int mount_of(const char *path)
{
	return lw_mount_id(AT_FDCWD, path, AT_NO_AUTOMOUNT);
}

/* o->on: its own mount and each layer's; -ENOMEM. */
static int note_mounts(struct lw_overlay *o)
{
	if (!(o->on = calloc(o->nr_lowers + 2, sizeof(*o->on))))	/* superblocks: 0, unknown */
		return -ENOMEM;
	o->on[o->nr_on++].mnt_id = o->mnt_id;
	if (o->upper[0])
		o->on[o->nr_on++].mnt_id = mount_of(o->upper);
	for (size_t i = 0; i < o->nr_lowers; i++)
		o->on[o->nr_on++].mnt_id = mount_of(o->lowers[i]);
	return 0;
}

bool lw_overlay_mounts_may_name(const struct lw_overlay_mounts *m, int mnt_id)
{
	for (size_t i = 0; i < m->n; i++)
		for (size_t j = 0; j < m->at[i].nr_on; j++)
			if (m->at[i].on[j].mnt_id == mnt_id || m->at[i].on[j].mnt_id < 0)
				return true;
	return false;
}

bool lw_overlay_mounts_may_hold(const struct lw_overlay_mounts *m, uint64_t sb_dev)
{
	for (size_t i = 0; i < m->n; i++)
		for (size_t j = 0; j < m->at[i].nr_on; j++)
			if (m->at[i].on[j].sb_dev == sb_dev || !m->at[i].on[j].sb_dev)
				return true;
	return false;
}

static void overlay_free(struct lw_overlay *o)
{
	free(o->on);
	for (size_t i = 0; i < o->nr_lowers; i++)
		free(o->lowers[i]);
	free(o->lowers);
	free(o->root);
	free(o->point);
	free(o->upper);
	memset(o, 0, sizeof(*o));
}

/* line: one mountinfo line. 1 if it is an overlay (filled in o), 0 if not,
 * -ENOMEM. */
static int parse_overlay(char *line, struct lw_overlay *o)
{
	char *fields[64], *save = NULL, *opt;
	size_t n = 0, dash = 0;
	int err = 0;

	line[strcspn(line, "\n")] = 0;
	for (char *t = strtok_r(line, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
		fields[n++] = t;
	for (size_t i = 6; i < n; i++)
		if (!strcmp(fields[i], "-")) {
			dash = i;
			break;
		}
	if (!dash || dash + 3 >= n || strcmp(fields[dash + 1], "overlay"))
		return 0;
	memset(o, 0, sizeof(*o));
	o->mnt_id = atoi(fields[0]);
	unescape_octal(fields[3]);
	unescape_octal(fields[4]);
	o->root = strdup(strcmp(fields[3], "/") ? fields[3] : "");
	o->point = strdup(strcmp(fields[4], "/") ? fields[4] : "");
	/* super options: commas inside a value are escaped, so ',' splits */
	save = NULL;
	for (opt = strtok_r(fields[dash + 3], ",", &save); opt && !err; opt = strtok_r(NULL, ",", &save)) {
		unescape_octal(opt);
		if (!strncmp(opt, "upperdir=", 9)) {
			free(o->upper);
			o->upper = resolve_layer(opt + 9);
		} else if (!strncmp(opt, "lowerdir=", 9))
			err = add_lowers(o, opt + 9, 0);
		else if (!strncmp(opt, "lowerdir+=", 10) || !strncmp(opt, "datadir+=", 9))
			err = add_lowers(o, strchr(opt, '=') + 1, 1);
	}
	if (!err && !o->upper)
		o->upper = strdup("");
	if (!err && o->upper)
		err = note_mounts(o);
	if (err || !o->root || !o->point || !o->upper) {
		overlay_free(o);
		return -ENOMEM;
	}
	return 1;
}

static void forget(struct lw_overlay_mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		overlay_free(&m->at[i]);
	free(m->at);
	m->at = NULL;
	m->n = 0;
	m->read = 0;
}

/* Whether the mount table may have changed since the last poll: POLLPRI
 * (with POLLERR) once after each change. */
static int changed(FILE *f)
{
	struct pollfd p = { .fd = fileno(f), .events = POLLPRI };

	return poll(&p, 1, 0) != 0 && (p.revents & (POLLPRI | POLLERR));
}

/* Every mount's superblock: mountinfo's third field is sb->s_dev. */
struct superblocks {
	struct { int mnt_id; uint64_t dev; } *at;
	size_t n, cap;
};

static int note_superblock(struct superblocks *sbs, const char *line)
{
	unsigned int major, minor;
	int id;

	if (sscanf(line, "%d %*d %u:%u", &id, &major, &minor) != 3)
		return 0;
	if (sbs->n == sbs->cap) {
		size_t cap = sbs->cap ? 2 * sbs->cap : 64;
		void *more = realloc(sbs->at, cap * sizeof(*sbs->at));

		if (!more)
			return -ENOMEM;
		sbs->at = more;
		sbs->cap = cap;
	}
	sbs->at[sbs->n].mnt_id = id;
	sbs->at[sbs->n++].dev = lw_kdev(major, minor);
	return 0;
}

/* o's mounts' superblocks from the table; a mount it does not show stays
 * 0 (unknown). */
static void note_superblocks_of(struct lw_overlay *o, const struct superblocks *sbs)
{
	for (size_t j = 0; j < o->nr_on; j++)
		for (size_t k = 0; o->on[j].mnt_id >= 0 && k < sbs->n; k++)
			if (sbs->at[k].mnt_id == o->on[j].mnt_id) {
				o->on[j].sb_dev = sbs->at[k].dev;
				break;
			}
}

static int read_overlays(struct lw_overlay_mounts *m, FILE *f)
{
	struct superblocks sbs = { 0 };
	struct lw_overlay o, *more;
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	rewind(f);
	while (r >= 0 && getline(&line, &cap, f) > 0) {
		if ((r = note_superblock(&sbs, line)) < 0)
			break;
		/* most mounts are not overlays: one strstr each */
		if (!strstr(line, " - overlay ") || (r = parse_overlay(line, &o)) <= 0)
			continue;
		more = realloc(m->at, (m->n + 1) * sizeof(*more));
		if (!more) {
			overlay_free(&o);
			r = -ENOMEM;
			break;
		}
		m->at = more;
		m->at[m->n++] = o;
	}
	free(line);
	for (size_t i = 0; i < m->n; i++)	/* a layer's mount may come after its overlay */
		note_superblocks_of(&m->at[i], &sbs);
	free(sbs.at);
	if (r < 0)
		forget(m);
	else
		m->read = 1;
	return r < 0 ? r : 0;
}

int lw_overlay_mounts_current(struct lw_overlay_mounts *m)
{
	FILE *f = m->source;

	if (!f) {
		if (!(f = fopen("/proc/self/mountinfo", "re")))
			return -errno;
		m->source = f;
		changed(f);	/* a first poll may report the table as new */
	} else if (m->read && !changed(f))
		return 0;
	forget(m);
	return read_overlays(m, f);
}

void lw_overlay_mounts_free(struct lw_overlay_mounts *m)
{
	forget(m);
	if (m->source)
		fclose(m->source);
	m->source = NULL;
}
