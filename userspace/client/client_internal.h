/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between liblockwarden's own files; not installed. */
#ifndef LOCKWARDEN_CLIENT_INTERNAL_H
#define LOCKWARDEN_CLIENT_INTERNAL_H

#include <json-c/json.h>

#include "lockwarden/client.h"

/* Not part of liblockwarden.so's interface. */
#pragma GCC visibility push(hidden)

/* Decoding of the interface's types (lease.c). Return NULL / -errno when
 * the daemon sent something that does not match the interface. */
struct lockwarden_lease *lease_from_json(struct json_object *obj);
int holders_from_json(struct json_object *array, struct lockwarden_holder **holders,
		      size_t *n);
void holders_free(struct lockwarden_holder *holders, size_t n);
/* lockwarden_holders_format, with names escaped for a terminal or raw
 * (raw when the whole text is escaped later, as error messages are). */
char *holders_format(const struct lockwarden_holder *holders, size_t n, char *buf, size_t len,
		     bool escape);
int status_from_json(struct json_object *obj, struct lockwarden_status *status);

/* The daemon's own error names: io.lockwarden.NAME. */
#define MANAGER_ERROR(name) "io.lockwarden." name

/* Error reporting (error.c): the message is escaped for a terminal as a
 * whole (common/terminal.h), whatever the daemon put in it. */
int error_set(struct lockwarden_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fill err from a varlink error reply; returns its negative errno. */
int error_from_reply(struct lockwarden_error *err, const char *name,
		     struct json_object *parameters);

#pragma GCC visibility pop

#endif
