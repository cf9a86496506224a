// SPDX-License-Identifier: LGPL-2.1-or-later
/* The [audit] section of lockwarden.conf (keys listed in audit.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "audit/audit.h"

void lw_audit_config_defaults(struct lw_audit_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->file = true;
	cfg->max_records_per_uid_per_min = 600;
	snprintf(cfg->file_path, sizeof(cfg->file_path), "%s", LW_AUDIT_DEFAULT_PATH);
}

static int parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(value, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int lw_audit_config_set(struct lw_audit_config *cfg, const char *key, const char *value)
{
	if (!strcmp(key, "file"))
		return parse_bool(value, &cfg->file);
	if (!strcmp(key, "fsync"))
		return parse_bool(value, &cfg->fsync);
	if (!strcmp(key, "journal"))
		return parse_bool(value, &cfg->journal);
	if (!strcmp(key, "linux_audit"))
		return parse_bool(value, &cfg->linux_audit);
	if (!strcmp(key, "max_records_per_uid_per_min")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v > 1000000)
			return -EINVAL;
		cfg->max_records_per_uid_per_min = (unsigned int)v;
		return 0;
	}
	if (!strcmp(key, "path")) {
		if (value[0] != '/' || strlen(value) >= sizeof(cfg->file_path))
			return -EINVAL;
		snprintf(cfg->file_path, sizeof(cfg->file_path), "%s", value);
		return 0;
	}
	return -ENOENT;
}
