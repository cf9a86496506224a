/* lockwarden's command line, parsed without any daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

static void audit_gets_its_arguments_and_the_socket(void **state)
{
	(void)state;
	PARSE_OK("--socket", "/s", "audit", "--follow", "--json");
	assert_int_equal(args.command, CLI_AUDIT);
	assert_int_equal(args.audit_argc, 5);
	assert_string_equal(args.audit_argv[0], "audit");
	assert_string_equal(args.audit_argv[1], "--socket");
	assert_string_equal(args.audit_argv[2], "/s");
	assert_string_equal(args.audit_argv[3], "--follow");
	assert_string_equal(args.audit_argv[4], "--json");
	assert_null(args.audit_argv[5]);
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
		cmocka_unit_test_teardown(audit_gets_its_arguments_and_the_socket, teardown),
		cmocka_unit_test_teardown(double_dash_lets_an_image_start_with_dash, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
