// SPDX-License-Identifier: LGPL-2.1-or-later
/* The systemd journal sink: every record field becomes a LOCKWARDEN_* field
 * (nested objects flattened: LOCKWARDEN_HOLDER_PID), with a fixed MESSAGE_ID
 * per record type so `journalctl MESSAGE_ID=...` finds them all. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-journal.h>
#include "audit/audit.h"
#include "audit/audit_sinks.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define MAX_FIELDS 64

struct fields {
	struct iovec *iov;
	size_t n;
};

static int add_field(struct fields *f, const char *name, const char *value)
{
	char *s;

	if (f->n == MAX_FIELDS)
		return -E2BIG;
	if (asprintf(&s, "%s=%s", name, value) < 0)
		return -ENOMEM;
	f->iov[f->n].iov_base = s;
	f->iov[f->n].iov_len = strlen(s);
	f->n++;
	return 0;
}

/* Journal field names are upper case letters, digits and '_'. */
static void field_name(char *buf, size_t len, const char *prefix, const char *key)
{
	size_t used = (size_t)snprintf(buf, len, "%s", prefix);

	for (; *key && used + 1 < len; key++)
		buf[used++] = isalnum((unsigned char)*key) ? (char)toupper((unsigned char)*key) : '_';
	buf[used] = '\0';
}

static int add_object(struct fields *f, const char *prefix, struct json_object *obj)
{
	char name[128];
	int r;

	json_object_object_foreach(obj, key, value) {
		if (!value)
			continue;	/* null: the field is absent */
		field_name(name, sizeof(name), prefix, key);
		if (json_object_is_type(value, json_type_object)) {
			strncat(name, "_", sizeof(name) - strlen(name) - 1);
			r = add_object(f, name, value);
		} else {
			r = add_field(f, name, json_object_get_string(value));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void lw_audit_journal_fields_free(struct iovec *iov, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(iov[i].iov_base);
	free(iov);
}

int lw_audit_journal_fields(struct json_object *rec, struct iovec **iov_out, size_t *n_out)
{
	struct fields f = { .iov = calloc(MAX_FIELDS, sizeof(struct iovec)) };
	struct json_object *type;
	bool denial;
	char summary[1024];
	int r;

	if (!f.iov)
		return -ENOMEM;
	denial = json_object_object_get_ex(rec, "type", &type) &&
		 !strcmp(json_object_get_string(type), "denial");
	lw_audit_summary(rec, summary, sizeof(summary));
	r = add_field(&f, "MESSAGE", summary);
	if (!r)
		r = add_field(&f, "MESSAGE_ID",
			      denial ? LW_AUDIT_DENIAL_MESSAGE_ID : LW_AUDIT_LEASE_MESSAGE_ID);
	if (!r)	/* warning for denials, info for lease history */
		r = add_field(&f, "PRIORITY", denial ? "4" : "6");
	if (!r)
		r = add_field(&f, "SYSLOG_IDENTIFIER", "lockwardend");
	if (!r)
		r = add_object(&f, "LOCKWARDEN_", rec);
	if (r < 0) {
		lw_audit_journal_fields_free(f.iov, f.n);
		return r;
	}
	*iov_out = f.iov;
	*n_out = f.n;
	return 0;
}

int lw_audit_journal_check(struct lw_err *err)
{
	if (access(JOURNAL_SOCKET, W_OK) < 0)
		return lw_err_set(err, errno, "audit journal: %s: %s (is systemd-journald running?)",
				  JOURNAL_SOCKET, strerror(errno));
	return 0;
}

int lw_audit_journal_write(struct json_object *rec, struct lw_err *err)
{
	struct iovec *iov;
	size_t n;
	int r;

	r = lw_audit_journal_fields(rec, &iov, &n);
	if (r < 0)
		return lw_err_set(err, -r, "audit journal: cannot build fields: %s", strerror(-r));
	r = sd_journal_sendv(iov, (int)n);
	if (r < 0)
		lw_err_set(err, -r, "audit journal: send: %s", strerror(-r));
	lw_audit_journal_fields_free(iov, n);
	return r < 0 ? r : 0;
}
