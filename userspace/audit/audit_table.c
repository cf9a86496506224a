// SPDX-License-Identifier: LGPL-2.1-or-later
/* Filtering records and printing them as a table for `lockwarden audit`.
 * Every cell is escaped for the terminal: paths, comms and cgroups are
 * whatever the processes chose. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit/audit_reader.h"
#include "common/terminal.h"

static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return obj && json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static const char *text(struct json_object *obj, const char *key, const char *missing)
{
	struct json_object *v = field(obj, key);

	return v ? json_object_get_string(v) : missing;
}

/* A field as a terminal may show it. */
static const char *shown(struct json_object *obj, const char *key, const char *missing,
			 char *buf, size_t len)
{
	return lw_terminal_escape(text(obj, key, missing), buf, len);
}

void lw_audit_filter_init(struct lw_audit_filter *filter)
{
	memset(filter, 0, sizeof(*filter));
}

/* The image may be named through a symlink or a relative path: compare the
 * resolved name too. */
void lw_audit_filter_set_image(struct lw_audit_filter *filter, const char *image)
{
	char resolved[PATH_MAX];

	filter->image = image;
	filter->image_resolved[0] = '\0';
	if (realpath(image, resolved))
		snprintf(filter->image_resolved, sizeof(filter->image_resolved), "%s", resolved);
}

static bool names_image(const struct lw_audit_filter *filter, const char *name)
{
	return name && (!strcmp(name, filter->image) ||
			(filter->image_resolved[0] && !strcmp(name, filter->image_resolved)));
}

bool lw_audit_filter_match(const struct lw_audit_filter *filter, struct json_object *rec)
{
	struct json_object *time_ns = field(rec, "time_ns");

	if (filter->since_set && (!time_ns || json_object_get_int64(time_ns) < filter->since_ns))
		return false;
	if (filter->image && !names_image(filter, text(rec, "image", NULL)) &&
	    !names_image(filter, text(rec, "path", NULL)))
		return false;
	return true;
}

const char lw_audit_table_header[] =
	"TIME                     EVENT             PID      UID    COMM             "
	"HOLDER                  NOTE                          IMAGE";

/* Local time to the millisecond: the table is for people, the JSON keeps ns. */
static void local_time(struct json_object *rec, char *buf, size_t len)
{
	int64_t ns = json_object_get_int64(field(rec, "time_ns"));
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	char date[32];

	localtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", date, (int)(ns % 1000000000 / 1000000));
}

static void holder_cell(struct json_object *rec, char *buf, size_t len)
{
	struct json_object *holder = field(rec, "holder");
	char a[1024], b[256];

	if (!holder)
		snprintf(buf, len, "-");
	else if (!strcmp(text(holder, "kind", ""), "cgroup"))
		snprintf(buf, len, "cgroup %s",
			 shown(holder, "cgroup", text(holder, "cgroup_id", "?"), a, sizeof(a)));
	else
		snprintf(buf, len, "%s(%s)", shown(holder, "pid", "?", a, sizeof(a)),
			 shown(holder, "comm", "?", b, sizeof(b)));
}

/* The image comes last: paths are long and would push the other columns. */
#define ROW_FORMAT "%-23s  %-16s  %-7s  %-5s  %-15s  %-22s  %-28s  %s"

void lw_audit_format_row(struct json_object *rec, char *buf, size_t len)
{
	bool denial = !strcmp(text(rec, "type", ""), "denial");
	char time[40], event[80], holder[1300], note[400], op[40], mode[40], reason[300];
	char pid[40], uid[40], comm[80], path[16384];
	long long suppressed = json_object_get_int64(field(rec, "suppressed"));

	local_time(rec, time, sizeof(time));
	holder_cell(rec, holder, sizeof(holder));
	shown(rec, "lease_mode", "?", mode, sizeof(mode));
	if (denial) {
		snprintf(event, sizeof(event), "deny %s", shown(rec, "op", "?", op, sizeof(op)));
		if (suppressed)
			snprintf(note, sizeof(note), "%s, +%lld suppressed", mode, suppressed);
		else
			snprintf(note, sizeof(note), "%s", mode);
		snprintf(buf, len, ROW_FORMAT, time, event, shown(rec, "tgid", "?", pid, sizeof(pid)),
			 shown(rec, "uid", "?", uid, sizeof(uid)),
			 shown(rec, "comm", "?", comm, sizeof(comm)), holder, note,
			 shown(rec, "path", text(rec, "image", "?"), path, sizeof(path)));
	} else {
		shown(rec, "event", "?", event, sizeof(event));
		snprintf(note, sizeof(note), "%s%s%s", mode, field(rec, "reason") ? ": " : "",
			 shown(rec, "reason", "", reason, sizeof(reason)));
		snprintf(buf, len, ROW_FORMAT, time, event, "-", "-", "-", holder, note,
			 shown(rec, "image", "?", path, sizeof(path)));
	}
}
