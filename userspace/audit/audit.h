/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit trail: one record per denied access and per lease change, fanned
 * out to the sinks the config enables (JSON Lines file, systemd journal,
 * Linux audit). Errors are negative errno with a one-line reason
 * (common/err.h): in the caller's struct lw_err for lw_audit_open, else in
 * lw_audit_error().
 *
 * Config keys the daemon reads from the [audit] section (lw_audit_config_set
 * parses them, so the daemon's inih handler only forwards key and value):
 *   file=yes|no         JSON Lines file sink (default yes)
 *   path=PATH           its path (default LW_AUDIT_DEFAULT_PATH)
 *   fsync=yes|no        fdatasync after every record (default no: see below)
 *   journal=yes|no      systemd journal sink (default no)
 *   linux_audit=yes|no  Linux audit sink, AUDIT_USER_AVC records (default no)
 *   max_records_per_uid_per_min=N  denial records of one uid's processes a
 *                       minute (default 600, 0: no limit); the daemon counts
 *                       the rest and writes one "suppressed" record per uid
 *                       and minute (lw_audit_suppressed)
 *
 * Record schema (the file holds exactly this, one JSON object a line; the
 * journal gets the same fields flattened and upper-cased with a LOCKWARDEN_
 * prefix, e.g. LOCKWARDEN_HOLDER_PID; docs/audit.md has samples):
 *   denial: {"type":"denial", "time_ns", "time" (RFC 3339 UTC, ns), "pid",
 *            "tgid", "uid", "gid", "loginuid" (null: unset), "session"
 *            (null: unset), "comm", "exe" (null: process gone), "path" (as
 *            the kernel resolved it: full for opens, the last component
 *            otherwise), "image" (the lease's image path as the
 *            daemon knows it, null: unknown), "key":{"dev","major","minor",
 *            "ino"}, "op" ("open-write"|"truncate"|"unlink"|"rename"|"write"|"bpf"|"unpin"),
 *            "open_flags", "open_flags_names" ("O_WRONLY|O_TRUNC"..., null
 *            when not an open),
 *            "holder":{"kind":"process","pid","start_time","comm"} or
 *            {"kind":"cgroup","cgroup_id","cgroup"}, "lease_mode"
 *            ("exclusive"|"shared"), "suppressed" (denials of this subject on
 *            this image the kernel rate limit dropped since the last record)}
 *   suppressed: {"type":"suppressed", "time_ns", "time", "uid", "suppressed"
 *            (denials of that uid's processes not written since its last
 *            record of this type), "event":"denials-suppressed", "reason"}
 *   lease:  {"type":"lease", "event" ("acquire"|"release"|"holder-death"|
 *            "forced-release"|"tamper"|"gap-writer"), "time_ns", "time", "image", "key", "lease_mode",
 *            "holder":{...as above}, "reason" (null or free text)}
 *
 * File sink: opened O_APPEND, each record is one write(2) of one line, so
 * concurrent readers never see half a record. Without fsync=yes a record is
 * in the page cache when the call returns and reaches the disk with normal
 * writeback (and on reopen/close, which fdatasync). Volume is bounded by the
 * kernel's rate limit per subject and image, which folds the rest into the
 * next record's "suppressed" count. */
#ifndef LW_AUDIT_H
#define LW_AUDIT_H

#include <linux/types.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/err.h"
#include "common/lease_types.h"

#define LW_AUDIT_DEFAULT_PATH "/var/log/lockwarden/audit.log"
/* journal MESSAGE_IDs: fixed so `journalctl MESSAGE_ID=...` finds them */
#define LW_AUDIT_DENIAL_MESSAGE_ID "7cde1244073345828dfce3643e38d859"
#define LW_AUDIT_LEASE_MESSAGE_ID "658a7333e9a847bd8586dd8b11017e5e"

struct lw_audit;

struct lw_audit_config {
	bool file;
	char file_path[PATH_MAX];
	bool fsync;
	bool journal;
	bool linux_audit;
	unsigned int max_records_per_uid_per_min;	/* 0: no limit */
};

/* Fill cfg with the defaults listed above. */
void lw_audit_config_defaults(struct lw_audit_config *cfg);
/* Apply one [audit] key: -ENOENT for an unknown key, -EINVAL for a bad value. */
int lw_audit_config_set(struct lw_audit_config *cfg, const char *key, const char *value);

/* What the daemon knows about the lease a denial hit (from its lease table,
 * by event->key). Any field may be NULL when unknown. */
struct lw_audit_lease_ctx {
	const char *image;		/* the image path the lease was taken on */
	const char *holder_comm;	/* process holder's command */
	const char *holder_cgroup;	/* cgroup holder's path */
};

enum lw_lease_event {
	LW_LEASE_ACQUIRE = 1,
	LW_LEASE_RELEASE = 2,
	LW_LEASE_HOLDER_DEATH = 3,	/* the holder exited without releasing */
	LW_LEASE_FORCED_RELEASE = 4,	/* an operator or the backend took the lease away */
	LW_LEASE_TAMPER = 5,		/* pins or kernel entries changed behind the daemon's back */
	LW_LEASE_GAP_WRITER = 6,	/* a non-holder opened the image for write while
					 * enforcement was off (holder: that writer) */
};

struct lw_audit_lease_record {
	enum lw_lease_event event;
	const char *image;
	const struct lw_image_key *key;		/* NULL: unknown */
	enum lw_lease_mode mode;
	const struct lw_holder *holder;
	const char *holder_comm;		/* NULL: unknown */
	const char *holder_cgroup;		/* NULL: unknown or not a cgroup holder */
	const char *reason;			/* NULL or why, for forced releases */
	int64_t time_ns;			/* wall clock; 0: now */
};

/* Counters for `lockwarden status`. */
struct lw_audit_stats {
	uint64_t denials;		/* denial records taken */
	uint64_t suppressed;		/* sum of their "suppressed" counts */
	uint64_t lease_events;
	uint64_t sink_errors;		/* records a sink failed to write */
};

/* Open the enabled sinks. The file's folder is created if missing. */
int lw_audit_open(const struct lw_audit_config *cfg, struct lw_audit **out, struct lw_err *why);
/* Record one denial in every enabled sink. Returns 0 if all sinks took it,
 * else the first error (the other sinks still get the record). */
int lw_audit_denial(struct lw_audit *audit, const struct lw_denial *ev,
		    const struct lw_audit_lease_ctx *ctx);
int lw_audit_lease_event(struct lw_audit *audit, const struct lw_audit_lease_record *rec);
/* Record that count denials of uid's processes were not written (the
 * per-uid record limit above). */
int lw_audit_suppressed(struct lw_audit *audit, uint32_t uid, uint64_t count, unsigned int limit);
/* Reopen the file sink by path (SIGHUP after logrotate moved it away). */
int lw_audit_reopen(struct lw_audit *audit);
void lw_audit_stats(const struct lw_audit *audit, struct lw_audit_stats *stats);
void lw_audit_close(struct lw_audit *audit);
const char *lw_audit_error(const struct lw_audit *audit);

#endif /* LW_AUDIT_H */
