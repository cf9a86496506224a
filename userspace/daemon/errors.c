// SPDX-License-Identifier: LGPL-2.1-or-later
/* Builders for the named errors of io.lockwarden.Manager. */
#include <stdarg.h>
#include <stdio.h>

#include "common/json_write.h"
#include "common/varlink.h"
#include "errors.h"
#include "lease_json.h"

#define ERR(name) "io.lockwarden." name

static struct json_object *error_with(const char *name, const char *k1, struct json_object *v1,
				      const char *k2, struct json_object *v2)
{
	struct json_object *p = json_object_new_object();

	if (!p)
		return NULL;
	if (k1)
		json_object_object_add(p, k1, v1);
	if (k2)
		json_object_object_add(p, k2, v2);
	return varlink_error_new(name, p);
}

/* The reason of an error, formatted as the caller asked. */
static struct json_object *reason_of(const char *fmt, va_list ap)
{
	char reason[512];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	return json_object_new_string(reason);
}

struct json_object *lw_error_lease_held(const char *image, const struct lw_lease_entry *e)
{
	struct lw_json_buf text = { 0 };
	struct json_object *holders;

	/* held on another host: the backend knows no holders we could name */
	lw_json_open(&text, '[');
	for (unsigned int i = 0; e && i < e->nr_holders; i++) {
		lw_json_item(&text);
		lw_lease_holder_json_put(&text, &e->holders[i], false);
	}
	lw_json_close(&text, ']');
	holders = lw_json_end(&text, 0) < 0 ? NULL : lw_json_new_raw(text.text, text.len);
	lw_json_buf_free(&text);
	return error_with(ERR("LeaseHeld"), "image", json_object_new_string(image), "holders", holders);
}

struct json_object *lw_error_image_not_found(const char *image, const char *reason)
{
	return error_with(ERR("ImageNotFound"), "image", json_object_new_string(image),
			  "reason", json_object_new_string(reason));
}

struct json_object *lw_error_image_busy(const char *image, int pid, const char *comm)
{
	struct json_object *e = error_with(ERR("ImageBusy"), "image", json_object_new_string(image),
					   "pid", json_object_new_int(pid));
	struct json_object *p;

	if (e && json_object_object_get_ex(e, "parameters", &p))
		json_object_object_add(p, "comm", json_object_new_string(comm));
	return e;
}

struct json_object *lw_error_not_holder(const char *image)
{
	return error_with(ERR("NotHolder"), "image", json_object_new_string(image), NULL, NULL);
}

struct json_object *lw_error_permission_denied(const char *reason)
{
	return error_with(ERR("PermissionDenied"), "reason", json_object_new_string(reason), NULL, NULL);
}

struct json_object *lw_error_capacity_exceeded(unsigned int max)
{
	return error_with(ERR("CapacityExceeded"), "max", json_object_new_int64(max), NULL, NULL);
}

struct json_object *lw_error_capacity_exceeded_why(unsigned int max, const char *fmt, ...)
{
	struct json_object *why;
	va_list ap;

	va_start(ap, fmt);
	why = reason_of(fmt, ap);
	va_end(ap);
	return error_with(ERR("CapacityExceeded"), "max", json_object_new_int64(max),
			  "reason", why);
}

struct json_object *lw_error_resource_limit(const char *fmt, ...)
{
	struct json_object *why;
	va_list ap;

	va_start(ap, fmt);
	why = reason_of(fmt, ap);
	va_end(ap);
	return error_with(ERR("ResourceLimit"), "reason", why, NULL, NULL);
}

struct json_object *lw_error_backend_failure(const char *fmt, ...)
{
	struct json_object *why;
	va_list ap;

	va_start(ap, fmt);
	why = reason_of(fmt, ap);
	va_end(ap);
	return error_with(ERR("BackendFailure"), "reason", why, NULL, NULL);
}

struct json_object *lw_error_invalid_parameter(const char *parameter)
{
	return error_with(ERR("InvalidParameter"), "parameter", json_object_new_string(parameter),
			  NULL, NULL);
}

struct json_object *lw_error_invalid_parameter_why(const char *parameter, const char *fmt, ...)
{
	struct json_object *why;
	va_list ap;

	va_start(ap, fmt);
	why = reason_of(fmt, ap);
	va_end(ap);
	return error_with(ERR("InvalidParameter"), "parameter", json_object_new_string(parameter),
			  "reason", why);
}
