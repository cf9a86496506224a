// SPDX-License-Identifier: LGPL-2.1-or-later
/* Choosing the enforcer. See enforcer_choice.h. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "enforcer/enforcer.h"
#include "enforcer_choice.h"
#include "fanotify/fan_enforcer.h"
#include "keeper.h"
#include "reexec.h"

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

static int open_bpf(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
		    struct lw_err *err)
{
	struct lw_enforcer_opts o = { .pin_dir = opts->pin_dir, .max_images = opts->max_images,
				      .debuggable_holders = opts->debuggable_holders,
				      .writable_fs_devices = opts->writable_fs_devices };
	return lw_enforcer_open(&o, out, err);
}

int lw_enforcement_keep(struct lw_enforcement *enf, struct lw_keeper *keeper)
{
	int group_fd, table_fd, r;

	if (!enf || enf->ops != &lw_fan_enforcer_ops)
		return 0;
	lw_fan_enforcer_group_fds(enf, &group_fd, &table_fd);
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

/* The group the keeper kept (answering it while no daemon ran), or NULL
 * in *out when there is none to take. */
static void take_kept_group(const struct lw_enforcement_opts *opts, const struct lw_fan_enforcer_opts *o,
			    struct lw_enforcement **out)
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

static int open_fanotify(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
			 struct lw_err *err)
{
	struct lw_fan_enforcer_opts o = { .max_images = opts->max_images, .pre_content = opts->pre_content };
	struct lw_enforcement *e;
	int r;

	take_kept_group(opts, &o, &e);
	if (!e && (r = lw_fan_enforcer_open(&o, &e, err)) < 0)
		return r;
	lw_reexec_set_hooks(pause_before_exec, resume_after_failed_exec, e);
	/* a new group, or the kept one again: the keeper's copy is then this one */
	if (opts->keeper)
		lw_enforcement_keep(e, opts->keeper);
	*out = e;
	return 0;
}

int lw_enforcement_open(const struct lw_enforcement_opts *opts, struct lw_enforcement **out,
			char *why_fallback, size_t why_size, struct lw_err *err)
{
	struct lw_err bpf_err, fan_err;
	int r;

	if (why_fallback && why_size)
		why_fallback[0] = '\0';
	switch (opts->choice) {
	case LW_ENFORCER_BPF_LSM:
		r = open_bpf(opts, out, err);
		goto drop_fanotify_group;
	case LW_ENFORCER_FANOTIFY:
		return open_fanotify(opts, out, err);
	case LW_ENFORCER_AUTO:
		break;
	}
	r = open_bpf(opts, out, &bpf_err);
	if (r == 0)
		goto drop_fanotify_group;
	if (has_pins(opts->pin_dir))
		return lw_err_set(err, -r, "bpf-lsm: %s; not falling back to fanotify: %s holds pinned BPF state "
				  "that would go on enforcing the old leases (remove it, or set enforcer=fanotify)",
				  bpf_err.msg, opts->pin_dir ? opts->pin_dir : LW_DEFAULT_PIN_DIR);
	if (why_fallback && why_size)
		snprintf(why_fallback, why_size, "%s", bpf_err.msg);
	r = open_fanotify(opts, out, &fan_err);
	if (r < 0)
		lw_err_set(err, -r, "bpf-lsm: %s; fanotify: %s", bpf_err.msg, fan_err.msg);
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
	if (!enf)
		return;
	if (enf->ops == &lw_fan_enforcer_ops)
		lw_reexec_set_hooks(NULL, NULL, NULL);
	enf->ops->close(enf);
}

struct lw_enforcement *lw_enforcement_bpf(struct lw_enforcement *enf)
{
	return enf && enf->ops == &lw_enforcer_ops ? enf : NULL;
}
