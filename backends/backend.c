// SPDX-License-Identifier: LGPL-2.1-or-later
/* The table of backends and the calls the daemon makes through it. */
#include <errno.h>
#include <string.h>

#include "backend.h"

static const struct lw_backend_ops *const backends[] = {
	&lw_backend_nop,
	&lw_backend_fcntl,
	&lw_backend_paxos,
};

static const struct lw_backend_ops *find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

bool lw_backend_exists(const char *name)
{
	return find(name) != NULL;
}

int lw_backend_check_option(const char *name, const char *key, const char *value, struct lw_err *err)
{
	const struct lw_backend_ops *ops = find(name);

	if (!ops)
		return lw_err_set(err, ENOENT, "no backend %s", name);
	return ops->check_option(key, value, err);
}

int lw_backend_open(const char *name, const struct lw_backend_setup *setup, struct lw_backend **out,
		    struct lw_err *err)
{
	const struct lw_backend_ops *ops = find(name);

	if (!ops)
		return lw_err_set(err, ENOENT, "no backend %s", name);
	return ops->open(setup, out, err);
}

const char *lw_backend_name(const struct lw_backend *be)
{
	return be->ops->name;
}

bool lw_backend_has_named_leases(const struct lw_backend *be)
{
	return be->ops->named_leases;
}

int lw_backend_check_lease(const struct lw_backend *be, const char *lease, struct lw_err *err)
{
	if (lease && lease[0] && !be->ops->named_leases)
		return lw_err_set(err, EINVAL, "backend %s has no named leases; lease= needs the paxos backend",
				  be->ops->name);
	return 0;
}

void lw_backend_close(struct lw_backend *be)
{
	if (be)
		be->ops->close(be);
}

int lw_backend_acquire(struct lw_backend *be, const struct lw_backend_request *req,
		       lw_backend_done_fn done, void *ctx, struct lw_backend_lock **lock,
		       struct lw_backend_pending **pending, struct lw_err *err)
{
	*lock = NULL;
	*pending = NULL;
	/* refused here, so no backend can take a lease it was not asked for */
	int r = lw_backend_check_lease(be, req->lease, err);

	return r ? r : be->ops->acquire(be, req, done, ctx, lock, pending, err);
}

void lw_backend_cancel(struct lw_backend *be, struct lw_backend_pending *pending)
{
	if (pending)
		be->ops->cancel(be, pending);
}

int lw_backend_release(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
		       void *ctx, struct lw_err *err)
{
	return lock ? be->ops->release(be, lock, released, ctx, err) : 0;
}

void lw_backend_forget(struct lw_backend *be, struct lw_backend_lock *lock)
{
	if (lock)
		be->ops->forget(be, lock);
}

int lw_backend_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		     int kept_fd, struct lw_backend_lock **lock, struct lw_err *err)
{
	*lock = NULL;
	return be->ops->adopt(be, req, id ? id : "", kept_fd, lock, err);
}

struct json_object *lw_backend_status(struct lw_backend *be)
{
	return be->ops->status ? be->ops->status(be) : NULL;
}

char *lw_backend_lock_state(struct lw_backend *be, struct lw_backend_lock *lock)
{
	return lock && be->ops->lock_state ? be->ops->lock_state(be, lock) : NULL;
}
