/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [paxos] section of lockwarden.conf (keys in backends/paxos.c and
 * lockwarden.conf(5)). */
#ifndef LW_PAXOS_CONFIG_H
#define LW_PAXOS_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include <sanlock.h>

#include "backend.h"

#define LW_PAXOS_DEFAULT_IO_TIMEOUT 10
#define LW_PAXOS_DEFAULT_JOIN_WAIT_SEC 60
#define LW_PAXOS_MAX_HOST_ID 2000

struct lw_paxos_config {
	char lockspace[SANLK_NAME_LEN + 1];
	char lockspace_path[SANLK_PATH_LEN];
	uint64_t lockspace_offset;
	uint64_t host_id;
	unsigned int io_timeout;
	char lease_dir[PATH_MAX];
	unsigned int join_wait_sec;
};

/* One key, checked without state (config load): -ENOENT unknown, -EINVAL bad. */
int lw_paxos_config_check_option(const char *key, const char *value, struct lw_err *err);

/* The defaults, then options in order; -EINVAL if a required key is missing. */
int lw_paxos_config_parse(const struct lw_backend_option *options, size_t n, struct lw_paxos_config *c,
			  struct lw_err *err);

#endif /* LW_PAXOS_CONFIG_H */
