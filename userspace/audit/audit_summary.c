// SPDX-License-Identifier: LGPL-2.1-or-later
/* One readable sentence per record, for the journal's MESSAGE and the CLI.
 * Every value is escaped for the terminal that journalctl prints it on. */
#include <stdio.h>
#include <string.h>
#include "audit/audit_sinks.h"
#include "common/process_name.h"
#include "common/terminal.h"

static const char *text(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return "?";
	return json_object_get_string(v);
}

/* Up to four escaped values of one sentence. */
struct shown {
	char v[4][1024];
};

static const char *show(struct shown *s, int i, struct json_object *obj, const char *key)
{
	return lw_terminal_escape(text(obj, key), s->v[i], sizeof(s->v[i]));
}

static void holder_text(struct json_object *rec, char *buf, size_t len)
{
	struct json_object *holder;
	struct shown s;

	if (!json_object_object_get_ex(rec, "holder", &holder) || !holder) {
		snprintf(buf, len, "no holder");
		return;
	}
	if (!strcmp(text(holder, "kind"), "cgroup"))
		lw_holder_name(buf, len, NULL, NULL, show(&s, 0, holder, "cgroup"));
	else
		lw_process_name(buf, len, show(&s, 0, holder, "pid"), show(&s, 1, holder, "comm"));
}

void lw_audit_summary(struct json_object *rec, char *buf, size_t len)
{
	char holder[1400], mode[40], op[40], suppressed[40], process[1100];
	struct shown s;

	holder_text(rec, holder, sizeof(holder));
	lw_terminal_escape(text(rec, "lease_mode"), mode, sizeof(mode));
	if (!strcmp(text(rec, "type"), "denial")) {
		lw_terminal_escape(text(rec, "op"), op, sizeof(op));
		lw_terminal_escape(text(rec, "suppressed"), suppressed, sizeof(suppressed));
		lw_process_name(process, sizeof(process), show(&s, 1, rec, "tgid"),
				show(&s, 2, rec, "comm"));
		snprintf(buf, len, "denied %s of %s by %s uid %s; %s lease held by %s; %s suppressed",
			 op, show(&s, 0, rec, "path"), process, show(&s, 3, rec, "uid"), mode, holder,
			 suppressed);
	} else {
		snprintf(buf, len, "lease %s: %s %s by %s", show(&s, 0, rec, "event"),
			 show(&s, 1, rec, "image"), mode, holder);
	}
}
