// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lease <-> JSON, one format for the protocol and the state file. */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/holder_json.h"
#include "lease_json.h"

void lw_lease_holder_json_put(struct lw_json_buf *b, const struct lw_lease_holder *h, bool with_ids)
{
	lw_json_open(b, '{');
	if (with_ids) {
		lw_json_key(b, "uid");
		lw_json_uint(b, h->uid);
	}
	lw_holder_json_put(b, &h->id, h->comm, lw_lease_holder_cgroup(h), with_ids, lw_json_text);
	lw_json_close(b, '}');
}

void lw_lease_json_put(struct lw_json_buf *b, const struct lw_lease_entry *e, bool with_ids, bool pending)
{
	lw_json_open(b, '{');
	lw_json_key(b, "image");
	lw_json_text(b, e->image);
	lw_json_key(b, "mode");
	lw_json_text(b, lw_lease_mode_name(e->mode));
	lw_json_key(b, "dev");
	lw_json_uint(b, e->key.dev);
	lw_json_key(b, "ino");
	lw_json_uint(b, e->key.ino);
	lw_json_key(b, "backend");
	lw_json_text(b, e->backend);
	lw_json_key(b, "holders");
	lw_json_open(b, '[');
	for (unsigned int i = 0; i < e->nr_holders; i++) {
		lw_json_item(b);
		lw_lease_holder_json_put(b, &e->holders[i], with_ids);
	}
	lw_json_close(b, ']');
	lw_json_key(b, "acquired_usec");
	lw_json_uint(b, e->acquired_usec);
	/* the backend's lock, for re-adoption: state file only */
	if (with_ids && e->lock_id) {
		lw_json_key(b, "lock");
		lw_json_text(b, e->lock_id);
	}
	if (pending) {
		lw_json_key(b, "pending");
		lw_json_bool(b, true);
	}
	lw_json_close(b, '}');
}

static int get_string(struct json_object *o, const char *name, char *dst, size_t size)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	/* a NUL inside the JSON string would cut it silently: refuse it */
	if (strlen(s) != (size_t)json_object_get_string_len(v) || strlen(s) >= size)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int lw_json_get_u64(struct json_object *o, const char *name, uint64_t *dst)
{
	struct json_object *v;

	/* json-c keeps a negative number as int64 (get_uint64 would make it 0)
	 * and one above INT64_MAX as uint64 (get_int64 would clamp it) */
	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return -EINVAL;
	*dst = json_object_get_uint64(v);
	return 0;
}

static int holder_from_json(struct json_object *o, struct lw_lease_holder *h)
{
	char kind[16], cgroup[LW_PATH_MAX];
	uint64_t v;

	if (get_string(o, "kind", kind, sizeof(kind)) < 0)
		return -EINVAL;
	/* state files from before holders had an owner: root's, seen by admins only */
	h->uid = lw_json_get_u64(o, "uid", &v) == 0 && v <= UINT32_MAX ? (uid_t)v : 0;
	if (strcmp(kind, "cgroup") == 0) {
		h->id.kind = LW_HOLDER_CGROUP;
		if (get_string(o, "cgroup", cgroup, sizeof(cgroup)) < 0 ||
		    lw_json_get_u64(o, "cgroup_id", &h->id.cgroup_id) < 0)
			return -EINVAL;
		return lw_cgroup_path_intern(cgroup, &h->cgroup);
	}
	if (strcmp(kind, "process") != 0)
		return -EINVAL;
	h->id.kind = LW_HOLDER_PROCESS;
	if (lw_json_get_u64(o, "pid", &v) < 0 || v == 0 || v > INT32_MAX ||
	    lw_json_get_u64(o, "start_time", &h->id.start_time) < 0)
		return -EINVAL;
	h->id.pid = (__u32)v;
	if (get_string(o, "comm", h->comm, sizeof(h->comm)) < 0)
		h->comm[0] = '\0';
	return 0;
}

int lw_lease_from_json(struct json_object *obj, struct lw_lease_entry *e, const char **why)
{
	struct json_object *holders, *v;
	char mode[16];
	size_t n;
	int r;

	*why = NULL;
	if (!json_object_is_type(obj, json_type_object))
		return *why = "lease is not an object", -EINVAL;
	if (!json_object_object_get_ex(obj, "image", &v) || !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
	    json_object_get_string(v)[0] != '/')
		return *why = "image missing or not absolute", -EINVAL;
	r = lw_lease_set_image(e, json_object_get_string(v));
	if (r < 0)
		return *why = r == -ENOMEM ? "out of memory" : "image path too long", r == -ENOMEM ? r : -EINVAL;
	if (get_string(obj, "mode", mode, sizeof(mode)) < 0 ||
	    (strcmp(mode, "exclusive") && strcmp(mode, "shared")))
		return *why = "mode missing or not exclusive/shared", -EINVAL;
	e->mode = strcmp(mode, "shared") == 0 ? LW_LEASE_SHARED : LW_LEASE_EXCLUSIVE;
	if (lw_json_get_u64(obj, "dev", &e->key.dev) < 0 || lw_json_get_u64(obj, "ino", &e->key.ino) < 0)
		return *why = "dev or ino missing", -EINVAL;
	if (get_string(obj, "backend", e->backend, sizeof(e->backend)) < 0)
		return *why = "backend missing", -EINVAL;
	if (lw_json_get_u64(obj, "acquired_usec", &e->acquired_usec) < 0)
		return *why = "acquired_usec missing", -EINVAL;
	/* state files from before backends named their locks have none */
	if (json_object_object_get_ex(obj, "lock", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
		    json_object_get_string_len(v) >= LW_LEASE_LOCK_ID_MAX)
			return *why = "lock is not a string", -EINVAL;
		if (lw_lease_set_lock_id(e, json_object_get_string(v)) < 0)
			return *why = "out of memory", -ENOMEM;
	}
	if (!json_object_object_get_ex(obj, "holders", &holders) ||
	    !json_object_is_type(holders, json_type_array))
		return *why = "holders missing", -EINVAL;
	n = json_object_array_length(holders);
	if (n == 0 || n > LW_MAX_HOLDERS || (e->mode == LW_LEASE_EXCLUSIVE && n > 1))
		return *why = "wrong number of holders", -EINVAL;
	e->nr_holders = 0;
	for (size_t i = 0; i < n; i++) {
		struct lw_lease_holder *h = lw_lease_new_holder(e);

		if (!h)
			return *why = "out of memory", -ENOMEM;
		r = holder_from_json(json_object_array_get_idx(holders, i), h);
		if (r == -ENOMEM)
			return *why = "out of memory", r;
		if (r < 0)
			return *why = "a holder is malformed", -EINVAL;
	}
	return 0;
}
