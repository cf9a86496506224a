/* lockwarden: the command-line client of lockwardend. Parses the command
 * line and hands it to one command; see lockwarden(1). */
#include "lockwarden/commands.h"

#include "common/version.h"

int main(int argc, char **argv)
{
	struct cli_args args;
	char err[256];
	int status;

	if (cli_args_parse(argc, argv, &args, err, sizeof(err)) < 0) {
		fprintf(stderr, "lockwarden: %s\n", err);
		cli_args_free(&args);
		return 2;
	}
	switch (args.command) {
	case CLI_HELP:
		cli_usage(stdout);
		status = 0;
		break;
	case CLI_VERSION:
		printf("lockwarden %s\n", LOCKWARDEN_VERSION);
		status = 0;
		break;
	case CLI_ACQUIRE:
		status = cmd_acquire(&args);
		break;
	case CLI_RELEASE:
		status = cmd_release(&args);
		break;
	case CLI_RUN:
		status = cmd_run(&args);
		break;
	case CLI_LIST:
		status = cmd_list(&args);
		break;
	case CLI_STATUS:
		status = cmd_status(&args);
		break;
	case CLI_AUDIT:
		status = cmd_audit(args.audit_argc, args.audit_argv);
		break;
	default:
		status = 2;
		break;
	}
	cli_args_free(&args);
	return status;
}
