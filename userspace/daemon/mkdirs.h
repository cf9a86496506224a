/* Creating the daemon's folders (socket, state) with their parents. */
#ifndef LW_DAEMON_MKDIRS_H
#define LW_DAEMON_MKDIRS_H

#include <sys/types.h>

/* mkdir -p path (mode for the last component, 0755 for parents). */
int lw_mkdirs(const char *path, mode_t mode);
/* mkdir -p of the folder that will hold path. */
int lw_mkdirs_for(const char *path);

#endif /* LW_DAEMON_MKDIRS_H */
