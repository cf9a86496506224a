// SPDX-License-Identifier: LGPL-2.1-or-later
/* The BPF LSM enforcer behind the daemon's enforcement interface: a thin
 * adapter over enforcer/enforcer.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "enforcement.h"
#include "enforcer/enforcer.h"

#define BPF(enf) ((struct lw_enforcer *)(enf)->impl)

static int key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key)
{
	return lw_enforcer_key_of_fd(BPF(enf), fd, key);
}

static int add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
		     const struct lw_holder *first_holder, unsigned int flags,
		     struct lw_image_key *key_out, struct lw_writer *writer)
{
	return lw_enforcer_add_lease_flags(BPF(enf), fd, mode, first_holder, flags, key_out, writer);
}

static int remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key)
{
	return lw_enforcer_remove_lease(BPF(enf), key);
}

static int add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
		      const struct lw_holder *holder)
{
	return lw_enforcer_add_holder(BPF(enf), key, holder);
}

static int remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			 const struct lw_holder *holder)
{
	return lw_enforcer_remove_holder(BPF(enf), key, holder);
}

static int lookup(struct lw_enforcement *enf, const struct lw_image_key *key, struct lw_lease *lease)
{
	return lw_enforcer_lookup(BPF(enf), key, lease);
}

static int foreach(struct lw_enforcement *enf, lw_lease_fn fn, void *ctx)
{
	return lw_enforcer_foreach(BPF(enf), fn, ctx);
}

static int events_fd(struct lw_enforcement *enf)
{
	return lw_enforcer_events_fd(BPF(enf));
}

static int events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx)
{
	return lw_enforcer_events_consume(BPF(enf), fn, ctx);
}

static int counters(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed, __u64 *dropped)
{
	return lw_enforcer_counters(BPF(enf), denials, suppressed, dropped);
}

static unsigned int max_images(const struct lw_enforcement *enf)
{
	return lw_enforcer_max_images(BPF(enf));
}

static const char *limits(const struct lw_enforcement *enf)
{
	(void)enf;
	return "pinned in bpffs: enforcement stays while the daemon is down; denies open for write, "
	       "truncate, unlink and rename of a leased image through any name";
}

static const char *pin_dir(const struct lw_enforcement *enf)
{
	return lw_enforcer_pin_dir(BPF(enf));
}

static const char *error(const struct lw_enforcement *enf)
{
	return lw_enforcer_error(BPF(enf));
}

static void enf_close(struct lw_enforcement *enf)
{
	lw_enforcer_close(BPF(enf));
	free(enf);
}

static struct lw_enforcer *bpf(const struct lw_enforcement *enf)
{
	return BPF(enf);
}

static const struct lw_enforcement_ops bpf_ops = {
	.name = "bpf-lsm",
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
	.bpf = bpf,
};

int lw_enforcement_open_bpf(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
			    char *err, size_t err_size)
{
	struct lw_enforcer_opts o = { .pin_dir = opts->pin_dir, .max_images = opts->max_images,
				      .debuggable_holders = opts->debuggable_holders,
				      .writable_fs_devices = opts->writable_fs_devices };
	struct lw_enforcement *enf = calloc(1, sizeof(*enf));
	struct lw_enforcer *e;
	struct lw_err why;
	int r;

	if (!enf) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	r = lw_enforcer_open(&o, &e, &why);
	if (r < 0) {
		snprintf(err, err_size, "%s", why.msg);
		free(enf);
		return r;
	}
	enf->ops = &bpf_ops;
	enf->impl = e;
	*out = enf;
	return 0;
}
