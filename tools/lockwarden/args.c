// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwarden's command line: global options, the command, its options and
 * operands, all through getopt_long. The optstrings start with '+' so
 * getopt never permutes: operands are taken in order between options, and
 * `run`'s `-- CMD ARGS` reaches CMD untouched. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_SOCKET = 256,
	OPT_PID,
	OPT_SHARED,
	OPT_FORCE,
	OPT_LEASE,
	OPT_JSON,
	OPT_FOLLOW,
	OPT_SINCE,
	OPT_IMAGE,
	OPT_LOG,
};

#define FOR(c) (1u << (c))
#define EVERY_COMMAND (~0u)

/* Every option and the commands that take it. */
static const struct {
	struct option option;
	unsigned commands;
} option_table[] = {
	{ { "help", no_argument, NULL, 'h' }, EVERY_COMMAND },
	{ { "version", no_argument, NULL, 'V' }, EVERY_COMMAND },
	{ { "socket", required_argument, NULL, OPT_SOCKET }, EVERY_COMMAND },
	{ { "pid", required_argument, NULL, OPT_PID }, FOR(CLI_ACQUIRE) | FOR(CLI_RELEASE) },
	{ { "shared", no_argument, NULL, OPT_SHARED }, FOR(CLI_ACQUIRE) | FOR(CLI_RUN) },
	{ { "force", no_argument, NULL, OPT_FORCE }, FOR(CLI_ACQUIRE) },
	{ { "lease", required_argument, NULL, OPT_LEASE }, FOR(CLI_ACQUIRE) },
	{ { "json", no_argument, NULL, OPT_JSON },
	  FOR(CLI_ACQUIRE) | FOR(CLI_RELEASE) | FOR(CLI_LIST) | FOR(CLI_STATUS) |
		  FOR(CLI_INQUIRE) | FOR(CLI_AUDIT) },
	{ { "follow", no_argument, NULL, OPT_FOLLOW }, FOR(CLI_AUDIT) },
	{ { "since", required_argument, NULL, OPT_SINCE }, FOR(CLI_AUDIT) },
	{ { "image", required_argument, NULL, OPT_IMAGE }, FOR(CLI_AUDIT) },
	{ { "log", required_argument, NULL, OPT_LOG }, FOR(CLI_AUDIT) },
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

static const struct {
	const char *name;
	enum cli_command command;
} commands[] = {
	{ "acquire", CLI_ACQUIRE }, { "release", CLI_RELEASE }, { "run", CLI_RUN },
	{ "list", CLI_LIST },       { "status", CLI_STATUS },   { "inquire", CLI_INQUIRE },
	{ "audit", CLI_AUDIT },     { "help", CLI_HELP },       { "version", CLI_VERSION },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *cli_command_name(enum cli_command command)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (commands[i].command == command)
			return commands[i].name;
	return "?";
}

static bool command_by_name(const char *name, enum cli_command *command)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0) {
			*command = commands[i].command;
			return true;
		}
	}
	return false;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The getopt_long table of one command (global: the options before it). */
static void options_for(enum cli_command command, bool global, struct option *out)
{
	size_t i, n = 0;

	for (i = 0; i < N_OPTIONS; i++)
		if (global ? option_table[i].commands == EVERY_COMMAND
			   : (option_table[i].commands & FOR(command)))
			out[n++] = option_table[i].option;
	memset(&out[n], 0, sizeof(out[n]));
}

static const char *option_name(int id)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (option_table[i].option.val == id)
			return option_table[i].option.name;
	return "?";
}

/* How many of options a "--name[=value]" abbreviates (getopt_long takes
 * unique prefixes and refuses the others as it refuses unknown ones). */
static int prefix_matches(const char *arg, const struct option *options)
{
	size_t len;
	int n = 0;

	if (strncmp(arg, "--", 2) != 0)
		return 0;
	arg += 2;
	len = strcspn(arg, "=");
	for (; options->name; options++)
		n += len && strncmp(options->name, arg, len) == 0;
	return n;
}

/* What getopt refused: the option as the user typed it. */
static int refused(char **argv, int c, const struct option *options, const char *where,
		   char *err, size_t errlen)
{
	if (c == ':') {
		switch (optopt) {
		case OPT_PID:
			return fail(err, errlen, "%s--pid needs a process id", where);
		case OPT_SOCKET:
			return fail(err, errlen, "%s--socket needs a path", where);
		case OPT_SINCE:
			return fail(err, errlen, "%s--since needs a time", where);
		default:
			return fail(err, errlen, "%s--%s needs a value", where, option_name(optopt));
		}
	}
	if (optopt && optopt < 256)
		return fail(err, errlen, "%sunknown option -%c (try --help)", where, optopt);
	if (prefix_matches(argv[optind - 1], options) > 1)
		return fail(err, errlen, "%sambiguous option %s (try --help)", where, argv[optind - 1]);
	return fail(err, errlen, "%sunknown option %s (try --help)", where, argv[optind - 1]);
}

/* One option: 1 if it ends parsing (help, version), 0 if taken, -1 on error. */
static int take_option(int c, struct cli_args *args, const char *where, char *err, size_t errlen)
{
	switch (c) {
	case 'h':
		args->help_for = args->command;
		args->command = CLI_HELP;
		return 1;
	case 'V':
		args->command = CLI_VERSION;
		return 1;
	case OPT_SOCKET:
		if (!optarg[0])
			return fail(err, errlen, "%s--socket needs a path", where);
		args->socket_path = optarg;
		return 0;
	case OPT_PID:
		if (parse_pid(optarg, &args->pid) < 0)
			return fail(err, errlen, "%s--pid %s: not a process id", where, optarg);
		return 0;
	case OPT_SHARED:
		args->shared = true;
		return 0;
	case OPT_FORCE:
		args->force = true;
		return 0;
	case OPT_LEASE:
		if (!optarg[0])
			return fail(err, errlen, "%s--lease needs LOCKSPACE:RESOURCE:PATH:OFFSET", where);
		args->lease = optarg;
		return 0;
	case OPT_JSON:
		args->json = true;
		return 0;
	case OPT_FOLLOW:
		args->follow = true;
		return 0;
	case OPT_SINCE:
		args->since = optarg;
		return 0;
	case OPT_IMAGE:
		args->audit_image = optarg;
		return 0;
	case OPT_LOG:
		args->log_path = optarg;
		return 0;
	default:
		return fail(err, errlen, "%sinternal error: option %d", where, c);
	}
}

/* What the command needs once everything is read. */
static int check_complete(struct cli_args *args, bool saw_separator, char *err, size_t errlen)
{
	const char *name = cli_command_name(args->command);

	switch (args->command) {
	case CLI_ACQUIRE:
	case CLI_RELEASE:
		if (args->n_images != 1)
			return fail(err, errlen, "%s: expected exactly one IMAGE, got %zu", name,
				    args->n_images);
		if (args->pid == 0)
			return fail(err, errlen, "%s: --pid PID is required", name);
		return 0;
	case CLI_INQUIRE:
		if (args->n_images != 1)
			return fail(err, errlen, "%s: expected exactly one IMAGE, got %zu", name,
				    args->n_images);
		return 0;
	case CLI_RUN:
		if (args->n_images == 0)
			return fail(err, errlen, "run: expected at least one IMAGE before --");
		if (!saw_separator || !args->exec_argv || !args->exec_argv[0])
			return fail(err, errlen, "run: expected -- CMD [ARGS...] after the images");
		return 0;
	case CLI_HELP:
		/* `help [COMMAND]` */
		if (args->n_images > 1)
			return fail(err, errlen, "help: unexpected argument %s", args->images[1]);
		if (args->n_images == 1 && !command_by_name(args->images[0], &args->help_for))
			return fail(err, errlen, "help: unknown command %s", args->images[0]);
		return 0;
	default:
		if (args->n_images)
			return fail(err, errlen, "%s: unexpected argument %s", name, args->images[0]);
		return 0;
	}
}

/* The command's options and operands, argv[0] being the command name. */
static int parse_command(int argc, char **argv, struct cli_args *args, char *err, size_t errlen)
{
	struct option options[N_OPTIONS + 1];
	bool saw_separator = false;
	char where[32];
	int c, before, ret;

	snprintf(where, sizeof(where), "%s: ", cli_command_name(args->command));
	options_for(args->command, false, options);
	optind = 0; /* glibc: start afresh (we parse more than once) */
	opterr = 0;
	for (;;) {
		before = optind ? optind : 1;
		c = getopt_long(argc, argv, "+:hV", options, NULL);
		if (c == '?' || c == ':')
			return refused(argv, c, options, where, err, errlen);
		if (c != -1) {
			ret = take_option(c, args, where, err, errlen);
			if (ret != 0)
				return ret < 0 ? -1 : 0;
			continue;
		}
		if (optind == before + 1 && strcmp(argv[before], "--") == 0) {
			saw_separator = true;
			break;
		}
		if (optind >= argc)
			break;
		/* An operand: take it and go on with the options after it. */
		args->images[args->n_images++] = argv[optind++];
	}
	if (saw_separator && args->command == CLI_RUN)
		args->exec_argv = &argv[optind];
	else /* elsewhere "--" only ends options: an image may start with '-' */
		while (optind < argc)
			args->images[args->n_images++] = argv[optind++];
	return check_complete(args, saw_separator, err, errlen);
}

int cli_args_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen)
{
	struct option options[N_OPTIONS + 1];
	int c, ret;

	memset(args, 0, sizeof(*args));
	err[0] = '\0';
	args->images = calloc((size_t)argc + 1, sizeof(char *));
	if (!args->images)
		return fail(err, errlen, "out of memory");

	/* Global options: the ones every command takes, before its name. */
	args->command = CLI_HELP;
	options_for(CLI_HELP, true, options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return refused(argv, c, options, "", err, errlen);
		ret = take_option(c, args, "", err, errlen);
		if (ret != 0)
			return ret < 0 ? -1 : 0;
	}
	if (optind >= argc)
		return fail(err, errlen, "no command given (try --help)");
	if (!command_by_name(argv[optind], &args->command))
		return fail(err, errlen, "unknown command %s (try --help)", argv[optind]);
	if (args->command == CLI_HELP)
		args->help_for = CLI_HELP;
	return parse_command(argc - optind, argv + optind, args, err, errlen);
}

void cli_args_free(struct cli_args *args)
{
	free(args->images);
	args->images = NULL;
}
