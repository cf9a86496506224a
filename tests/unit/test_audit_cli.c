// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden audit` as a user runs it: the built CLI (next to this test's
 * build folder) reading a log written through the audit API. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit/audit.h"

static char cli[PATH_MAX];
static char dir[64];
static char log_path[128];

/* BUILD/tests/unit/test_audit_cli -> BUILD/lockwarden */
static int find_cli(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = '\0';
	snprintf(cli, sizeof(cli), "%.4000s/lockwarden", dirname(dirname(dirname(exe))));
	if (access(cli, X_OK) < 0) {
		fprintf(stderr, "# expected the CLI at %s (run make): %s\n", cli, strerror(errno));
		return -1;
	}
	return 0;
}

static void write_denial(struct lw_audit *audit, uint32_t tgid, const char *comm,
			 const char *path)
{
	struct lw_denial ev = {
		.pid = tgid, .tgid = tgid, .uid = 1000, .gid = 1000, .loginuid = UINT32_MAX,
		.sessionid = UINT32_MAX, .op = LW_OP_TRUNCATE, .key = { .dev = 5, .ino = 6 },
		.lease_mode = LW_LEASE_EXCLUSIVE, .suppressed = 2,
		.holder = { .kind = LW_HOLDER_PROCESS, .pid = 77, .start_time = 1 },
	};
	struct lw_audit_lease_ctx ctx = { .image = path, .holder_comm = "qemu" };

	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	if (lw_audit_denial(audit, &ev, &ctx) < 0)
		fail_msg("writing a denial: %s", lw_audit_error(audit));
}

static int setup(void **state)
{
	struct lw_audit_config cfg;
	struct lw_audit *audit;
	FILE *f;

	(void)state;
	if (find_cli() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/lw-test-audit-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/audit.log", dir);
	/* one old record (hand-written, 2001), then two recent ones */
	f = fopen(log_path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"type\":\"denial\",\"time_ns\":1000000000000000000,\"tgid\":1,\"comm\":\"old\","
		   "\"path\":\"/img/a\",\"op\":\"unlink\"}\nthis line is not JSON\n");
	fclose(f);
	lw_audit_config_defaults(&cfg);
	snprintf(cfg.file_path, sizeof(cfg.file_path), "%s", log_path);
	if (lw_audit_open(&cfg, &audit, NULL) < 0)
		return -1;
	write_denial(audit, 101, "rogue-a", "/img/a");
	write_denial(audit, 102, "rogue-b", "/img/b");
	lw_audit_close(audit);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run the CLI with args: its stdout in out, its stderr in err_path; returns
 * the exit status. */
static char err_path[128];

static int run(char *out, size_t len, const char *args)
{
	char cmd[PATH_MAX + 512];
	size_t used = 0;
	FILE *p;
	int status;

	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	snprintf(cmd, sizeof(cmd), "TZ=UTC %s audit --log %s %s 2>%s", cli, log_path, args, err_path);
	p = popen(cmd, "r");
	if (!p)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	used = fread(out, 1, len - 1, p);
	out[used] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_stderr(char *buf, size_t len)
{
	FILE *f = fopen(err_path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void table_lists_every_record_and_counts_skipped_lines(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(run(out, sizeof(out), ""), 0);
	if (strncmp(out, "TIME ", 5) || count(out, "deny ") != 3 || !strstr(out, "rogue-a") ||
	    !strstr(out, "deny truncate") || !strstr(out, "77(qemu)") ||
	    !strstr(out, "+2 suppressed"))
		fail_msg("expected a header and three denial rows (truncate by rogue-a, held by "
			 "77(qemu), +2 suppressed), got:\n%s", out);
	read_stderr(out, sizeof(out));
	if (!strstr(out, "skipped 1 lines"))
		fail_msg("expected a note on stderr about the one line that is not JSON, got:\n%s", out);
}

static void json_prints_the_stored_lines_unchanged(void **state)
{
	char out[8192], stored[8192];
	FILE *f;
	size_t n;

	(void)state;
	assert_int_equal(run(out, sizeof(out), "--json --since 2020-01-01"), 0);
	f = fopen(log_path, "r");
	n = fread(stored, 1, sizeof(stored) - 1, f);
	stored[n] = '\0';
	fclose(f);
	/* the stored file minus the 2001 record and the junk line */
	if (!strstr(stored, out) || count(out, "\n") != 2)
		fail_msg("expected the two recent stored lines verbatim, got:\n%s", out);
}

static void since_and_image_filter_records(void **state)
{
	char out[8192];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "--json --since -1h --image /img/a"), 0);
	if (count(out, "\n") != 1 || !strstr(out, "\"comm\":\"rogue-a\""))
		fail_msg("expected only rogue-a's recent record, got:\n%s", out);
	assert_int_equal(run(out, sizeof(out), "--json --image /img/a"), 0);
	if (count(out, "\n") != 2 || !strstr(out, "\"comm\":\"old\""))
		fail_msg("expected rogue-a's and the old record on /img/a, got:\n%s", out);
}

static void bad_since_and_missing_log_fail_with_a_reason(void **state)
{
	char out[8192], args[256];

	(void)state;
	assert_int_equal(run(out, sizeof(out), "--since 10"), 2);
	read_stderr(out, sizeof(out));
	if (!strstr(out, "--since 10: not a time"))
		fail_msg("expected a reason naming --since 10, got:\n%s", out);
	snprintf(args, sizeof(args), "--log %s/missing.log", dir);
	assert_int_equal(run(out, sizeof(out), args), 1);
	read_stderr(out, sizeof(out));
	if (!strstr(out, "missing.log: No such file or directory"))
		fail_msg("expected a reason naming the missing log, got:\n%s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_lists_every_record_and_counts_skipped_lines),
		cmocka_unit_test(json_prints_the_stored_lines_unchanged),
		cmocka_unit_test(since_and_image_filter_records),
		cmocka_unit_test(bad_since_and_missing_log_fail_with_a_reason),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
