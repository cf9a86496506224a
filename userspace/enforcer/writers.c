// SPDX-License-Identifier: LGPL-2.1-or-later
/* The writers check: who has an image open for write that is not a holder
 * of its lease, as the kernel's open files (the files iterator) show it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd_stat.h"
#include "common/self_pid.h"
#include "enforcer/enforcer_internal.h"

static bool covered_by_lease(const struct lw_map_lease *lease, __u32 pid)
{
	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++)
	{
		struct lw_holder holder = lw_from_map_holder(&lease->holders[i]);

		if (lw_holder_covers_pid(&holder, pid))
			return true;
	}
	return false;
}

/* Whether file_id is one of the caller's own open file descriptions: a
 * copy of it elsewhere (e.g. a lock descriptor the daemon handed to its
 * keeper) is the caller's, not a foreign writer. */
static bool callers_file(const struct lw_file_record *records, size_t count, __u64 file_id)
{
	for (size_t i = 0; i < count; i++)
		if (records[i].tgid == (__u32)lw_self_pid() && records[i].file_id == file_id)
			return true;
	return false;
}

/* As the kernel sees it now: the lease is already in the map, so no new
 * writer can appear. fd's record carries the inode's write count. */
static int find_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			const struct lw_map_lease *lease, bool regular_file, __s32 hidden_allowed,
			struct lw_writer *writers, size_t max, size_t *found)
{
	struct lw_file_record *records;
	size_t count, distinct = 0;
	__s32 writecount = 0;
	int err;

	*found = 0;
	err = lw_files_query(enf, LW_FILES_WRITERS, lw_self_pid(), fd, key, &records, &count);
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
		if (r->tgid == (__u32)lw_self_pid() || (enf->trusted_pid && r->tgid == enf->trusted_pid) ||
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
	if (regular_file && writecount > (__s32)distinct + hidden_allowed) {
		if (*found < max)
			memset(&writers[*found], 0, sizeof(writers[*found]));
		++*found;
	}
	free(records);
	return 0;
}

int lw_find_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		    const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writers,
		    size_t max, size_t *found)
{
	return find_writers(enf, fd, key, lease, regular_file, 0, writers, max, found);
}

int lw_writecount(struct lw_enforcer *enf, int fd, const struct lw_map_key *key, __s32 *count)
{
	struct lw_file_record *records;
	size_t n;
	int err = lw_files_query(enf, LW_FILES_WRITERS, lw_self_pid(), fd, key, &records, &n);

	if (err)
		return err;
	*count = n ? records[n - 1].writecount : 0;	/* the same inode in every record */
	free(records);
	return 0;
}

/* Whether the kernel's write count of fd's regular file shows no write
 * opener but fd itself (the writers probe, bpf/key_probe.bpf.h): then
 * there is no one to name, and no walk of every open file on the host. The
 * count includes openers in no descriptor table and opens past the
 * file_open check, so it never says "none" wrongly. */
static bool only_own_write(int fd)
{
	return ioctl(fd, LW_IOC_WRITERS_PROBE, (unsigned long)LW_KEY_PROBE_TAG) < 0 &&
	       errno == LW_WRITERS_OWN_ONLY;
}

/* 0 if no one but the lease's own writes the image, else -EBUSY naming
 * the first writer found (also in *writer). */
static int check_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			 const struct lw_map_lease *lease, bool regular_file, __s32 hidden_allowed,
			 struct lw_writer *writer)
{
	struct lw_writer first;
	size_t found;
	int err;

	if (regular_file && !hidden_allowed && only_own_write(fd))
		return 0;
	err = find_writers(enf, fd, key, lease, regular_file, hidden_allowed, &first, 1, &found);
	if (err || !found)
		return err;
	if (writer)
		*writer = first;
	if (first.pid)
		return lw_fail(enf, -EBUSY, "image is open for write by pid %u (%.*s) on fd %u",
			       first.pid, LW_COMM_LEN, first.comm, first.fd);
	return lw_fail(enf, -EBUSY, "image has write opener(s) in no descriptor table (a shared writable mapping, or an open in progress)");
}

int lw_check_writers_allowing(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
			      const struct lw_map_lease *lease, __s32 hidden_allowed,
			      struct lw_writer *writer)
{
	return check_writers(enf, fd, key, lease, true, hidden_allowed, writer);
}

int lw_check_writers(struct lw_enforcer *enf, int fd, const struct lw_map_key *key,
		     const struct lw_map_lease *lease, bool regular_file, struct lw_writer *writer)
{
	return check_writers(enf, fd, key, lease, regular_file, 0, writer);
}

int lw_enforcer_writers(struct lw_enforcement *handle, int fd, const struct lw_image_key *key,
			struct lw_writer *writers, size_t max, size_t *count)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k = lw_to_map_key(key);
	struct lw_map_lease lease;
	struct stat st;
	int err;

	if (lw_fstat(fd, &st))
		return lw_fail(enf, -errno, "cannot stat the image descriptor: %s", strerror(errno));
	if ((err = lw_map_lookup(enf, &k, &lease)))
		return err;
	return lw_find_writers(enf, fd, &k, &lease, S_ISREG(st.st_mode), writers, max, count);
}

