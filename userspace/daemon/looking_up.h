/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Path lookups of unprivileged callers, run where the event loop never
 * waits for them.
 *
 * Such a lookup takes the caller's identity (image_open.h), so it runs in a
 * thread of its own, and a user can make it last forever: a FUSE server of
 * the user's that never answers stalls every lookup through its mount. So
 * the loop goes on serving; the thread says when it is done (an eventfd),
 * and the call is answered then, or as unresponsive once
 * cfg->lookup_timeout_sec have passed. A stalled thread ends on its own, if
 * ever; until then it still counts against the limits below, so a user
 * cannot pile up stalled threads, and nothing of it reaches a caller.
 * A lookup beyond the limits waits for one to end (a burst of a user's
 * acquires is served in turn), and is answered ResourceLimit if none has
 * within the timeout. */
#ifndef LW_DAEMON_LOOKING_UP_H
#define LW_DAEMON_LOOKING_UP_H

#include <json-c/json.h>

#include "daemon.h"
#include "image_open.h"

/* Lookups under way (stalled ones included): of one uid, and in all. */
#define LW_LOOKUPS_PER_UID 2
#define LW_LOOKUPS_MAX 32

struct lw_looking_up;

/* The lookup is done: l is what it found (found may take l->fd; the rest
 * is freed after). Or it is not, in time: l NULL, and error (taken over)
 * says so, naming the path as not answering (ImageNotFound) or the limit
 * it waited on (ResourceLimit). From the loop. */
typedef void (*lw_looked_up_fn)(void *ctx, struct lw_image_lookup *l, struct json_object *error);

/* Look path up as caller (not privileged) in a thread of its own, at once
 * or once the limits let it start; found is called once, later. NULL with
 * *error when out of memory, descriptors or threads. */
struct lw_looking_up *lw_looking_up_start(struct lw_daemon *d, const char *path, const struct lw_image_caller *caller,
					  lw_looked_up_fn found, void *ctx, struct json_object **error);

/* The caller went away before found was called: it never will be. */
void lw_looking_up_cancel(struct lw_looking_up *j);

#endif /* LW_DAEMON_LOOKING_UP_H */
