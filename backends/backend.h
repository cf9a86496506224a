/* Backends: how hosts agree on leases. One small vtable; the daemon holds a
 * lock handle per lease and never looks inside it.
 *
 * A lock is an open file description carrying the backend's lock (fd >= 0),
 * or no descriptor at all (fd == -1, e.g. nop). Keeping any duplicate of fd
 * open keeps the lock: that is how leases survive a daemon crash (see
 * userspace/daemon/keeper.h). Errors are negative errno:
 *   -EAGAIN  another holder (this host or another) has the lease
 *   -ENOENT  the image (or the lockspace folder) does not exist
 *   other    the backend failed; lw_backend_error() says why */
#ifndef LW_BACKEND_H
#define LW_BACKEND_H

#include <stdbool.h>

#define LW_BACKEND_ERROR_MAX 256

struct lw_backend_config {
	const char *lockspace;	/* fcntl: lock files folder (indirect mode); NULL: lock the image itself */
};

struct lw_backend;

struct lw_backend_ops {
	const char *name;
	int (*open)(const struct lw_backend_config *cfg, struct lw_backend **out);
	/* Take the lease on image (an absolute path); *lock_fd gets the lock's
	 * descriptor or -1. image_fd is the image as the daemon resolved it
	 * (the lock goes on that same file, never on whatever the path names
	 * now), or -1 to open image by its path. */
	int (*acquire)(struct lw_backend *be, const char *image, int image_fd, bool shared, int *lock_fd);
	/* Give the lease up; closes lock_fd. */
	int (*release)(struct lw_backend *be, const char *image, int lock_fd);
	/* After a restart: does lock_fd (or, if -1, nothing) still hold the lease? 0 if so. */
	int (*verify)(struct lw_backend *be, const char *image, bool shared, int lock_fd);
	void (*close)(struct lw_backend *be);
};

/* Every backend embeds this first. */
struct lw_backend {
	const struct lw_backend_ops *ops;
	char error[LW_BACKEND_ERROR_MAX];
};

extern const struct lw_backend_ops lw_backend_nop;
extern const struct lw_backend_ops lw_backend_fcntl;

/* The ops for a backend name ("nop", "fcntl"), or NULL. */
const struct lw_backend_ops *lw_backend_find(const char *name);

int lw_backend_open(const char *name, const struct lw_backend_config *cfg, struct lw_backend **out);
static inline const char *lw_backend_name(const struct lw_backend *be) { return be->ops->name; }
static inline const char *lw_backend_error(const struct lw_backend *be) { return be->error; }
void lw_backend_set_error(struct lw_backend *be, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lw_backend_close(struct lw_backend *be);

#endif /* LW_BACKEND_H */
