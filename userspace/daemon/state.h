/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease table on disk, so a restarted daemon re-adopts its leases.
 *
 * Two files in the state folder: a snapshot (leases.json, the whole table,
 * written atomically: temporary file, fsync, rename, fsync of the folder)
 * and a journal (leases.journal) of the changes made since, one record a
 * line: "CRC32 JSON\n", the CRC (zlib crc32, 8 hex digits) over the JSON.
 * A change costs one appended record, whatever the size of the table;
 * when the journal outgrows twice the snapshot, the snapshot is written
 * again and the journal starts empty (compaction). While the daemon runs,
 * the journal file is larger than its records: a hole after them (zeros)
 * is room for the next, so that a write need not grow the file; it is
 * cut off at a stop, and one a killed daemon left ends the replay as a
 * torn tail does.
 *
 * What must survive is the daemon's death (kill -9, a crash, a restart),
 * not the host's: a lease cannot outlive the boot it was taken in (its
 * holder, its backend lock, its kernel entry end with it). A record
 * written to the journal is in the page cache, which outlives the daemon,
 * so it is acknowledged without a sync. The snapshot records the boot
 * (/proc/sys/kernel/random/boot_id), and a state from another boot is
 * dropped whole without reading its journal, which a host crash may have
 * left torn anywhere. Snapshots (compactions, rare) are still synced, so
 * the files a new boot finds are whole.
 *
 * The journal's first record names the snapshot it follows (a random id);
 * a journal naming another snapshot is older than the snapshot (a crash
 * between the two renames of a compaction) and is ignored. Each record
 * carries the next sequence number. A record cut by a crash can only be
 * the last: a bad tail with no good record after it is ignored (it was
 * never acknowledged); a bad record followed by a good one is damage and
 * refuses the whole state.
 *
 * Snapshot version 1 (one file, no journal) still loads; the next write
 * upgrades it. */
#ifndef LW_DAEMON_STATE_H
#define LW_DAEMON_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "lease.h"

#define LW_STATE_FILE "leases.json"
#define LW_STATE_JOURNAL "leases.journal"

struct lw_state;

/* Read the snapshot and replay the journal into t (new entries, runtime
 * fields unset). Missing files are an empty state. A state that is not
 * whole and valid (cut or glued snapshot, a duplicate, a bad field, a
 * damaged journal record before a good one, a gap in the sequence) is
 * refused whole: -EBADMSG, err says why on one line, t is left as it was.
 * A state of an earlier boot adds nothing and sets *earlier_boot (if
 * asked). */
int lw_state_load(const char *state_dir, struct lw_lease_table *t, bool *earlier_boot,
		  struct lw_err *err);

/* Write every lease of t as a new snapshot and start an empty journal
 * (a compaction); nothing stays open. */
int lw_state_save(const char *state_dir, struct lw_lease_table *t, struct lw_err *err);

/* lw_state_save, then keep the journal open for changes: *out. */
int lw_state_open(const char *state_dir, struct lw_lease_table *t, struct lw_state **out,
		  struct lw_err *err);
void lw_state_close(struct lw_state *s);

/* Queue the record of one change to e: its new holders, or, when ended,
 * its end (e has left the table). Nothing is written before commit. */
int lw_state_append(struct lw_state *s, const struct lw_lease_entry *e, bool ended,
		    struct lw_err *err);

/* Write the queued records: on return 0 they survive the daemon (above).
 * t is the table after the changes (what a compaction writes). On failure
 * nothing queued is kept, the journal is cut back to what was durable, and
 * the caller undoes the changes. */
int lw_state_commit(struct lw_state *s, struct lw_lease_table *t, struct lw_err *err);

/* Whether records are queued and not yet committed. */
bool lw_state_pending(const struct lw_state *s);

#endif /* LW_DAEMON_STATE_H */
