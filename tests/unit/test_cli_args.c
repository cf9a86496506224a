// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwarden's command line, parsed without any daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lockwarden/commands.h"

#define ARGV(...) ((char *[]){ "lockwarden", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "lockwarden", __VA_ARGS__ }) / sizeof(char *)))

static struct cli_args args;
static char err[256];
/* args points into argv: keep a copy that outlives the macro's block. */
static char *argv_copy[32];

static int parse(int argc, char **argv)
{
	assert_true(argc < 32);
	memcpy(argv_copy, argv, sizeof(char *) * (size_t)(argc + 1));
	cli_args_free(&args);
	return cli_args_parse(argc, argv_copy, &args, err, sizeof(err));
}

#define PARSE_OK(...)                                                                 \
	do {                                                                          \
		if (parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__)) != 0)                 \
			fail_msg("expected the command line to parse, got: %s", err); \
	} while (0)

#define PARSE_FAILS(reason_part, ...)                                                   \
	do {                                                                            \
		if (parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__)) == 0)                   \
			fail_msg("expected a parse error about \"%s\", got success",    \
				 reason_part);                                          \
		if (!strstr(err, reason_part))                                          \
			fail_msg("expected an error about \"%s\", got \"%s\"", reason_part, \
				 err);                                                  \
	} while (0)

static int teardown(void **state)
{
	(void)state;
	cli_args_free(&args);
	return 0;
}

static void acquire_takes_image_pid_and_flags(void **state)
{
	(void)state;
	PARSE_OK("acquire", "/img/a.qcow2", "--pid", "1234", "--shared", "--force", "--json");
	assert_int_equal(args.command, CLI_ACQUIRE);
	assert_int_equal(args.n_images, 1);
	assert_string_equal(args.images[0], "/img/a.qcow2");
	assert_int_equal(args.pid, 1234);
	assert_true(args.shared);
	assert_true(args.force);
	assert_true(args.json);
	assert_null(args.socket_path);
}

static void pid_may_be_given_inline(void **state)
{
	(void)state;
	PARSE_OK("release", "--pid=77", "a.img");
	assert_int_equal(args.command, CLI_RELEASE);
	assert_int_equal(args.pid, 77);
	assert_string_equal(args.images[0], "a.img");
}

static void acquire_without_pid_is_refused(void **state)
{
	(void)state;
	PARSE_FAILS("--pid PID is required", "acquire", "/img/a");
}

static void bad_pid_is_refused(void **state)
{
	(void)state;
	PARSE_FAILS("not a process id", "acquire", "/img/a", "--pid", "12x");
	PARSE_FAILS("not a process id", "acquire", "/img/a", "--pid", "0");
	PARSE_FAILS("not a process id", "acquire", "/img/a", "--pid", "-5");
	PARSE_FAILS("--pid needs a process id", "release", "/img/a", "--pid");
}

static void acquire_of_two_images_is_refused(void **state)
{
	(void)state;
	PARSE_FAILS("exactly one IMAGE", "acquire", "/a", "/b", "--pid", "1");
	PARSE_FAILS("exactly one IMAGE", "release", "--pid", "1");
}

static void socket_is_accepted_before_and_after_the_command(void **state)
{
	(void)state;
	PARSE_OK("--socket", "/tmp/a.sock", "list");
	assert_string_equal(args.socket_path, "/tmp/a.sock");
	PARSE_OK("status", "--socket=/tmp/b.sock", "--json");
	assert_int_equal(args.command, CLI_STATUS);
	assert_string_equal(args.socket_path, "/tmp/b.sock");
	assert_true(args.json);
	PARSE_FAILS("--socket needs a path", "list", "--socket");
}

static void run_splits_images_from_command_at_separator(void **state)
{
	(void)state;
	PARSE_OK("run", "--shared", "a.img", "b.img", "--", "qemu", "-drive", "file=a.img");
	assert_int_equal(args.command, CLI_RUN);
	assert_true(args.shared);
	assert_int_equal(args.n_images, 2);
	assert_string_equal(args.images[1], "b.img");
	assert_string_equal(args.exec_argv[0], "qemu");
	/* Options of CMD stay CMD's. */
	assert_string_equal(args.exec_argv[1], "-drive");
	assert_string_equal(args.exec_argv[2], "file=a.img");
	assert_null(args.exec_argv[3]);
}

static void run_without_command_is_refused(void **state)
{
	(void)state;
	PARSE_FAILS("expected -- CMD", "run", "a.img");
	PARSE_FAILS("expected -- CMD", "run", "a.img", "--");
	PARSE_FAILS("at least one IMAGE", "run", "--", "true");
}

static void run_does_not_take_pid(void **state)
{
	(void)state;
	PARSE_FAILS("run: unknown option --pid", "run", "--pid", "1", "a.img", "--", "true");
}

static void list_takes_no_operands(void **state)
{
	(void)state;
	PARSE_FAILS("unexpected argument extra", "list", "extra");
	PARSE_FAILS("list: unknown option --shared", "list", "--shared");
}

static void help_and_version_win_anywhere(void **state)
{
	(void)state;
	PARSE_OK("--help");
	assert_int_equal(args.command, CLI_HELP);
	PARSE_OK("acquire", "--help");
	assert_int_equal(args.command, CLI_HELP);
	PARSE_OK("--version");
	assert_int_equal(args.command, CLI_VERSION);
	PARSE_OK("help");
	assert_int_equal(args.command, CLI_HELP);
}

static void unknown_command_or_none_is_refused(void **state)
{
	(void)state;
	PARSE_FAILS("unknown command frobnicate", "frobnicate");
	PARSE_FAILS("unknown option --bogus", "--bogus", "list");
	assert_int_equal(parse(1, (char *[]){ "lockwarden", NULL }), -1);
	assert_non_null(strstr(err, "no command given"));
}

static void audit_options_are_parsed_with_the_others(void **state)
{
	(void)state;
	PARSE_OK("--socket", "/s", "audit", "--follow", "--json", "--since", "-10min",
		 "--image=/img/a", "--log", "/tmp/audit.log");
	assert_int_equal(args.command, CLI_AUDIT);
	assert_string_equal(args.socket_path, "/s");
	assert_true(args.follow);
	assert_true(args.json);
	assert_string_equal(args.since, "-10min");
	assert_string_equal(args.audit_image, "/img/a");
	assert_string_equal(args.log_path, "/tmp/audit.log");
	PARSE_FAILS("audit: --since needs a time", "audit", "--since");
	PARSE_FAILS("audit: unexpected argument x", "audit", "x");
	PARSE_FAILS("audit: unknown option --pid", "audit", "--pid", "3");
}

static void inquire_takes_one_image_and_json(void **state)
{
	(void)state;
	PARSE_OK("inquire", "/img/a", "--json");
	assert_int_equal(args.command, CLI_INQUIRE);
	assert_int_equal(args.n_images, 1);
	assert_string_equal(args.images[0], "/img/a");
	assert_true(args.json);
	PARSE_FAILS("inquire: expected exactly one IMAGE, got 0", "inquire");
	PARSE_FAILS("inquire: expected exactly one IMAGE, got 2", "inquire", "/a", "/b");
	PARSE_FAILS("inquire: unknown option --pid", "inquire", "/a", "--pid", "1");
}

static void each_command_has_its_own_help(void **state)
{
	(void)state;
	PARSE_OK("acquire", "--help");
	assert_int_equal(args.help_for, CLI_ACQUIRE);
	PARSE_OK("run", "-h");
	assert_int_equal(args.help_for, CLI_RUN);
	PARSE_OK("help", "inquire");
	assert_int_equal(args.command, CLI_HELP);
	assert_int_equal(args.help_for, CLI_INQUIRE);
	PARSE_OK("--help");
	assert_int_equal(args.help_for, CLI_HELP);
	PARSE_OK("help");
	assert_int_equal(args.help_for, CLI_HELP);
	PARSE_FAILS("help: unknown command frob", "help", "frob");
}

static void options_are_not_permuted_past_the_separator(void **state)
{
	(void)state;
	/* CMD's own options, even ones lockwarden knows, stay CMD's */
	PARSE_OK("run", "a.img", "--shared", "b.img", "--", "qemu", "--shared", "--help");
	assert_true(args.shared);
	assert_int_equal(args.n_images, 2);
	assert_string_equal(args.images[0], "a.img");
	assert_string_equal(args.images[1], "b.img");
	assert_string_equal(args.exec_argv[0], "qemu");
	assert_string_equal(args.exec_argv[1], "--shared");
	assert_string_equal(args.exec_argv[2], "--help");
	PARSE_OK("run", "a.img", "--", "qemu", "--shared");
	assert_false(args.shared);
	/* after "--" elsewhere, option-looking words are images */
	PARSE_OK("inquire", "--", "--json");
	assert_false(args.json);
	assert_string_equal(args.images[0], "--json");
}

static void unknown_short_option_is_named(void **state)
{
	(void)state;
	PARSE_FAILS("list: unknown option -x", "list", "-x");
	PARSE_FAILS("unknown option -q", "-q", "list");
}

static void unique_prefixes_work_and_ambiguous_ones_are_named(void **state)
{
	(void)state;
	PARSE_OK("acquire", "/a", "--pi", "7", "--sh");
	assert_int_equal(args.pid, 7);
	assert_true(args.shared);
	PARSE_FAILS("run: ambiguous option --s", "run", "--s", "a", "--", "true");
}

static void every_command_names_itself_in_its_errors(void **state)
{
	(void)state;
	PARSE_FAILS("status: unknown option --follow", "status", "--follow");
	PARSE_FAILS("release: --pid 1x: not a process id", "release", "/a", "--pid=1x");
	PARSE_FAILS("run: --socket needs a path", "run", "--socket=", "a", "--", "true");
}

static void usage_of_each_command_shows_its_synopsis(void **state)
{
	static const struct {
		enum cli_command command;
		const char *want;
	} cases[] = {
		{ CLI_ACQUIRE, "Usage: lockwarden acquire IMAGE --pid PID" },
		{ CLI_RELEASE, "Usage: lockwarden release IMAGE --pid PID" },
		{ CLI_RUN, "Usage: lockwarden run [--shared] IMAGE... -- CMD" },
		{ CLI_LIST, "Usage: lockwarden list" },
		{ CLI_STATUS, "Usage: lockwarden status" },
		{ CLI_INQUIRE, "Usage: lockwarden inquire IMAGE [--json]" },
		{ CLI_AUDIT, "Usage: lockwarden audit [--follow]" },
		{ CLI_HELP, "  lockwarden inquire IMAGE [--json]\n" },
	};
	char text[4096];
	size_t i, n;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = tmpfile();
		assert_non_null(f);
		cli_usage(cases[i].command, f);
		rewind(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		if (!strstr(text, cases[i].want) || !strstr(text, "--socket PATH"))
			fail_msg("expected help with \"%s\" and --socket PATH, got:\n%s",
				 cases[i].want, text);
	}
}

static void double_dash_lets_an_image_start_with_dash(void **state)
{
	(void)state;
	PARSE_OK("acquire", "--pid", "3", "--", "-odd.img");
	assert_string_equal(args.images[0], "-odd.img");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(acquire_takes_image_pid_and_flags, teardown),
		cmocka_unit_test_teardown(pid_may_be_given_inline, teardown),
		cmocka_unit_test_teardown(acquire_without_pid_is_refused, teardown),
		cmocka_unit_test_teardown(bad_pid_is_refused, teardown),
		cmocka_unit_test_teardown(acquire_of_two_images_is_refused, teardown),
		cmocka_unit_test_teardown(socket_is_accepted_before_and_after_the_command, teardown),
		cmocka_unit_test_teardown(run_splits_images_from_command_at_separator, teardown),
		cmocka_unit_test_teardown(run_without_command_is_refused, teardown),
		cmocka_unit_test_teardown(run_does_not_take_pid, teardown),
		cmocka_unit_test_teardown(list_takes_no_operands, teardown),
		cmocka_unit_test_teardown(help_and_version_win_anywhere, teardown),
		cmocka_unit_test_teardown(unknown_command_or_none_is_refused, teardown),
		cmocka_unit_test_teardown(audit_options_are_parsed_with_the_others, teardown),
		cmocka_unit_test_teardown(inquire_takes_one_image_and_json, teardown),
		cmocka_unit_test_teardown(each_command_has_its_own_help, teardown),
		cmocka_unit_test_teardown(options_are_not_permuted_past_the_separator, teardown),
		cmocka_unit_test_teardown(unknown_short_option_is_named, teardown),
		cmocka_unit_test_teardown(unique_prefixes_work_and_ambiguous_ones_are_named, teardown),
		cmocka_unit_test_teardown(every_command_names_itself_in_its_errors, teardown),
		cmocka_unit_test_teardown(usage_of_each_command_shows_its_synopsis, teardown),
		cmocka_unit_test_teardown(double_dash_lets_an_image_start_with_dash, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
