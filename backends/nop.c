// SPDX-License-Identifier: LGPL-2.1-or-later
/* nop: leases are local only; no other host is asked, nothing to keep. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"

static int nop_check_option(const char *key, const char *value, struct lw_err *err)
{
	(void)value;
	return lw_err_set(err, ENOENT, "unknown key %s in [nop] (nop has none)", key);
}

static int nop_open(const struct lw_backend_setup *setup, struct lw_backend **out, struct lw_err *err)
{
	struct lw_backend *be;

	if (setup && setup->nr_options)
		return nop_check_option(setup->options[0].key, setup->options[0].value, err);
	be = calloc(1, sizeof(*be));
	if (!be)
		return lw_err_set(err, ENOMEM, "nop: out of memory");
	be->ops = &lw_backend_nop;
	*out = be;
	return 0;
}

static struct lw_backend_lock *new_lock(struct lw_err *err)
{
	struct lw_backend_lock *lock = calloc(1, sizeof(*lock));

	if (!lock) {
		lw_err_set(err, ENOMEM, "nop: out of memory");
		return NULL;
	}
	lock->keep_fd = -1;
	return lock;
}

static int nop_acquire(struct lw_backend *be, const struct lw_backend_request *req,
		       lw_backend_done_fn done, void *ctx, struct lw_backend_lock **lock,
		       struct lw_backend_pending **pending, struct lw_err *err)
{
	(void)be; (void)req; (void)done; (void)ctx; (void)pending;
	*lock = new_lock(err);
	return *lock ? 0 : -ENOMEM;
}

static void nop_cancel(struct lw_backend *be, struct lw_backend_pending *pending)
{
	(void)be; (void)pending;	/* nop never answers later */
}

static int nop_release(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
		       void *ctx, struct lw_err *err)
{
	(void)be; (void)released; (void)ctx; (void)err;	/* given up at once */
	free(lock);
	return 0;
}

static void nop_forget(struct lw_backend *be, struct lw_backend_lock *lock)
{
	(void)be;
	free(lock);
}

static int nop_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		     int kept_fd, struct lw_backend_lock **lock, struct lw_err *err)
{
	(void)be; (void)req; (void)id;
	if (kept_fd >= 0)
		close(kept_fd);
	*lock = new_lock(err);
	return *lock ? 0 : -ENOMEM;
}

static void nop_close(struct lw_backend *be)
{
	free(be);
}

const struct lw_backend_ops lw_backend_nop = {
	.name = "nop",
	.check_option = nop_check_option,
	.open = nop_open,
	.acquire = nop_acquire,
	.cancel = nop_cancel,
	.release = nop_release,
	.forget = nop_forget,
	.adopt = nop_adopt,
	.close = nop_close,
};
