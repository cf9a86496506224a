// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target for the configuration parser: the bytes of a
 * lockwarden.conf. The file is handed to lw_config_load as it is in
 * production (a path), through a memfd. A refusal says which line and why
 * on one line; what is accepted stays within the documented ranges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"

static int memfd = -1;
static char path[64];

static void check_string(const char *s, size_t size, bool absolute)
{
	size_t len = strnlen(s, size);

	if (len == size)
		abort(); /* not terminated within its field */
	if (absolute && len && s[0] != '/')
		abort(); /* paths are absolute: they must not depend on the cwd */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_config cfg;
	struct lw_err err = { "" };
	int r;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	lw_config_defaults(&cfg);
	r = lw_config_load(&cfg, path, true, &err);
	if (r > 0)
		abort(); /* 0 or -errno */
	if (r < 0 && (!err.msg[0] || strchr(err.msg, '\n') ||
		      strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg)))
		abort(); /* a refusal is one line that says why */
	check_string(cfg.socket, sizeof(cfg.socket), true);
	check_string(cfg.pin_dir, sizeof(cfg.pin_dir), true);
	check_string(cfg.state_dir, sizeof(cfg.state_dir), true);
	for (unsigned int i = 0; i < cfg.nr_backend_options; i++) {
		if (i >= LW_CONFIG_BACKEND_OPTIONS_MAX || !lw_backend_exists(cfg.backend_options[i].section))
			abort(); /* only a backend's own section, within bounds */
		check_string(cfg.backend_options[i].key, sizeof(cfg.backend_options[i].key), false);
		check_string(cfg.backend_options[i].value, sizeof(cfg.backend_options[i].value), false);
	}
	check_string(cfg.admin_group, sizeof(cfg.admin_group), false);
	check_string(cfg.backend, sizeof(cfg.backend), false);
	if (!lw_backend_exists(cfg.backend))
		abort();
	if (cfg.max_clients < 1 || cfg.max_clients > 65536 ||
	    cfg.max_images < 1 || cfg.max_images > (1u << 24))
		abort();
	return 0;
}
