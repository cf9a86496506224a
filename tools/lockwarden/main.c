// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwarden: the command-line client of lockwardend. Parses the command
 * line and hands it to one command; see lockwarden(1). */
#include "lockwarden/commands.h"

#include "common/terminal.h"
#include "common/version.h"

static int (*const run_command[CLI_COMMAND_COUNT])(const struct cli_args *) = {
	[CLI_ACQUIRE] = cmd_acquire, [CLI_RELEASE] = cmd_release, [CLI_RUN] = cmd_run,
	[CLI_LIST] = cmd_list,       [CLI_STATUS] = cmd_status,   [CLI_INQUIRE] = cmd_inquire,
	[CLI_AUDIT] = cmd_audit,
};

int main(int argc, char **argv)
{
	struct cli_args args;
	char err[512], shown[2048];
	int status;

	/* Non-ASCII is shown as is only where the terminal's locale is UTF-8. */
	lw_terminal_use_locale();
	if (cli_args_parse(argc, argv, &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "lockwarden: %s\n", lw_terminal_escape(err, shown, sizeof(shown)));
		cli_args_free(&args);
		return CLI_EXIT_USAGE;
	}
	if (args.command == CLI_HELP) {
		cli_usage(args.help_for, stdout);
		status = 0;
	} else if (args.command == CLI_VERSION) {
		printf("lockwarden %s\n", LOCKWARDEN_VERSION);
		status = 0;
	} else {
		status = run_command[args.command](&args);
	}
	cli_args_free(&args);
	return status;
}
