/* The state file: the lease table on disk, so a restarted daemon re-adopts
 * its leases. Written atomically (temporary file, fsync, rename, fsync of
 * the folder): a reader sees the old state or the new, never a mix. */
#ifndef LW_DAEMON_STATE_H
#define LW_DAEMON_STATE_H

#include <stddef.h>

#include "lease.h"

#define LW_STATE_FILE "leases.json"

/* Write every lease of t to STATE_DIR/leases.json. */
int lw_state_save(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size);

/* Read STATE_DIR/leases.json into t (new entries, runtime fields unset).
 * A missing file is an empty state. A file that is not one whole, valid
 * state (cut, glued, a duplicate, a bad field) is refused whole: -EBADMSG,
 * err says why on one line, and t is left as it was. */
int lw_state_load(const char *state_dir, struct lw_lease_table *t, char *err, size_t err_size);

#endif /* LW_DAEMON_STATE_H */
