/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For unit tests: a lease as the state file writes it, parsed back into a
 * json-c tree. Include after cmocka.h. */
#ifndef LW_TESTS_LEASE_TREE_H
#define LW_TESTS_LEASE_TREE_H

#include <json-c/json.h>

#include "common/json_write.h"
#include "daemon/lease_json.h"

static struct json_object *lease_tree(const struct lw_lease_entry *e)
{
	struct lw_json_buf b = { 0 };
	struct json_object *o;

	lw_lease_json_put(&b, e, true, false);
	assert_int_equal(lw_json_end(&b, 0), 0);
	o = json_tokener_parse(b.text);
	assert_non_null(o);
	lw_json_buf_free(&b);
	return o;
}

#endif /* LW_TESTS_LEASE_TREE_H */
