// SPDX-License-Identifier: LGPL-2.1-or-later
/* The JSON layout of a holder (holder_json.h). */
#include "common/holder_json.h"

void lw_holder_json_put(struct lw_json_buf *b, const struct lw_holder *holder, const char *comm,
			const char *cgroup, bool with_cgroup_id,
			void (*put_name)(struct lw_json_buf *b, const char *name))
{
	if (holder->kind == LW_HOLDER_CGROUP) {
		lw_json_key(b, "kind");
		lw_json_string(b, "cgroup", 6);
		lw_json_key(b, "cgroup");
		put_name(b, cgroup);
		if (with_cgroup_id) {
			lw_json_key(b, "cgroup_id");
			lw_json_uint(b, holder->cgroup_id);
		}
		return;
	}
	lw_json_key(b, "kind");
	lw_json_string(b, "process", 7);
	lw_json_key(b, "pid");
	lw_json_int(b, holder->pid);
	lw_json_key(b, "start_time");
	lw_json_uint(b, holder->start_time);
	lw_json_key(b, "comm");
	put_name(b, comm);
}
