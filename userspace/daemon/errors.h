/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The io.lockwarden.Manager errors, as varlink error replies. Each returns a
 * new object (NULL only when out of memory). */
#ifndef LW_DAEMON_ERRORS_H
#define LW_DAEMON_ERRORS_H

#include <json-c/json.h>

#include "lease.h"

struct json_object *lw_error_lease_held(const char *image, const struct lw_lease_entry *e);
struct json_object *lw_error_image_not_found(const char *image, const char *reason);
struct json_object *lw_error_image_busy(const char *image, int pid, const char *comm);
struct json_object *lw_error_not_holder(const char *image);
struct json_object *lw_error_permission_denied(const char *reason);
struct json_object *lw_error_capacity_exceeded(unsigned int max);
/* The same, saying which limit (e.g. the per-user cap). */
struct json_object *lw_error_capacity_exceeded_why(unsigned int max, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct json_object *lw_error_resource_limit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct json_object *lw_error_backend_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct json_object *lw_error_invalid_parameter(const char *parameter);
/* The same, with a reason a person can act on. */
struct json_object *lw_error_invalid_parameter_why(const char *parameter, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* LW_DAEMON_ERRORS_H */
