// SPDX-License-Identifier: LGPL-2.1-or-later
/* One JSON record per denial or lease change, built once and rendered by
 * every sink. Pure: the caller supplies everything read from /proc. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit/audit_record.h"
#include "common/holder_json.h"
#include "common/json_tree.h"
#include "common/terminal.h"

/* comm and paths come from the process being denied, which chooses them:
 * invalid UTF-8 becomes U+FFFD so every line stays valid JSON. */
static struct json_object *json_text(const char *bytes, size_t max)
{
	size_t n = strnlen(bytes, max), i = 0, out = 0, seq;
	char buf[4 * LW_PATH_MAX + 4];
	struct json_object *obj;
	char *dyn = NULL, *dst = buf, *src;

	/* src: bytes NUL-terminated (the kernel's arrays may be full), dst after it */
	if (4 * n + 2 > sizeof(buf)) {
		dyn = malloc(4 * n + 2);
		if (!dyn)
			return NULL;
		dst = dyn;
	}
	src = dst + 3 * n + 1;
	memcpy(src, bytes, n);
	src[n] = '\0';
	while (i < n) {
		seq = lw_utf8_char_len(src + i);
		if (seq) {
			memcpy(dst + out, src + i, seq);
			out += seq;
			i += seq;
		} else {
			memcpy(dst + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	obj = json_object_new_string_len(dst, (int)out);
	free(dyn);
	return obj;
}

static struct json_object *json_text_or_null(const char *s)
{
	return s ? json_text(s, 65536) : NULL;
}

int64_t lw_audit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lw_audit_wall_ns_of_boot_ns(uint64_t boot_ns)
{
	struct timespec real, boot;
	int64_t real_ns, boot_now_ns;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	real_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
	boot_now_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
	if (boot_ns == 0)	/* not stamped: the best we know is now */
		return real_ns;
	return real_ns - (boot_now_ns - (int64_t)boot_ns);
}

void lw_audit_format_time(int64_t wall_ns, char *buf, size_t len)
{
	/* records come many a second: the date part is made once a second */
	static __thread struct { bool made; time_t sec; char date[32]; } last;
	time_t sec = (time_t)(wall_ns / 1000000000);
	long nsec = (long)(wall_ns % 1000000000);
	struct tm tm;

	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	if (!last.made || last.sec != sec) {
		gmtime_r(&sec, &tm);
		strftime(last.date, sizeof(last.date), "%Y-%m-%dT%H:%M:%S", &tm);
		last.sec = sec;
		last.made = true;
	}
	snprintf(buf, len, "%s.%09ldZ", last.date, nsec);
}

const char *lw_audit_lease_event_name(enum lw_lease_event event)
{
	switch (event) {
	case LW_LEASE_ACQUIRE: return "acquire";
	case LW_LEASE_RELEASE: return "release";
	case LW_LEASE_HOLDER_DEATH: return "holder-death";
	case LW_LEASE_FORCED_RELEASE: return "forced-release";
	case LW_LEASE_TAMPER: return "tamper";
	case LW_LEASE_GAP_WRITER: return "gap-writer";
	}
	return "unknown";
}

void lw_audit_open_flags_names(uint32_t flags, char *buf, size_t len)
{
	/* The kernel's values (asm-generic/fcntl.h): glibc's O_LARGEFILE is 0 on
	 * 64-bit, but the kernel sets its own bit in every file's f_flags. */
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ 0100, "O_CREAT" }, { 0200, "O_EXCL" }, { 0400, "O_NOCTTY" },
		{ 01000, "O_TRUNC" }, { 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" },
		{ 04010000, "O_SYNC" }, { 010000, "O_DSYNC" }, { 020000, "FASYNC" },
		{ 040000, "O_DIRECT" }, { 0100000, "O_LARGEFILE" },
		{ 0200000, "O_DIRECTORY" }, { 0400000, "O_NOFOLLOW" },
		{ 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },
		{ 010000000, "O_PATH" }, { 020000000, "O_TMPFILE" },
		{ 040, "FMODE_EXEC" },
	};
	static const char *const access[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	uint32_t rest = flags & ~3u;
	size_t used, i;

	used = (size_t)snprintf(buf, len, "%s", access[flags & 3]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && used < len; i++) {
		if ((rest & names[i].bit) != names[i].bit)
			continue;
		rest &= ~names[i].bit;
		used += (size_t)snprintf(buf + used, len - used, "|%s", names[i].name);
	}
	if (rest && used < len)
		snprintf(buf + used, len - used, "|0x%x", rest);
}

static struct json_object *key_json(const struct lw_image_key *key)
{
	struct json_object *obj;

	if (!key)
		return NULL;
	obj = json_object_new_object();
	if (!obj)
		return NULL;
	lw_json_add(obj, "dev", json_object_new_uint64(key->dev));
	lw_json_add(obj, "major", json_object_new_int64(lw_kdev_major(key->dev)));
	lw_json_add(obj, "minor", json_object_new_int64(lw_kdev_minor(key->dev)));
	lw_json_add(obj, "ino", json_object_new_uint64(key->ino));
	return obj;
}

static struct json_object *holder_json(const struct lw_holder *holder, const char *comm,
				       const char *cgroup)
{
	struct json_object *obj;

	if (!holder || holder->kind == LW_HOLDER_NONE)
		return NULL;
	obj = json_object_new_object();
	if (obj)
		lw_holder_json_add(obj, holder, json_text_or_null(comm), json_text_or_null(cgroup), true);
	return obj;
}

/* The common head of both record types. */
static struct json_object *record_new(const char *type, int64_t wall_ns)
{
	struct json_object *rec = json_object_new_object();
	char time[48];

	if (!rec)
		return NULL;
	lw_audit_format_time(wall_ns, time, sizeof(time));
	lw_json_add(rec, "type", json_object_new_string(type));
	lw_json_add(rec, "time_ns", json_object_new_int64(wall_ns));
	lw_json_add(rec, "time", json_object_new_string(time));
	return rec;
}

/* loginuid and sessionid are (u32)-1 when never set. */
static struct json_object *id_or_null(uint32_t id)
{
	return id == UINT32_MAX ? NULL : json_object_new_int64(id);
}

struct json_object *lw_audit_record_denial(const struct lw_denial *ev,
					   const struct lw_audit_lease_ctx *ctx,
					   const char *exe, int64_t wall_ns)
{
	static const struct lw_audit_lease_ctx no_ctx;
	struct json_object *rec = record_new("denial", wall_ns);
	char flags[256];

	if (!rec)
		return NULL;
	if (!ctx)
		ctx = &no_ctx;
	lw_audit_open_flags_names(ev->open_flags, flags, sizeof(flags));
	lw_json_add(rec, "pid", json_object_new_int64(ev->pid));
	lw_json_add(rec, "tgid", json_object_new_int64(ev->tgid));
	lw_json_add(rec, "uid", json_object_new_int64(ev->uid));
	lw_json_add(rec, "gid", json_object_new_int64(ev->gid));
	lw_json_add(rec, "loginuid", id_or_null(ev->loginuid));
	lw_json_add(rec, "session", id_or_null(ev->sessionid));
	lw_json_add(rec, "comm", json_text(ev->comm, sizeof(ev->comm)));
	lw_json_add(rec, "exe", json_text_or_null(exe));
	lw_json_add(rec, "path", json_text(ev->path, sizeof(ev->path)));
	lw_json_add(rec, "image", json_text_or_null(ctx->image));
	lw_json_add(rec, "key", key_json(&ev->key));
	lw_json_add(rec, "op", json_object_new_string(lw_denial_op_name(ev->op)));
	lw_json_add(rec, "open_flags", json_object_new_int64(ev->open_flags));
	/* only opens have flags: "O_RDONLY" for an unlink would mislead */
	lw_json_add(rec, "open_flags_names",
		    ev->open_flags || ev->op == LW_OP_OPEN_WRITE ? json_object_new_string(flags) : NULL);
	lw_json_add(rec, "holder", holder_json(&ev->holder, ctx->holder_comm, ctx->holder_cgroup));
	lw_json_add(rec, "lease_mode", json_object_new_string(lw_lease_mode_name(ev->lease_mode)));
	lw_json_add(rec, "suppressed", json_object_new_int64(ev->suppressed));
	return rec;
}

struct json_object *lw_audit_record_lease(const struct lw_audit_lease_record *lr, int64_t wall_ns)
{
	struct json_object *rec = record_new("lease", wall_ns);

	if (!rec)
		return NULL;
	lw_json_add(rec, "event", json_object_new_string(lw_audit_lease_event_name(lr->event)));
	lw_json_add(rec, "image", json_text_or_null(lr->image));
	lw_json_add(rec, "key", key_json(lr->key));
	lw_json_add(rec, "lease_mode", json_object_new_string(lw_lease_mode_name(lr->mode)));
	lw_json_add(rec, "holder", holder_json(lr->holder, lr->holder_comm, lr->holder_cgroup));
	lw_json_add(rec, "reason", json_text_or_null(lr->reason));
	return rec;
}

struct json_object *lw_audit_record_suppressed(uint32_t uid, uint64_t count, unsigned int limit,
					       int64_t wall_ns)
{
	struct json_object *rec = record_new("suppressed", wall_ns);
	char reason[160];

	if (!rec)
		return NULL;
	snprintf(reason, sizeof(reason),
		 "%llu denials of uid %u suppressed (more than %u records a minute)",
		 (unsigned long long)count, uid, limit);
	lw_json_add(rec, "event", json_object_new_string("denials-suppressed"));
	lw_json_add(rec, "uid", json_object_new_int64(uid));
	lw_json_add(rec, "suppressed", json_object_new_int64((int64_t)count));
	lw_json_add(rec, "reason", json_object_new_string(reason));
	return rec;
}
