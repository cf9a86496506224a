/* fcntl: leases as OFD locks on shared storage, as virtlockd does.
 *
 * Direct mode (no lockspace): a lock on byte 0 of the image itself. QEMU
 * locks bytes 100 and up for its own image locking, so the two coexist.
 * Indirect mode (lockspace folder): a lock on byte 0 of LOCKSPACE/<sha256 of
 * the image path>, for storage where locking the image is unsuitable.
 * Exclusive leases take write locks, shared leases read locks. Never waits:
 * a lock held elsewhere is -EAGAIN.
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
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "common/sha256.h"

struct fcntl_backend {
	struct lw_backend base;
	char lockspace[PATH_MAX];	/* empty: direct mode */
};

static int fcntl_open(const struct lw_backend_config *cfg, struct lw_backend **out)
{
	struct fcntl_backend *fb = calloc(1, sizeof(*fb));
	struct stat st;

	if (!fb)
		return -ENOMEM;
	fb->base.ops = &lw_backend_fcntl;
	if (cfg && cfg->lockspace && cfg->lockspace[0]) {
		if (stat(cfg->lockspace, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(fb);
			return -ENOENT;
		}
		snprintf(fb->lockspace, sizeof(fb->lockspace), "%s", cfg->lockspace);
	}
	*out = &fb->base;
	return 0;
}

/* Indirect mode's lock file: the lockspace folder and the image path's SHA-256 in hex. */
static int lock_file_path(struct fcntl_backend *fb, const char *image, char *out, size_t size)
{
	char hex[LW_SHA256_HEX_LEN + 1];

	if (lw_sha256_hex(image, strlen(image), hex) < 0) {
		lw_backend_set_error(&fb->base, "fcntl: SHA-256 of %s failed", image);
		return -EIO;
	}
	if ((size_t)snprintf(out, size, "%s/%s", fb->lockspace, hex) >= size) {
		lw_backend_set_error(&fb->base, "fcntl: lockspace path too long");
		return -ENAMETOOLONG;
	}
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

static int fcntl_acquire(struct lw_backend *be, const char *image, int image_fd, bool shared, int *lock_fd)
{
	struct fcntl_backend *fb = (struct fcntl_backend *)be;
	char path[PATH_MAX];
	const char *shown = fb->lockspace[0] ? path : image;	/* for errors */
	int fd, r;

	if (fb->lockspace[0]) {
		r = lock_file_path(fb, image, path, sizeof(path));
		if (r < 0)
			return r;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	} else {
		/* the daemon's own descriptor names the file: reopening it through
		 * /proc/self/fd cannot land on another file, as the path could */
		if (image_fd >= 0)
			snprintf(path, sizeof(path), "/proc/self/fd/%d", image_fd);
		else
			snprintf(path, sizeof(path), "%s", image);
		/* a write lock needs a descriptor open for writing */
		fd = open(path, (shared ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0) {
		r = -errno;
		lw_backend_set_error(be, "fcntl: cannot open %s: %s", shown, strerror(errno));
		return r;
	}
	r = set_lock(fd, shared);
	if (r < 0) {
		if (r == -EAGAIN)
			lw_backend_set_error(be, "fcntl: %s is locked by another holder", shown);
		else
			lw_backend_set_error(be, "fcntl: cannot lock %s: %s", shown, strerror(-r));
		close(fd);
		return r;
	}
	*lock_fd = fd;
	return 0;
}

static int fcntl_release(struct lw_backend *be, const char *image, int lock_fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int r = 0;

	if (lock_fd < 0)
		return 0;
	/* unlock explicitly: duplicates elsewhere (the keeper) must not keep it */
	if (fcntl(lock_fd, F_OFD_SETLK, &fl) < 0) {
		r = -errno;
		lw_backend_set_error(be, "fcntl: cannot unlock %s: %s", image, strerror(errno));
	}
	close(lock_fd);
	return r;
}

/* Setting the same lock again is a no-op if we hold it, takes it if nobody
 * does, and fails only if someone else took it meanwhile. */
static int fcntl_verify(struct lw_backend *be, const char *image, bool shared, int lock_fd)
{
	int r;

	if (lock_fd < 0) {
		lw_backend_set_error(be, "fcntl: no lock descriptor for %s", image);
		return -EBADF;
	}
	r = set_lock(lock_fd, shared);
	if (r < 0)
		lw_backend_set_error(be, "fcntl: lock on %s lost: %s", image,
				     r == -EAGAIN ? "another holder has it" : strerror(-r));
	return r;
}

static void fcntl_close(struct lw_backend *be)
{
	free(be);
}

const struct lw_backend_ops lw_backend_fcntl = {
	.name = "fcntl",
	.open = fcntl_open,
	.acquire = fcntl_acquire,
	.release = fcntl_release,
	.verify = fcntl_verify,
	.close = fcntl_close,
};
