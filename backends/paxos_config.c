// SPDX-License-Identifier: LGPL-2.1-or-later
/* The [paxos] section (paxos_config.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paxos_config.h"

static int parse_u64(const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!value[0] || value[0] == '-')
		return -EINVAL;
	v = strtoull(value, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int apply_option(struct lw_paxos_config *c, const char *key, const char *value, struct lw_err *err)
{
	uint64_t v;

	if (!strcmp(key, "lockspace")) {
		if (!value[0] || strlen(value) > SANLK_NAME_LEN || strchr(value, ':'))
			return lw_err_set(err, EINVAL, "[paxos] lockspace: 1 to %d characters, no ':'", SANLK_NAME_LEN);
		snprintf(c->lockspace, sizeof(c->lockspace), "%s", value);
	} else if (!strcmp(key, "lockspace_path")) {
		if (value[0] != '/' || strlen(value) >= sizeof(c->lockspace_path))
			return lw_err_set(err, EINVAL, "[paxos] lockspace_path: an absolute path");
		snprintf(c->lockspace_path, sizeof(c->lockspace_path), "%s", value);
	} else if (!strcmp(key, "lockspace_offset")) {
		if (parse_u64(value, 0, INT64_MAX, &v) || v % 512)
			return lw_err_set(err, EINVAL, "[paxos] lockspace_offset: bytes, a multiple of 512, not \"%s\"",
					  value);
		c->lockspace_offset = v;
	} else if (!strcmp(key, "host_id")) {
		if (parse_u64(value, 1, LW_PAXOS_MAX_HOST_ID, &v))
			return lw_err_set(err, EINVAL, "[paxos] host_id: 1 to %d, not \"%s\"", LW_PAXOS_MAX_HOST_ID, value);
		c->host_id = v;
	} else if (!strcmp(key, "io_timeout")) {
		if (parse_u64(value, 1, 300, &v))
			return lw_err_set(err, EINVAL, "[paxos] io_timeout: 1 to 300 seconds, not \"%s\"", value);
		c->io_timeout = (unsigned int)v;
	} else if (!strcmp(key, "lease_dir")) {
		if (value[0] && (value[0] != '/' || strlen(value) >= sizeof(c->lease_dir) - 64))
			return lw_err_set(err, EINVAL, "[paxos] lease_dir: an absolute path");
		snprintf(c->lease_dir, sizeof(c->lease_dir), "%s", value);
	} else if (!strcmp(key, "join_wait_sec")) {
		if (parse_u64(value, 0, 3600, &v))
			return lw_err_set(err, EINVAL, "[paxos] join_wait_sec: 0 to 3600 seconds, not \"%s\"", value);
		c->join_wait_sec = (unsigned int)v;
	} else {
		return lw_err_set(err, ENOENT, "[paxos] has no key %s", key);
	}
	return 0;
}

int lw_paxos_config_check_option(const char *key, const char *value, struct lw_err *err)
{
	struct lw_paxos_config c;

	memset(&c, 0, sizeof(c));
	return apply_option(&c, key, value, err);
}

int lw_paxos_config_parse(const struct lw_backend_option *options, size_t n, struct lw_paxos_config *c,
			  struct lw_err *err)
{
	memset(c, 0, sizeof(*c));
	c->io_timeout = LW_PAXOS_DEFAULT_IO_TIMEOUT;
	c->join_wait_sec = LW_PAXOS_DEFAULT_JOIN_WAIT_SEC;
	for (size_t i = 0; i < n; i++) {
		int rv = apply_option(c, options[i].key, options[i].value, err);

		if (rv < 0)
			return rv;
	}
	if (!c->lockspace[0] || !c->lockspace_path[0] || !c->host_id)
		return lw_err_set(err, EINVAL, "[paxos] needs lockspace, lockspace_path and host_id");
	return 0;
}
