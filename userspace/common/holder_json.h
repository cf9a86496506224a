/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one JSON layout of a holder, shared by the protocol, the state file
 * and the audit records:
 *   {"kind":"process", "pid", "start_time", "comm"} or
 *   {"kind":"cgroup", "cgroup", "cgroup_id" (where asked for)}. */
#ifndef LW_COMMON_HOLDER_JSON_H
#define LW_COMMON_HOLDER_JSON_H

#include <stdbool.h>
#include <json-c/json.h>
#include "common/lease_types.h"

/* Adds holder's fields to o. comm and cgroup are the caller's JSON values
 * for the names (how it encodes them is its choice; NULL gives null), and
 * o takes them over, also the one the holder's kind does not use. */
void lw_holder_json_add(struct json_object *o, const struct lw_holder *holder,
			struct json_object *comm, struct json_object *cgroup, bool with_cgroup_id);

#endif /* LW_COMMON_HOLDER_JSON_H */
