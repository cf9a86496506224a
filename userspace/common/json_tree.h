/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building json-c trees on the lease round trip's path. */
#ifndef LW_COMMON_JSON_TREE_H
#define LW_COMMON_JSON_TREE_H

#include <json-c/json.h>

/* Adds a member under a key the tree may keep a pointer to (a string
 * literal) and that the object does not have yet. json_object_object_add
 * copies every key and looks it up first: a strdup/free pair and a hash
 * lookup a member for nothing. (Records the daemon writes are streamed,
 * json_write.h: no tree at all.) */
static inline int lw_json_add(struct json_object *o, const char *literal_key, struct json_object *v)
{
	return json_object_object_add_ex(o, literal_key, v,
					 JSON_C_OBJECT_ADD_CONSTANT_KEY | JSON_C_OBJECT_ADD_KEY_IS_NEW);
}

#endif /* LW_COMMON_JSON_TREE_H */
