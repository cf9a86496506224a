/* The kernel's table of leases: the leases hash map, and the lease filter
 * that lets the programs skip it for unleased images. One writer at a time
 * (the daemon). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enforcer/enforcer_internal.h"

static void describe_key(const struct lw_map_key *key, char *buf, size_t size)
{
	snprintf(buf, size, "dev %llu:%llu ino %llu", (unsigned long long)(key->dev >> 20),
		 (unsigned long long)(key->dev & 0xfffff), (unsigned long long)key->ino);
}

int lw_filter_add(struct lw_enforcer *enf, const struct lw_map_key *key, int delta)
{
	__u32 slot = lw_filter_slot(key, enf->filter_mask), count;

	if (bpf_map_lookup_elem(enf->filter_fd, &slot, &count))
		return lw_fail(enf, -errno, "cannot read the lease filter: %s", strerror(errno));
	count += delta;
	if (bpf_map_update_elem(enf->filter_fd, &slot, &count, BPF_ANY))
		return lw_fail(enf, -errno, "cannot update the lease filter: %s", strerror(errno));
	return 0;
}

/* The holder_index key of holder: only its kind's fields. */
static void index_key(const struct lw_map_holder *holder, struct lw_map_holder *k)
{
	memset(k, 0, sizeof(*k));
	k->kind = holder->kind;
	if (holder->kind == LW_MAP_HOLDER_CGROUP)
		k->cgroup_id = holder->cgroup_id;
	else {
		k->pid = holder->pid;
		k->start_time = holder->start_time;
	}
}

static int index_holder(struct lw_enforcer *enf, const struct lw_map_holder *holder,
			const struct lw_map_key *key, int delta)
{
	struct lw_holder_ref ref = {};
	struct lw_map_holder k;

	index_key(holder, &k);
	if (bpf_map_lookup_elem(enf->holder_index_fd, &k, &ref)) {
		if (delta < 0)
			return 0;
		ref.count = 0;
		ref.key = *key;
	}
	if (delta < 0 && ref.count <= 1) {
		if (bpf_map_delete_elem(enf->holder_index_fd, &k) && errno != ENOENT)
			return lw_fail(enf, -errno, "cannot update the holder index: %s", strerror(errno));
		return 0;
	}
	ref.count += delta;
	if (bpf_map_update_elem(enf->holder_index_fd, &k, &ref, BPF_ANY))
		return lw_fail(enf, -errno, "cannot update the holder index: %s", strerror(errno));
	return 0;
}

int lw_index_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
		   const struct lw_map_lease *lease, int delta)
{
	int err = 0;

	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++) {
		int e = index_holder(enf, &lease->holders[i], key, delta);

		if (e && !err)
			err = e;
	}
	return err;
}

static int index_one(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx)
{
	return lw_index_lease(ctx, key, lease, 1);
}

int lw_index_rebuild(struct lw_enforcer *enf)
{
	struct lw_map_holder k;

	/* empty it first: a previous daemon's counts may be off */
	while (!bpf_map_get_next_key(enf->holder_index_fd, NULL, &k))
		if (bpf_map_delete_elem(enf->holder_index_fd, &k))
			return lw_fail(enf, -errno, "cannot clear the holder index: %s", strerror(errno));
	return lw_enforcer_foreach(enf, index_one, enf);
}

static int check_holder(struct lw_enforcer *enf, const struct lw_map_holder *holder)
{
	if (!holder || (holder->kind != LW_MAP_HOLDER_PROCESS && holder->kind != LW_MAP_HOLDER_CGROUP))
		return lw_fail(enf, -EINVAL, "holder must be a process or a cgroup");
	if (holder->kind == LW_MAP_HOLDER_PROCESS && !holder->pid)
		return lw_fail(enf, -EINVAL, "process holder without a pid");
	return 0;
}

static bool covered_by_lease(const struct lw_map_lease *lease, __u32 pid)
{
	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++)
		if (lw_holder_covers_pid(&lease->holders[i], pid))
			return true;
	return false;
}

/* Whether file_id is one of the caller's own open file descriptions: a
 * copy of it elsewhere (e.g. a lock descriptor the daemon handed to its
 * keeper) is the caller's, not a foreign writer. */
static bool callers_file(const struct lw_file_record *records, size_t count, __u64 file_id)
{
	for (size_t i = 0; i < count; i++)
		if (records[i].tgid == (__u32)getpid() && records[i].file_id == file_id)
			return true;
	return false;
}

/* Non-holders with the image open for write, as the kernel sees it now:
 * up to max in writers, *found of them in all. The lease is already in the
 * map, so no new writer can appear. fd is the caller's descriptor of the
 * image: its record carries the inode's write count. */
static int find_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writers,
			size_t max, size_t *found)
{
	struct lw_file_record *records;
	size_t count, distinct = 0;
	__s32 writecount = 0;
	int err;

	*found = 0;
	err = lw_files_query(enf, LW_FILES_WRITERS, getpid(), fd, key, &records, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		const struct lw_file_record *r = &records[i];
		bool seen = false;

		writecount = r->writecount;
		if (!(r->f_mode & LW_FMODE_WRITE))	/* the caller's read-only descriptor */
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= records[j].file_id == r->file_id;
		distinct += !seen;
		if (r->tgid == (__u32)getpid() || (enf->trusted_pid && r->tgid == enf->trusted_pid) ||
		    callers_file(records, count, r->file_id) || covered_by_lease(lease, r->tgid))
			continue;
		if (*found < max) {
			writers[*found].pid = r->tgid;
			writers[*found].fd = r->fd;
			memcpy(writers[*found].comm, r->comm, sizeof(writers[*found].comm));
		}
		++*found;
	}
	/* i_writecount counts every write opener of a regular file, also
	 * those in no descriptor table: a shared writable mapping whose
	 * descriptor was closed, or an open that passed the check before the
	 * lease was inserted and is not installed yet. */
	if (regular_file && writecount > (__s32)distinct) {
		if (*found < max)
			memset(&writers[*found], 0, sizeof(writers[*found]));
		++*found;
	}
	free(records);
	return 0;
}

/* -EBUSY if a non-holder has the image open for write; *writer (if not
 * NULL) names the first. */
static int check_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			 const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writer)
{
	struct lw_writer first;
	size_t found;
	int err = find_writers(enf, fd, key, lease, regular_file, &first, 1, &found);

	if (err || !found)
		return err;
	if (writer)
		*writer = first;
	if (first.pid)
		return lw_fail(enf, -EBUSY, "image is open for write by pid %u (%.*s) on fd %u",
			       first.pid, LW_MAP_COMM_LEN, first.comm, first.fd);
	return lw_fail(enf, -EBUSY, "image has write opener(s) in no descriptor table (a shared writable mapping, or an open in progress)");
}

int lw_enforcer_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			struct lw_writer *writers, size_t max, size_t *count)
{
	struct lw_map_lease lease;
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return lw_fail(enf, -errno, "cannot stat the image descriptor: %s", strerror(errno));
	if ((err = lw_enforcer_lookup(enf, key, &lease)))
		return err;
	return find_writers(enf, fd, key, &lease, S_ISREG(st.st_mode), writers, max, count);
}

int lw_enforcer_add_lease_flags(struct lw_enforcer *enf, int fd, enum lw_map_lease_mode mode,
				const struct lw_map_holder *first_holder, unsigned int flags,
				struct lw_map_key *key_out, struct lw_writer *writer)
{
	struct lw_map_lease lease = {};
	struct lw_map_key key;
	char name[96];
	struct stat st;
	int err;

	if (mode != LW_MAP_LEASE_EXCLUSIVE && mode != LW_MAP_LEASE_SHARED)
		return lw_fail(enf, -EINVAL, "lease mode must be exclusive or shared");
	if ((err = check_holder(enf, first_holder)))
		return err;
	if (fstat(fd, &st))
		return lw_fail(enf, -errno, "cannot stat the image descriptor: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return lw_fail(enf, -EINVAL, "an image must be a regular file or a block device");
	if ((err = lw_enforcer_key_of_fd(enf, fd, &key)))
		return err;
	describe_key(&key, name, sizeof(name));
	if ((err = lw_blockdev_check_free(enf, &key)))
		return err;

	lease.mode = mode;
	lease.nr_holders = 1;
	lease.holders[0] = *first_holder;
	/* Filter first: the programs must never skip a leased image. */
	if ((err = lw_filter_add(enf, &key, 1)))
		return err;
	if (bpf_map_update_elem(enf->leases_fd, &key, &lease, BPF_NOEXIST)) {
		err = -errno;
		lw_filter_add(enf, &key, -1);
		if (err == -EEXIST)
			return lw_fail(enf, -EEXIST, "image (%s) is already leased", name);
		if (err == -E2BIG || err == -ENOMEM)
			return lw_fail(enf, -ENOSPC, "lease table is full (%u images); raise max_images",
				       enf->max_images);
		return lw_fail(enf, err, "cannot insert the lease: %s", strerror(-err));
	}
	if ((err = lw_index_lease(enf, &key, &lease, 1))) {
		lw_index_lease(enf, &key, &lease, -1);
		bpf_map_delete_elem(enf->leases_fd, &key);
		lw_filter_add(enf, &key, -1);
		return err;
	}
	if (!(flags & LW_LEASE_FORCE)) {
		err = check_writers(enf, fd, &key, &lease, S_ISREG(st.st_mode), writer);
		if (err) {
			char reason[sizeof(enf->error)];

			/* Roll back; keep the reason check_writers gave. */
			memcpy(reason, enf->error, sizeof(reason));
			bpf_map_delete_elem(enf->leases_fd, &key);
			lw_index_lease(enf, &key, &lease, -1);
			lw_filter_add(enf, &key, -1);
			memcpy(enf->error, reason, sizeof(reason));
			return err;
		}
	}
	/* the other nodes of a block device, and its exclusive claim */
	if ((S_ISBLK(st.st_mode) && (err = lw_blockdev_lease(enf, &key, flags))) ||
	    (S_ISREG(st.st_mode) && (err = lw_fs_device_lease(enf, &key)))) {
		bpf_map_delete_elem(enf->leases_fd, &key);
		lw_index_lease(enf, &key, &lease, -1);
		lw_filter_add(enf, &key, -1);
		return err;
	}
	if (key_out)
		*key_out = key;
	return 0;
}

int lw_enforcer_add_lease(struct lw_enforcer *enf, int fd, enum lw_map_lease_mode mode,
			  const struct lw_map_holder *first_holder, struct lw_map_key *key_out)
{
	return lw_enforcer_add_lease_flags(enf, fd, mode, first_holder, 0, key_out, NULL);
}

int lw_enforcer_remove_lease(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct lw_map_lease old;
	bool had = !bpf_map_lookup_elem(enf->leases_fd, key, &old);
	char name[96];

	describe_key(key, name, sizeof(name));
	if (bpf_map_delete_elem(enf->leases_fd, key)) {
		if (errno == ENOENT)
			return lw_fail(enf, -ENOENT, "image (%s) is not leased", name);
		return lw_fail(enf, -errno, "cannot remove the lease of %s: %s", name, strerror(errno));
	}
	if (had)
		lw_index_lease(enf, key, &old, -1);
	lw_blockdev_release(enf, key);
	return lw_filter_add(enf, key, -1);
}

int lw_enforcer_lookup(struct lw_enforcer *enf, const struct lw_map_key *key,
		       struct lw_map_lease *lease)
{
	char name[96];

	if (!bpf_map_lookup_elem(enf->leases_fd, key, lease))
		return 0;
	describe_key(key, name, sizeof(name));
	if (errno == ENOENT)
		return lw_fail(enf, -ENOENT, "image (%s) is not leased", name);
	return lw_fail(enf, -errno, "cannot read the lease of %s: %s", name, strerror(errno));
}

int lw_enforcer_add_holder(struct lw_enforcer *enf, const struct lw_map_key *key,
			   const struct lw_map_holder *holder)
{
	struct lw_map_lease lease;
	int err;

	if ((err = check_holder(enf, holder)) || (err = lw_enforcer_lookup(enf, key, &lease)))
		return err;
	for (__u32 i = 0; i < lease.nr_holders && i < LW_MAP_MAX_HOLDERS; i++)
		if (lw_holder_equal(&lease.holders[i], holder))
			return lw_fail(enf, -EEXIST, "already a holder of this lease");
	if (lease.mode == LW_MAP_LEASE_EXCLUSIVE && lease.nr_holders >= 1)
		return lw_fail(enf, -EINVAL, "an exclusive lease has one holder");
	if (lease.nr_holders >= LW_MAP_MAX_HOLDERS)
		return lw_fail(enf, -E2BIG, "a shared lease has at most %d holders", LW_MAP_MAX_HOLDERS);
	lease.holders[lease.nr_holders++] = *holder;
	if (bpf_map_update_elem(enf->leases_fd, key, &lease, BPF_EXIST))
		return lw_fail(enf, -errno, "cannot update the lease: %s", strerror(errno));
	return index_holder(enf, holder, key, 1);
}

int lw_enforcer_remove_holder(struct lw_enforcer *enf, const struct lw_map_key *key,
			      const struct lw_map_holder *holder)
{
	struct lw_map_lease lease;
	__u32 i;
	int err;

	if ((err = lw_enforcer_lookup(enf, key, &lease)))
		return err;
	for (i = 0; i < lease.nr_holders && i < LW_MAP_MAX_HOLDERS; i++)
		if (lw_holder_equal(&lease.holders[i], holder))
			break;
	if (i == lease.nr_holders || i == LW_MAP_MAX_HOLDERS)
		return lw_fail(enf, -ENOENT, "not a holder of this lease");
	if (lease.nr_holders == 1)
		return lw_enforcer_remove_lease(enf, key);
	memmove(&lease.holders[i], &lease.holders[i + 1],
		(lease.nr_holders - i - 1) * sizeof(lease.holders[0]));
	lease.nr_holders--;
	memset(&lease.holders[lease.nr_holders], 0, sizeof(lease.holders[0]));
	if (bpf_map_update_elem(enf->leases_fd, key, &lease, BPF_EXIST))
		return lw_fail(enf, -errno, "cannot update the lease: %s", strerror(errno));
	return index_holder(enf, holder, key, -1);
}

int lw_enforcer_foreach(struct lw_enforcer *enf,
			int (*fn)(const struct lw_map_key *key, const struct lw_map_lease *lease, void *ctx),
			void *ctx)
{
	struct lw_map_key key, next;
	struct lw_map_lease lease;
	void *prev = NULL;
	int ret;

	while (!bpf_map_get_next_key(enf->leases_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(enf->leases_fd, &key, &lease))
			continue;	/* removed meanwhile */
		if ((ret = fn(&key, &lease, ctx)))
			return ret;
	}
	if (errno != ENOENT)
		return lw_fail(enf, -errno, "cannot walk the leases: %s", strerror(errno));
	return 0;
}

int lw_enforcer_put_lease(struct lw_enforcer *enf, const struct lw_map_key *key,
			  enum lw_map_lease_mode mode, const struct lw_map_holder *holders, unsigned int n)
{
	struct lw_map_lease lease = { .mode = mode }, old;
	bool had;
	int err;

	if (n == 0 || n > LW_MAP_MAX_HOLDERS)
		return lw_fail(enf, -EINVAL, "a lease has 1 to %d holders", LW_MAP_MAX_HOLDERS);
	lease.nr_holders = n;
	memcpy(lease.holders, holders, n * sizeof(holders[0]));
	had = !bpf_map_lookup_elem(enf->leases_fd, key, &old);
	if (bpf_map_update_elem(enf->leases_fd, key, &lease, BPF_ANY))
		return lw_fail(enf, -errno, "cannot write the lease: %s", strerror(errno));
	/* new counts first: a holder in both never drops out meanwhile */
	if ((err = lw_index_lease(enf, key, &lease, 1)))
		return err;
	if (had)
		lw_index_lease(enf, key, &old, -1);
	return 0;
}

int lw_enforcer_drop_entry(struct lw_enforcer *enf, const struct lw_map_key *key)
{
	struct lw_map_lease old;
	bool had = !bpf_map_lookup_elem(enf->leases_fd, key, &old);

	if (bpf_map_delete_elem(enf->leases_fd, key) && errno != ENOENT)
		return lw_fail(enf, -errno, "cannot remove the entry: %s", strerror(errno));
	if (had)
		lw_index_lease(enf, key, &old, -1);
	return 0;
}

static int compare_slots(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

int lw_enforcer_repair_filter(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n)
{
	__u32 *slots = malloc((n ? n : 1) * sizeof(*slots)), count;
	int repaired = 0;

	if (!slots)
		return lw_fail(enf, -ENOMEM, "out of memory checking the lease filter");
	for (size_t i = 0; i < n; i++)
		slots[i] = lw_filter_slot(&keys[i], enf->filter_mask);
	qsort(slots, n, sizeof(*slots), compare_slots);
	for (size_t i = 0, run; i < n; i += run) {
		__u32 want;

		for (run = 1; i + run < n && slots[i + run] == slots[i]; run++)
			;
		want = (__u32)run;
		if (bpf_map_lookup_elem(enf->filter_fd, &slots[i], &count)) {
			repaired = lw_fail(enf, -errno, "cannot read the lease filter: %s", strerror(errno));
			break;
		}
		if (count >= want)	/* more is only slower; fewer lets the programs skip a lease */
			continue;
		if (bpf_map_update_elem(enf->filter_fd, &slots[i], &want, BPF_ANY)) {
			repaired = lw_fail(enf, -errno, "cannot update the lease filter: %s", strerror(errno));
			break;
		}
		repaired++;
	}
	free(slots);
	return repaired;
}
