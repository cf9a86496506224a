// SPDX-License-Identifier: LGPL-2.1-or-later
/* Decode the io.lockwarden.Manager types (Lease, Holder, Status) from a
 * reply's JSON into the library's structs, and free them. */
#include "client/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/process_name.h"
#include "common/terminal.h"

static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* A copy of an optional string member; *out stays NULL when absent. */
static int copy_string(struct json_object *obj, const char *key, bool required, char **out)
{
	struct json_object *v = member(obj, key);

	*out = NULL;
	if (!v)
		return required ? -EBADMSG : 0;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static int get_int(struct json_object *obj, const char *key, bool required, int64_t *out)
{
	struct json_object *v = member(obj, key);

	*out = 0;
	if (!v)
		return required ? -EBADMSG : 0;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return 0;
}

static int holder_from_json(struct json_object *obj, struct lockwarden_holder *h)
{
	struct json_object *kind = member(obj, "kind");
	int64_t v;
	int ret;

	memset(h, 0, sizeof(*h));
	if (!json_object_is_type(obj, json_type_object) || !kind ||
	    !json_object_is_type(kind, json_type_string))
		return -EBADMSG;
	if (strcmp(json_object_get_string(kind), "process") == 0)
		h->kind = LOCKWARDEN_HOLDER_PROCESS;
	else if (strcmp(json_object_get_string(kind), "cgroup") == 0)
		h->kind = LOCKWARDEN_HOLDER_CGROUP;
	else
		return -EBADMSG;
	ret = get_int(obj, "pid", false, &v);
	if (ret < 0)
		return ret;
	h->pid = (pid_t)v;
	ret = get_int(obj, "start_time", false, &v);
	if (ret < 0)
		return ret;
	h->start_time = (uint64_t)v;
	ret = copy_string(obj, "comm", false, &h->comm);
	if (ret < 0)
		return ret;
	return copy_string(obj, "cgroup", false, &h->cgroup);
}

void holders_free(struct lockwarden_holder *holders, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(holders[i].comm);
		free(holders[i].cgroup);
	}
	free(holders);
}

int holders_from_json(struct json_object *array, struct lockwarden_holder **holders, size_t *n)
{
	struct lockwarden_holder *list;
	size_t i, count;
	int ret;

	*holders = NULL;
	*n = 0;
	if (!array || !json_object_is_type(array, json_type_array))
		return -EBADMSG;
	count = json_object_array_length(array);
	if (count == 0)
		return 0;
	list = calloc(count, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		ret = holder_from_json(json_object_array_get_idx(array, i), &list[i]);
		if (ret < 0) {
			holders_free(list, i + 1);
			return ret;
		}
	}
	*holders = list;
	*n = count;
	return 0;
}

struct lockwarden_lease *lease_from_json(struct json_object *obj)
{
	struct lockwarden_lease *lease;
	struct json_object *mode, *pending;
	int64_t v;

	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	lease = calloc(1, sizeof(*lease));
	if (!lease)
		return NULL;
	if (copy_string(obj, "image", true, &lease->image) < 0 ||
	    copy_string(obj, "backend", false, &lease->backend) < 0)
		goto fail;
	mode = member(obj, "mode");
	if (mode && json_object_is_type(mode, json_type_string))
		lease->shared = strcmp(json_object_get_string(mode), "shared") == 0;
	pending = member(obj, "pending");
	lease->pending = pending && json_object_get_boolean(pending);
	if (get_int(obj, "dev", false, &v) < 0)
		goto fail;
	lease->dev = (uint64_t)v;
	if (get_int(obj, "ino", false, &v) < 0)
		goto fail;
	lease->ino = (uint64_t)v;
	if (get_int(obj, "acquired_usec", false, &v) < 0)
		goto fail;
	lease->acquired_usec = (uint64_t)v;
	if (member(obj, "holders") &&
	    holders_from_json(member(obj, "holders"), &lease->holders, &lease->n_holders) < 0)
		goto fail;
	return lease;
fail:
	lockwarden_lease_free(lease);
	return NULL;
}

void lockwarden_lease_free(struct lockwarden_lease *lease)
{
	if (!lease)
		return;
	free(lease->image);
	free(lease->backend);
	holders_free(lease->holders, lease->n_holders);
	free(lease);
}

void lockwarden_lease_list_free(struct lockwarden_lease **leases, size_t n)
{
	size_t i;

	if (!leases)
		return;
	for (i = 0; i < n; i++)
		lockwarden_lease_free(leases[i]);
	free(leases);
}

int status_from_json(struct json_object *obj, struct lockwarden_status *st)
{
	int64_t uptime;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = copy_string(obj, "version", false, &st->version);
	if (!ret)
		ret = copy_string(obj, "backend", false, &st->backend);
	if (!ret)
		ret = copy_string(obj, "pin_dir", false, &st->pin_dir);
	if (!ret)
		ret = get_int(obj, "leases", false, &st->leases);
	if (!ret)
		ret = get_int(obj, "max_images", false, &st->max_images);
	if (!ret)
		ret = get_int(obj, "denials", false, &st->denials);
	if (!ret)
		ret = get_int(obj, "suppressed", false, &st->suppressed);
	if (!ret)
		ret = get_int(obj, "ringbuf_dropped", false, &st->ringbuf_dropped);
	if (!ret)
		ret = get_int(obj, "uptime_usec", false, &uptime);
	if (!ret)
		ret = copy_string(obj, "enforcer", false, &st->enforcer);
	if (!ret)
		ret = copy_string(obj, "enforcer_limits", false, &st->enforcer_limits);
	if (ret < 0) {
		lockwarden_status_clear(st);
		return ret;
	}
	st->uptime_usec = (uint64_t)uptime;
	return 0;
}

void lockwarden_status_clear(struct lockwarden_status *st)
{
	free(st->version);
	free(st->backend);
	free(st->pin_dir);
	free(st->enforcer);
	free(st->enforcer_limits);
	memset(st, 0, sizeof(*st));
}

char *holders_format(const struct lockwarden_holder *holders, size_t n, char *buf, size_t len,
		     bool escape)
{
	char comm[256], cgroup[1024], pid[16];
	size_t off = 0, i;
	int w;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		const struct lockwarden_holder *h = &holders[i];
		const char *sep = i ? ", " : "";
		const char *c = h->comm, *g = h->cgroup ? h->cgroup : "?";

		if (escape) {
			c = c ? lw_terminal_escape(c, comm, sizeof(comm)) : NULL;
			g = lw_terminal_escape(g, cgroup, sizeof(cgroup));
		}
		snprintf(pid, sizeof(pid), "%d", (int)h->pid);
		w = snprintf(buf + off, len - off, "%s", sep);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
		w = lw_holder_name(buf + off, len - off, pid, c,
				   h->kind == LOCKWARDEN_HOLDER_CGROUP ? g : NULL);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

char *lockwarden_holders_format(const struct lockwarden_holder *holders, size_t n,
				char *buf, size_t len)
{
	return holders_format(holders, n, buf, len, true);
}
