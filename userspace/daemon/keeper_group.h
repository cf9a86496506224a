/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keeper's part in fanotify enforcement (keeper.h): it keeps a copy of
 * the daemon's fanotify group and of the group's shared lease table, and
 * while no daemon is connected it answers the group itself, as the daemon
 * would (holders allowed, non-holders denied), so neither a crash, a
 * restart nor a re-exec opens a window, and no opener waits for a daemon
 * that may not come back. A daemon that takes the group answers it from
 * then on; the keeper keeps its copies all along. Called in the keeper process only. */
#ifndef LW_DAEMON_KEEPER_GROUP_H
#define LW_DAEMON_KEEPER_GROUP_H

#include <stdbool.h>

/* Keep fd as the group ("group") or its table ("table"), in place of the
 * previous one; 0, or -EINVAL for another name. Stops answering first. */
int lw_keeper_group_keep(const char *which, int fd);
/* Stop answering (a daemon takes over): the kept descriptors (-1 if none),
 * still the keeper's, to send. */
void lw_keeper_group_take(int *group_fd, int *table_fd);
/* Stop answering and close the copies. */
void lw_keeper_group_drop(void);
/* Answer the group from now on, if one is kept (no daemon is connected). */
void lw_keeper_group_answer(void);
/* Whether the keeper must stay for the group: it holds one that may still
 * guard leases. */
bool lw_keeper_group_needed(void);

#endif
