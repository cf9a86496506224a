/* The enforcer: loads (or adopts) the pinned BPF LSM programs and keeps the
 * kernel's table of leases. Errors are negative errno; when a function fails
 * it leaves a one-line reason in lw_enforcer_error(). */
#ifndef LW_ENFORCER_H
#define LW_ENFORCER_H

#include <linux/types.h>
#include <stddef.h>
#include <stdbool.h>
#include "lockwarden.h"

#define LW_DEFAULT_PIN_DIR "/sys/fs/bpf/lockwarden"
#define LW_DEFAULT_MAX_IMAGES 65536

struct lw_enforcer;

struct lw_enforcer_opts {
	const char *pin_dir;		/* bpffs folder; NULL: LW_DEFAULT_PIN_DIR */
	unsigned int max_images;	/* 0: LW_DEFAULT_MAX_IMAGES; used only when creating */
};

/* Adopt the programs, links and maps pinned in pin_dir, or load, attach and
 * pin them when there are none. */
int lw_enforcer_open(const struct lw_enforcer_opts *opts, struct lw_enforcer **out);

/* Drop this process's references; the pins keep enforcement in place. */
void lw_enforcer_close(struct lw_enforcer *enf);

/* Detach and unpin everything (uninstall); enforcement stops. */
int lw_enforcer_unpin(struct lw_enforcer *enf);

/* The key the kernel will see for the image open at fd. */
int lw_enforcer_key_of_fd(struct lw_enforcer *enf, int fd, struct lw_image_key *key);

/* Start enforcing a lease on the image open at fd (the descriptor gives the
 * kernel the key and guards against a path swapped meanwhile). Fails with
 * -EEXIST if the image is already leased, -ENOSPC if the table is full
 * (nothing else changes), -EBUSY if another process has it open for write. */
int lw_enforcer_add_lease(struct lw_enforcer *enf, int fd, enum lw_lease_mode mode,
			  const struct lw_holder *first_holder, struct lw_image_key *key_out);
int lw_enforcer_remove_lease(struct lw_enforcer *enf, const struct lw_image_key *key);

/* Holders of a lease: -ENOENT if no lease, -E2BIG if LW_MAX_HOLDERS reached,
 * -EEXIST if already a holder, -EINVAL for a second holder of an exclusive lease. */
int lw_enforcer_add_holder(struct lw_enforcer *enf, const struct lw_image_key *key,
			   const struct lw_holder *holder);
/* Removing the last holder removes the lease. */
int lw_enforcer_remove_holder(struct lw_enforcer *enf, const struct lw_image_key *key,
			      const struct lw_holder *holder);

int lw_enforcer_lookup(struct lw_enforcer *enf, const struct lw_image_key *key,
		       struct lw_lease *lease);
/* Calls fn for every lease; stops early if fn returns non-zero and returns that. */
int lw_enforcer_foreach(struct lw_enforcer *enf,
			int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx),
			void *ctx);

/* Denial events: poll lw_enforcer_events_fd() for input, then consume, which
 * calls fn once per event. */
typedef int (*lw_denial_fn)(const struct lw_denial_event *event, void *ctx);
int lw_enforcer_events_fd(struct lw_enforcer *enf);
int lw_enforcer_events_consume(struct lw_enforcer *enf, lw_denial_fn fn, void *ctx);

/* A process holder for pid, with its start time read from /proc. */
int lw_holder_of_pid(int pid, struct lw_holder *holder);
/* A cgroup holder for a cgroup v2 folder (e.g. /sys/fs/cgroup/machine.slice/x). */
int lw_holder_of_cgroup(const char *cgroup_path, struct lw_holder *holder);

const char *lw_enforcer_error(const struct lw_enforcer *enf);

#endif /* LW_ENFORCER_H */
