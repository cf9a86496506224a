/* Is a leased image open for write by someone who is not a holder?
 *
 * The enforcer's own check (lw_enforcer_add_lease_flags without
 * LW_LEASE_FORCE) exempts only the calling process; but the keeper holds a
 * duplicate of a direct-mode lock descriptor (open for write on the image
 * itself), and it must get it before the lease exists: the kernel refuses to
 * pass a leased image's write descriptor to a non-holder (file_receive). So
 * the daemon inserts the lease forced, then runs this check, which also
 * exempts descriptors of the daemon's own open file descriptions wherever
 * they are, and rolls back if it finds a writer. */
#ifndef LW_DAEMON_BUSY_H
#define LW_DAEMON_BUSY_H

#include <stdbool.h>

#include "enforcer/enforcer.h"

/* fd: the daemon's descriptor of the image. 0 if nobody else writes; -EBUSY
 * with *writer naming the first writer (pid 0: a writer in no descriptor
 * table, e.g. a shared writable mapping); other -errno if the check failed. */
int lw_busy_check(struct lw_enforcer *enf, int fd, const struct lw_image_key *key,
		  const struct lw_holder *holder, bool regular_file, struct lw_writer *writer);

#endif /* LW_DAEMON_BUSY_H */
