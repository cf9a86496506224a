/* nop: leases are local only; no other host is asked. */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"

static int nop_open(const struct lw_backend_config *cfg, struct lw_backend **out)
{
	struct lw_backend *be = calloc(1, sizeof(*be));

	(void)cfg;
	if (!be)
		return -ENOMEM;
	be->ops = &lw_backend_nop;
	*out = be;
	return 0;
}

static int nop_acquire(struct lw_backend *be, const char *image, int image_fd, bool shared, int *lock_fd)
{
	(void)be; (void)image; (void)image_fd; (void)shared;
	*lock_fd = -1;
	return 0;
}

static int nop_release(struct lw_backend *be, const char *image, int lock_fd)
{
	(void)be; (void)image; (void)lock_fd;
	return 0;
}

static int nop_verify(struct lw_backend *be, const char *image, bool shared, int lock_fd)
{
	(void)be; (void)image; (void)shared; (void)lock_fd;
	return 0;
}

static void nop_close(struct lw_backend *be)
{
	free(be);
}

const struct lw_backend_ops lw_backend_nop = {
	.name = "nop",
	.open = nop_open,
	.acquire = nop_acquire,
	.release = nop_release,
	.verify = nop_verify,
	.close = nop_close,
};
