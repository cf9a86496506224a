/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backends: how hosts agree on leases. One small vtable behind the
 * lw_backend_* calls below; nothing outside backends/ sees the vtable.
 *
 * Asynchronous: an acquire may answer at once (return 0: fcntl's free
 * lock, nop) or later (-EINPROGRESS: fcntl waiting for a lock held
 * elsewhere, a sanlock acquire). The later answer comes through done(),
 * always from the daemon's sd-event loop (a source the backend added to
 * the loop it got at open), never from another thread and never from
 * inside lw_backend_acquire itself.
 *
 * A lock is an opaque struct lw_backend_lock the daemon never looks
 * inside. What the daemon needs from it:
 *   - keep_fd: a descriptor the keeper holds a duplicate of across a
 *     daemon crash, handed back at re-adoption: fcntl's OFD lock (closing
 *     every duplicate gives the lock up), paxos's control socket to the
 *     lease's agent (so a restarted daemon still hears it fence); or -1
 *     (nop);
 *   - id: a stable one-line text form, written to the state file and handed
 *     back at re-adoption (fcntl: the file whose byte 0 is locked; paxos:
 *     the sanlock resource string).
 *
 * Errors are negative errno with a one-line reason in struct lw_err:
 *   -EAGAIN   another holder (this host or another) has the lease, also
 *             when a waiting acquire gave up (fcntl wait_timeout_sec)
 *   -ENOENT   the image (or the lockspace folder) does not exist
 *   other     the backend failed */
#ifndef LW_BACKEND_H
#define LW_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "common/err.h"

#define LW_BACKEND_LOCK_ID_MAX 512	/* a lock's text form is shorter than this */

struct lw_backend;
struct lw_backend_lock;
struct lw_backend_pending;	/* an acquire that answers later, until done() or cancel */

/* One key = value of the backend's own config section ([fcntl], [paxos]). */
struct lw_backend_option {
	const char *key;
	const char *value;
};

/* A lock the backend lost by itself (paxos: sanlock could not renew the
 * lease and fenced its local writers): the daemon ends the lease (kernel
 * entry, state, audit) and then releases lock, which is quick. Called from
 * the loop. */
typedef void (*lw_backend_lost_fn)(void *ctx, struct lw_backend_lock *lock, const struct lw_err *err);

struct lw_backend_setup {
	sd_event *event;	/* the daemon's loop: done() is dispatched from it */
	const struct lw_backend_option *options;	/* its section, in file order */
	size_t nr_options;
	lw_backend_lost_fn lost;	/* NULL: the daemon is not told */
	void *lost_ctx;
};

struct lw_backend_request {
	const char *image;	/* absolute path (copied by the backend if it waits) */
	int image_fd;		/* the image as the daemon resolved it (the lock goes on
				 * that same file), or -1 to go by the path */
	bool shared;
	const char *lease;	/* paxos manual mode: LOCKSPACE:RESOURCE:PATH:OFFSET; NULL or "": automatic */
};

/* The later answer of an acquire: result 0 with lock (the daemon's from
 * now on), or a negative errno with err saying why (lock NULL). The
 * pending handle is gone when this is called. */
typedef void (*lw_backend_done_fn)(void *ctx, int result, struct lw_backend_lock *lock,
				   const struct lw_err *err);

/* Open a backend by name ("nop", "fcntl"): -ENOENT for an unknown name. */
int lw_backend_open(const char *name, const struct lw_backend_setup *setup, struct lw_backend **out,
		    struct lw_err *err);
/* Whether be takes named leases (struct lw_backend_request.lease). */
bool lw_backend_has_named_leases(const struct lw_backend *be);
/* -EINVAL with err if lease names a lease and be takes none; else 0. */
int lw_backend_check_lease(const struct lw_backend *be, const char *lease, struct lw_err *err);
/* Whether name is a backend this build has (a config section of that name is its own). */
bool lw_backend_exists(const char *name);
/* Check one key of backend name's section without opening it (config load). */
int lw_backend_check_option(const char *name, const char *key, const char *value, struct lw_err *err);
const char *lw_backend_name(const struct lw_backend *be);
/* Cancels what is pending (no done() after this), frees the backend. */
void lw_backend_close(struct lw_backend *be);

/* Take the lease: 0 with *lock set; -EINPROGRESS with *pending set (done
 * comes later, or never after lw_backend_cancel); or -errno with err.
 * A req->lease on a backend without named leases is -EINVAL, never ignored. */
int lw_backend_acquire(struct lw_backend *be, const struct lw_backend_request *req,
		       lw_backend_done_fn done, void *ctx, struct lw_backend_lock **lock,
		       struct lw_backend_pending **pending, struct lw_err *err);
/* The daemon no longer wants it: done is never called; a lease that
 * arrives later is released by the backend itself. Frees pending. */
void lw_backend_cancel(struct lw_backend *be, struct lw_backend_pending *pending);

/* The later answer of a release that went on (-EINPROGRESS): 0 once the
 * backend's engine let the lease go, or a negative errno with err saying
 * what went wrong (the lease is gone all the same). */
typedef void (*lw_backend_released_fn)(void *ctx, int result, const struct lw_err *err);

/* Give the lease up (every copy: the keeper's too); lock is the backend's
 * from here on. 0: given up now (fcntl, nop); -EINPROGRESS: the engine lets
 * go later (paxos: one write to shared storage, bounded by 2 x io_timeout)
 * and released(ctx, ...) comes from the loop then, unless released is NULL
 * or the backend is closed first (the release still completes); or -errno
 * with err (the lease is gone all the same). */
int lw_backend_release(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
		       void *ctx, struct lw_err *err);
/* Free the daemon's handle without giving the lease up (daemon exit: the
 * keeper's copy keeps it, the next start re-adopts). */
void lw_backend_forget(struct lw_backend *be, struct lw_backend_lock *lock);

/* After a restart: the lock for req, from its id in the state file and
 * the keeper's duplicate of keep_fd (kept_fd, ours to take; -1 if the keeper
 * had none). 0 with *lock if the lease still holds or was free and taken
 * again at once (never waits); -EAGAIN if another holder has it now. */
int lw_backend_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		     int kept_fd, struct lw_backend_lock **lock, struct lw_err *err);

int lw_backend_lock_keep_fd(const struct lw_backend_lock *lock);
/* Whether keep_fd is the request's image_fd reopened for write (fcntl in
 * direct mode, exclusive): the same file, told without asking the kernel. */
bool lw_backend_lock_writes_image(const struct lw_backend_lock *lock);
const char *lw_backend_lock_id(const struct lw_backend_lock *lock);

/* The backend's state for `lockwarden status` (a new json object, or NULL
 * for none): e.g. fcntl's mode and waiting acquires, paxos's lockspaces. */
struct json_object *lw_backend_status(struct lw_backend *be);

/* What the backend's own engine says of lock now, for Inquire (paxos:
 * sanlock's state string of the lease, which a migration hands to the
 * destination host): a new string to free, or NULL if it has none. */
char *lw_backend_lock_state(struct lw_backend *be, struct lw_backend_lock *lock);

/* ---- for backends only ------------------------------------------------ */

struct lw_backend_ops {
	const char *name;
	bool named_leases;	/* takes a request's lease (LOCKSPACE:RESOURCE:PATH:OFFSET) */
	int (*check_option)(const char *key, const char *value, struct lw_err *err);
	int (*open)(const struct lw_backend_setup *setup, struct lw_backend **out, struct lw_err *err);
	int (*acquire)(struct lw_backend *be, const struct lw_backend_request *req,
		       lw_backend_done_fn done, void *ctx, struct lw_backend_lock **lock,
		       struct lw_backend_pending **pending, struct lw_err *err);
	void (*cancel)(struct lw_backend *be, struct lw_backend_pending *pending);
	int (*release)(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
		       void *ctx, struct lw_err *err);
	void (*forget)(struct lw_backend *be, struct lw_backend_lock *lock);
	int (*adopt)(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		     int kept_fd, struct lw_backend_lock **lock, struct lw_err *err);
	struct json_object *(*status)(struct lw_backend *be);	/* may be NULL */
	char *(*lock_state)(struct lw_backend *be, struct lw_backend_lock *lock);	/* may be NULL */
	void (*close)(struct lw_backend *be);
};

/* Every backend embeds this first. */
struct lw_backend {
	const struct lw_backend_ops *ops;
};

/* Every backend's lock starts with this (the daemon reads it through the
 * accessors above only). Thousands are held at once, so id is allocated
 * to its length (lw_backend_lock_set_id), not to LW_BACKEND_LOCK_ID_MAX. */
struct lw_backend_lock {
	int keep_fd;
	bool writes_image;	/* keep_fd: the request's image_fd reopened O_RDWR */
	bool id_shared;	/* id is the daemon's text (lw_backend_lock_share_id), not ours */
	char *id;	/* NULL: none ("" through lw_backend_lock_id) */
};

/* Sets lock's id to a copy of id (NULL or "": none): 0, -ENAMETOOLONG if
 * it has LW_BACKEND_LOCK_ID_MAX characters or more (the state refuses such
 * a lock), -ENOMEM. Frees the id it had. */
int lw_backend_lock_set_id(struct lw_backend_lock *lock, const char *id);
/* Frees what the base of lock owns (its id; not keep_fd, nor lock itself). */
void lw_backend_lock_clear(struct lw_backend_lock *lock);
/* If lock's id is the same text as text (fcntl names a lock by its image,
 * and the lease keeps the image's path), lock frees its copy and points at
 * text, which the caller keeps unchanged until it releases or forgets lock,
 * or gives lock a copy again (lw_backend_lock_set_id). Else nothing. */
void lw_backend_lock_share_id(struct lw_backend_lock *lock, const char *text);

extern const struct lw_backend_ops lw_backend_nop;
extern const struct lw_backend_ops lw_backend_fcntl;
extern const struct lw_backend_ops lw_backend_paxos;

#endif /* LW_BACKEND_H */
