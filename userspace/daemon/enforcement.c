// SPDX-License-Identifier: LGPL-2.1-or-later
/* Choosing the enforcer. See enforcement.h. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "enforcement.h"
#include "enforcer/enforcer.h"	/* LW_DEFAULT_PIN_DIR */
#include "keeper.h"

int lw_enforcer_choice_parse(const char *text, enum lw_enforcer_choice *out)
{
	if (strcmp(text, "auto") == 0)
		*out = LW_ENFORCER_AUTO;
	else if (strcmp(text, "bpf-lsm") == 0)
		*out = LW_ENFORCER_BPF_LSM;
	else if (strcmp(text, "fanotify") == 0)
		*out = LW_ENFORCER_FANOTIFY;
	else
		return -EINVAL;
	return 0;
}

/* Whether a BPF enforcer left pins in dir: then its programs still enforce
 * the leases they knew, and a fanotify daemon beside them would contradict
 * them (a release it makes would not reach the kernel's table). */
static bool has_pins(const char *dir)
{
	DIR *d = opendir(dir ? dir : LW_DEFAULT_PIN_DIR);
	struct dirent *de;
	bool found = false;

	if (!d)
		return errno != ENOENT && errno != ENOTDIR;	/* cannot tell: assume there are */
	while (!found && (de = readdir(d)))
		found = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return found;
}

int lw_enforcement_open(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
			char *why_fallback, size_t why_size, char *err, size_t err_size)
{
	char bpf_err[512], fan_err[512];
	int r;

	if (why_fallback && why_size)
		why_fallback[0] = '\0';
	switch (opts->choice) {
	case LW_ENFORCER_BPF_LSM:
		r = lw_enforcement_open_bpf(opts, out, err, err_size);
		goto drop_fanotify_group;
	case LW_ENFORCER_FANOTIFY:
		return lw_enforcement_open_fanotify(opts, out, err, err_size);
	case LW_ENFORCER_AUTO:
		break;
	}
	r = lw_enforcement_open_bpf(opts, out, bpf_err, sizeof(bpf_err));
	if (r == 0)
		goto drop_fanotify_group;
	if (has_pins(opts->pin_dir)) {
		snprintf(err, err_size, "bpf-lsm: %s; not falling back to fanotify: %s holds pinned BPF state "
			 "that would go on enforcing the old leases (remove it, or set enforcer=fanotify)",
			 bpf_err, opts->pin_dir ? opts->pin_dir : LW_DEFAULT_PIN_DIR);
		return r;
	}
	if (why_fallback && why_size)
		snprintf(why_fallback, why_size, "%s", bpf_err);
	r = lw_enforcement_open_fanotify(opts, out, fan_err, sizeof(fan_err));
	if (r < 0)
		snprintf(err, err_size, "bpf-lsm: %s; fanotify: %s", bpf_err, fan_err);
	return r;
drop_fanotify_group:
	/* a group the keeper kept for a fanotify daemon before: the keeper
	 * would go on answering it from leases this daemon does not know */
	if (r == 0 && opts->keeper)
		lw_keeper_drop_group(opts->keeper);
	return r;
}

void lw_enforcement_close(struct lw_enforcement *enf)
{
	if (enf)
		enf->ops->close(enf);
}
