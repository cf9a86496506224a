/* lockwarden's command line: global options, the command, its options and
 * operands. Hand-written rather than getopt because `run` must keep the
 * boundary between IMAGE... and `-- CMD ARGS` that getopt's permutation
 * would lose. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Which options each command takes. */
#define OPT_PID    0x01u
#define OPT_SHARED 0x02u
#define OPT_FORCE  0x04u
#define OPT_JSON   0x08u

static const struct {
	const char *name;
	enum cli_command command;
	unsigned options;
} commands[] = {
	{ "acquire", CLI_ACQUIRE, OPT_PID | OPT_SHARED | OPT_FORCE | OPT_JSON },
	{ "release", CLI_RELEASE, OPT_PID | OPT_JSON },
	{ "run", CLI_RUN, OPT_SHARED },
	{ "list", CLI_LIST, OPT_JSON },
	{ "status", CLI_STATUS, OPT_JSON },
	{ "audit", CLI_AUDIT, 0 },
	{ "help", CLI_HELP, 0 },
	{ "version", CLI_VERSION, 0 },
};

const char *cli_command_name(enum cli_command command)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].command == command)
			return commands[i].name;
	return "?";
}

void cli_usage(FILE *out)
{
	fputs("Usage:\n"
	      "  lockwarden acquire IMAGE --pid PID [--shared] [--force] [--json]\n"
	      "  lockwarden release IMAGE --pid PID [--json]\n"
	      "  lockwarden run [--shared] IMAGE... -- CMD [ARGS...]\n"
	      "  lockwarden list [--json]\n"
	      "  lockwarden status [--json]\n"
	      "  lockwarden audit [--follow] [--json]\n"
	      "  lockwarden --help | --version\n"
	      "\n"
	      "Every command takes --socket PATH (default /run/lockwarden/lockwarden.sock),\n"
	      "before or after the command name. See lockwarden(1).\n",
	      out);
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

/* "--name" or "--name=value": returns true if arg names option. */
static bool is_option(const char *arg, const char *name, const char **inline_value)
{
	size_t n = strlen(name);

	*inline_value = NULL;
	if (strncmp(arg, name, n) != 0)
		return false;
	if (arg[n] == '=') {
		*inline_value = arg + n + 1;
		return true;
	}
	return arg[n] == '\0';
}

/* The value of an option: inline, or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *inline_value)
{
	if (inline_value)
		return inline_value;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
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

/* --socket, --help, --version: allowed before the command and after it.
 * Returns 1 if argv[*i] was one of them, 0 if not, -1 on error. */
static int global_option(int argc, char **argv, int *i, struct cli_args *args, bool *stop,
			 char *err, size_t errlen)
{
	const char *value;

	if (is_option(argv[*i], "--socket", &value)) {
		args->socket_path = option_value(argc, argv, i, value);
		if (!args->socket_path || !args->socket_path[0])
			return fail(err, errlen, "--socket needs a path");
		return 1;
	}
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
		args->command = CLI_HELP;
		*stop = true;
		return 1;
	}
	if (strcmp(argv[*i], "--version") == 0 || strcmp(argv[*i], "-V") == 0) {
		args->command = CLI_VERSION;
		*stop = true;
		return 1;
	}
	return 0;
}

/* `audit` gets its own argv: "audit", then a --socket given before it. */
static int build_audit_argv(int argc, char **argv, int i, struct cli_args *args)
{
	int n = 0;

	args->audit_argv = calloc((size_t)argc + 3, sizeof(char *));
	if (!args->audit_argv)
		return -1;
	args->audit_argv[n++] = (char *)"audit";
	if (args->socket_path) {
		args->audit_argv[n++] = (char *)"--socket";
		args->audit_argv[n++] = (char *)args->socket_path;
	}
	while (i < argc)
		args->audit_argv[n++] = argv[i++];
	args->audit_argc = n;
	return 0;
}

/* One option after the command name. Returns 0, or -1 on error. */
static int command_option(int argc, char **argv, int *i, unsigned allowed,
			  struct cli_args *args, char *err, size_t errlen)
{
	const char *name = cli_command_name(args->command);
	const char *arg = argv[*i], *value;

	if ((allowed & OPT_PID) && is_option(arg, "--pid", &value)) {
		value = option_value(argc, argv, i, value);
		if (!value)
			return fail(err, errlen, "%s: --pid needs a process id", name);
		if (parse_pid(value, &args->pid) < 0)
			return fail(err, errlen, "%s: --pid %s: not a process id", name, value);
		return 0;
	}
	if ((allowed & OPT_SHARED) && strcmp(arg, "--shared") == 0) {
		args->shared = true;
		return 0;
	}
	if ((allowed & OPT_FORCE) && strcmp(arg, "--force") == 0) {
		args->force = true;
		return 0;
	}
	if ((allowed & OPT_JSON) && strcmp(arg, "--json") == 0) {
		args->json = true;
		return 0;
	}
	return fail(err, errlen, "%s: unknown option %s (try --help)", name, arg);
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
	case CLI_RUN:
		if (args->n_images == 0)
			return fail(err, errlen, "run: expected at least one IMAGE before --");
		if (!saw_separator || !args->exec_argv || !args->exec_argv[0])
			return fail(err, errlen, "run: expected -- CMD [ARGS...] after the images");
		return 0;
	case CLI_LIST:
	case CLI_STATUS:
		if (args->n_images)
			return fail(err, errlen, "%s: unexpected argument %s", name, args->images[0]);
		return 0;
	default:
		return 0;
	}
}

int cli_args_parse(int argc, char **argv, struct cli_args *args, char *err, size_t errlen)
{
	bool stop = false, saw_separator = false;
	unsigned allowed = 0;
	size_t c;
	int i = 1, ret;

	memset(args, 0, sizeof(*args));
	err[0] = '\0';
	args->images = calloc((size_t)argc + 1, sizeof(char *));
	if (!args->images)
		return fail(err, errlen, "out of memory");

	/* Global options, then the command name. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		ret = global_option(argc, argv, &i, args, &stop, err, errlen);
		if (ret < 0 || stop)
			return ret < 0 ? -1 : 0;
		if (ret == 0)
			return fail(err, errlen, "unknown option %s before the command (try --help)",
				    argv[i]);
	}
	if (i >= argc)
		return fail(err, errlen, "no command given (try --help)");
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			break;
	if (c == sizeof(commands) / sizeof(commands[0]))
		return fail(err, errlen, "unknown command %s (try --help)", argv[i]);
	args->command = commands[c].command;
	allowed = commands[c].options;
	i++;

	/* audit parses its own options; we only hand them over. */
	if (args->command == CLI_AUDIT)
		return build_audit_argv(argc, argv, i, args) < 0 ? fail(err, errlen, "out of memory")
								: 0;
	if (args->command == CLI_HELP || args->command == CLI_VERSION)
		return 0;

	for (; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			saw_separator = true;
			if (args->command == CLI_RUN) {
				args->exec_argv = &argv[i + 1];
				break;
			}
			/* Elsewhere "--" only ends options: an image may start with '-'. */
			for (i++; i < argc; i++)
				args->images[args->n_images++] = argv[i];
			break;
		}
		if (arg[0] == '-' && arg[1] != '\0') {
			ret = global_option(argc, argv, &i, args, &stop, err, errlen);
			if (ret < 0)
				return -1;
			if (stop)
				return 0;
			if (ret == 0 && command_option(argc, argv, &i, allowed, args, err, errlen) < 0)
				return -1;
			continue;
		}
		args->images[args->n_images++] = arg;
	}
	return check_complete(args, saw_separator, err, errlen);
}

void cli_args_free(struct cli_args *args)
{
	free(args->images);
	free(args->audit_argv);
	args->images = NULL;
	args->audit_argv = NULL;
}
