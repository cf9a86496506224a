/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The three sinks behind audit.c's fan-out (internal to audit/). Each
 * returns 0 or negative errno and, on error, leaves a one-line reason in err
 * (common/err.h). */
#ifndef LW_AUDIT_SINKS_H
#define LW_AUDIT_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
#include <json-c/json.h>
#include "common/err.h"

/* JSON Lines file: one record a line, one write(2) a record. */
struct lw_audit_file {
	int fd;
	bool fsync;
	char path[4096];
};

int lw_audit_file_open(struct lw_audit_file *file, const char *path, bool fsync,
		       struct lw_err *err);
/* line: one record's text and its newline. */
int lw_audit_file_write(struct lw_audit_file *file, const char *line, size_t len,
			struct lw_err *err);
/* Open path again; the old descriptor stays in use if that fails. */
int lw_audit_file_reopen(struct lw_audit_file *file, struct lw_err *err);
void lw_audit_file_close(struct lw_audit_file *file);

/* systemd journal: the record's fields flattened, plus MESSAGE and MESSAGE_ID. */
int lw_audit_journal_check(struct lw_err *err);
int lw_audit_journal_write(struct json_object *rec, struct lw_err *err);

/* Journal fields of a record as "NAME=value" strings (kept for the unit
 * tests, which cannot reach a journal on the host). Free with
 * lw_audit_journal_fields_free. */
int lw_audit_journal_fields(struct json_object *rec, struct iovec **iov, size_t *n);
void lw_audit_journal_fields_free(struct iovec *iov, size_t n);

/* The human sentence both journal and Linux audit use:
 * "denied open-write of /img by pid 12 (dd)". */
void lw_audit_summary(struct json_object *rec, char *buf, size_t len);

/* Linux audit: AUDIT_USER_AVC records for denials (lease changes are not sent). */
int lw_audit_linux_open(int *fd, struct lw_err *err);
int lw_audit_linux_write(int fd, struct json_object *rec, struct lw_err *err);
/* The message text of a denial's AUDIT_USER_AVC record; malloc'd. */
char *lw_audit_linux_message(struct json_object *rec);
void lw_audit_linux_close(int fd);

#endif /* LW_AUDIT_SINKS_H */
