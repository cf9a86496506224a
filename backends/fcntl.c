// SPDX-License-Identifier: LGPL-2.1-or-later
/* fcntl: leases as OFD locks on shared storage, as virtlockd does.
 *
 * Direct mode (no lockspace): a lock on byte 0 of the image itself. QEMU
 * locks bytes 100 and up for its own image locking, so the two coexist.
 * Indirect mode (lockspace folder): a lock on byte 0 of LOCKSPACE/<sha256 of
 * the image path>, for storage where locking the image is unsuitable.
 * Exclusive leases take write locks, shared leases read locks.
 *
 * A lock held elsewhere is -EAGAIN at once (wait_timeout_sec = 0, the
 * default), or is waited for up to wait_timeout_sec: the acquire answers
 * -EINPROGRESS and a timer on the daemon's loop tries the lock again, more
 * rarely as time goes on, until it is free (done with the lock) or the time
 * is up (done with -EAGAIN). Nothing blocks and no thread is needed: trying
 * a lock never waits.
 *
 * OFD locks belong to the open file description, not to a process: any dup
 * of the descriptor (in another process, through SCM_RIGHTS) keeps the lock,
 * and it goes only when the last one is closed or it is unlocked. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "common/fd_reopen.h"
#include "common/sha256.h"

#define RETRY_FIRST_USEC 10000u		/* a lock given up soon is taken soon */
#define RETRY_MAX_USEC 200000u		/* and a long wait costs five tries a second */
#define WAIT_TIMEOUT_MAX_SEC 86400u

struct fcntl_settings {
	char lockspace[PATH_MAX];	/* empty: direct mode */
	unsigned int wait_timeout_sec;	/* 0: never wait */
};

struct fcntl_backend {
	struct lw_backend base;
	struct fcntl_settings set;
	sd_event *event;
	LIST_HEAD(, lw_backend_pending) waiting;	/* acquires waiting for a lock held elsewhere */
	unsigned int nr_waiting;
};

struct fcntl_lock {
	struct lw_backend_lock base;	/* keep_fd: the OFD lock's descriptor */
	bool shared;
};

struct lw_backend_pending {
	struct fcntl_backend *fb;
	struct fcntl_lock *lock;	/* its descriptor open, not locked yet */
	sd_event_source *timer;
	uint64_t deadline_usec, retry_usec;	/* CLOCK_MONOTONIC */
	lw_backend_done_fn done;
	void *ctx;
	LIST_ENTRY(lw_backend_pending) link;
};

static int parse_option(struct fcntl_settings *s, const char *key, const char *value, struct lw_err *err)
{
	char *end;
	unsigned long v;

	if (strcmp(key, "lockspace") == 0) {
		if (value[0] && value[0] != '/')
			return lw_err_set(err, EINVAL, "lockspace must be an absolute path, got \"%.64s\"", value);
		if (strlen(value) >= sizeof(s->lockspace))
			return lw_err_set(err, ENAMETOOLONG, "lockspace is too long");
		snprintf(s->lockspace, sizeof(s->lockspace), "%s", value);
		return 0;
	}
	if (strcmp(key, "wait_timeout_sec") == 0) {
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v > WAIT_TIMEOUT_MAX_SEC)
			return lw_err_set(err, EINVAL, "wait_timeout_sec must be 0 to %u, got \"%.64s\"",
					  WAIT_TIMEOUT_MAX_SEC, value);
		s->wait_timeout_sec = (unsigned int)v;
		return 0;
	}
	return lw_err_set(err, ENOENT, "unknown key %.64s in [fcntl]", key);
}

static int fcntl_check_option(const char *key, const char *value, struct lw_err *err)
{
	struct fcntl_settings scratch = { 0 };

	return parse_option(&scratch, key, value, err);
}

static int fcntl_open(const struct lw_backend_setup *setup, struct lw_backend **out, struct lw_err *err)
{
	struct fcntl_backend *fb = calloc(1, sizeof(*fb));
	struct stat st;
	int r;

	if (!fb)
		return lw_err_set(err, ENOMEM, "fcntl: out of memory");
	fb->base.ops = &lw_backend_fcntl;
	for (size_t i = 0; setup && i < setup->nr_options; i++) {
		r = parse_option(&fb->set, setup->options[i].key, setup->options[i].value, err);
		if (r < 0)
			goto fail;
	}
	if (fb->set.lockspace[0] && (stat(fb->set.lockspace, &st) < 0 || !S_ISDIR(st.st_mode))) {
		r = lw_err_set(err, ENOENT, "lockspace folder %s does not exist", fb->set.lockspace);
		goto fail;
	}
	if (fb->set.wait_timeout_sec && !(setup && setup->event)) {
		r = lw_err_set(err, EINVAL, "wait_timeout_sec needs an event loop to wait on");
		goto fail;
	}
	fb->event = setup ? sd_event_ref(setup->event) : NULL;
	*out = &fb->base;
	return 0;
fail:
	free(fb);
	return r;
}

/* Indirect mode's lock file: the lockspace folder and the image path's SHA-256 in hex. */
static int lock_file_path(struct fcntl_backend *fb, const char *image, char *out, size_t size,
			  struct lw_err *err)
{
	char hex[LW_SHA256_HEX_LEN + 1];

	if (lw_sha256_hex(image, strlen(image), hex) < 0)
		return lw_err_set(err, EIO, "fcntl: SHA-256 of %s failed", image);
	if ((size_t)snprintf(out, size, "%s/%s", fb->set.lockspace, hex) >= size)
		return lw_err_set(err, ENAMETOOLONG, "fcntl: lockspace path too long");
	return 0;
}

static int set_lock(int fd, bool shared)
{
	struct flock fl = {
		.l_type = shared ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 1,
	};

	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return (errno == EACCES || errno == EAGAIN) ? -EAGAIN : -errno;
	return 0;
}

static void lock_free(struct fcntl_lock *lock)
{
	if (lock->base.keep_fd >= 0)
		close(lock->base.keep_fd);
	lw_backend_lock_clear(&lock->base);
	free(lock);
}

/* A lock object with its descriptor open on the file to lock (not locked yet). */
static int open_lock(struct fcntl_backend *fb, const struct lw_backend_request *req, struct fcntl_lock **out,
		     struct lw_err *err)
{
	struct fcntl_lock *lock = calloc(1, sizeof(*lock));
	char id[LW_BACKEND_LOCK_ID_MAX];
	int r, fd;

	if (!lock)
		return lw_err_set(err, ENOMEM, "fcntl: out of memory");
	lock->shared = req->shared;
	lock->base.keep_fd = -1;
	if (fb->set.lockspace[0]) {
		r = lock_file_path(fb, req->image, id, sizeof(id), err);
		if (r < 0)
			goto fail;
		if ((r = lw_backend_lock_set_id(&lock->base, id)) < 0) {
			r = lw_err_set(err, -r, "fcntl: out of memory");
			goto fail;
		}
		fd = open(lock->base.id, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	} else {
		if ((r = lw_backend_lock_set_id(&lock->base, req->image)) < 0) {
			r = r == -ENAMETOOLONG ? lw_err_set(err, ENAMETOOLONG, "fcntl: image path too long for a lock id")
					       : lw_err_set(err, -r, "fcntl: out of memory");
			goto fail;
		}
		/* the daemon's own descriptor names the file: reopening it through
		 * /proc/self/fd cannot land on another file, as the path could;
		 * a write lock needs a descriptor open for writing */
		int flags = (req->shared ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

		fd = req->image_fd >= 0 ? lw_reopen(req->image_fd, flags) : open(req->image, flags);
	}
	if (fd < 0) {
		r = lw_err_set(err, errno, "fcntl: cannot open %s: %s", lock->base.id, strerror(errno));
		goto fail;
	}
	lock->base.keep_fd = fd;
	lock->base.writes_image = !fb->set.lockspace[0] && req->image_fd >= 0 && !req->shared;
	*out = lock;
	return 0;
fail:
	lock_free(lock);
	return r;
}

static int lock_error(int r, const struct fcntl_lock *lock, struct lw_err *err)
{
	if (r == -EAGAIN)
		return lw_err_set(err, EAGAIN, "fcntl: %s is locked by another holder", lock->base.id);
	return lw_err_set(err, -r, "fcntl: cannot lock %s: %s", lock->base.id, strerror(-r));
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void pending_free(struct lw_backend_pending *p)
{
	struct fcntl_backend *fb = p->fb;

	LIST_REMOVE(p, link);
	fb->nr_waiting--;
	sd_event_source_disable_unref(p->timer);
	if (p->lock)
		lock_free(p->lock);
	free(p);
}

static int try_again(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_backend_pending *p = userdata;
	struct fcntl_lock *lock = p->lock;
	lw_backend_done_fn done = p->done;
	void *ctx = p->ctx;
	struct lw_err err = { { 0 } };
	int r;

	(void)usec;
	r = set_lock(lock->base.keep_fd, lock->shared);
	if (r == -EAGAIN && now_usec() < p->deadline_usec) {
		p->retry_usec = p->retry_usec * 2 > RETRY_MAX_USEC ? RETRY_MAX_USEC : p->retry_usec * 2;
		sd_event_source_set_time_relative(s, p->retry_usec);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	if (r == 0) {
		p->lock = NULL;	/* the daemon's now */
		pending_free(p);
		done(ctx, 0, &lock->base, NULL);
		return 0;
	}
	if (r == -EAGAIN)
		lw_err_set(&err, EAGAIN, "fcntl: %s is still locked by another holder after %u s (wait_timeout_sec)",
			   lock->base.id, p->fb->set.wait_timeout_sec);
	else
		lock_error(r, lock, &err);
	pending_free(p);
	done(ctx, r, NULL, &err);
	return 0;
}

static int wait_for(struct fcntl_backend *fb, struct fcntl_lock *lock, lw_backend_done_fn done, void *ctx,
		    struct lw_backend_pending **out, struct lw_err *err)
{
	struct lw_backend_pending *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return lw_err_set(err, ENOMEM, "fcntl: out of memory");
	p->fb = fb;
	p->retry_usec = RETRY_FIRST_USEC;
	p->deadline_usec = now_usec() + (uint64_t)fb->set.wait_timeout_sec * 1000000u;
	/* accurate to 1 ms: sd-event's default of 250 ms would undo the short first tries */
	r = sd_event_add_time_relative(fb->event, &p->timer, CLOCK_MONOTONIC, p->retry_usec, 1000, try_again, p);
	if (r < 0) {
		free(p);
		return lw_err_set(err, -r, "fcntl: cannot wait for the lock: %s", strerror(-r));
	}
	p->lock = lock;
	p->done = done;
	p->ctx = ctx;
	LIST_INSERT_HEAD(&fb->waiting, p, link);
	fb->nr_waiting++;
	*out = p;
	return -EINPROGRESS;
}

static int fcntl_acquire(struct lw_backend *be, const struct lw_backend_request *req,
			 lw_backend_done_fn done, void *ctx, struct lw_backend_lock **out,
			 struct lw_backend_pending **pending, struct lw_err *err)
{
	struct fcntl_backend *fb = (struct fcntl_backend *)be;
	struct fcntl_lock *lock;
	int r;

	r = open_lock(fb, req, &lock, err);
	if (r < 0)
		return r;
	r = set_lock(lock->base.keep_fd, lock->shared);
	if (r == 0) {
		*out = &lock->base;
		return 0;
	}
	if (r == -EAGAIN && fb->set.wait_timeout_sec && done) {
		r = wait_for(fb, lock, done, ctx, pending, err);
		if (r == -EINPROGRESS)
			return r;
	} else {
		lock_error(r, lock, err);
	}
	lock_free(lock);
	return r;
}

static void fcntl_cancel(struct lw_backend *be, struct lw_backend_pending *pending)
{
	(void)be;
	/* never locked: the lock is taken and handed over in one callback */
	pending_free(pending);
}

static int fcntl_release(struct lw_backend *be, struct lw_backend_lock *base, lw_backend_released_fn released,
			 void *ctx, struct lw_err *err)
{
	struct fcntl_lock *lock = (struct fcntl_lock *)base;
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int r = 0;

	(void)be;
	(void)released;	/* an unlock is done at once */
	(void)ctx;
	/* unlock explicitly: duplicates elsewhere (the keeper) must not keep it */
	if (lock->base.keep_fd >= 0 && fcntl(lock->base.keep_fd, F_OFD_SETLK, &fl) < 0)
		r = lw_err_set(err, errno, "fcntl: cannot unlock %s: %s", lock->base.id, strerror(errno));
	lock_free(lock);
	return r;
}

static void fcntl_forget(struct lw_backend *be, struct lw_backend_lock *base)
{
	(void)be;
	lock_free((struct fcntl_lock *)base);
}

/* Setting the same lock again on the kept descriptor is a no-op if we hold
 * it, takes it if nobody does, and fails only if someone else took it
 * meanwhile. Without a kept descriptor (the keeper died too) the lock is
 * taken again if it is free: in direct mode on the daemon's descriptor of
 * the image (req->image_fd), never by its path, which may name another
 * file, or a device, by now. */
static int fcntl_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		       int kept_fd, struct lw_backend_lock **out, struct lw_err *err)
{
	struct fcntl_backend *fb = (struct fcntl_backend *)be;
	struct fcntl_lock *lock;
	int r;

	if (kept_fd >= 0) {
		lock = calloc(1, sizeof(*lock));
		if (!lock) {
			close(kept_fd);
			return lw_err_set(err, ENOMEM, "fcntl: out of memory");
		}
		lock->base.keep_fd = kept_fd;
		lock->shared = req->shared;
		if (lw_backend_lock_set_id(&lock->base, id[0] ? id : req->image) < 0) {
			lock_free(lock);	/* closes kept_fd */
			return lw_err_set(err, ENAMETOOLONG, "fcntl: lock id too long or out of memory");
		}
		r = set_lock(kept_fd, req->shared);
		if (r == 0) {
			*out = &lock->base;
			return 0;
		}
		if (r == -EAGAIN) {
			lw_err_set(err, EAGAIN, "fcntl: lock on %s lost: another holder has it", lock->base.id);
			lock_free(lock);
			return r;
		}
		lock_free(lock);	/* the kept descriptor is unusable: take it anew */
	}
	if (!fb->set.lockspace[0] && req->image_fd < 0)
		return lw_err_set(err, EBADF, "fcntl: the lock on %s was lost with the keeper, and the daemon "
				  "gave no descriptor of the image to take it again on", req->image);
	r = open_lock(fb, req, &lock, err);
	if (r < 0)
		return r;
	r = set_lock(lock->base.keep_fd, lock->shared);
	if (r < 0) {
		lock_error(r, lock, err);
		lock_free(lock);
		return r;
	}
	*out = &lock->base;
	return 0;
}

static struct json_object *fcntl_status(struct lw_backend *be)
{
	struct fcntl_backend *fb = (struct fcntl_backend *)be;
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "mode", json_object_new_string(fb->set.lockspace[0] ? "indirect" : "direct"));
	if (fb->set.lockspace[0])
		json_object_object_add(o, "lockspace", json_object_new_string(fb->set.lockspace));
	json_object_object_add(o, "wait_timeout_sec", json_object_new_int64(fb->set.wait_timeout_sec));
	json_object_object_add(o, "waiting", json_object_new_int64(fb->nr_waiting));
	return o;
}

static void fcntl_close(struct lw_backend *be)
{
	struct fcntl_backend *fb = (struct fcntl_backend *)be;

	while (!LIST_EMPTY(&fb->waiting))
		pending_free(LIST_FIRST(&fb->waiting));
	sd_event_unref(fb->event);
	free(fb);
}

const struct lw_backend_ops lw_backend_fcntl = {
	.name = "fcntl",
	.check_option = fcntl_check_option,
	.open = fcntl_open,
	.acquire = fcntl_acquire,
	.cancel = fcntl_cancel,
	.release = fcntl_release,
	.forget = fcntl_forget,
	.adopt = fcntl_adopt,
	.status = fcntl_status,
	.close = fcntl_close,
};
