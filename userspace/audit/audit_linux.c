// SPDX-License-Identifier: LGPL-2.1-or-later
/* The Linux audit sink: one AUDIT_USER_AVC record per denial, so
 * `ausearch -m USER_AVC` finds them next to other access-control denials.
 * The kernel and libaudit add the sender's own pid, uid, exe and so on, so
 * the denied process's fields carry a proc_ prefix. Lease history stays in
 * the file and the journal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libaudit.h>
#include "audit/audit_sinks.h"

static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* Untrusted text (comm, paths) goes through libaudit's encoder: quoted, or
 * hex when it holds spaces, quotes or control characters. */
static void put_text(FILE *out, const char *name, struct json_object *v)
{
	const char *s = v ? json_object_get_string(v) : NULL;
	char *enc;

	if (!s) {
		fprintf(out, " %s=?", name);
		return;
	}
	enc = audit_encode_nv_string(name, s, 0);
	if (enc)
		fprintf(out, " %s", enc);
	free(enc);
}

static void put_number(FILE *out, const char *name, struct json_object *v)
{
	fprintf(out, " %s=%s", name, v ? json_object_get_string(v) : "?");
}

char *lw_audit_linux_message(struct json_object *rec)
{
	struct json_object *key = field(rec, "key"), *holder = field(rec, "holder");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return NULL;
	fprintf(out, "lockwarden denied op=%s", json_object_get_string(field(rec, "op")));
	put_number(out, "proc_pid", field(rec, "pid"));
	put_number(out, "proc_tgid", field(rec, "tgid"));
	put_number(out, "proc_uid", field(rec, "uid"));
	put_number(out, "proc_gid", field(rec, "gid"));
	put_number(out, "proc_loginuid", field(rec, "loginuid"));
	put_number(out, "proc_session", field(rec, "session"));
	put_text(out, "proc_comm", field(rec, "comm"));
	put_text(out, "proc_exe", field(rec, "exe"));
	put_text(out, "path", field(rec, "path"));
	put_text(out, "image", field(rec, "image"));
	if (key)
		fprintf(out, " dev=%s:%s ino=%s", json_object_get_string(field(key, "major")),
			json_object_get_string(field(key, "minor")),
			json_object_get_string(field(key, "ino")));
	fprintf(out, " flags=0x%x", (unsigned int)json_object_get_int64(field(rec, "open_flags")));
	fprintf(out, " lease_mode=%s", json_object_get_string(field(rec, "lease_mode")));
	if (holder && field(holder, "cgroup_id")) {
		put_number(out, "holder_cgroup_id", field(holder, "cgroup_id"));
		put_text(out, "holder_cgroup", field(holder, "cgroup"));
	} else if (holder) {
		put_number(out, "holder_pid", field(holder, "pid"));
		put_text(out, "holder_comm", field(holder, "comm"));
	}
	put_number(out, "suppressed", field(rec, "suppressed"));
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int lw_audit_linux_open(int *fd, struct lw_err *err)
{
	int r = audit_open();

	if (r < 0) {
		int e = errno ? errno : EPROTONOSUPPORT;

		return lw_err_set(err, e, "audit linux: cannot open the audit netlink socket: %s",
				  strerror(e));
	}
	*fd = r;
	return 0;
}

int lw_audit_linux_write(int fd, struct json_object *rec, struct lw_err *err)
{
	struct json_object *type = field(rec, "type"), *uid = field(rec, "uid");
	char *msg;
	int r;

	if (!type || strcmp(json_object_get_string(type), "denial"))
		return 0;
	msg = lw_audit_linux_message(rec);
	if (!msg)
		return lw_err_set(err, ENOMEM, "audit linux: out of memory");
	errno = 0;
	r = audit_log_user_avc_message(fd, AUDIT_USER_AVC, msg, NULL, NULL, NULL,
				       uid ? (uid_t)json_object_get_int64(uid) : (uid_t)-1);
	free(msg);
	if (r <= 0) {
		int e = errno ? errno : EIO;

		return lw_err_set(err, e, "audit linux: sending USER_AVC record: %s", strerror(e));
	}
	return 0;
}

void lw_audit_linux_close(int fd)
{
	if (fd >= 0)
		audit_close(fd);
}
