/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The enforcer: loads (or adopts) the pinned BPF LSM programs and keeps the
 * kernel's table of leases. It speaks the daemon's types (image key, holder,
 * lease, denial: common/lease_types.h); the map layouts stay inside.
 * Errors are negative errno with a one-line reason (common/err.h): in the
 * caller's struct lw_err for lw_enforcer_open, else in lw_enforcer_error().
 * The handle is the interface of common/enforcement.h (lw_enforcer_ops);
 * every call here takes one that lw_enforcer_open gave, none other.
 *
 * One thread at a time per struct lw_enforcer, and one process changing the
 * leases of a pin folder at a time (the lease filter is updated by
 * read-modify-write). Holders' pids are those of the initial pid namespace
 * (what the kernel reports), so the daemon runs there. */
#ifndef LW_ENFORCER_H
#define LW_ENFORCER_H

#include <linux/types.h>
#include <stddef.h>
#include <stdbool.h>
#include "common/enforcement.h"
#include "common/err.h"
#include "common/holder.h"	/* holders as the API takes them */
#include "common/lease_types.h"

#define LW_DEFAULT_PIN_DIR "/sys/fs/bpf/lockwarden"
#define LW_DEFAULT_MAX_IMAGES 65536


/* The enforcement interface over this enforcer's handles; name "bpf-lsm". */
extern const struct lw_enforcement_ops lw_enforcer_ops;

struct lw_enforcer_opts {
	const char *pin_dir;		/* bpffs folder; NULL: LW_DEFAULT_PIN_DIR */
	unsigned int max_images;	/* 0: LW_DEFAULT_MAX_IMAGES; used only when creating */
	unsigned int events_per_sec;	/* 0: 10; denial events per (process, image) pair
					 * per second, the rest counted as suppressed;
					 * used only when loading a new program version */
	const char *program_version;	/* NULL: derived from the BPF object; a different
					 * name makes this loader replace the pinned programs
					 * (upgrade tests) */
	bool debuggable_holders;	/* protect_holders = no: let non-holders ptrace,
					 * pidfd_getfd and process_vm_writev holders of
					 * leases (the default, false, refuses them) */
	bool writable_fs_devices;	/* protect_fs_devices = no: leave the block device
					 * under a filesystem with leased images open to
					 * writers (the default, false, makes it nobody's) */
};

/* Adopt the programs, links and maps pinned in pin_dir, or load, attach and
 * pin them when there are none. A different pinned program version is
 * replaced: the new one is attached before the old one is detached. On
 * failure why (if not NULL) gets the reason. */
int lw_enforcer_open(const struct lw_enforcer_opts *opts, struct lw_enforcement **out,
		     struct lw_err *why);
const char *lw_enforcer_pin_dir(const struct lw_enforcement *enf);
unsigned int lw_enforcer_max_images(const struct lw_enforcement *enf);

/* Drop this process's references; the pins keep enforcement in place. */
void lw_enforcer_close(struct lw_enforcement *enf);

/* Detach and unpin everything (uninstall); enforcement stops. */
int lw_enforcer_unpin(struct lw_enforcement *enf);

/* The key the kernel will see for the image open at fd (from the kernel:
 * btrfs and overlayfs report other numbers to stat()). A lease through any
 * name of an overlay file (merged, upper, or a lower file the merged name
 * shows) covers the others as aliases: see docs/routes.md, "Overlay names". */
int lw_enforcer_key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key);

/* Start enforcing a lease on the image open at fd (the descriptor gives the
 * kernel the key and guards against a path swapped meanwhile). Fails with
 * -EEXIST if the image is already leased, -ENOSPC if the table is full
 * (nothing else changes), -EBUSY if another process has it open for write. */
int lw_enforcer_add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
			  const struct lw_holder *first_holder, struct lw_image_key *key_out);

/* lw_enforcer_add_lease with flags; on -EBUSY, *writer (if not NULL) names
 * the first non-holder writer found. The lease is inserted first (new write
 * opens are denied from then on), then the kernel's open files are checked
 * (a task_file iterator, plus the inode's write count for writers in no
 * descriptor table); a busy image is rolled back, so nothing changes. */
int lw_enforcer_add_lease_flags(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
				const struct lw_holder *first_holder, unsigned int flags,
				struct lw_image_key *key_out, struct lw_writer *writer);
int lw_enforcer_remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key);

/* Holders of a lease: -ENOENT if no lease, -E2BIG if LW_MAX_HOLDERS reached,
 * -EEXIST if already a holder, -EINVAL for a second holder of an exclusive lease. */
int lw_enforcer_add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			   const struct lw_holder *holder);
/* Removing the last holder removes the lease. */
int lw_enforcer_remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			      const struct lw_holder *holder);

int lw_enforcer_lookup(struct lw_enforcement *enf, const struct lw_image_key *key,
		       struct lw_lease *lease);
/* Calls fn for every lease; stops early if fn returns non-zero and returns that. */
int lw_enforcer_foreach(struct lw_enforcement *enf,
			int (*fn)(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx),
			void *ctx);

/* Denials: poll lw_enforcer_events_fd() for input, then consume, which
 * calls fn once per denial. */
int lw_enforcer_events_fd(struct lw_enforcement *enf);
int lw_enforcer_events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx);

/* Kernel counters since the maps were created: denied attempts, denials not
 * sent because of the per-(process, image) rate limit, and denials lost to a
 * full ring buffer. Events delivered + suppressed + dropped == denials. */
int lw_enforcer_counters(struct lw_enforcement *enf, __u64 *denials, __u64 *suppressed,
			 __u64 *dropped);

/* Tamper evidence: check that every pin in the pin folder names the object
 * this process holds, and pin it again where not (a removed folder, pin or
 * version folder). Returns how many pins were restored (0: all intact),
 * with their names in what; or a negative errno. While the daemon holds
 * the links, a removed pin detaches nothing. */
int lw_enforcer_verify_pins(struct lw_enforcement *enf, char *what, size_t what_size);

/* Hardened mode: when enabled, only daemon (the calling process) may get
 * descriptors of the pinned maps, programs and links, or unlink, rmdir or
 * rename in the pin folder; while no daemon runs, a process of the binary
 * exe may (a restart). Disabled: the kernel refuses nothing of this. */
int lw_enforcer_guard(struct lw_enforcement *enf, bool enabled, const struct lw_holder *daemon,
		      const char *exe);

/* Whether the guard entry (hardened flag, the daemon's identity) is as
 * lw_enforcer_guard wrote it; rewrites it if not. 1: restored, 0: intact. */
int lw_enforcer_verify_guard(struct lw_enforcement *enf);
/* The same for the keeper entry, as lw_enforcer_trust_pid wrote it. */
int lw_enforcer_verify_keeper(struct lw_enforcement *enf);

/* A second process (the keeper) whose write descriptors count as the
 * caller's own in the writers check, and which may receive a leased
 * image's write descriptor (the keeper map). Whether it may now. */
bool lw_enforcer_trust_pid(struct lw_enforcement *enf, int pid);

/* Non-holders that have the leased image open for write (a lease put back
 * after a gap): up to max of them in writers; *count gets how many were
 * found (a writer in no descriptor table has pid 0). */
int lw_enforcer_writers(struct lw_enforcement *enf, int fd, const struct lw_image_key *key,
			struct lw_writer *writers, size_t max, size_t *count);

/* Repairs after tampering, for the one process that owns the table (the
 * daemon): write key's entry as given (filter untouched); delete an entry
 * the daemon never made (filter untouched); raise every lease filter slot
 * of keys that counts fewer leases than hash there (returns how many). */
int lw_enforcer_put_lease(struct lw_enforcement *enf, const struct lw_image_key *key,
			  enum lw_lease_mode mode, const struct lw_holder *holders, unsigned int n);
int lw_enforcer_drop_entry(struct lw_enforcement *enf, const struct lw_image_key *key);
int lw_enforcer_repair_filter(struct lw_enforcement *enf, const struct lw_image_key *keys, size_t n);

/* What it cannot stop, one paragraph for `lockwarden status`. */
const char *lw_enforcer_limits(const struct lw_enforcement *enf);

/* Why the last call on enf failed. */
const char *lw_enforcer_error(const struct lw_enforcement *enf);

#endif /* LW_ENFORCER_H */
