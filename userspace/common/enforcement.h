/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The enforcer as the daemon sees it: one small table of operations in the
 * daemon's words (image key, holder, lease mode, denial), so the lease logic
 * does not know which kernel mechanism stops non-holders. Each enforcer
 * library implements it over its own handle, which begins with a struct
 * lw_enforcement: lw_enforcer_ops (enforcer/enforcer.h: BPF LSM, pinned) and
 * lw_fan_enforcer_ops (fanotify/fan_enforcer.h: permission events, lasts
 * while a descriptor of the group is open). Errors are negative errno with a
 * one-line reason in error(). */
#ifndef LW_COMMON_ENFORCEMENT_H
#define LW_COMMON_ENFORCEMENT_H

#include <errno.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "common/holder.h"	/* the domain: holders, leases, denials */

struct lw_enforcement;

typedef int (*lw_lease_fn)(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx);

struct lw_enforcement_ops {
	const char *name;		/* "bpf-lsm" | "fanotify" */
	/* add_lease's check for writers is a write lease, which any other
	 * open of the image stands in the way of, a reader's too */
	bool readers_block_add;
	int (*key_of_fd)(struct lw_enforcement *enf, int fd, struct lw_image_key *key);
	/* -EEXIST leased already, -ENOSPC table full, -EBUSY a non-holder has it
	 * open for write (*writer names it; LW_LEASE_FORCE ignores writers),
	 * -EOPNOTSUPP this enforcer cannot enforce that kind of image */
	int (*add_lease)(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
			 const struct lw_holder *first_holder, unsigned int flags,
			 struct lw_image_key *key_out, struct lw_writer *writer);
	int (*remove_lease)(struct lw_enforcement *enf, const struct lw_image_key *key);
	/* -ENOENT no lease, -E2BIG full, -EEXIST holder already, -EINVAL second
	 * holder of an exclusive lease; removing the last holder removes the lease */
	int (*add_holder)(struct lw_enforcement *enf, const struct lw_image_key *key,
			  const struct lw_holder *holder);
	int (*remove_holder)(struct lw_enforcement *enf, const struct lw_image_key *key,
			     const struct lw_holder *holder);
	int (*lookup)(struct lw_enforcement *enf, const struct lw_image_key *key, struct lw_lease *lease);
	int (*foreach)(struct lw_enforcement *enf, lw_lease_fn fn, void *ctx);
	/* denials: poll events_fd, then consume calls fn once per denial */
	int (*events_fd)(struct lw_enforcement *enf);
	int (*events_consume)(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx);
	/* events delivered + suppressed + dropped == denials */
	int (*counters)(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed, __u64 *dropped);
	unsigned int (*max_images)(const struct lw_enforcement *enf);
	/* what this enforcer cannot stop, one paragraph for `lockwarden status` */
	const char *(*limits)(const struct lw_enforcement *enf);
	/* Optional (NULL: nothing pinned, as fanotify): where its state lives */
	const char *(*pin_dir)(const struct lw_enforcement *enf);
	const char *(*error)(const struct lw_enforcement *enf);
	void (*close)(struct lw_enforcement *enf);
	/* Optional (NULL): the non-holders with key's image (open at fd) open
	 * for write, for a lease enforced again after a gap; the BPF enforcer
	 * is asked through tamper.c. */
	int (*writers)(struct lw_enforcement *enf, int fd, const struct lw_image_key *key,
		       struct lw_writer *writers, size_t max, size_t *count);
	/* Optional (NULL): a second process (the keeper) whose write
	 * descriptors are the caller's own in every writers check; 0: none.
	 * Whether that process may now receive a leased image's write
	 * descriptor (if not, it must get its copy before the lease exists). */
	bool (*trust_pid)(struct lw_enforcement *enf, int pid);
};

/* The first member of every enforcer's handle. */
struct lw_enforcement {
	const struct lw_enforcement_ops *ops;
};

static inline int lw_enforcement_writers(struct lw_enforcement *enf, int fd, const struct lw_image_key *key,
					 struct lw_writer *writers, size_t max, size_t *count)
{
	*count = 0;
	return enf->ops->writers ? enf->ops->writers(enf, fd, key, writers, max, count) : -EOPNOTSUPP;
}

/* Without the operation, nothing stops a receive. */
static inline bool lw_enforcement_trust_pid(struct lw_enforcement *enf, int pid)
{
	return enf->ops->trust_pid ? enf->ops->trust_pid(enf, pid) : true;
}

static inline const char *lw_enforcement_name(const struct lw_enforcement *enf)
{
	return enf->ops->name;
}

static inline bool lw_enforcement_readers_block_add(const struct lw_enforcement *enf)
{
	return enf->ops->readers_block_add;
}

/* The calls the daemon makes; each goes to the active enforcer. */
static inline int lw_enforcement_key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key)
{
	return enf->ops->key_of_fd(enf, fd, key);
}

static inline int lw_enforcement_add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
					   const struct lw_holder *first_holder, unsigned int flags,
					   struct lw_image_key *key_out, struct lw_writer *writer)
{
	return enf->ops->add_lease(enf, fd, mode, first_holder, flags, key_out, writer);
}

static inline int lw_enforcement_remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key)
{
	return enf->ops->remove_lease(enf, key);
}

static inline int lw_enforcement_add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
					    const struct lw_holder *holder)
{
	return enf->ops->add_holder(enf, key, holder);
}

static inline int lw_enforcement_remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
					       const struct lw_holder *holder)
{
	return enf->ops->remove_holder(enf, key, holder);
}

static inline int lw_enforcement_lookup(struct lw_enforcement *enf, const struct lw_image_key *key,
					struct lw_lease *lease)
{
	return enf->ops->lookup(enf, key, lease);
}

static inline int lw_enforcement_foreach(struct lw_enforcement *enf, lw_lease_fn fn, void *ctx)
{
	return enf->ops->foreach(enf, fn, ctx);
}

static inline int lw_enforcement_events_fd(struct lw_enforcement *enf)
{
	return enf->ops->events_fd(enf);
}

static inline int lw_enforcement_events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx)
{
	return enf->ops->events_consume(enf, fn, ctx);
}

static inline int lw_enforcement_counters(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed,
					  __u64 *dropped)
{
	return enf->ops->counters(enf, denials, suppressed, dropped);
}

static inline unsigned int lw_enforcement_max_images(const struct lw_enforcement *enf)
{
	return enf->ops->max_images(enf);
}

static inline const char *lw_enforcement_limits(const struct lw_enforcement *enf)
{
	return enf->ops->limits(enf);
}

static inline const char *lw_enforcement_pin_dir(const struct lw_enforcement *enf)
{
	return enf->ops->pin_dir ? enf->ops->pin_dir(enf) : "";
}

static inline const char *lw_enforcement_error(const struct lw_enforcement *enf)
{
	return enf->ops->error(enf);
}

#endif /* LW_COMMON_ENFORCEMENT_H */
