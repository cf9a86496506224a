// SPDX-License-Identifier: LGPL-2.1-or-later
/* The table a fanotify group's next answerer needs. See fan_handover.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/fd_stat.h"
#include "fanotify/fan_handover.h"

/* Beyond this many descriptor numbers the sweep of a dead answerer's
 * events gives up (a second of writes at most). */
#define LW_FAN_SWEEP_MAX (1u << 20)

static size_t table_size(unsigned int max_images)
{
	return sizeof(struct lw_fan_table) + (size_t)max_images * sizeof(struct lw_fan_table_lease);
}

int lw_fan_table_create(struct lw_fan_enforcer *enf)
{
	struct rlimit rl = { 0 };
	size_t size = table_size(enf->max_images);
	struct lw_fan_table *t;
	int fd;

	/* Sealed against shrinking: a mapping beyond the end would fault. */
	fd = memfd_create("lockwarden-fanotify-table", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return lw_fan_fail(enf, -errno, "cannot create the shared lease table: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		close(fd);
		return lw_fan_fail(enf, -errno, "cannot size the shared lease table: %s", strerror(errno));
	}
	t = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED) {
		close(fd);
		return lw_fan_fail(enf, -errno, "cannot map the shared lease table: %s", strerror(errno));
	}
	t->magic = LW_FAN_TABLE_MAGIC;
	t->version = LW_FAN_TABLE_VERSION;
	t->max_images = enf->max_images;
	t->pre_content = enf->pre_content;
	t->audit = enf->audit;
	getrlimit(RLIMIT_NOFILE, &rl);
	t->fd_limit = rl.rlim_cur < LW_FAN_SWEEP_MAX ? (__u32)rl.rlim_cur : LW_FAN_SWEEP_MAX;
	for (int i = 0; i < LW_FAN_READ_EVENTS; i++)
		t->inflight[i].fd = -1;
	enf->table = t;
	enf->table_fd = fd;
	enf->table_size = size;
	return 0;
}

int lw_fan_table_map(struct lw_fan_enforcer *enf, int table_fd)
{
	struct lw_fan_table *t;
	struct stat st;

	if (lw_fstat(table_fd, &st) < 0)
		return lw_fan_fail(enf, -errno, "cannot stat the shared lease table: %s", strerror(errno));
	if ((size_t)st.st_size < sizeof(*t))
		return lw_fan_fail(enf, -EINVAL, "the shared lease table is too small (%lld bytes)",
				   (long long)st.st_size);
	if (!(fcntl(table_fd, F_GET_SEALS) & F_SEAL_SHRINK))
		return lw_fan_fail(enf, -EINVAL, "the shared lease table is not sealed against shrinking");
	t = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, table_fd, 0);
	if (t == MAP_FAILED)
		return lw_fan_fail(enf, -errno, "cannot map the shared lease table: %s", strerror(errno));
	if (t->magic != LW_FAN_TABLE_MAGIC || t->version != LW_FAN_TABLE_VERSION ||
	    table_size(t->max_images) != (size_t)st.st_size || t->nr_leases > t->max_images) {
		munmap(t, (size_t)st.st_size);
		return lw_fan_fail(enf, -EPROTO, "the shared lease table is not one this version reads "
				   "(magic %#llx version %u)", (unsigned long long)t->magic, t->version);
	}
	enf->table = t;
	enf->table_fd = table_fd;
	enf->table_size = (size_t)st.st_size;
	enf->max_images = t->max_images;
	enf->pre_content = t->pre_content;
	enf->audit = t->audit;
	return 0;
}

void lw_fan_table_unmap(struct lw_fan_enforcer *enf)
{
	if (enf->table)
		munmap(enf->table, enf->table_size);
	if (enf->table_fd >= 0)
		close(enf->table_fd);
	enf->table = NULL;
	enf->table_fd = -1;
}

void lw_fan_table_set(struct lw_fan_enforcer *enf, size_t i, int image_fd)
{
	struct lw_fan_table_lease *t = &enf->table->leases[i];
	const struct lw_fan_lease *l = &enf->leases[i];

	t->key = l->key;
	t->st_dev = l->st_dev;
	t->st_ino = l->st_ino;
	t->lease = l->lease;
	if (image_fd >= 0) {
		struct {
			struct file_handle fh;
			unsigned char bytes[LW_FAN_HANDLE_MAX];
		} h = { .fh.handle_bytes = LW_FAN_HANDLE_MAX };
		int mount_id;

		t->handle_bytes = 0;
		if (!name_to_handle_at(image_fd, "", &h.fh, &mount_id, AT_EMPTY_PATH)) {
			t->mount_id = mount_id;
			t->handle_type = h.fh.handle_type;
			memcpy(t->handle, h.fh.f_handle, h.fh.handle_bytes);
			t->handle_bytes = h.fh.handle_bytes;
		}
	}
	if (i >= enf->table->nr_leases)
		enf->table->nr_leases = (__u32)i + 1;
}

void lw_fan_table_remove(struct lw_fan_enforcer *enf, size_t i)
{
	__u32 last = enf->table->nr_leases - 1;

	if (i != last)
		enf->table->leases[i] = enf->table->leases[last];
	memset(&enf->table->leases[last], 0, sizeof(enf->table->leases[last]));
	enf->table->nr_leases = last;
}

/* The mount point of mount_id, from /proc/self/mountinfo ("ID PARENT
 * MAJ:MIN ROOT MOUNTPOINT ..."), opened O_PATH; -1 if none. */
static int open_mount(int mount_id)
{
	char *line = NULL, *point = NULL;
	size_t cap = 0;
	int fd = -1, id;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -1;
	while (fd < 0 && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%d %*d %*s %*s %ms", &id, &point) != 2)
			continue;
		if (id == mount_id) {
			/* mountinfo escapes space, tab, newline and backslash as \ooo */
			char *r = point, *w = point;

			for (; *r; r++, w++) {
				unsigned int c;

				if (r[0] == '\\' && sscanf(r + 1, "%3o", &c) == 1) {
					*w = (char)c;
					r += 3;
				} else {
					*w = *r;
				}
			}
			*w = 0;
			fd = open(point, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		free(point);
		point = NULL;
	}
	free(line);
	fclose(f);
	return fd;
}

void lw_fan_mounts_close(struct lw_fan_mounts *m)
{
	if (m->valid && m->fd >= 0)
		close(m->fd);
	m->valid = false;
}

int lw_fan_table_reopen(const struct lw_fan_table_lease *l, struct lw_fan_mounts *mounts)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[LW_FAN_HANDLE_MAX];
	} h;
	struct stat st;
	int fd;

	if (!l->handle_bytes || l->handle_bytes > LW_FAN_HANDLE_MAX)
		return -1;
	/* any descriptor on the filesystem serves open_by_handle_at, and the
	 * inode found is checked below: a mount id reused meanwhile is harmless */
	if (!mounts->valid || mounts->id != l->mount_id) {
		lw_fan_mounts_close(mounts);
		mounts->id = l->mount_id;
		mounts->fd = open_mount(l->mount_id);
		mounts->valid = true;
	}
	if (mounts->fd < 0)
		return -1;
	h.fh.handle_bytes = l->handle_bytes;
	h.fh.handle_type = l->handle_type;
	memcpy(h.fh.f_handle, l->handle, l->handle_bytes);
	fd = open_by_handle_at(mounts->fd, &h.fh, O_PATH | O_CLOEXEC);
	/* the inode the lease names, not one that reused the handle */
	if (fd >= 0 && (lw_fstat(fd, &st) || st.st_dev != l->st_dev || st.st_ino != l->st_ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void lw_fan_table_leave_denials(struct lw_fan_enforcer *enf)
{
	struct lw_fan_table *t = enf->table;

	pthread_mutex_lock(&enf->lock);
	while (enf->queue_len && t->nr_denials < LW_FAN_QUEUE_LEN) {
		t->denials[t->nr_denials++] = enf->queue[enf->queue_head];
		enf->queue_head = (enf->queue_head + 1) % LW_FAN_QUEUE_LEN;
		enf->queue_len--;
	}
	pthread_mutex_unlock(&enf->lock);
}

void lw_fan_table_take_denials(struct lw_fan_enforcer *enf)
{
	struct lw_fan_table *t = enf->table;
	__u64 one = 1;
	__u32 n = t->nr_denials < LW_FAN_QUEUE_LEN ? t->nr_denials : LW_FAN_QUEUE_LEN;

	pthread_mutex_lock(&enf->lock);
	for (__u32 i = 0; i < n && enf->queue_len < LW_FAN_QUEUE_LEN; i++) {
		enf->queue[(enf->queue_head + enf->queue_len++) % LW_FAN_QUEUE_LEN] = t->denials[i];
		enf->denials++;	/* counted here: events + suppressed + dropped == denials */
	}
	t->nr_denials = 0;
	pthread_mutex_unlock(&enf->lock);
	if (n && write(enf->events_fd, &one, sizeof(one)) < 0) {
		/* eventfd counter full: it is readable anyway */
	}
}

void lw_fan_table_answer_left(struct lw_fan_enforcer *enf)
{
	struct lw_fan_table *t = enf->table;

	for (int i = 0; i < LW_FAN_READ_EVENTS; i++) {
		struct lw_fan_table_event *e = &t->inflight[i];
		int fd = __atomic_load_n(&e->fd, __ATOMIC_ACQUIRE);

		if (fd < 0)
			continue;
		/* its descriptor died with the answerer: decided by what was noted */
		lw_fan_answer(enf, fd, lw_fan_decide(enf, e->tid, e->mask, (dev_t)e->st_dev,
						     (ino_t)e->st_ino, -1));
		e->fd = -1;
	}
	if (!t->reading)
		return;
	/* It died between a read() and noting what it read: those events are
	 * waiting under descriptor numbers of a table that is gone. Deny each
	 * (a number with no event gets ENOENT): failing closed, since nothing
	 * says whether an opener was a holder. */
	for (__u32 fd = 0; fd < t->fd_limit; fd++) {
		struct fanotify_response r = { .fd = (int)fd, .response = FAN_DENY };

		if (write(enf->fan_fd, &r, sizeof(r)) < 0) {
			/* ENOENT: no event waits under that number */
		}
	}
	t->reading = 0;
}
