// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden --help` and `lockwarden COMMAND --help`: the overview, and
 * each command's synopsis and options (lockwarden(1) says the same). */
#include "lockwarden/commands.h"

#include "audit/audit.h"
#include "lockwarden/client.h"

static const struct {
	enum cli_command command;
	const char *synopsis;
	const char *summary;
	const char *options;
} help[] = {
	{ CLI_ACQUIRE, "acquire IMAGE --pid PID [--shared] [--force] [--lease LEASE] [--json]",
	  "Take the lease on IMAGE for process PID (it holds it until it exits or it\n"
	  "is released).",
	  "  --pid PID      the holder process\n"
	  "  --shared       a shared lease (several holders), for shareable disks\n"
	  "  --force        take it even though another process has IMAGE open for write\n"
	  "  --lease LEASE  paxos backend: the sanlock lease to take, LOCKSPACE:RESOURCE:PATH:OFFSET\n"
	  "  --json         print the daemon's reply as JSON\n" },
	{ CLI_RELEASE, "release IMAGE --pid PID [--json]",
	  "Give back the lease PID holds on IMAGE (IMAGE need not exist any more).",
	  "  --pid PID      the holder process\n"
	  "  --json         print the daemon's reply as JSON\n" },
	{ CLI_RUN, "run [--shared] IMAGE... -- CMD [ARGS...]",
	  "Take a lease on every IMAGE for this process, then exec CMD in it: the\n"
	  "leases last as long as CMD runs. All or none: CMD never runs without them.",
	  "  --shared       shared leases\n" },
	{ CLI_LIST, "list [--json]", "Show every lease the daemon holds.",
	  "  --json         print the daemon's reply as JSON\n" },
	{ CLI_STATUS, "status [--json]", "Show the daemon's state and counters.",
	  "  --json         print the daemon's reply as JSON\n" },
	{ CLI_INQUIRE, "inquire IMAGE [--json]",
	  "Show the lease on IMAGE, or \"not leased\". Exits 0 either way.",
	  "  --json         print the daemon's reply as JSON ({\"lease\": null} when none)\n" },
	{ CLI_AUDIT, "audit [--follow] [--json] [--since TIME] [--image PATH] [--log PATH]",
	  "Show the audit trail: denied accesses and lease changes.",
	  "  --follow       keep printing new records (survives log rotation)\n"
	  "  --json         print the JSON lines as stored (C1, DEL as \\u escapes)\n"
	  "  --since TIME   only records at or after TIME: -10min, -2h, \"1 day ago\",\n"
	  "                 2026-11-30T01:02:03Z, 2026-11-30 01:02 (local), @UNIXSECONDS\n"
	  "  --image PATH   only records about this image\n"
	  "  --log PATH     the audit log (default " LW_AUDIT_DEFAULT_PATH ")\n" },
	{ CLI_HELP, "help [COMMAND]", "Show this overview, or COMMAND's options.", "" },
	{ CLI_VERSION, "version", "Show the version.", "" },
};

#define N_HELP (sizeof(help) / sizeof(help[0]))

static const char common_options[] =
	"  --socket PATH  the daemon's socket (default " LOCKWARDEN_SOCKET_DEFAULT ")\n"
	"  -h, --help     this help\n";

void cli_usage(enum cli_command command, FILE *out)
{
	size_t i;

	for (i = 0; i < N_HELP && command != CLI_HELP; i++) {
		if (help[i].command != command)
			continue;
		fprintf(out, "Usage: lockwarden %s\n\n%s\n\nOptions:\n%s%s\nSee lockwarden(1).\n",
			help[i].synopsis, help[i].summary, help[i].options, common_options);
		return;
	}
	fputs("Usage:\n", out);
	for (i = 0; i < N_HELP; i++)
		fprintf(out, "  lockwarden %s\n", help[i].synopsis);
	fprintf(out,
		"  lockwarden --help | --version\n"
		"\n"
		"Every command takes --socket PATH (default %s),\n"
		"before or after the command name, and --help for its own options.\n"
		"Exit status: 0 success, 1 failure, 2 a bad command line; run: CMD's own.\n"
		"See lockwarden(1).\n",
		LOCKWARDEN_SOCKET_DEFAULT);
}
