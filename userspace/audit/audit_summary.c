/* One readable sentence per record, for the journal's MESSAGE and the CLI. */
#include <stdio.h>
#include <string.h>
#include "audit/audit_sinks.h"

static const char *text(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return "?";
	return json_object_get_string(v);
}

static void holder_text(struct json_object *rec, char *buf, size_t len)
{
	struct json_object *holder;

	if (!json_object_object_get_ex(rec, "holder", &holder) || !holder) {
		snprintf(buf, len, "no holder");
		return;
	}
	if (!strcmp(text(holder, "kind"), "cgroup"))
		snprintf(buf, len, "cgroup %s", text(holder, "cgroup"));
	else
		snprintf(buf, len, "pid %s (%s)", text(holder, "pid"), text(holder, "comm"));
}

void lw_audit_summary(struct json_object *rec, char *buf, size_t len)
{
	char holder[320];

	holder_text(rec, holder, sizeof(holder));
	if (!strcmp(text(rec, "type"), "denial"))
		snprintf(buf, len, "denied %s of %s by pid %s (%s) uid %s; %s lease held by %s; %s suppressed",
			 text(rec, "op"), text(rec, "path"), text(rec, "tgid"), text(rec, "comm"),
			 text(rec, "uid"), text(rec, "lease_mode"), holder, text(rec, "suppressed"));
	else
		snprintf(buf, len, "lease %s: %s %s by %s", text(rec, "event"), text(rec, "image"),
			 text(rec, "lease_mode"), holder);
}
