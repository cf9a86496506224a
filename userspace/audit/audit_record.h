/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing the one JSON record every sink renders (internal to audit/). */
#ifndef LW_AUDIT_RECORD_H
#define LW_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "audit/audit.h"
#include "common/json_write.h"

/* Each appends one record's JSON text (no newline) to b: 0, or -ENOMEM
 * with b as it was. A denial's exe is NULL when the process is gone. */
int lw_audit_record_denial(struct lw_json_buf *b, const struct lw_denial *ev,
			   const struct lw_audit_lease_ctx *ctx, const char *exe, int64_t wall_ns);
int lw_audit_record_lease(struct lw_json_buf *b, const struct lw_audit_lease_record *rec,
			  int64_t wall_ns);
int lw_audit_record_suppressed(struct lw_json_buf *b, uint32_t uid, uint64_t count,
			       unsigned int limit, int64_t wall_ns);

/* Clocks: the kernel stamps events with boot time; records carry wall time. */
int64_t lw_audit_now_ns(void);
int64_t lw_audit_wall_ns_of_boot_ns(uint64_t boot_ns);
/* RFC 3339 in UTC with nanoseconds: 2026-11-30T01:26:47.123456789Z */
void lw_audit_format_time(int64_t wall_ns, char *buf, size_t len);

const char *lw_audit_lease_event_name(enum lw_lease_event event);
/* "O_WRONLY|O_TRUNC|0x4000000": names for the known bits, hex for the rest. */
void lw_audit_open_flags_names(uint32_t flags, char *buf, size_t len);

#endif /* LW_AUDIT_RECORD_H */
