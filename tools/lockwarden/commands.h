/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lockwarden CLI: its parsed command line and one function a command.
 * Parsing is separate from doing (args.c) so it is testable without a
 * daemon. */
#ifndef LOCKWARDEN_CLI_COMMANDS_H
#define LOCKWARDEN_CLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct lockwarden_error;

enum cli_command {
	CLI_HELP,
	CLI_VERSION,
	CLI_ACQUIRE,
	CLI_RELEASE,
	CLI_RUN,
	CLI_LIST,
	CLI_STATUS,
	CLI_INQUIRE,
	CLI_AUDIT,
	CLI_COMMAND_COUNT
};

struct cli_args {
	enum cli_command command;
	enum cli_command help_for; /* CLI_HELP: whose help (CLI_HELP: the overview) */
	const char *socket_path; /* NULL: the default socket */
	const char **images;     /* as given (not yet absolute); n_images of them */
	size_t n_images;
	pid_t pid;               /* acquire/release: --pid */
	bool shared;
	bool force;
	const char *lease;       /* acquire: --lease, the backend's lease by name */
	bool json;
	char **exec_argv;        /* run: CMD ARGS..., NULL-terminated, into argv */
	/* audit */
	bool follow;
	const char *since;       /* --since TIME as given, NULL: all */
	const char *audit_image; /* --image PATH, NULL: every image */
	const char *log_path;    /* --log PATH, NULL: the default log */
};

/* Exit statuses: a command's own failure, and a command line we refused. */
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

/* Parse argv. Returns 0, or -1 with a one-line reason in err (no
 * "lockwarden: " prefix). Release with cli_args_free() either way. */
int cli_args_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen);
void cli_args_free(struct cli_args *args);
const char *cli_command_name(enum cli_command command);

/* help.c: the overview (CLI_HELP) or one command's synopsis and options. */
void cli_usage(enum cli_command command, FILE *out);

/* Commands: return the process exit status. */
int cmd_acquire(const struct cli_args *args);
int cmd_release(const struct cli_args *args);
int cmd_run(const struct cli_args *args);
int cmd_list(const struct cli_args *args);
int cmd_status(const struct cli_args *args);
int cmd_inquire(const struct cli_args *args);
int cmd_audit(const struct cli_args *args);

/* Shared helpers (util.c). */
/* The absolute, symlink-free path of image (realpath), malloc'd; NULL
 * with errno. Unless must_exist, a path that no longer exists (releasing
 * a deleted image) is made absolute against the working directory. */
char *cli_image_path(const char *image, bool must_exist);
/* "lockwarden: <what>: <reason>" on one line of stderr, every part escaped
 * for the terminal (common/terminal.h); returns CLI_EXIT_FAILURE. */
int cli_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with the client library's message, which is already safe for
 * a terminal (escaping it again would double its backslashes). */
int cli_fail_error(const char *what, const struct lockwarden_error *err);
/* JSON on stdout, one line per call's text, with what json-c leaves raw
 * (DEL, C1, bidi overrides, bytes that are not UTF-8) as \u escapes: the
 * same JSON, inert on a terminal. Returns -1 when out of memory. */
int cli_print_json(const char *json);

#endif
