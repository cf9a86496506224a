/* The lockwarden CLI: its parsed command line and one function a command.
 * Parsing is separate from doing (args.c) so it is testable without a
 * daemon. */
#ifndef LOCKWARDEN_CLI_COMMANDS_H
#define LOCKWARDEN_CLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

enum cli_command {
	CLI_HELP,
	CLI_VERSION,
	CLI_ACQUIRE,
	CLI_RELEASE,
	CLI_RUN,
	CLI_LIST,
	CLI_STATUS,
	CLI_AUDIT,
};

struct cli_args {
	enum cli_command command;
	const char *socket_path; /* NULL: the default socket */
	const char **images;     /* as given (not yet absolute); n_images of them */
	size_t n_images;
	pid_t pid;               /* acquire/release: --pid */
	bool shared;
	bool force;
	bool json;
	char **exec_argv;        /* run: CMD ARGS..., NULL-terminated, into argv */
	int audit_argc;          /* audit: "audit" + the options for it */
	char **audit_argv;
};

/* Parse argv. Returns 0, or -1 with a one-line reason in err (no
 * "lockwarden: " prefix). Release with cli_args_free() either way. */
int cli_args_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen);
void cli_args_free(struct cli_args *args);
const char *cli_command_name(enum cli_command command);
void cli_usage(FILE *out);

/* Commands: return the process exit status. */
int cmd_acquire(const struct cli_args *args);
int cmd_release(const struct cli_args *args);
int cmd_run(const struct cli_args *args);
int cmd_list(const struct cli_args *args);
int cmd_status(const struct cli_args *args);

/* tools/lockwarden/audit.c (the audit trail reader): argv[0] is "audit";
 * a --socket given before the subcommand is passed on after it. */
int cmd_audit(int argc, char **argv);

/* Shared helpers (util.c). */
/* The absolute, symlink-free path of image (realpath), malloc'd; NULL
 * with errno. Unless must_exist, a path that no longer exists (releasing
 * a deleted image) is made absolute against the working directory. */
char *cli_image_path(const char *image, bool must_exist);
/* "lockwarden: <what>: <reason>" on stderr; returns the exit status 1. */
int cli_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
