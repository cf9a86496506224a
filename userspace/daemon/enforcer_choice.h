/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing the daemon's enforcer (common/enforcement.h), and what the daemon
 * adds to the fanotify one: its group outlives the daemon in the keeper
 * (keeper_group.h), which answers it while no daemon does, and a starting
 * daemon takes it back, leases and marks, instead of making one. */
#ifndef LW_DAEMON_ENFORCER_CHOICE_H
#define LW_DAEMON_ENFORCER_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include "common/enforcement.h"
#include "common/err.h"

struct lw_keeper;

enum lw_enforcer_choice { LW_ENFORCER_AUTO, LW_ENFORCER_BPF_LSM, LW_ENFORCER_FANOTIFY };

/* Parse "auto" | "bpf-lsm" | "fanotify"; -EINVAL otherwise. */
int lw_enforcer_choice_parse(const char *text, enum lw_enforcer_choice *out);

struct lw_enforcement_opts {
	enum lw_enforcer_choice choice;
	const char *pin_dir;		/* bpf-lsm */
	unsigned int max_images;
	bool pre_content;		/* fanotify: pre-content events where offered */
	bool debuggable_holders;	/* bpf-lsm: allow ptrace-class access to holders */
	struct lw_keeper *keeper;	/* fanotify: takes back the group the keeper kept
					 * across a restart, and gives it one */
	bool writable_fs_devices;	/* bpf-lsm: leave the device under leased files writable */
};

/* Open the chosen enforcer. auto tries bpf-lsm and falls back to fanotify;
 * *why_fallback (if not NULL, size why_size) gets why bpf-lsm was not used,
 * "" when it was. On failure err says why each was refused. */
int lw_enforcement_open(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
			char *why_fallback, size_t why_size, struct lw_err *err);
void lw_enforcement_close(struct lw_enforcement *enf);

/* enf if it is the BPF enforcer (enforcer/enforcer.h, whose pins, guard and
 * map repairs tamper.c checks), else NULL. */
struct lw_enforcement *lw_enforcement_bpf(struct lw_enforcement *enf);

/* Give keeper what must outlive the daemon for enforcement to go on (the
 * fanotify group), again after the keeper was replaced; nothing for the BPF
 * enforcer, whose pins outlive it. */
int lw_enforcement_keep(struct lw_enforcement *enf, struct lw_keeper *keeper);

#endif /* LW_DAEMON_ENFORCER_CHOICE_H */
