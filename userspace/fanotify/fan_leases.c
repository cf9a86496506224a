// SPDX-License-Identifier: LGPL-2.1-or-later
/* The table of leases: one mark on each leased inode, and the holders the
 * answering thread checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "common/fd_stat.h"
#include "common/fd_reopen.h"
#include "fanotify/fan_handover.h"
#include "fanotify/fan_index.h"
#include "fanotify/fan_procs.h"

/* A key's name for a message, made only when one is written: its
 * snprintf cost an acquire a thousand instructions. */
struct key_name {
	char s[96];
};

static struct key_name key_name(const struct lw_image_key *key)
{
	struct key_name name;

	lw_image_key_name(key, name.s, sizeof(name.s));
	return name;
}

static int not_leased(struct lw_fan_enforcer *enf, const struct lw_image_key *key)
{
	return lw_fan_fail(enf, -ENOENT, "image (%s) is not leased", key_name(key).s);
}

/* The lease of key, or NULL; enf->lock held. */
static struct lw_fan_lease *find_lease(struct lw_fan_enforcer *enf, const struct lw_image_key *key)
{
	size_t i = lw_fan_index_by_key(enf, key);

	return i == LW_FAN_NOT_FOUND ? NULL : &enf->leases[i];
}

static __u64 mark_mask(bool pre_content)
{
	return FAN_OPEN_PERM | (pre_content ? FAN_PRE_ACCESS : 0);
}

/* The descriptor's inode, never a path that could be swapped meanwhile.
 * fanotify_mark() takes no O_PATH descriptor as its object: such a one is
 * marked through its /proc link. */
static int mark_path_fd(struct lw_fan_enforcer *enf, unsigned int how, int fd, __u64 mask)
{
	int dir = lw_proc_fd_dir();
	char name[12];

	if (dir < 0)
		return dir;
	return fanotify_mark(enf->fan_fd, how, mask, dir, lw_proc_fd_name(fd, name)) ? -errno : 0;
}

/* Through the descriptor itself when it opens the file: no path walked. */
static int mark(struct lw_fan_enforcer *enf, unsigned int how, int fd, __u64 mask)
{
	if (!fanotify_mark(enf->fan_fd, how, mask, fd, NULL))
		return 0;
	return errno == EBADF ? mark_path_fd(enf, how, fd, mask) : -errno;
}

/* Remove the lease at index i; enf->lock held. */
static void drop_lease(struct lw_fan_enforcer *enf, size_t i)
{
	struct lw_fan_lease *l = &enf->leases[i];

	if (l->path_fd >= 0) {	/* -1: adopted, and the filesystem gave no handle */
		mark_path_fd(enf, FAN_MARK_REMOVE, l->path_fd, mark_mask(l->pre_content));
		close(l->path_fd);
	}
	for (__u32 h = 0; h < l->lease.nr_holders && h < LW_MAX_HOLDERS; h++)
		lw_fan_proc_put(enf, l->procs[h]);
	lw_fan_index_remove(enf, i);
	enf->leases[i] = enf->leases[--enf->nr_leases];
	lw_fan_table_remove(enf, i);
}

static int insert_lease(struct lw_fan_enforcer *enf, int fd, const struct lw_fan_lease *lease)
{
	struct lw_fan_lease *grown, *l;
	int err;

	if (find_lease(enf, &lease->key))
		return lw_fan_fail(enf, -EEXIST, "image (%s) is already leased",
				   key_name(&lease->key).s);
	if (enf->nr_leases >= enf->max_images)
		return lw_fan_fail(enf, -ENOSPC, "lease table is full (%u images); raise max_images",
				   enf->max_images);
	grown = realloc(enf->leases, (enf->nr_leases + 1) * sizeof(*grown));
	if (!grown)
		return lw_fan_fail(enf, -ENOMEM, "out of memory");
	enf->leases = grown;
	l = &enf->leases[enf->nr_leases];
	*l = *lease;
	l->path_fd = lw_reopen(fd, O_PATH | O_CLOEXEC);	/* keeps the marked inode to unmark */
	if (l->path_fd < 0)
		return lw_fan_fail(enf, -errno, "cannot reopen the image descriptor: %s",
				   strerror(errno));
	memset(l->procs, 0, sizeof(l->procs));
	l->procs[0] = lw_fan_proc_get(enf, &l->lease.holders[0]);
	/* In the table before the mark: an event must find its lease. */
	enf->nr_leases++;
	if (lw_fan_index_add(enf, enf->nr_leases - 1)) {
		close(l->path_fd);
		lw_fan_proc_put(enf, l->procs[0]);
		enf->nr_leases--;
		return lw_fan_fail(enf, -ENOMEM, "out of memory");
	}
	l->pre_content = enf->pre_content;
	lw_fan_table_set(enf, enf->nr_leases - 1, fd);	/* and in the keeper's copy */
	err = mark(enf, FAN_MARK_ADD, fd, mark_mask(l->pre_content));
	if ((err == -EINVAL || err == -EOPNOTSUPP) && l->pre_content) {
		/* This filesystem does not allow pre-content events: opens only. */
		l->pre_content = false;
		err = mark(enf, FAN_MARK_ADD, fd, mark_mask(false));
	}
	if (err) {
		close(l->path_fd);
		lw_fan_proc_put(enf, l->procs[0]);
		lw_fan_index_remove(enf, enf->nr_leases - 1);
		enf->nr_leases--;
		lw_fan_table_remove(enf, enf->nr_leases);
		return lw_fan_fail(enf, err, "cannot mark the image (%s): %s",
				   key_name(&lease->key).s, strerror(-err));
	}
	return 0;
}

/* Whether the kernel really sends events for the mark: it places a mark
 * on a device node, for one, but 6.18 sends no permission event for opening
 * it. One read-only open of our own must come back through our thread.
 * That is a filesystem's and a file type's way, not one inode's: once seen
 * on a superblock for a type, later leases there skip the open (a round
 * trip through our thread). */
static atomic_ulong proofs;

unsigned long lw_fan_mark_proofs(void)
{
	return atomic_load(&proofs);
}

static int prove_mark(struct lw_fan_enforcer *enf, int fd, const struct lw_image_key *key, mode_t type)
{
	struct lw_fan_lease *l;
	__u64 events;
	int probe;

	for (unsigned int i = 0; i < enf->nr_proven && i < LW_FAN_PROVEN; i++)
		if (enf->proven[i].dev == key->dev && enf->proven[i].type == type)
			return 0;
	atomic_fetch_add(&proofs, 1);
	probe = lw_fan_reopen_read_only(fd);
	if (probe < 0)
		return lw_fan_fail(enf, -errno, "cannot open the image (%s) to check its mark: %s",
				   key_name(key).s, strerror(errno));
	close(probe);	/* the open returned: our thread has closed and answered its event */
	pthread_mutex_lock(&enf->lock);
	l = find_lease(enf, key);
	events = l ? l->events : 0;
	pthread_mutex_unlock(&enf->lock);
	if (!events)
		return lw_fan_fail(enf, -EOPNOTSUPP, "the kernel sends no fanotify permission events "
				   "for this image (%s): it cannot be guarded by this enforcer",
				   key_name(key).s);
	enf->proven[enf->nr_proven++ % LW_FAN_PROVEN] = (struct lw_fan_proven){ key->dev, type };
	return 0;
}

/* A read-only reopen of fd for the writers check, made before the mark so
 * that its open is not an event for our own thread; the check itself runs
 * after the mark. -1 where it cannot serve: an fd open for write is
 * checked on its own open file, with no reader about. */
static int reopen_for_check(int fd)
{
	return (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? lw_fan_reopen_read_only(fd) : -1;
}

int lw_fan_enforcer_add_lease_flags(struct lw_enforcement *handle, int fd, enum lw_lease_mode mode,
				    const struct lw_holder *first_holder, unsigned int flags,
				    struct lw_image_key *key_out, struct lw_writer *writer)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease lease = { 0 };
	int err, probe = -1;
	struct stat st;

	if ((err = lw_lease_init(&lease.lease, mode, first_holder, &enf->err)))
		return err;
	if (lw_fstat(fd, &st))
		return lw_fan_fail(enf, -errno, "cannot stat the image descriptor: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return lw_fan_fail(enf, -EINVAL, "an image must be a regular file or a block device");
	/* keyed: the caller found fd's key already (key_of_fd), and fstat
	 * told the rest */
	if (flags & LW_LEASE_KEYED) {
		lease.key = *key_out;
		lease.st_dev = st.st_dev;
		lease.st_ino = st.st_ino;
	} else if ((err = lw_fan_key_of(fd, &lease.key, &lease.st_dev, &lease.st_ino))) {
		return lw_fan_fail(enf, err, "cannot find the key of the image: %s", strerror(-err));
	}
	if (!(flags & LW_LEASE_FORCE))
		probe = reopen_for_check(fd);
	pthread_mutex_lock(&enf->lock);
	err = insert_lease(enf, fd, &lease);
	pthread_mutex_unlock(&enf->lock);
	if (err) {
		if (probe >= 0)
			close(probe);
		return err;
	}
	if ((err = prove_mark(enf, fd, &lease.key, st.st_mode & S_IFMT))) {
		struct lw_err reason = enf->err;

		if (probe >= 0)
			close(probe);
		lw_fan_enforcer_remove_lease(&enf->base, &lease.key);
		enf->err = reason;
		return err;
	}
	/* Marked first, so no new writer can appear while the scan runs; the
	 * scan runs unlocked, so opens of leased images keep being answered. */
	if (!(flags & LW_LEASE_FORCE)) {
		struct lw_writer found;

		err = lw_fan_find_writer(fd, probe, &lease.key, lease.st_dev, lease.st_ino, S_ISBLK(st.st_mode),
					 enf->trusted, first_holder, &found);
		if (probe >= 0)
			close(probe);
		if (err) {
			lw_fan_enforcer_remove_lease(&enf->base, &lease.key);
			if (err != -EBUSY)
				return lw_fan_fail(enf, err, "cannot look for writers of the image: %s",
						   strerror(-err));
			if (writer)
				*writer = found;
			if (found.fd == (__u32)-1)
				return lw_fan_fail(enf, -EBUSY, "image (%s) is mapped for write by "
						   "process %u (%s)", key_name(&lease.key).s, found.pid,
						   found.comm);
			return lw_fan_fail(enf, -EBUSY, "image (%s) is open for write by process %u "
					   "(%s, descriptor %u)", key_name(&lease.key).s, found.pid,
					   found.comm, found.fd);
		}
	}
	if (key_out)
		*key_out = lease.key;
	return 0;
}

int lw_fan_enforcer_add_lease(struct lw_enforcement *handle, int fd, enum lw_lease_mode mode,
			      const struct lw_holder *first_holder, struct lw_image_key *key_out)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);

	return lw_fan_enforcer_add_lease_flags(&enf->base, fd, mode, first_holder, 0, key_out, NULL);
}

int lw_fan_enforcer_remove_lease(struct lw_enforcement *handle, const struct lw_image_key *key)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease *l;

	pthread_mutex_lock(&enf->lock);
	l = find_lease(enf, key);
	if (l)
		drop_lease(enf, l - enf->leases);
	pthread_mutex_unlock(&enf->lock);
	return l ? 0 : not_leased(enf, key);
}

int lw_fan_enforcer_lookup(struct lw_enforcement *handle, const struct lw_image_key *key,
			   struct lw_lease *lease)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease *l;

	pthread_mutex_lock(&enf->lock);
	l = find_lease(enf, key);
	if (l)
		*lease = l->lease;
	pthread_mutex_unlock(&enf->lock);
	return l ? 0 : not_leased(enf, key);
}

int lw_fan_enforcer_add_holder(struct lw_enforcement *handle, const struct lw_image_key *key,
			       const struct lw_holder *holder)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease *l;
	int err;

	if ((err = lw_holder_check(holder, &enf->err)))
		return err;
	pthread_mutex_lock(&enf->lock);
	l = find_lease(enf, key);
	if (!l)
		err = not_leased(enf, key);
	else if ((err = lw_lease_add_holder(&l->lease, holder, &enf->err)) >= 0) {
		l->procs[err] = lw_fan_proc_get(enf, holder);
		lw_fan_table_set(enf, (size_t)(l - enf->leases), -1);
		err = 0;
	}
	pthread_mutex_unlock(&enf->lock);
	return err;
}

int lw_fan_enforcer_remove_holder(struct lw_enforcement *handle, const struct lw_image_key *key,
				  const struct lw_holder *holder)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease *l;
	int err = 0, i;

	pthread_mutex_lock(&enf->lock);
	l = find_lease(enf, key);
	if (!l) {
		err = not_leased(enf, key);
	} else if ((i = lw_lease_find_holder_err(&l->lease, holder, &enf->err)) < 0) {
		err = i;
	} else if (l->lease.nr_holders == 1) {
		drop_lease(enf, l - enf->leases);	/* the last holder: the lease goes */
	} else {
		/* procs run beside the holders */
		lw_fan_proc_put(enf, l->procs[i]);
		memmove(&l->procs[i], &l->procs[i + 1],
			(l->lease.nr_holders - i - 1) * sizeof(l->procs[0]));
		l->procs[l->lease.nr_holders - 1] = NULL;
		lw_lease_remove_holder_at(&l->lease, (unsigned int)i);
		lw_fan_table_set(enf, (size_t)(l - enf->leases), -1);
	}
	pthread_mutex_unlock(&enf->lock);
	return err;
}

int lw_fan_enforcer_foreach(struct lw_enforcement *handle,
			    int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease,
				      void *ctx),
			    void *ctx)
{
	struct lw_fan_enforcer *enf = lw_fan_of(handle);
	struct lw_fan_lease *copy;
	size_t n;
	int ret = 0;

	/* Call fn on a copy, unlocked: fn may call back into the enforcer. */
	pthread_mutex_lock(&enf->lock);
	n = enf->nr_leases;
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (copy)
		memcpy(copy, enf->leases, n * sizeof(*copy));
	pthread_mutex_unlock(&enf->lock);
	if (!copy)
		return lw_fan_fail(enf, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !ret; i++)
		ret = fn(&copy[i].key, &copy[i].lease, ctx);
	free(copy);
	return ret;
}
