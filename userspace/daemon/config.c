// SPDX-License-Identifier: LGPL-2.1-or-later
/* The INI configuration, parsed with libinih. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "enforcer/enforcer.h"

void lw_config_defaults(struct lw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", LW_DEFAULT_SOCKET);
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", LW_DEFAULT_PIN_DIR);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", LW_DEFAULT_STATE_DIR);
	snprintf(cfg->enforcer, sizeof(cfg->enforcer), "auto");
	cfg->max_clients = 256;
	cfg->max_images = LW_DEFAULT_MAX_IMAGES;
	cfg->max_leases_per_uid = 4096;
	cfg->max_clients_per_uid = 32;
	cfg->reserved_clients = 16;
	cfg->idle_timeout_sec = 60;
	cfg->lookup_timeout_sec = 10;
	cfg->socket_mode = 0660;
	cfg->protect_holders = true;
	cfg->protect_fs_devices = true;
	snprintf(cfg->backend, sizeof(cfg->backend), "fcntl");
	lw_audit_config_defaults(&cfg->audit);
}

static int set_string(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return -ENAMETOOLONG;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int set_path(char *dst, size_t size, const char *value)
{
	if (value[0] != '/')
		return -EINVAL;	/* relative paths would depend on the daemon's cwd */
	return set_string(dst, size, value);
}

static int set_uint(unsigned int *dst, const char *value, unsigned int min, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || v < min || v > max)
		return -EINVAL;
	*dst = (unsigned int)v;
	return 0;
}

static int set_bool(bool *dst, const char *value)
{
	/* the words [audit] accepts */
	if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcasecmp(value, "on") ||
	    !strcmp(value, "1"))
		*dst = true;
	else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcasecmp(value, "off") ||
		 !strcmp(value, "0"))
		*dst = false;
	else
		return -EINVAL;
	return 0;
}

/* Octal permission bits, as chmod(1) takes them: "0660", "660". */
static int set_mode(unsigned int *dst, const char *value)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 8);
	if (errno || end == value || *end || value[0] == '-' || value[0] == '+' || v > 0777)
		return -EINVAL;
	*dst = (unsigned int)v;
	return 0;
}

/* A key of a backend's own section: the backend checks it now (a typo
 * fails at load, whichever backend is chosen) and parses it at open. A key
 * set again (the file, then an option) keeps its place, with the new value. */
static int set_backend_option(struct lw_config *cfg, const char *section, const char *key, const char *value)
{
	struct lw_config_backend_option *o = NULL;
	int r;

	r = lw_backend_check_option(section, key, value, NULL);
	if (r < 0)
		return r == -ENOENT ? -ENOENT : -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_backend_options && !o; i++)
		if (!strcmp(cfg->backend_options[i].section, section) && !strcmp(cfg->backend_options[i].key, key))
			o = &cfg->backend_options[i];
	if (!o) {
		if (cfg->nr_backend_options == LW_CONFIG_BACKEND_OPTIONS_MAX)
			return -E2BIG;
		o = &cfg->backend_options[cfg->nr_backend_options];
		if (set_string(o->section, sizeof(o->section), section) < 0 ||
		    set_string(o->key, sizeof(o->key), key) < 0)
			return -EINVAL;
		cfg->nr_backend_options++;
	}
	return set_string(o->value, sizeof(o->value), value);
}

static int set_key(struct lw_config *cfg, const char *section, const char *key, const char *value)
{
	if (strcmp(section, "daemon") == 0) {
		if (strcmp(key, "socket") == 0)
			return set_path(cfg->socket, sizeof(cfg->socket), value);
		if (strcmp(key, "pin_dir") == 0)
			return set_path(cfg->pin_dir, sizeof(cfg->pin_dir), value);
		if (strcmp(key, "state_dir") == 0)
			return set_path(cfg->state_dir, sizeof(cfg->state_dir), value);
		if (strcmp(key, "admin_group") == 0)
			return set_string(cfg->admin_group, sizeof(cfg->admin_group), value);
		if (strcmp(key, "max_clients") == 0)
			return set_uint(&cfg->max_clients, value, 1, 65536);
		if (strcmp(key, "max_images") == 0)
			return set_uint(&cfg->max_images, value, 1, 1u << 24);
		if (strcmp(key, "enforcer") == 0) {
			if (strcmp(value, "auto") && strcmp(value, "bpf-lsm") && strcmp(value, "fanotify"))
				return -EINVAL;
			return set_string(cfg->enforcer, sizeof(cfg->enforcer), value);
		}
		if (strcmp(key, "hardened") == 0)
			return set_bool(&cfg->hardened, value);
		if (strcmp(key, "max_leases_per_uid") == 0)
			return set_uint(&cfg->max_leases_per_uid, value, 1, 1u << 24);
		if (strcmp(key, "max_clients_per_uid") == 0)
			return set_uint(&cfg->max_clients_per_uid, value, 1, 65536);
		if (strcmp(key, "reserved_clients") == 0)
			return set_uint(&cfg->reserved_clients, value, 0, 65535);
		if (strcmp(key, "idle_timeout_sec") == 0)
			return set_uint(&cfg->idle_timeout_sec, value, 0, 86400);
		if (strcmp(key, "lookup_timeout_sec") == 0)
			return set_uint(&cfg->lookup_timeout_sec, value, 1, 3600);
		if (strcmp(key, "socket_mode") == 0)
			return set_mode(&cfg->socket_mode, value);
		if (strcmp(key, "socket_group") == 0)
			return set_string(cfg->socket_group, sizeof(cfg->socket_group), value);
		if (strcmp(key, "protect_holders") == 0)
			return set_bool(&cfg->protect_holders, value);
		if (strcmp(key, "protect_fs_devices") == 0)
			return set_bool(&cfg->protect_fs_devices, value);
		return -ENOENT;
	}
	if (strcmp(section, "backend") == 0) {
		if (strcmp(key, "name") == 0) {
			if (!lw_backend_exists(value))
				return -EINVAL;
			return set_string(cfg->backend, sizeof(cfg->backend), value);
		}
		/* the older spelling of [fcntl] lockspace, from before backends had sections */
		if (strcmp(key, "lockspace") == 0)
			return set_backend_option(cfg, "fcntl", key, value);
		return -ENOENT;
	}
	if (strcmp(section, "audit") == 0)
		return lw_audit_config_set(&cfg->audit, key, value);
	if (lw_backend_exists(section))
		return set_backend_option(cfg, section, key, value);
	return -ESRCH;
}

size_t lw_config_backend_options(const struct lw_config *cfg, const char *name,
				 struct lw_backend_option *out, size_t max)
{
	size_t n = 0;

	for (unsigned int i = 0; i < cfg->nr_backend_options && n < max; i++)
		if (strcmp(cfg->backend_options[i].section, name) == 0)
			out[n++] = (struct lw_backend_option){ .key = cfg->backend_options[i].key,
							       .value = cfg->backend_options[i].value };
	return n;
}

/* The reason for set_key's refusal r, one line. */
static int refusal(struct lw_err *err, int r, const char *section, const char *key, const char *value)
{
	if (r == -ESRCH)
		return lw_err_set(err, ESRCH, "unknown section [%.64s]", section);
	if (r == -ENOENT)
		return lw_err_set(err, ENOENT, "unknown key %.64s in [%.64s]", key, section);
	if (r == -E2BIG)
		return lw_err_set(err, E2BIG, "more than %d backend keys", LW_CONFIG_BACKEND_OPTIONS_MAX);
	return lw_err_set(err, -r, "bad value for %.64s in [%.64s]: \"%.64s\"", key, section, value);
}

int lw_config_set(struct lw_config *cfg, const char *section, const char *key, const char *value,
		  struct lw_err *err)
{
	int r = set_key(cfg, section, key, value);

	return r < 0 ? refusal(err, r, section, key, value) : 0;
}

struct load_ctx {
	struct lw_config *cfg;
	int error;
	struct lw_err why;
};

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *ctx = user;
	int r = lw_config_set(ctx->cfg, section, key, value, &ctx->why);

	if (r == 0)
		return 1;
	ctx->error = r;
	return 0;
}

int lw_config_load(struct lw_config *cfg, const char *path, bool required, struct lw_err *err)
{
	struct load_ctx ctx = { .cfg = cfg };
	FILE *f;
	int line;

	f = fopen(path, "re");
	if (!f) {
		int r = -errno;

		if (r == -ENOENT && !required)
			return 0;
		return lw_err_set(err, -r, "%.200s: %s", path, strerror(-r));
	}
	line = ini_parse_file(f, on_key, &ctx);
	fclose(f);
	if (line == 0)
		return 0;
	if (line > 0)
		return lw_err_set(err, ctx.error ? -ctx.error : EINVAL, "%.200s:%d: %s", path, line,
				  ctx.error ? ctx.why.msg : "syntax error");
	return lw_err_set(err, EIO, "%s: cannot read", path);
}

int lw_config_check(const struct lw_config *cfg, struct lw_err *err)
{
	if (cfg->reserved_clients >= cfg->max_clients)
		return lw_err_set(err, EINVAL, "reserved_clients (%u) must be less than max_clients (%u)",
				  cfg->reserved_clients, cfg->max_clients);
	if (cfg->hardened && strcmp(cfg->enforcer, "fanotify") == 0)
		return lw_err_set(err, EINVAL,
				  "hardened needs the bpf-lsm enforcer (fanotify pins nothing to guard)");
	return 0;
}
