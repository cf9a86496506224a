// SPDX-License-Identifier: LGPL-2.1-or-later
/* The base every backend's lock shares (backend.h): its kept descriptor and
 * its id. Apart from backend.c so the lease table (userspace/daemon/lease.c)
 * can name a lock's id without linking every backend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int lw_backend_lock_keep_fd(const struct lw_backend_lock *lock)
{
	return lock ? lock->keep_fd : -1;
}

bool lw_backend_lock_writes_image(const struct lw_backend_lock *lock)
{
	return lock && lock->keep_fd >= 0 && lock->writes_image;
}

const char *lw_backend_lock_id(const struct lw_backend_lock *lock)
{
	return lock && lock->id ? lock->id : "";
}

int lw_backend_lock_set_id(struct lw_backend_lock *lock, const char *id)
{
	char *copy = NULL;

	if (id && id[0]) {
		if (strnlen(id, LW_BACKEND_LOCK_ID_MAX) >= LW_BACKEND_LOCK_ID_MAX)
			return -ENAMETOOLONG;
		if (!(copy = strdup(id)))
			return -ENOMEM;
	}
	lw_backend_lock_clear(lock);
	lock->id = copy;
	return 0;
}

void lw_backend_lock_clear(struct lw_backend_lock *lock)
{
	if (!lock->id_shared)
		free(lock->id);
	lock->id = NULL;
	lock->id_shared = false;
}

void lw_backend_lock_share_id(struct lw_backend_lock *lock, const char *text)
{
	if (!lock || !lock->id || !text || lock->id == text || strcmp(lock->id, text) != 0)
		return;
	lw_backend_lock_clear(lock);
	lock->id = (char *)text;
	lock->id_shared = true;
}
