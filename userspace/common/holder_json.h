/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one JSON layout of a holder, shared by the protocol, the state file
 * and the audit records:
 *   {"kind":"process", "pid", "start_time", "comm"} or
 *   {"kind":"cgroup", "cgroup", "cgroup_id" (where asked for)}. */
#ifndef LW_COMMON_HOLDER_JSON_H
#define LW_COMMON_HOLDER_JSON_H

#include <stdbool.h>
#include "common/json_write.h"
#include "common/lease_types.h"

/* Writes holder's members into the object b is inside. comm and cgroup
 * (NULL: null) are written by put_name, the caller's choice of encoding
 * (lw_json_text as they are; the audit trail makes them valid UTF-8). */
void lw_holder_json_put(struct lw_json_buf *b, const struct lw_holder *holder, const char *comm,
			const char *cgroup, bool with_cgroup_id,
			void (*put_name)(struct lw_json_buf *b, const char *name));

#endif /* LW_COMMON_HOLDER_JSON_H */
