// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden audit [--follow] [--json] [--since TIME] [--image PATH] [--log PATH]`:
 * the audit trail read back from the daemon's JSON Lines file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "audit/audit.h"
#include "audit/audit_reader.h"
#include "audit/audit_record.h"
#include "lockwarden/commands.h"

struct audit_view {
	struct lw_audit_filter filter;
	bool json;
	unsigned long malformed;
};

/* JSON has no raw control characters; json-c's parser would let them
 * through, and --json prints the line as stored. */
static bool has_raw_control(const char *line)
{
	for (; *line; line++)
		if ((unsigned char)*line < 0x20 || *line == 0x7f)
			return true;
	return false;
}

static int print_line(const char *line, void *ctx)
{
	struct audit_view *view = ctx;
	struct json_object *rec;
	char row[20000];
	int r = 0;

	if (!*line)
		return 0;
	rec = has_raw_control(line) ? NULL : json_tokener_parse(line);
	if (!rec || !json_object_is_type(rec, json_type_object)) {
		view->malformed++;
		json_object_put(rec);
		return 0;
	}
	if (lw_audit_filter_match(&view->filter, rec)) {
		if (view->json) {
			/* as stored, but inert: C1 or bidi characters as \u escapes */
			r = cli_print_json(line) < 0 ? -ENOMEM : 0;
		} else {
			/* every cell escaped for the terminal */
			lw_audit_format_row(rec, row, sizeof(row));
			puts(row);
		}
	}
	json_object_put(rec);
	return r;
}

int cmd_audit(const struct cli_args *args)
{
	const char *log = args->log_path ? args->log_path : LW_AUDIT_DEFAULT_PATH;
	struct audit_view view = { .json = args->json };
	struct lw_audit_tail tail;
	int r;

	lw_audit_filter_init(&view.filter);
	if (args->since) {
		if (lw_audit_parse_since(args->since, lw_audit_now_ns(), &view.filter.since_ns) < 0) {
			cli_fail("audit", "--since %s: not a time (try -10min, "
				 "2026-11-30T01:02:03Z or @UNIXSECONDS)", args->since);
			return CLI_EXIT_USAGE;
		}
		view.filter.since_set = true;
	}
	if (args->audit_image)
		lw_audit_filter_set_image(&view.filter, args->audit_image);

	r = lw_audit_tail_open(&tail, log, args->follow);
	if (r < 0)
		return cli_fail("audit", "cannot read %s: %s", log, strerror(-r));
	/* a reader that stops (head, less) ends us quietly */
	signal(SIGPIPE, SIG_DFL);
	setvbuf(stdout, NULL, args->follow ? _IOLBF : _IOFBF, 0);
	if (!view.json)
		puts(lw_audit_table_header);
	r = lw_audit_tail_read(&tail, print_line, &view);
	while (r >= 0 && args->follow) {
		r = lw_audit_tail_wait(&tail, -1);
		if (r >= 0)
			r = lw_audit_tail_read(&tail, print_line, &view);
	}
	lw_audit_tail_close(&tail);
	fflush(stdout);
	if (view.malformed)
		cli_fail("audit", "skipped %lu lines of %s that are not JSON records",
			 view.malformed, log);
	if (r < 0)
		return cli_fail("audit", "reading %s: %s", log, strerror(-r));
	return 0;
}
