// SPDX-License-Identifier: LGPL-2.1-or-later
/* Loading, adopting, replacing and unpinning the BPF LSM programs.
 *
 * Pins under pin_dir:
 *   leases lease_filter events rate_limit counters   the maps, shared by every version
 *   v-<hash>/prog_<hook> v-<hash>/link_<hook>         one program version and its links
 * A loader whose version is pinned adopts the maps and attaches nothing. A
 * loader of another version attaches its programs (old and new then both
 * enforce, from the same maps), pins them, and only then unpins the old
 * version: enforcement never has a gap, also when a loader is killed midway. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/sha256.h"
#include "enforcer/enforcer_internal.h"
#include "enforcer.skel.h"	/* after enforcer_maps.h: it uses its structs */

#define LW_DEFAULT_EVENTS_PER_SEC 10

const char *const lw_map_names[LW_NR_MAPS] = { "leases", "lease_filter", "events", "rate_limit",
					       "counters", "guard", "guarded", "aliases",
					       "holder_index", "key_probes", "holder_family", "keeper", "alias_adds" };
#define NR_MAPS LW_NR_MAPS
#define map_names lw_map_names

const char *lw_enforcer_error(const struct lw_enforcement *handle)
{
	const struct lw_enforcer *enf = lw_bpf_of_const(handle);

	return enf->err.msg;
}

/* "v-" and the first 12 hex digits of the object's SHA-256: a new build
 * of the programs is a new version. */
static int program_version(char *out, size_t size)
{
	char hex[LW_SHA256_HEX_LEN + 1];
	size_t len;
	const void *elf = enforcer_bpf__elf_bytes(&len);
	int err = lw_sha256_hex(elf, len, hex);

	if (!err)
		snprintf(out, size, "v-%.12s", hex);
	return err;
}

static int path_in(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static unsigned int power_of_two_at_least(unsigned long n)
{
	unsigned long p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* The lease filter's size. An unleased write open whose slot another key
 * shares pays a hash-map lookup (about 3x the open's cost of the program):
 * 8 slots a lease leave 12% of slots taken at a full table, where 2 left
 * 39%. A slot takes 8 bytes of kernel memory: past 2M slots (16 MiB) the
 * ratio falls back towards 2. */
#define FILTER_ROOMY_MAX (1UL << 21)
static __u32 filter_entries(__u32 leases)
{
	unsigned long roomy = power_of_two_at_least(8UL * leases);
	unsigned long least = power_of_two_at_least(2UL * leases);

	if (roomy > FILTER_ROOMY_MAX)
		roomy = FILTER_ROOMY_MAX;
	return roomy > least ? roomy : least;
}

static int map_max_entries(int fd, __u32 *max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*max_entries = info.max_entries;
	return 0;
}

/* Remove every pin in dir and dir itself. */
static int unpin_folder(const char *dir)
{
	char path[512];
	struct dirent *entry;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return -errno;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.' &&
		    (!entry->d_name[1] || (entry->d_name[1] == '.' && !entry->d_name[2])))
			continue;
		if (path_in(path, sizeof(path), dir, entry->d_name) || unlink(path))
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

/* Unpin every program version folder in pin_dir except keep (NULL: all). */
static int unpin_versions_except(struct lw_enforcer *enf, const char *keep)
{
	char path[512];
	struct dirent *entry;
	DIR *d = opendir(enf->pin_dir);
	int err = 0;

	if (!d)
		return lw_fail(enf, -errno, "cannot list %s: %s", enf->pin_dir, strerror(errno));
	while ((entry = readdir(d))) {
		if (entry->d_type != DT_DIR || !strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (keep && !strcmp(entry->d_name, keep))
			continue;
		if (path_in(path, sizeof(path), enf->pin_dir, entry->d_name))
			continue;
		err = unpin_folder(path);
		if (err) {
			lw_fail(enf, err, "cannot unpin old programs in %s: %s", path, strerror(-err));
			break;
		}
	}
	closedir(d);
	return err;
}

static bool version_pinned(const struct lw_enforcer *enf, const char *version)
{
	char path[512];
	struct bpf_program *prog;
	struct enforcer_bpf *skel = NULL;
	bool complete = true;

	/* The pin names come from the skeleton's program names. */
	skel = lw_enforcer_bpf_open();
	if (!skel)
		return false;
	bpf_object__for_each_program(prog, skel->obj) {
		if (!bpf_program__autoload(prog))	/* a hook this kernel lacks */
			continue;
		snprintf(path, sizeof(path), "%s/%s/link_%s", enf->pin_dir, version,
			 bpf_program__name(prog));
		if (access(path, F_OK))
			complete = false;
	}
	enforcer_bpf__destroy(skel);
	return complete;
}

static void set_map_aliases(struct lw_enforcer *enf)
{
	enf->leases_fd = enf->map_fds[0];
	enf->filter_fd = enf->map_fds[1];
	enf->events_map_fd = enf->map_fds[2];
	enf->counters_fd = enf->map_fds[4];
	enf->guard_fd = enf->map_fds[5];
	enf->guarded_fd = enf->map_fds[6];
	enf->aliases_fd = enf->map_fds[7];
	enf->holder_index_fd = enf->map_fds[8];
	enf->key_probes_fd = enf->map_fds[9];
	enf->holder_family_fd = enf->map_fds[10];
	enf->keeper_fd = enf->map_fds[11];
	enf->alias_adds_fd = enf->map_fds[12];
}

/* Take the pinned maps without loading anything. */
static int adopt_maps(struct lw_enforcer *enf)
{
	char path[512];
	__u32 entries = 0;
	int err;

	for (size_t i = 0; i < NR_MAPS; i++) {
		if ((err = path_in(path, sizeof(path), enf->pin_dir, map_names[i])))
			return lw_fail(enf, err, "pin folder name too long");
		enf->map_fds[i] = bpf_obj_get(path);
		if (enf->map_fds[i] < 0)
			return lw_fail(enf, -errno, "cannot adopt pinned map %s: %s", path, strerror(errno));
	}
	set_map_aliases(enf);
	if ((err = map_max_entries(enf->leases_fd, &entries)))
		return lw_fail(enf, err, "cannot read the leases map: %s", strerror(-err));
	enf->max_images = entries;
	if ((err = map_max_entries(enf->filter_fd, &entries)))
		return lw_fail(enf, err, "cannot read the lease filter map: %s", strerror(-err));
	enf->filter_mask = entries - 1;
	return 0;
}

/* Sizes for the maps: those of the pinned maps if any (so libbpf can reuse
 * them), else from opts. */
static int size_maps(struct lw_enforcer *enf, struct enforcer_bpf *skel,
		     const struct lw_enforcer_opts *opts)
{
	char path[512];
	__u32 leases = opts->max_images ? opts->max_images : LW_DEFAULT_MAX_IMAGES;
	__u32 filter = filter_entries(leases);
	int fd;

	path_in(path, sizeof(path), enf->pin_dir, "leases");
	if ((fd = bpf_obj_get(path)) >= 0) {
		map_max_entries(fd, &leases);
		close(fd);
	}
	path_in(path, sizeof(path), enf->pin_dir, "lease_filter");
	if ((fd = bpf_obj_get(path)) >= 0) {
		map_max_entries(fd, &filter);
		close(fd);
	}
	if (filter & (filter - 1))
		return lw_fail(enf, -EINVAL, "pinned lease_filter has %u entries, not a power of two", filter);
	enf->max_images = leases;
	enf->filter_mask = filter - 1;
	bpf_map__set_max_entries(skel->maps.leases, leases);
	bpf_map__set_max_entries(skel->maps.lease_filter, filter);
	skel->rodata->filter_mask = enf->filter_mask;
	skel->rodata->events_per_sec = opts->events_per_sec ? opts->events_per_sec
							     : LW_DEFAULT_EVENTS_PER_SEC;
	return 0;
}

/* Attach the skeleton's programs and pin them with their links in
 * pin_dir/version (built in a hidden folder, then renamed into place so a
 * version folder is always complete). */
static int attach_and_pin(struct lw_enforcer *enf, struct enforcer_bpf *skel, const char *version)
{
	char tmp[512], final[512], path[600];
	struct bpf_program *prog;
	struct bpf_link *links[LW_MAX_PROGRAMS] = {};
	size_t nr_links = 0;
	int err = 0;

	/* bpffs refuses names with dots. */
	snprintf(tmp, sizeof(tmp), "%s/new-%s-%d", enf->pin_dir, version, getpid());
	snprintf(final, sizeof(final), "%s/%s", enf->pin_dir, version);
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return lw_fail(enf, -errno, "cannot create %s: %s", tmp, strerror(errno));

	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		if (!bpf_program__autoload(prog))	/* a hook this kernel lacks */
			continue;
		if (nr_links == sizeof(links) / sizeof(links[0])) {
			err = lw_fail(enf, -E2BIG, "too many programs in the BPF object");
			goto cleanup;
		}
		links[nr_links] = bpf_program__attach(prog);	/* LSM, and fentry/fexit */
		if (!links[nr_links]) {
			err = lw_fail(enf, -errno, "cannot attach BPF LSM program %s: %s (is 'bpf' in the lsm= list?)",
				      name, strerror(errno));
			goto cleanup;
		}
		snprintf(path, sizeof(path), "%s/prog_%s", tmp, name);
		if ((err = bpf_program__pin(prog, path))) {
			lw_fail(enf, err, "cannot pin program %s: %s", path, strerror(-err));
			goto cleanup;
		}
		snprintf(path, sizeof(path), "%s/link_%s", tmp, name);
		if ((err = bpf_link__pin(links[nr_links++], path))) {
			lw_fail(enf, err, "cannot pin link %s: %s", path, strerror(-err));
			goto cleanup;
		}
	}
	/* A folder of this version with maps gone missing: ours replaces it
	 * (we are attached already, so no gap). */
	if (rename(tmp, final) && (errno != ENOTEMPTY || unpin_folder(final) || rename(tmp, final))) {
		err = lw_fail(enf, -errno, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		goto cleanup;
	}
cleanup:
	if (err)	/* the old version, if any, still enforces */
		unpin_folder(tmp);
	for (size_t i = 0; i < nr_links; i++)
		bpf_link__destroy(links[i]);	/* pinned links stay attached */
	return err;
}

static int keep_map_fd(struct lw_enforcer *enf, struct bpf_map *map, int *fd)
{
	*fd = dup(bpf_map__fd(map));
	if (*fd < 0)
		return lw_fail(enf, -errno, "cannot keep map %s: %s", bpf_map__name(map), strerror(errno));
	return 0;
}

/* Load our version with the pinned maps (creating them if absent), then
 * attach it and retire other versions unless it is already pinned. */
static int load_and_attach(struct lw_enforcer *enf, const struct lw_enforcer_opts *opts,
			   const char *version, bool attach)
{
	char path[512];
	struct enforcer_bpf *skel;
	struct bpf_map *maps[NR_MAPS];
	int err;

	skel = lw_enforcer_bpf_open();
	if (!skel)
		return lw_fail(enf, -errno, "cannot open the BPF object: %s", strerror(errno));
	maps[0] = skel->maps.leases;
	maps[1] = skel->maps.lease_filter;
	maps[2] = skel->maps.events;
	maps[3] = skel->maps.rate_limit;
	maps[4] = skel->maps.counters;
	maps[5] = skel->maps.guard;
	maps[6] = skel->maps.guarded;
	maps[7] = skel->maps.aliases;
	maps[8] = skel->maps.holder_index;
	maps[9] = skel->maps.key_probes;
	maps[10] = skel->maps.holder_family;
	maps[11] = skel->maps.keeper;
	maps[12] = skel->maps.alias_adds;
	if ((err = size_maps(enf, skel, opts)))
		goto cleanup;
	for (size_t i = 0; i < NR_MAPS; i++) {
		path_in(path, sizeof(path), enf->pin_dir, map_names[i]);
		if ((err = bpf_map__set_pin_path(maps[i], path))) {
			lw_fail(enf, err, "cannot set pin path %s", path);
			goto cleanup;
		}
	}
	if ((err = enforcer_bpf__load(skel))) {
		lw_fail(enf, err, "cannot load the BPF programs: %s (the pinned maps in %s may be from an incompatible version)",
			strerror(-err), enf->pin_dir);
		goto cleanup;
	}
	for (size_t i = 0; i < NR_MAPS; i++)
		if ((err = keep_map_fd(enf, maps[i], &enf->map_fds[i])))
			goto cleanup;
	set_map_aliases(enf);
	if (attach) {
		if ((err = attach_and_pin(enf, skel, version)))
			goto cleanup;
		err = unpin_versions_except(enf, version);
	}
cleanup:
	enforcer_bpf__destroy(skel);
	return err;
}

static int check_bpffs(struct lw_enforcer *enf)
{
	struct statfs fs;

	if (mkdir(enf->pin_dir, 0700) && errno != EEXIST)
		return lw_fail(enf, -errno, "cannot create pin folder %s: %s", enf->pin_dir, strerror(errno));
	if (statfs(enf->pin_dir, &fs))
		return lw_fail(enf, -errno, "cannot stat %s: %s", enf->pin_dir, strerror(errno));
	if (fs.f_type != BPF_FS_MAGIC)
		return lw_fail(enf, -EINVAL, "pin folder %s is not on a bpffs (mount -t bpf bpf /sys/fs/bpf)",
			       enf->pin_dir);
	return 0;
}

static bool maps_pinned(const struct lw_enforcer *enf)
{
	char path[512];

	for (size_t i = 0; i < NR_MAPS; i++) {
		path_in(path, sizeof(path), enf->pin_dir, map_names[i]);
		if (access(path, F_OK))
			return false;
	}
	return true;
}

static void init_fds(struct lw_enforcer *enf)
{
	for (size_t i = 0; i < NR_MAPS; i++)
		enf->map_fds[i] = -1;
	set_map_aliases(enf);
	enf->files_link_fd = -1;
}

int lw_enforcer_open(const struct lw_enforcer_opts *opts, struct lw_enforcement **out,
		     struct lw_err *why)
{
	static const struct lw_enforcer_opts defaults = {};
	struct lw_enforcer *enf;
	char version[32];
	int lock_fd = -1, err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	enf = calloc(1, sizeof(*enf));
	if (!enf)
		return lw_err_set(why, ENOMEM, "out of memory");
	enf->base.ops = &lw_enforcer_ops;
	init_fds(enf);
	enf->writable_fs_devices = opts->writable_fs_devices;
	if (snprintf(enf->pin_dir, sizeof(enf->pin_dir), "%s",
		     opts->pin_dir ? opts->pin_dir : LW_DEFAULT_PIN_DIR) >= (int)sizeof(enf->pin_dir)) {
		err = lw_fail(enf, -ENAMETOOLONG, "pin folder name too long");
		goto cleanup;
	}
	if ((err = check_bpffs(enf)))
		goto cleanup;
	/* Loaders of one pin folder take turns. */
	lock_fd = open(enf->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX)) {
		err = lw_fail(enf, -errno, "cannot lock %s: %s", enf->pin_dir, strerror(errno));
		goto cleanup;
	}
	if (opts->program_version)
		snprintf(version, sizeof(version), "v-%s", opts->program_version);
	else if (program_version(version, sizeof(version)) < 0) {
		err = lw_fail(enf, -EIO, "cannot hash the BPF object (SHA-256)");
		goto cleanup;
	}
	if (maps_pinned(enf) && version_pinned(enf, version)) {
		/* Ours is complete: anything else is a replaced version or a
		 * dead loader's work in progress (we hold the lock). */
		if (!(err = adopt_maps(enf)))
			err = unpin_versions_except(enf, version);
	} else
		err = load_and_attach(enf, opts, version, true);
	snprintf(enf->version, sizeof(enf->version), "%s", version);
	if (!err)
		err = lw_hold_programs(enf);
	if (!err)
		err = lw_set_guard_flags(enf, opts->debuggable_holders ? LW_GUARD_HOLDERS_DEBUGGABLE : 0);
	if (!err)
		err = lw_index_rebuild(enf);
	if (!err)
		lw_claim_leased_devices(enf);
cleanup:
	if (lock_fd >= 0)
		close(lock_fd);	/* releases the flock */
	if (err) {
		if (why)
			*why = enf->err;
		lw_enforcer_close(&enf->base);
		return err;
	}
	*out = &enf->base;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void lw_enforcer_close(struct lw_enforcement *handle)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	if (!enf)
		return;
	lw_events_close(enf);
	lw_files_close(enf);
	lw_filter_close(enf);
	lw_release_claims(enf);
	lw_release_programs(enf);
	lw_overlay_mounts_free(&enf->overlays);
	for (size_t i = 0; i < NR_MAPS; i++)
		close_fd(&enf->map_fds[i]);
	free(enf);
}

int lw_enforcer_unpin(struct lw_enforcement *handle)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	char path[512];
	int err;

	lw_release_programs(enf);	/* else the held links keep enforcing */
	if ((err = unpin_versions_except(enf, NULL)))
		return err;
	for (size_t i = 0; i < NR_MAPS; i++) {
		path_in(path, sizeof(path), enf->pin_dir, map_names[i]);
		if (unlink(path) && errno != ENOENT)
			return lw_fail(enf, -errno, "cannot unpin %s: %s", path, strerror(errno));
	}
	if (rmdir(enf->pin_dir) && errno != ENOENT)
		return lw_fail(enf, -errno, "cannot remove %s: %s", enf->pin_dir, strerror(errno));
	return 0;
}

const char *lw_enforcer_pin_dir(const struct lw_enforcement *handle)
{
	const struct lw_enforcer *enf = lw_bpf_of_const(handle);

	return enf->pin_dir;
}

unsigned int lw_enforcer_max_images(const struct lw_enforcement *handle)
{
	const struct lw_enforcer *enf = lw_bpf_of_const(handle);

	return enf->max_images;
}
