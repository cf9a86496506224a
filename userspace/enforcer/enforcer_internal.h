/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the enforcer's files share; not part of the API. */
#ifndef LW_ENFORCER_INTERNAL_H
#define LW_ENFORCER_INTERNAL_H

#include "common/err.h"
#include "common/lease_rules.h"
#include "enforcer/enforcer.h"
#include "enforcer/overlay_mounts.h"
#include "enforcer_maps.h"	/* the map layouts: only the enforcer sees them */

struct ring_buffer;
struct enforcer_files_bpf;
struct enforcer_filter_bpf;

#define LW_NR_MAPS 13
#define LW_MAX_PROGRAMS 48
#define LW_LINGERING 64	/* holders kept in holder_index after their last lease */

/* Names of the pinned maps, in the order of lw_enforcer.map_fds. */
extern const char *const lw_map_names[LW_NR_MAPS];

/* One program of the pinned version, held so that removed pins can be
 * restored and a removed link pin does not detach it. */
struct lw_held_program {
	char name[64];
	int prog_fd;
	int link_fd;
};

struct lw_enforcer {
	struct lw_enforcement base;	/* first: the handle the API gives out */
	char pin_dir[256];
	int map_fds[LW_NR_MAPS];	/* every pinned map, adopted or created */
	int leases_fd;		/* copies of map_fds[] entries (not owned) */
	int filter_fd;
	int counters_fd;
	int events_map_fd;
	int guard_fd;
	int guarded_fd;
	int aliases_fd;
	int holder_index_fd;
	int key_probes_fd;
	int holder_family_fd;
	int keeper_fd;
	int alias_adds_fd;
	/* process holders whose last lease went, their holder_index entries
	 * kept at count 0 (leases.c) */
	struct lw_map_holder lingering[LW_LINGERING];
	unsigned int lingering_next;
	/* No alias names a file's lease as long as alias_adds reads
	 * file_aliases_none_at: a release of a file need not walk the aliases
	 * map (blockdev.c). False until a walk finds none. */
	bool file_aliases_none;
	__u64 file_aliases_none_at;
	struct lw_claim *claims;	/* exclusive claims of leased block devices */
	size_t nr_claims;
	char version[32];	/* the pinned program version folder */
	struct lw_held_program programs[LW_MAX_PROGRAMS];
	size_t nr_programs;
	struct lw_guard guard;	/* as lw_enforcer_guard wrote it */
	bool guard_set;
	__u32 guard_flags;	/* LW_GUARD_* from the open options */
	bool writable_fs_devices;	/* from the open options */
	__u32 trusted_pid;	/* a second process whose descriptors count as ours (the keeper) */
	struct lw_map_holder keeper;	/* as lw_enforcer_trust_pid wrote it in the keeper map */
	bool keeper_set;
	__u32 filter_mask;	/* lease_filter entries - 1 */
	unsigned int max_images;
	struct ring_buffer *events;	/* NULL until lw_enforcer_events_fd() */
	lw_denial_fn event_fn;
	void *event_ctx;
	struct enforcer_files_bpf *files;	/* the files iterator, loaded on first use */
	int files_link_fd;
	struct enforcer_filter_bpf *filter_change;	/* filter.c, loaded on first use */
	struct lw_overlay_mounts overlays;	/* kept between acquires (overlay_mounts.h) */
	struct lw_err err;	/* why the last call failed */
};

/* The enforcer behind a handle lw_enforcer_open gave out. */
static inline struct lw_enforcer *lw_bpf_of(struct lw_enforcement *handle)
{
	return (struct lw_enforcer *)handle;
}

static inline const struct lw_enforcer *lw_bpf_of_const(const struct lw_enforcement *handle)
{
	return (const struct lw_enforcer *)handle;
}

/* Record a one-line reason in enf->err and return err (a negative errno). */
#define lw_fail(enf, errnum, ...) lw_err_set(&(enf)->err, -(errnum), __VA_ARGS__)

/* Mark the descendants process holder has now as its family (family.c). */
int lw_family_mark(struct lw_enforcer *enf, const struct lw_map_holder *holder);

/* Read every record the files iterator gives for a query; *out is malloc'd. */
int lw_files_query(struct lw_enforcer *enf, enum lw_files_query query, __u32 tgid, __u32 fd,
		   const struct lw_map_key *key, struct lw_file_record **out, size_t *count);
void lw_files_close(struct lw_enforcer *enf);

/* Add delta to the lease filter slot of key, or to slot (filter.c). */
int lw_filter_add(struct lw_enforcer *enf, const struct lw_map_key *key, int delta);
int lw_filter_add_slot(struct lw_enforcer *enf, __u32 slot, int delta);
/* The filter program's descriptor, loaded if need be; or -errno. */
/* The daemon's own programs (bpf/enforcer_filter.bpf.c), loaded together
 * on first use. */
enum lw_own_prog { LW_OWN_FILTER, LW_OWN_NOBODYS, LW_OWN_LEASE, LW_NR_OWN_PROGS };
int lw_own_prog_fd(struct lw_enforcer *enf, enum lw_own_prog which);
/* One change (struct lw_lease_change): 0, or -errno with nothing changed
 * (change->err: the map's own; else the reason is in enf->err). */
int lw_lease_change(struct lw_enforcer *enf, struct lw_lease_change *change);
/* The same with the rest of a file's release (LW_LEASE_FORGET): its
 * nobody's aliases once less, the programs' alias count read. */
int lw_lease_release_run(struct lw_enforcer *enf, struct lw_lease_release *release);
/* keys[0..n) nobody's once more (delta 1: *done of them were when it
 * fails) or once less (-1), in one system call for up to LW_NOBODYS_MAX. */
int lw_nobodys_change(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n, int delta,
		      size_t *done);
void lw_filter_close(struct lw_enforcer *enf);

void lw_events_close(struct lw_enforcer *enf);

/* The boundary (translate.c): domain types <-> map layouts. */
struct lw_map_key lw_to_map_key(const struct lw_image_key *key);
struct lw_image_key lw_from_map_key(const struct lw_map_key *key);
void lw_map_key_name(const struct lw_map_key *key, char *buf, size_t size);
struct lw_map_holder lw_to_map_holder(const struct lw_holder *holder);
struct lw_holder lw_from_map_holder(const struct lw_map_holder *holder);
__u32 lw_to_map_mode(enum lw_lease_mode mode);
enum lw_lease_mode lw_from_map_mode(__u32 mode);
struct lw_map_lease lw_to_map_lease(const struct lw_lease *lease);
void lw_from_map_lease(const struct lw_map_lease *m, struct lw_lease *lease);
void lw_from_map_denial(const struct lw_map_denial *m, struct lw_denial *denial);

/* The map-side forms of the API's calls (files.c, leases.c). */
int lw_map_key_of_fd(struct lw_enforcer *enf, int fd, struct lw_map_key *key);
/* kernel_hooks.c: the skeleton opened, without the programs of optional
 * hooks this kernel lacks. */
struct enforcer_bpf *lw_enforcer_bpf_open(void);
/* key_probe.c: fd's key and write count in O(1); -ENOENT if unanswered. */
int lw_key_probe(struct lw_enforcer *enf, int fd, struct lw_key_probe *answer);
int lw_map_lookup(struct lw_enforcer *enf, const struct lw_map_key *key, struct lw_map_lease *lease);
int lw_map_foreach(struct lw_enforcer *enf,
		   int (*fn)(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx),
		   void *ctx);

/* Non-holders with the image open for write (writers.c): up to max in
 * writers, *found of them in all; fd is the caller's descriptor of it. */
int lw_find_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		    const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writers,
		    size_t max, size_t *found);
/* -EBUSY if a non-holder has the image open for write; *writer (if not
 * NULL) names the first. */
int lw_check_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		     const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writer);

/* lw_check_writers for a regular file that may also be written by
 * hidden_allowed files in no descriptor table that are not writers of
 * their own (the upper files an overlay opens for its write opens). */
int lw_check_writers_allowing(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			      const struct lw_map_lease *lease, __s32 hidden_allowed,
			      struct lw_writer *writer);
/* The inode's write count (i_writecount) of the file open at fd, key. */
int lw_writecount(struct lw_enforcer *enf, int fd, const struct lw_map_key *key, __s32 *count);

/* Overlay names (overlay.c): an image on an overlay mount, or a layer file
 * of a mounted overlay that its merged name shows, has other names (the
 * merged file, the upper file, the lower file shown); each becomes an alias
 * of the lease, then (unless LW_LEASE_FORCE) is checked for writers. Undoes
 * its own aliases on failure; released with the lease (lw_drop_aliases_of). */
int lw_overlay_lease(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		     const struct lw_map_lease *lease, unsigned int flags, struct lw_writer *writer);
/* Drop every alias that names key's lease. */
void lw_drop_aliases_of(struct lw_enforcer *enf, const struct lw_map_key *key);

/* Block devices (blockdev.c; their nodes from sysfs: blockdev_nodes.c). A
 * leased block device's other nodes become aliases of its lease, and the
 * enforcer holds an exclusive claim (O_EXCL) on it so mount, dm and md
 * cannot claim it. */
struct lw_claim {
	struct lw_map_key key;
	int fd;
};
int lw_blockdev_lease(struct lw_enforcer *enf, const struct lw_map_key *key, unsigned int flags);
void lw_blockdev_release(struct lw_enforcer *enf, const struct lw_map_key *key);
/* A file's release once its lease left the map (release->change: the
 * LW_LEASE_FORGET of it), in one system call with its file system's
 * nobody's aliases; the aliases map walked only if one may name it.
 * 0, or -errno with nothing done. */
int lw_file_release(struct lw_enforcer *enf, struct lw_lease_release *release);
/* -EEXIST, said as what key is to the lease (lease_dev, lease_ino) it is
 * an alias of: a node of a leased device, a loop device's backing file, an
 * overlay name. */
int lw_refuse_alias(struct lw_enforcer *enf, const struct lw_map_key *key, __u64 lease_dev, __u64 lease_ino);
void lw_claim_leased_devices(struct lw_enforcer *enf);
/* A leased file's filesystem device, and every node that writes its
 * sectors, become nobody's (unless opts.writable_fs_devices): the nodes of
 * file system dev, made nobody's with the lease's insert (leases.c);
 * release undoes it. */
struct related;
void lw_file_nodes(struct lw_enforcer *enf, __u64 dev, struct related *all);
void lw_fs_device_release(struct lw_enforcer *enf, const struct lw_map_key *key);
/* keys nobody's once more, all or none: 0, or -errno with none raised. */
int lw_nobodys_add(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n);
/* Open block device rdev by the name sysfs gives it (checked to be rdev):
 * a descriptor or a negative errno. */
int lw_blockdev_open(__u64 rdev, int flags);

/* -EBUSY if a process other than this one and lease's holders has a
 * shared mapping, writable through its file, of one of keys (vmas.c). */
int lw_vmas_check(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n,
		  const struct lw_map_lease *lease);

/* Loop devices (loop.c): the kernel's key of the file behind loop device
 * rdev; -ENOENT if rdev is no loop device or has no file attached. */
int lw_loop_backing_key(struct lw_enforcer *enf, __u64 rdev, struct lw_map_key *file);
void lw_release_claims(struct lw_enforcer *enf);

/* The holder index (leases.c): count lease's holders in or out (delta
 * +1/-1); a holder's key in it (only its kind's fields). */
int lw_index_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
		   const struct lw_map_lease *lease, int delta);
/* Rebuild it from the leases map, after open (holder_index.c). */
int lw_index_rebuild(struct lw_enforcer *enf);

/* Write the LW_GUARD_* flags into the guard entry (the rest unchanged). */
int lw_set_guard_flags(struct lw_enforcer *enf, __u32 flags);

/* Open and keep the pinned version's programs and links (pins.c). */
int lw_hold_programs(struct lw_enforcer *enf);
void lw_release_programs(struct lw_enforcer *enf);

#endif
