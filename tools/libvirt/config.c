// SPDX-License-Identifier: LGPL-2.1-or-later
/* Parsed with libinih, which splits `key = value` lines and skips `#`
 * comments; libvirt's format adds quoted strings, unquoted here. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/config.h"
#include "lockwarden/client.h"

struct parse {
	struct lw_plugin_config *cfg;
	bool require_set;
	char *err;
	size_t err_size;
};

void lw_plugin_config_defaults(struct lw_plugin_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->auto_disk_leases = true;
	cfg->require_lease_for_disks = false;
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", LOCKWARDEN_SOCKET_DEFAULT);
	cfg->holder = LW_PLUGIN_HOLDER_PROCESS;
	cfg->timeout_ms = LW_PLUGIN_TIMEOUT_MS_DEFAULT;
}

bool lw_plugin_config_equal(const struct lw_plugin_config *a, const struct lw_plugin_config *b)
{
	return a->auto_disk_leases == b->auto_disk_leases &&
	       a->require_lease_for_disks == b->require_lease_for_disks &&
	       strcmp(a->socket, b->socket) == 0 && a->holder == b->holder &&
	       a->timeout_ms == b->timeout_ms;
}

/* A quoted value ("..." or '...') without its quotes; NULL if not quoted. */
static const char *unquote(const char *value, char *buf, size_t size)
{
	size_t n = strlen(value);

	if (n < 2 || (value[0] != '"' && value[0] != '\'') || value[n - 1] != value[0])
		return NULL;
	if (n - 2 >= size || memchr(value + 1, value[0], n - 2))
		return NULL;
	memcpy(buf, value + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

static int bad(struct parse *p, const char *fmt, const char *key, const char *value)
{
	if (!p->err[0]) /* the first error is the one inih reports the line of */
		snprintf(p->err, p->err_size, fmt, key, value);
	return 0; /* inih: stop here and return this line's number */
}

static int parse_bool(struct parse *p, const char *key, const char *value, bool *out)
{
	if (strcmp(value, "0") == 0 || strcmp(value, "1") == 0) {
		*out = value[0] == '1';
		return 1;
	}
	return bad(p, "%s must be 0 or 1, not %s", key, value);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse *p = user;
	char str[512];
	const char *s;

	if (section[0])
		return bad(p, "no sections in this file (found [%s]%s)", section, "");
	s = unquote(value, str, sizeof(str));
	if (strcmp(key, "auto_disk_leases") == 0)
		return parse_bool(p, key, value, &p->cfg->auto_disk_leases);
	if (strcmp(key, "require_lease_for_disks") == 0) {
		p->require_set = true;
		return parse_bool(p, key, value, &p->cfg->require_lease_for_disks);
	}
	if (strcmp(key, "socket") == 0) {
		if (!s || s[0] != '/')
			return bad(p, "%s must be a quoted absolute path, not %s", key, value);
		if (strlen(s) >= sizeof(p->cfg->socket))
			return bad(p, "%s is too long: %s", key, value);
		snprintf(p->cfg->socket, sizeof(p->cfg->socket), "%s", s);
		return 1;
	}
	if (strcmp(key, "holder") == 0) {
		if (s && strcmp(s, "process") == 0)
			p->cfg->holder = LW_PLUGIN_HOLDER_PROCESS;
		else if (s && strcmp(s, "cgroup") == 0)
			p->cfg->holder = LW_PLUGIN_HOLDER_CGROUP;
		else
			return bad(p, "%s must be \"process\" or \"cgroup\", not %s", key, value);
		return 1;
	}
	if (strcmp(key, "timeout_ms") == 0) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(value, &end, 10);
		if (errno || *end || end == value || value[0] == '-' || ms == 0 || ms > 3600000)
			return bad(p, "%s must be a number of milliseconds from 1 to 3600000, not %s",
				   key, value);
		p->cfg->timeout_ms = (unsigned)ms;
		return 1;
	}
	return bad(p, "unknown key %s%s", key, "");
}

int lw_plugin_config_load(struct lw_plugin_config *cfg, const char *path, char *err,
			  size_t err_size)
{
	struct parse p = { .cfg = cfg, .err = err, .err_size = err_size };
	FILE *f;
	int r;

	lw_plugin_config_defaults(cfg);
	err[0] = '\0';
	if (!path)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0; /* no file: the defaults, as lockd does */
		snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	r = ini_parse_file(f, on_key, &p);
	fclose(f);
	if (r != 0) {
		char why[512];

		/* r: the number of the first line inih could not split or we refused */
		snprintf(why, sizeof(why), "%s", err[0] ? err : "expected key = value");
		snprintf(err, err_size, "%s:%d: %s", path, r, why);
		return -1;
	}
	if (!p.require_set)
		cfg->require_lease_for_disks = !cfg->auto_disk_leases;
	return 0;
}
