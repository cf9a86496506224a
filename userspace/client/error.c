// SPDX-License-Identifier: LGPL-2.1-or-later
/* Turn varlink error replies into errno + a one-line message a person can
 * act on ("lease held by pid 1234 (qemu-system-x86)"). */
#include "client/client_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/terminal.h"
#include "common/varlink.h"

/* The public struct lockwarden_error on top of the internal convention
 * (common/err.h): the reason is formatted there, then escaped for a
 * terminal, since names in it come from other processes. */
int error_set(struct lockwarden_error *err, int code, const char *fmt, ...)
{
	struct lw_err raw;
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	err->code = lw_err_setv(&raw, -code, fmt, ap);
	va_end(ap);
	err->name[0] = '\0';
	lw_terminal_escape(raw.msg, err->message, sizeof(err->message));
	return code;
}

static bool has_param(struct json_object *parameters, const char *key)
{
	return json_object_object_get_ex(parameters, key, NULL);
}

static const char *string_param(struct json_object *parameters, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(parameters, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "?";
}

static int64_t int_param(struct json_object *parameters, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(parameters, key, &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return 0;
}

static int lease_held(struct lockwarden_error *err, struct json_object *parameters)
{
	struct json_object *array = NULL;
	struct lockwarden_holder *holders = NULL;
	char who[256];
	size_t n = 0;

	if (json_object_object_get_ex(parameters, "releasing", &array) && json_object_get_boolean(array))
		return error_set(err, -EBUSY, "lease held: it was just released and the backend is still "
				 "letting it go; try again in a moment");
	json_object_object_get_ex(parameters, "holders", &array);
	if (holders_from_json(array, &holders, &n) < 0 || n == 0)
		return error_set(err, -EBUSY, "lease held by another holder");
	holders_format(holders, n, who, sizeof(who), false);
	holders_free(holders, n);
	return error_set(err, -EBUSY, "lease held by %s", who);
}

int error_from_reply(struct lockwarden_error *err, const char *name,
		     struct json_object *parameters)
{
	int ret;

	if (strcmp(name, MANAGER_ERROR("LeaseHeld")) == 0)
		ret = lease_held(err, parameters);
	else if (strcmp(name, MANAGER_ERROR("ImageNotFound")) == 0)
		ret = error_set(err, -ENOENT, "image not found: %s",
				string_param(parameters, "reason"));
	else if (strcmp(name, MANAGER_ERROR("ImageBusy")) == 0)
		ret = error_set(err, -ETXTBSY, "image open for write by pid %lld (%s)",
				(long long)int_param(parameters, "pid"),
				string_param(parameters, "comm"));
	else if (strcmp(name, MANAGER_ERROR("NotHolder")) == 0)
		ret = error_set(err, -ENOLCK, "not a holder of the lease");
	else if (strcmp(name, MANAGER_ERROR("PermissionDenied")) == 0)
		ret = error_set(err, -EPERM, "permission denied: %s",
				string_param(parameters, "reason"));
	else if (strcmp(name, MANAGER_ERROR("CapacityExceeded")) == 0)
		ret = has_param(parameters, "reason")
			? error_set(err, -ENOSPC, "capacity exceeded: %s", string_param(parameters, "reason"))
			: error_set(err, -ENOSPC, "capacity exceeded: at most %lld images",
				    (long long)int_param(parameters, "max"));
	else if (strcmp(name, MANAGER_ERROR("ResourceLimit")) == 0)
		ret = error_set(err, -EAGAIN, "lockwardend refused the connection: %s",
				string_param(parameters, "reason"));
	else if (strcmp(name, MANAGER_ERROR("BackendFailure")) == 0)
		ret = error_set(err, -EIO, "backend failure: %s",
				string_param(parameters, "reason"));
	else if (strcmp(name, MANAGER_ERROR("InvalidParameter")) == 0 ||
		 strcmp(name, VARLINK_ERROR_INVALID_PARAMETER) == 0)
		ret = has_param(parameters, "reason")
			? error_set(err, -EINVAL, "invalid parameter %s: %s",
				    string_param(parameters, "parameter"), string_param(parameters, "reason"))
			: error_set(err, -EINVAL, "invalid parameter: %s",
				    string_param(parameters, "parameter"));
	else if (strcmp(name, VARLINK_ERROR_METHOD_NOT_FOUND) == 0 ||
		 strcmp(name, VARLINK_ERROR_INTERFACE_NOT_FOUND) == 0 ||
		 strcmp(name, VARLINK_ERROR_METHOD_NOT_IMPLEMENTED) == 0)
		ret = error_set(err, -EOPNOTSUPP, "lockwardend does not support this call (%s)",
				name);
	else
		ret = error_set(err, -EPROTO, "lockwardend replied %s", name);
	if (err)
		snprintf(err->name, sizeof(err->name), "%s", name);
	return ret;
}
