/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A lease as JSON: the protocol's Lease type (io.lockwarden.Manager.varlink),
 * also what the state file stores. */
#ifndef LW_DAEMON_LEASE_JSON_H
#define LW_DAEMON_LEASE_JSON_H

#include <stdbool.h>
#include <json-c/json.h>

#include "common/json_write.h"

#include "lease.h"

/* Write e as one object, the protocol's Lease: {"image",.., "holders":[..],
 * "acquired_usec"}. with_ids adds what only the state file needs (holders'
 * uid, a cgroup holder's id, the backend's lock); pending ends it with
 * "pending":true (a lease the backend has not granted yet). Streamed: the
 * caller checks b with lw_json_end. */
void lw_lease_json_put(struct lw_json_buf *b, const struct lw_lease_entry *e, bool with_ids, bool pending);
/* One holder of a lease as an object, as lw_lease_json_put writes it. */
void lw_lease_holder_json_put(struct lw_json_buf *b, const struct lw_lease_holder *h, bool with_ids);
/* Fills e (runtime fields untouched); -EINVAL with *why if a field is missing or wrong. */
int lw_lease_from_json(struct json_object *obj, struct lw_lease_entry *e, const char **why);
/* o's member name as a number from 0 to UINT64_MAX; -EINVAL if missing, not one or negative. */
int lw_json_get_u64(struct json_object *o, const char *name, uint64_t *dst);

#endif /* LW_DAEMON_LEASE_JSON_H */
