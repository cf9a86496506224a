// SPDX-License-Identifier: LGPL-2.1-or-later
/* mkdir -p (mkdirs.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/mkdirs.h"

int lw_mkdirs_for_mode(const char *path, mode_t mode, struct lw_err *err)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return lw_err_set(err, ENAMETOOLONG, "path too long: %.64s...", path);
	/* every prefix that ends before a '/', so not path itself */
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return lw_err_set(err, errno, "cannot create folder %.150s: %s", buf,
					  strerror(errno));
		*p = '/';
	}
	return 0;
}

int lw_mkdirs_for(const char *path)
{
	return lw_mkdirs_for_mode(path, 0755, NULL);
}

int lw_mkdirs(const char *path, mode_t mode)
{
	int r = lw_mkdirs_for(path);

	if (r < 0)
		return r;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
