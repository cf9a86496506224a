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
#include "common/terminal.h"

/* comm and paths come from the process being denied, which chooses them:
 * invalid UTF-8 becomes U+FFFD so every line stays valid JSON. */
static void put_text(struct lw_json_buf *b, const char *bytes, size_t max)
{
	size_t n = strnlen(bytes, max), i = 0, out = 0, seq;
	char buf[4 * LW_PATH_MAX + 4];
	char *dyn = NULL, *dst = buf, *src;

	for (i = 0; i < n && !(bytes[i] & 0x80); i++)
		;
	if (i == n) {	/* ASCII, as paths and names nearly always are: valid as it is */
		lw_json_string(b, bytes, n);
		return;
	}
	i = 0;
	/* src: bytes NUL-terminated (the kernel's arrays may be full), dst after it */
	if (4 * n + 2 > sizeof(buf)) {
		dyn = malloc(4 * n + 2);
		if (!dyn) {
			b->failed = true;
			return;
		}
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
	lw_json_string(b, dst, out);
	free(dyn);
}

static void put_text_or_null(struct lw_json_buf *b, const char *s)
{
	if (s)
		put_text(b, s, 65536);
	else
		lw_json_null(b);
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
	/* "%s.%09ldZ" by hand: snprintf is most of this function's cost */
	size_t used = strlen(last.date);
	char tail[12] = ".000000000Z";

	for (int i = 9; i >= 1; i--, nsec /= 10)
		tail[i] = (char)('0' + nsec % 10);
	if (len < used + sizeof(tail)) {
		if (len)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, last.date, used);
	memcpy(buf + used, tail, sizeof(tail));
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

static void put_key(struct lw_json_buf *b, const struct lw_image_key *key)
{
	lw_json_open(b, '{');
	lw_json_key(b, "dev");
	lw_json_uint(b, key->dev);
	lw_json_key(b, "major");
	lw_json_int(b, lw_kdev_major(key->dev));
	lw_json_key(b, "minor");
	lw_json_int(b, lw_kdev_minor(key->dev));
	lw_json_key(b, "ino");
	lw_json_uint(b, key->ino);
	lw_json_close(b, '}');
}

static void put_holder(struct lw_json_buf *b, const struct lw_holder *holder, const char *comm,
		       const char *cgroup)
{
	if (!holder || holder->kind == LW_HOLDER_NONE) {
		lw_json_null(b);
		return;
	}
	lw_json_open(b, '{');
	lw_holder_json_put(b, holder, comm, cgroup, true, put_text_or_null);
	lw_json_close(b, '}');
}

/* The common head of every record type: the record left open. */
static void put_head(struct lw_json_buf *b, const char *type, int64_t wall_ns)
{
	char time[48];

	lw_audit_format_time(wall_ns, time, sizeof(time));
	lw_json_open(b, '{');
	lw_json_key(b, "type");
	lw_json_text(b, type);
	lw_json_key(b, "time_ns");
	lw_json_int(b, wall_ns);
	lw_json_key(b, "time");
	lw_json_text(b, time);
}

/* loginuid and sessionid are (u32)-1 when never set. */
static void put_id_or_null(struct lw_json_buf *b, uint32_t id)
{
	if (id == UINT32_MAX)
		lw_json_null(b);
	else
		lw_json_int(b, id);
}

int lw_audit_record_denial(struct lw_json_buf *b, const struct lw_denial *ev,
			   const struct lw_audit_lease_ctx *ctx, const char *exe, int64_t wall_ns)
{
	static const struct lw_audit_lease_ctx no_ctx;
	size_t from = b->len;
	char flags[256];

	if (!ctx)
		ctx = &no_ctx;
	lw_audit_open_flags_names(ev->open_flags, flags, sizeof(flags));
	put_head(b, "denial", wall_ns);
	lw_json_key(b, "pid");
	lw_json_int(b, ev->pid);
	lw_json_key(b, "tgid");
	lw_json_int(b, ev->tgid);
	lw_json_key(b, "uid");
	lw_json_int(b, ev->uid);
	lw_json_key(b, "gid");
	lw_json_int(b, ev->gid);
	lw_json_key(b, "loginuid");
	put_id_or_null(b, ev->loginuid);
	lw_json_key(b, "session");
	put_id_or_null(b, ev->sessionid);
	lw_json_key(b, "comm");
	put_text(b, ev->comm, sizeof(ev->comm));
	lw_json_key(b, "exe");
	put_text_or_null(b, exe);
	lw_json_key(b, "path");
	put_text(b, ev->path, sizeof(ev->path));
	lw_json_key(b, "image");
	put_text_or_null(b, ctx->image);
	lw_json_key(b, "key");
	put_key(b, &ev->key);
	lw_json_key(b, "op");
	lw_json_text(b, lw_denial_op_name(ev->op));
	lw_json_key(b, "open_flags");
	lw_json_int(b, ev->open_flags);
	/* only opens have flags: "O_RDONLY" for an unlink would mislead */
	lw_json_key(b, "open_flags_names");
	lw_json_text(b, ev->open_flags || ev->op == LW_OP_OPEN_WRITE ? flags : NULL);
	lw_json_key(b, "holder");
	put_holder(b, &ev->holder, ctx->holder_comm, ctx->holder_cgroup);
	lw_json_key(b, "lease_mode");
	lw_json_text(b, lw_lease_mode_name(ev->lease_mode));
	lw_json_key(b, "suppressed");
	lw_json_int(b, ev->suppressed);
	lw_json_close(b, '}');
	return lw_json_end(b, from);
}

int lw_audit_record_lease(struct lw_json_buf *b, const struct lw_audit_lease_record *lr,
			  int64_t wall_ns)
{
	size_t from = b->len;

	put_head(b, "lease", wall_ns);
	lw_json_key(b, "event");
	lw_json_text(b, lw_audit_lease_event_name(lr->event));
	lw_json_key(b, "image");
	put_text_or_null(b, lr->image);
	lw_json_key(b, "key");
	if (lr->key)
		put_key(b, lr->key);
	else
		lw_json_null(b);
	lw_json_key(b, "lease_mode");
	lw_json_text(b, lw_lease_mode_name(lr->mode));
	lw_json_key(b, "holder");
	put_holder(b, lr->holder, lr->holder_comm, lr->holder_cgroup);
	lw_json_key(b, "reason");
	put_text_or_null(b, lr->reason);
	lw_json_close(b, '}');
	return lw_json_end(b, from);
}

int lw_audit_record_suppressed(struct lw_json_buf *b, uint32_t uid, uint64_t count,
			       unsigned int limit, int64_t wall_ns)
{
	size_t from = b->len;
	char reason[160];

	snprintf(reason, sizeof(reason),
		 "%llu denials of uid %u suppressed (more than %u records a minute)",
		 (unsigned long long)count, uid, limit);
	put_head(b, "suppressed", wall_ns);
	lw_json_key(b, "event");
	lw_json_text(b, "denials-suppressed");
	lw_json_key(b, "uid");
	lw_json_int(b, uid);
	lw_json_key(b, "suppressed");
	lw_json_int(b, (int64_t)count);
	lw_json_key(b, "reason");
	lw_json_text(b, reason);
	lw_json_close(b, '}');
	return lw_json_end(b, from);
}
