// SPDX-License-Identifier: LGPL-2.1-or-later
/* A block device lease covers every node through which its sectors can be
 * written: a whole disk's lease covers its partitions, a partition's lease
 * makes the whole disk nobody's (no one holds every partition), and the
 * disk's SCSI generic and bsg nodes follow the disk. sysfs names them at
 * acquire time; they go into the aliases map, each counted in the lease
 * filter. The enforcer also claims each leased device exclusively (O_EXCL)
 * so mount, device-mapper and md cannot claim it, while plain opens (the
 * holder's O_RDWR|O_DIRECT) still work. A loop device's lease also covers
 * its backing file (loop.c). Partitions and dm/md devices made after the
 * acquire are added by the programs themselves (bpf/alias_track.bpf.h).
 * The devices below a leased dm/md device (multipath paths, md members)
 * are aliases for write opens only (LW_ALIAS_OPENS_ONLY). Mounts of any of
 * them are refused by the programs (bpf/mount_guard.bpf.h), claim or not. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"
#include "blockdev_nodes.h"

static bool is_leased(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct lw_map_lease lease;

	return bpf_map_lookup_elem(enf->leases_fd, key, &lease) == 0;
}

int lw_refuse_alias(struct lw_enforcer *enf, const struct lw_map_key *key, __u64 lease_dev, __u64 lease_ino)
{
	if (key->ino != 0 && lease_ino == 0)	/* a file behind a loop device */
		return lw_fail(enf, -EEXIST, "this file is the backing file of leased loop device %llu:%llu",
			       (unsigned long long)(lease_dev >> 20), (unsigned long long)(lease_dev & 0xfffff));
	if (key->ino != 0)	/* an overlay name of a leased file */
		return lw_fail(enf, -EEXIST, "this file is another overlay name of leased image %llu:%llu:%llu",
			       (unsigned long long)(lease_dev >> 20), (unsigned long long)(lease_dev & 0xfffff),
			       (unsigned long long)lease_ino);
	if (!lease_dev && !lease_ino)
		return lw_fail(enf, -EEXIST, "a partition of this disk (dev %u:%u) is leased",
			       lw_kdev_major(key->dev), lw_kdev_minor(key->dev));
	return lw_fail(enf, -EEXIST, "this device is part of leased device %u:%u", lw_kdev_major(lease_dev),
		       lw_kdev_minor(lease_dev));
}

static void drop_nobodys(struct lw_enforcer *enf, const struct related *nobodys);

/* Drop key's aliases: covered ones that name it, a count of nobody's ones.
 * For a file that is a walk of the whole map (16,384 buckets at least,
 * about 30% of a lease round trip's instructions in the guest), skipped
 * while no alias can name a file's lease: none did after the last walk,
 * the daemon added none since (overlay.c) and the programs neither
 * (alias_adds, bumped after each alias they add). */
static void walk_aliases(struct lw_enforcer *enf, const struct lw_map_key *key, bool counted, __u64 adds)
{
	struct lw_map_key cur, next;
	struct lw_alias alias;
	void *prev = NULL;
	size_t naming_files = 0;

	if (key->ino != 0 && counted && enf->file_aliases_none && adds == enf->file_aliases_none_at)
		return;
	while (!bpf_map_get_next_key(enf->aliases_fd, prev, &next)) {
		cur = next;
		if (!bpf_map_lookup_elem(enf->aliases_fd, &cur, &alias)) {
			if (alias.lease.dev == key->dev && alias.lease.ino == key->ino &&
			    !bpf_map_delete_elem(enf->aliases_fd, &cur)) {
				lw_filter_add(enf, &cur, -1);
				continue;	/* deleted: prev still names the entry before */
			}
			naming_files += alias.lease.ino != 0;
		}
		prev = &cur;
	}
	enf->file_aliases_none = counted && !naming_files;
	enf->file_aliases_none_at = adds;
}

static void drop_aliases(struct lw_enforcer *enf, const struct lw_map_key *key,
			 const struct related *nobodys)
{
	__u32 zero = 0;
	__u64 adds = 0;
	bool counted = !bpf_map_lookup_elem(enf->alias_adds_fd, &zero, &adds);

	walk_aliases(enf, key, counted, adds);
	drop_nobodys(enf, nobodys);
}

void lw_drop_aliases_of(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	drop_aliases(enf, key, NULL);
}

/* One count less of each of nobodys' nobody's aliases. */
static void drop_nobodys(struct lw_enforcer *enf, const struct related *nobodys)
{
	size_t done;

	if (nobodys && nobodys->n)
		lw_nobodys_change(enf, nobodys->keys, nobodys->n, -1, &done);
}

/* k becomes an alias of lease, or (found: k's nobody's alias, looked up
 * by the caller) a nobody's alias once more; a nobody's keeps the
 * strictest flags. */
static int store_alias(struct lw_enforcer *enf, const struct lw_map_key *k, const struct lw_map_key *lease,
		       __u32 flags, struct lw_alias *found)
{
	struct lw_alias alias = { .lease = *lease, .count = 1, .flags = flags };

	if (found) {
		found->count++;
		found->flags &= flags;
		if (bpf_map_update_elem(enf->aliases_fd, k, found, BPF_EXIST))
			return lw_fail(enf, -errno, "cannot update an alias: %s", strerror(errno));
		return 0;
	}
	/* filter first: the programs must never skip a covered node */
	if (lw_filter_add(enf, k, 1))
		return -EIO;
	if (bpf_map_update_elem(enf->aliases_fd, k, &alias, BPF_NOEXIST)) {
		int err = -errno;

		lw_filter_add(enf, k, -1);
		return lw_fail(enf, err, "cannot insert an alias: %s", strerror(-err));
	}
	return 0;
}

/* k becomes an alias of lease (nobody's if {0, 0}: once more if it is
 * already). flags: LW_ALIAS_*. */
static int add_alias_flags(struct lw_enforcer *enf, const struct lw_map_key *k,
			   const struct lw_map_key *lease, __u32 flags)
{
	struct lw_alias alias;
	bool nobodys = !lease->dev && !lease->ino;
	bool found;

	if (is_leased(enf, k))
		return lw_fail(enf, -EEXIST, "device %u:%u%s, another node of this one, is leased",
			       lw_kdev_major(k->dev), lw_kdev_minor(k->dev),
			       k->ino ? " (char)" : "");
	found = !bpf_map_lookup_elem(enf->aliases_fd, k, &alias);
	if (found && (!nobodys || alias.lease.dev || alias.lease.ino))
		return lw_fail(enf, -EEXIST, "device %u:%u is part of another lease",
			       lw_kdev_major(k->dev), lw_kdev_minor(k->dev));
	return store_alias(enf, k, lease, flags, found ? &alias : NULL);
}

static int add_alias(struct lw_enforcer *enf, const struct lw_map_key *k, const struct lw_map_key *lease)
{
	return add_alias_flags(enf, k, lease, 0);
}

/* Open block device rdev exclusively. */
static int claim_device(__u64 rdev)
{
	return lw_blockdev_open(rdev, O_RDONLY | O_EXCL | O_NONBLOCK);
}

static int keep_claim(struct lw_enforcer *enf, const struct lw_map_key *key, int fd)
{
	struct lw_claim *more = realloc(enf->claims, (enf->nr_claims + 1) * sizeof(*more));

	if (!more) {
		close(fd);
		return -ENOMEM;
	}
	enf->claims = more;
	enf->claims[enf->nr_claims].key = *key;
	enf->claims[enf->nr_claims].fd = fd;
	enf->nr_claims++;
	return 0;
}

static void drop_claim(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	for (size_t i = 0; i < enf->nr_claims; i++)
		if (enf->claims[i].key.dev == key->dev && enf->claims[i].key.ino == key->ino) {
			close(enf->claims[i].fd);
			enf->claims[i] = enf->claims[--enf->nr_claims];
			return;
		}
}

/* A loop device's lease covers the file behind it: the file becomes an
 * alias of the lease. (One attached later is covered by the programs, at
 * LOOP_CONFIGURE.) */
static int cover_backing_file(struct lw_enforcer *enf, const struct lw_map_key *key, unsigned int flags)
{
	struct lw_map_key file;
	int err = lw_loop_backing_key(enf, key->dev, &file);

	if (err == -ENOENT)	/* not a loop device, or nothing attached */
		return 0;
	if (err)
		return flags & LW_LEASE_FORCE ? 0 : err;
	if (is_leased(enf, &file))
		return lw_fail(enf, -EEXIST, "the loop device's backing file is leased");
	return add_alias(enf, &file, key);
}

/* -EBUSY if a non-holder has a shared writable mapping of the device, of
 * a node it covers or of a device below it (the files iterator sees
 * descriptors only). */
static int check_mappings(struct lw_enforcer *enf, const struct lw_map_key *key,
			  const struct related *covered, const struct related *below)
{
	struct lw_map_key keys[2 * LW_MAX_RELATED + 1];
	struct lw_map_lease lease;
	size_t n = 0;

	if (bpf_map_lookup_elem(enf->leases_fd, key, &lease))
		return lw_fail(enf, -ENOENT, "the lease vanished during the acquire");
	keys[n++] = *key;
	for (size_t i = 0; i < covered->n; i++)
		keys[n++] = covered->keys[i];
	for (size_t i = 0; i < below->n; i++)
		keys[n++] = below->keys[i];
	return lw_vmas_check(enf, keys, n, &lease);
}

/* A device below the leased one (a multipath path, an LVM physical volume,
 * an md member): write opens are the lease's, ioctls stay free (multipathd
 * and udev send SG_IO there). One nobody's already refuses every writer. */
static int add_below(struct lw_enforcer *enf, const struct lw_map_key *k, const struct lw_map_key *lease)
{
	struct lw_alias alias;

	if (!bpf_map_lookup_elem(enf->aliases_fd, k, &alias) && !alias.lease.dev && !alias.lease.ino)
		return 0;
	return add_alias_flags(enf, k, lease, LW_ALIAS_OPENS_ONLY);
}

/* The devices below a dm/md device and their disks or partitions (in
 * below): aliases for write opens only. *nobodys_done: the nobody's counts
 * raised. */
static int cover_below(struct lw_enforcer *enf, const struct lw_map_key *key, struct related *below,
		       struct related *nobodys, size_t *nobodys_done)
{
	int err;

	lw_below_nodes(key->dev, below, nobodys);
	for (size_t i = 0; i < below->n; i++)
		if ((err = add_below(enf, &below->keys[i], key)))
			return err;
	if ((err = lw_nobodys_add(enf, nobodys->keys, nobodys->n)))
		return err;
	*nobodys_done = nobodys->n;
	return 0;
}

int lw_blockdev_lease(struct lw_enforcer *enf, const struct lw_map_key *key, unsigned int flags)
{
	static const struct lw_map_key nobody;
	struct related covered, nobodys, below = { .n = 0 }, below_nobodys;
	struct lw_err reason;
	size_t nobodys_done = 0, below_done = 0;
	int err = 0, fd;

	lw_related_nodes(key->dev, &covered, &nobodys);
	below_nobodys.n = 0;
	for (size_t i = 0; i < covered.n; i++)
		if ((err = add_alias(enf, &covered.keys[i], key)))
			goto undo;
	for (; nobodys_done < nobodys.n; nobodys_done++)
		if ((err = add_alias(enf, &nobodys.keys[nobodys_done], &nobody)))
			goto undo;
	if ((err = cover_below(enf, key, &below, &below_nobodys, &below_done)))
		goto undo;
	if ((err = cover_backing_file(enf, key, flags)))
		goto undo;
	if (!(flags & LW_LEASE_FORCE) && (err = check_mappings(enf, key, &covered, &below)))
		goto undo;
	fd = claim_device(key->dev);
	if (fd == -EBUSY && !(flags & LW_LEASE_FORCE)) {
		err = lw_fail(enf, -EBUSY, "device is claimed by the kernel (mounted, or under dm, md or another exclusive opener)");
		goto undo;
	}
	if (fd >= 0 && (err = keep_claim(enf, key, fd)))
		goto undo;
	return 0;
undo:
	reason = enf->err;
	nobodys.n = nobodys_done;	/* only the counts this call raised */
	below_nobodys.n = below_done;
	drop_aliases(enf, key, &nobodys);
	drop_nobodys(enf, &below_nobodys);
	enf->err = reason;
	return err;
}

int lw_nobodys_add(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n)
{
	struct related raised = { .n = 0 };
	struct lw_err reason;
	int err;

	if (!(err = lw_nobodys_change(enf, keys, n, 1, &raised.n)))
		return 0;
	reason = enf->err;
	memcpy(raised.keys, keys, raised.n * sizeof(*keys));
	drop_nobodys(enf, &raised);
	enf->err = reason;
	return err;
}

/* lw_fs_device_nodes of dev, read again from sysfs once a clock second:
 * the walk costs 0.2-0.4 ms natively, and every acquire and release of an
 * image asks it for the same few filesystems. A node that appears
 * meanwhile is covered from the next read, at most a second later (before,
 * from the next acquire). */
static void fs_device_nodes(__u64 dev, struct related *all)
{
	static struct {
		__u64 dev;
		struct related all;
		struct timespec at;
	} last = { .dev = 0 };
	struct timespec now;

	/* coarse: read in the vDSO even where the clock source is not
	 * (a guest without a stable TSC: one system call an acquire) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (last.dev != dev || now.tv_sec != last.at.tv_sec) {
		lw_fs_device_nodes(dev, &last.all);
		last.dev = dev;
		last.at = now;
	}
	*all = last.all;
}

void lw_file_nodes(struct lw_enforcer *enf, __u64 dev, struct related *all)
{
	all->n = 0;
	if (!enf->writable_fs_devices)
		fs_device_nodes(dev, all);
}

void lw_fs_device_release(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct related all;

	lw_file_nodes(enf, key->dev, &all);
	drop_nobodys(enf, &all);
}

int lw_file_release(struct lw_enforcer *enf, struct lw_lease_release *release)
{
	const struct lw_map_key *key = &release->change.key;
	struct related all;
	size_t done;
	int err;

	lw_file_nodes(enf, key->dev, &all);
	release->n = all.n < LW_NOBODYS_MAX ? (__u32)all.n : LW_NOBODYS_MAX;
	memcpy(release->nobodys, all.keys, release->n * sizeof(*all.keys));
	if ((err = lw_lease_release_run(enf, release)))
		return err;
	if (all.n > release->n)
		lw_nobodys_change(enf, all.keys + release->n, all.n - release->n, -1, &done);
	walk_aliases(enf, key, true, release->alias_adds);
	return 0;
}

void lw_blockdev_release(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct related covered, nobodys;

	if (key->ino != 0) {	/* a file: the loop devices the programs tied to it */
		drop_aliases(enf, key, NULL);
		lw_fs_device_release(enf, key);
		return;
	}
	drop_claim(enf, key);
	lw_related_nodes(key->dev, &covered, &nobodys);
	drop_aliases(enf, key, &nobodys);
	lw_below_nodes(key->dev, &covered, &nobodys);	/* the below ones named the lease: dropped */
	drop_nobodys(enf, &nobodys);
}

static int claim_one(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx)
{
	int fd;

	(void)lease;
	if (key->ino != 0)	/* a file: nothing to claim */
		return 0;
	fd = claim_device(key->dev);
	if (fd >= 0)
		keep_claim(ctx, key, fd);
	return 0;
}

/* After a restart: claim again every leased block device (best effort;
 * the programs still refuse non-holders' opens meanwhile). The leases are
 * read in batches: at 65,536 a key at a time was as many system calls. */
void lw_claim_leased_devices(struct lw_enforcer *enf)
{
	lw_map_foreach(enf, claim_one, enf);
}

void lw_release_claims(struct lw_enforcer *enf)
{
	for (size_t i = 0; i < enf->nr_claims; i++)
		close(enf->claims[i].fd);
	free(enf->claims);
	enf->claims = NULL;
	enf->nr_claims = 0;
}
