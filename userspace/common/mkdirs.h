/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mkdir -p: the daemon's folders (socket, state) and the audit log's. */
#ifndef LW_COMMON_MKDIRS_H
#define LW_COMMON_MKDIRS_H

#include <sys/types.h>
#include "common/err.h"

/* mkdir -p of the folder that will hold path, each folder it creates with
 * mode; err (if not NULL) names the folder that could not be made. */
int lw_mkdirs_for_mode(const char *path, mode_t mode, struct lw_err *err);
/* The same with 0755 folders. */
int lw_mkdirs_for(const char *path);
/* mkdir -p path (mode for the last component, 0755 for parents). */
int lw_mkdirs(const char *path, mode_t mode);

#endif /* LW_COMMON_MKDIRS_H */
