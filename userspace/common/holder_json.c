// SPDX-License-Identifier: LGPL-2.1-or-later
/* The JSON layout of a holder (holder_json.h). */
#include "common/holder_json.h"
#include "common/json_tree.h"

void lw_holder_json_add(struct json_object *o, const struct lw_holder *holder,
			struct json_object *comm, struct json_object *cgroup, bool with_cgroup_id)
{
	if (holder->kind == LW_HOLDER_CGROUP) {
		json_object_put(comm);
		lw_json_add(o, "kind", json_object_new_string("cgroup"));
		lw_json_add(o, "cgroup", cgroup);
		if (with_cgroup_id)
			lw_json_add(o, "cgroup_id", json_object_new_uint64(holder->cgroup_id));
		return;
	}
	json_object_put(cgroup);
	lw_json_add(o, "kind", json_object_new_string("process"));
	lw_json_add(o, "pid", json_object_new_int64(holder->pid));
	lw_json_add(o, "start_time", json_object_new_uint64(holder->start_time));
	lw_json_add(o, "comm", comm);
}
