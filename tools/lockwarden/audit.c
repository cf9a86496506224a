/* `lockwarden audit [--follow] [--json] [--since TIME] [--image PATH] [--log PATH]`:
 * the audit trail read back from the daemon's JSON Lines file. */
#include <errno.h>
#include <getopt.h>
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

static void audit_usage(FILE *out)
{
	fprintf(out,
		"usage: lockwarden audit [--follow] [--json] [--since TIME] [--image PATH] [--log PATH]\n"
		"  --follow       keep printing new records (survives log rotation)\n"
		"  --json         print the JSON lines as stored\n"
		"  --since TIME   only records at or after TIME: -10min, -2h, \"1 day ago\",\n"
		"                 2026-11-30T01:02:03Z, 2026-11-30 01:02 (local), @UNIXSECONDS\n"
		"  --image PATH   only records about this image\n"
		"  --log PATH     the audit log (default %s)\n",
		LW_AUDIT_DEFAULT_PATH);
}

static int print_line(const char *line, void *ctx)
{
	struct audit_view *view = ctx;
	struct json_object *rec;
	char row[2048];

	if (!*line)
		return 0;
	rec = json_tokener_parse(line);
	if (!rec || !json_object_is_type(rec, json_type_object)) {
		view->malformed++;
		json_object_put(rec);
		return 0;
	}
	if (lw_audit_filter_match(&view->filter, rec)) {
		if (view->json) {
			puts(line);
		} else {
			lw_audit_format_row(rec, row, sizeof(row));
			puts(row);
		}
	}
	json_object_put(rec);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "log", required_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 'S' },	/* global option: not used here */
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct audit_view view = { 0 };
	const char *log = LW_AUDIT_DEFAULT_PATH;
	struct lw_audit_tail tail;
	bool follow = false;
	int opt, r;

	lw_audit_filter_init(&view.filter);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "fjh", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			follow = true;
			break;
		case 'j':
			view.json = true;
			break;
		case 's':
			if (lw_audit_parse_since(optarg, lw_audit_now_ns(), &view.filter.since_ns) < 0) {
				fprintf(stderr, "lockwarden audit: --since %s: not a time (try -10min, "
					"2026-11-30T01:02:03Z or @UNIXSECONDS)\n", optarg);
				return 2;
			}
			view.filter.since_set = true;
			break;
		case 'i':
			lw_audit_filter_set_image(&view.filter, optarg);
			break;
		case 'l':
			log = optarg;
			break;
		case 'S':
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lockwarden audit: unexpected argument %s\n", argv[optind]);
		return 2;
	}

	r = lw_audit_tail_open(&tail, log, follow);
	if (r < 0) {
		fprintf(stderr, "lockwarden audit: cannot read %s: %s\n", log, strerror(-r));
		return 1;
	}
	/* a reader that stops (head, less) ends us quietly */
	signal(SIGPIPE, SIG_DFL);
	setvbuf(stdout, NULL, follow ? _IOLBF : _IOFBF, 0);
	if (!view.json)
		puts(lw_audit_table_header);
	r = lw_audit_tail_read(&tail, print_line, &view);
	while (r >= 0 && follow) {
		r = lw_audit_tail_wait(&tail, -1);
		if (r >= 0)
			r = lw_audit_tail_read(&tail, print_line, &view);
	}
	lw_audit_tail_close(&tail);
	fflush(stdout);
	if (view.malformed)
		fprintf(stderr, "lockwarden audit: skipped %lu lines of %s that are not JSON records\n",
			view.malformed, log);
	if (r < 0) {
		fprintf(stderr, "lockwarden audit: reading %s: %s\n", log, strerror(-r));
		return 1;
	}
	return 0;
}
