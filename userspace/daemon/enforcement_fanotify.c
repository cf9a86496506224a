// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer behind the daemon's enforcement interface: a thin
 * adapter over fanotify/fan_enforcer.h. The group outlives the daemon in
 * the keeper (keeper_group.h), which answers it while no daemon does: a
 * starting daemon takes it back, leases and marks, instead of making one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "enforcement.h"
#include "fanotify/fan_enforcer.h"
#include "keeper.h"
#include "reexec.h"

#define FAN(enf) ((struct lw_fan_enforcer *)(enf)->impl)

/* The engine keeps its table size to itself; status shows it. */
struct fan_enforcement {
	struct lw_enforcement base;
	unsigned int max_images;
};

static int key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key)
{
	return lw_fan_enforcer_key_of_fd(FAN(enf), fd, key);
}

static int add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
		     const struct lw_holder *first_holder, unsigned int flags,
		     struct lw_image_key *key_out, struct lw_writer *writer)
{
	return lw_fan_enforcer_add_lease_flags(FAN(enf), fd, mode, first_holder, flags, key_out, writer);
}

static int remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key)
{
	return lw_fan_enforcer_remove_lease(FAN(enf), key);
}

static int add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
		      const struct lw_holder *holder)
{
	return lw_fan_enforcer_add_holder(FAN(enf), key, holder);
}

static int remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			 const struct lw_holder *holder)
{
	return lw_fan_enforcer_remove_holder(FAN(enf), key, holder);
}

static int lookup(struct lw_enforcement *enf, const struct lw_image_key *key, struct lw_lease *lease)
{
	return lw_fan_enforcer_lookup(FAN(enf), key, lease);
}

static int foreach(struct lw_enforcement *enf, lw_lease_fn fn, void *ctx)
{
	return lw_fan_enforcer_foreach(FAN(enf), fn, ctx);
}

static int events_fd(struct lw_enforcement *enf)
{
	return lw_fan_enforcer_events_fd(FAN(enf));
}

static int events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx)
{
	return lw_fan_enforcer_events_consume(FAN(enf), fn, ctx);
}

static int counters(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed, __u64 *dropped)
{
	return lw_fan_enforcer_counters(FAN(enf), denials, suppressed, dropped);
}

static unsigned int max_images(const struct lw_enforcement *enf)
{
	return ((const struct fan_enforcement *)enf)->max_images;
}

static const char *limits(const struct lw_enforcement *enf)
{
	return lw_fan_enforcer_limits(FAN(enf));
}

static const char *pin_dir(const struct lw_enforcement *enf)
{
	(void)enf;
	return "";
}

static const char *error(const struct lw_enforcement *enf)
{
	return lw_fan_enforcer_error(FAN(enf));
}

static int writers(struct lw_enforcement *enf, int fd, const struct lw_image_key *key,
		   struct lw_writer *found, size_t max, size_t *count)
{
	return lw_fan_enforcer_writers(FAN(enf), fd, key, found, max, count);
}

static int keep(struct lw_enforcement *enf, struct lw_keeper *keeper)
{
	int group_fd, table_fd, r;

	lw_fan_enforcer_group_fds(FAN(enf), &group_fd, &table_fd);
	r = lw_keeper_put_group(keeper, group_fd, table_fd);
	if (r < 0)
		lw_log(LOG_ERR, "enforcer fanotify: the keeper did not take a copy of the group (%s): "
		       "enforcement would lapse if the daemon stopped", strerror(-r));
	return r;
}

static void pause_before_exec(void *ctx)
{
	lw_fan_enforcer_pause(ctx);
}

static void resume_after_failed_exec(void *ctx)
{
	if (lw_fan_enforcer_resume(ctx) < 0)
		lw_log(LOG_CRIT, "enforcer fanotify: cannot answer the group again after a failed re-exec: %s",
		       lw_fan_enforcer_error(ctx));
}

static void enf_close(struct lw_enforcement *enf)
{
	lw_reexec_set_hooks(NULL, NULL, NULL);
	lw_fan_enforcer_close(FAN(enf));
	free(enf);
}

static const struct lw_enforcement_ops fanotify_ops = {
	.name = "fanotify",
	.key_of_fd = key_of_fd,
	.add_lease = add_lease,
	.remove_lease = remove_lease,
	.add_holder = add_holder,
	.remove_holder = remove_holder,
	.lookup = lookup,
	.foreach = foreach,
	.events_fd = events_fd,
	.events_consume = events_consume,
	.counters = counters,
	.max_images = max_images,
	.limits = limits,
	.pin_dir = pin_dir,
	.error = error,
	.close = enf_close,
	.bpf = NULL,	/* nothing pinned: no tamper checks */
	.keep = keep,
	.writers = writers,
};

/* The group the keeper kept (answering it while no daemon ran), or NULL
 * in *out when there is none to take. */
static void take_kept_group(const struct lw_enforcement_opts *opts, const struct lw_fan_enforcer_opts *o,
			    struct lw_fan_enforcer **out)
{
	int group_fd, table_fd, r;
	struct lw_err why;

	*out = NULL;
	if (!opts->keeper)
		return;
	r = lw_keeper_take_group(opts->keeper, &group_fd, &table_fd);
	if (r < 0) {
		lw_log(LOG_WARNING, "enforcer fanotify: cannot ask the keeper for its group: %s", strerror(-r));
		return;
	}
	if (group_fd < 0)
		return;
	r = lw_fan_enforcer_adopt(o, group_fd, table_fd, out, &why);
	if (r < 0)
		lw_log(LOG_ERR, "enforcer fanotify: cannot take back the group the keeper kept (%s); "
		       "making a new one: enforcement lapses until the leases are adopted", why.msg);
	else
		lw_log(LOG_INFO, "enforcer fanotify: took back the group the keeper kept and answered; "
		       "its leases were enforced all along");
}

int lw_enforcement_open_fanotify(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
				 char *err, size_t err_size)
{
	struct lw_fan_enforcer_opts o = { .max_images = opts->max_images, .pre_content = opts->pre_content };
	struct fan_enforcement *enf = calloc(1, sizeof(*enf));
	struct lw_fan_enforcer *e;
	struct lw_err why;
	int r;

	if (!enf) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	take_kept_group(opts, &o, &e);
	if (!e && (r = lw_fan_enforcer_open(&o, &e, &why)) < 0) {
		snprintf(err, err_size, "%s", why.msg);
		free(enf);
		return r;
	}
	enf->base.ops = &fanotify_ops;
	enf->base.impl = e;
	enf->max_images = opts->max_images ? opts->max_images : LW_FAN_DEFAULT_MAX_IMAGES;
	lw_reexec_set_hooks(pause_before_exec, resume_after_failed_exec, e);
	/* a new group, or the kept one again: the keeper's copy is then this one */
	if (opts->keeper)
		keep(&enf->base, opts->keeper);
	*out = &enf->base;
	return 0;
}
