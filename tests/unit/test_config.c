// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwarden.conf: defaults are DESIGN.md's paths, the file overrides them,
 * and any mistake is refused with the line and the reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/config.h"

static char conf_path[64];

static const char *write_conf(const char *text)
{
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "/tmp/lw-test-config-%d.conf", getpid());
	f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return conf_path;
}

static int teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	return 0;
}

/* The value backend name gets for key, as main.c hands it over. */
static void assert_backend_option(const struct lw_config *cfg, const char *name, const char *key,
				  const char *value)
{
	struct lw_backend_option options[LW_CONFIG_BACKEND_OPTIONS_MAX];
	size_t n = lw_config_backend_options(cfg, name, options, LW_CONFIG_BACKEND_OPTIONS_MAX);

	for (size_t i = 0; i < n; i++)
		if (strcmp(options[i].key, key) == 0) {
			if (strcmp(options[i].value, value) != 0)
				fail_msg("expected [%s] %s = %s, got %s", name, key, value, options[i].value);
			return;
		}
	fail_msg("expected [%s] %s = %s, got no such key (%zu keys)", name, key, value, n);
}

static void defaults_are_the_documented_paths(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_string_equal(cfg.socket, "/run/lockwarden/lockwarden.sock");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/lockwarden");
	assert_string_equal(cfg.state_dir, "/var/lib/lockwarden");
	assert_string_equal(cfg.audit.file_path, "/var/log/lockwarden/audit.log");
	assert_string_equal(cfg.backend, "fcntl");
	assert_int_equal(cfg.nr_backend_options, 0);
	assert_int_equal(cfg.max_images, 65536);
}

static void file_overrides_every_key(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("# comment\n"
		   "[daemon]\n"
		   "socket = /tmp/x/lw.sock\n"
		   "pin_dir = /sys/fs/bpf/other\n"
		   "state_dir = /tmp/x/state\n"
		   "admin_group = kvm\n"
		   "max_clients = 8\n"
		   "max_images = 1024\n"
		   "[backend]\n"
		   "name = nop\n"
		   "lockspace = /shared/locks\n"
		   "[audit]\n"
		   "path = /tmp/x/audit.log\n"
		   "journal = yes\n");
	if (lw_config_load(&cfg, conf_path, true, &err) < 0)
		fail_msg("expected the file to load, got: %s", err.msg);
	assert_string_equal(cfg.socket, "/tmp/x/lw.sock");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/other");
	assert_string_equal(cfg.state_dir, "/tmp/x/state");
	assert_string_equal(cfg.admin_group, "kvm");
	assert_int_equal(cfg.max_clients, 8);
	assert_int_equal(cfg.max_images, 1024);
	assert_string_equal(cfg.backend, "nop");
	assert_backend_option(&cfg, "fcntl", "lockspace", "/shared/locks");
	assert_string_equal(cfg.audit.file_path, "/tmp/x/audit.log");
	assert_true(cfg.audit.journal);
}

static void missing_optional_file_keeps_defaults(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_load(&cfg, "/nonexistent/lockwarden.conf", false, &err), 0);
	assert_string_equal(cfg.socket, "/run/lockwarden/lockwarden.sock");
}

static void missing_required_file_is_an_error(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_load(&cfg, "/nonexistent/lockwarden.conf", true, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/lockwarden.conf"));
}

static void unknown_key_is_refused_with_its_line(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nsocket = /tmp/a.sock\nsokcet = /tmp/b.sock\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -ENOENT);
	if (!strstr(err.msg, ":3: unknown key sokcet in [daemon]"))
		fail_msg("expected line 3 and the key named, got: %s", err.msg);
}

static void unknown_section_is_refused(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[deamon]\nsocket = /tmp/a.sock\n");
	assert_true(lw_config_load(&cfg, conf_path, true, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown section [deamon]"));
}

static void bad_number_is_refused(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nmax_clients = -1\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad value for max_clients"));
	write_conf("[daemon]\nmax_images = 12abc\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
}

static void relative_path_is_refused(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nstate_dir = var/lib/lockwarden\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
}

static void unknown_backend_is_refused(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[backend]\nname = zookeeper\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "zookeeper"));
}

static void paxos_is_refused_while_no_backend_implements_it(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[backend]\nname = paxos\n");
	if (lw_backend_exists("paxos"))
		assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), 0);
	else
		assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
}

static void backend_section_keys_go_to_that_backend_in_order(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[fcntl]\nlockspace = /shared/locks\nwait_timeout_sec = 30\n");
	if (lw_config_load(&cfg, conf_path, true, &err) < 0)
		fail_msg("expected [fcntl] to load, got: %s", err.msg);
	assert_backend_option(&cfg, "fcntl", "lockspace", "/shared/locks");
	assert_backend_option(&cfg, "fcntl", "wait_timeout_sec", "30");
	/* an option given again (the command line) replaces the file's value */
	assert_int_equal(lw_config_set(&cfg, "fcntl", "wait_timeout_sec", "5", NULL), 0);
	assert_backend_option(&cfg, "fcntl", "wait_timeout_sec", "5");
	assert_int_equal(cfg.nr_backend_options, 2);
}

static void backend_section_typo_is_refused_even_for_another_backend(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[backend]\nname = nop\n[fcntl]\nwait_timeout = 30\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -ENOENT);
	if (!strstr(err.msg, ":4:") || !strstr(err.msg, "unknown key wait_timeout in [fcntl]"))
		fail_msg("expected the line and the unknown key, got: %s", err.msg);
	lw_config_defaults(&cfg);
	write_conf("[fcntl]\nwait_timeout_sec = soon\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true, &err), -EINVAL);
	if (!strstr(err.msg, "bad value for wait_timeout_sec in [fcntl]"))
		fail_msg("expected the bad value named, got: %s", err.msg);
}

static void syntax_error_names_the_line(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nthis line has no equals sign\n");
	assert_true(lw_config_load(&cfg, conf_path, true, &err) < 0);
	assert_non_null(strstr(err.msg, ":2:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_paths),
		cmocka_unit_test_teardown(paxos_is_refused_while_no_backend_implements_it, teardown),
		cmocka_unit_test_teardown(backend_section_keys_go_to_that_backend_in_order, teardown),
		cmocka_unit_test_teardown(backend_section_typo_is_refused_even_for_another_backend, teardown),
		cmocka_unit_test_teardown(file_overrides_every_key, teardown),
		cmocka_unit_test(missing_optional_file_keeps_defaults),
		cmocka_unit_test(missing_required_file_is_an_error),
		cmocka_unit_test_teardown(unknown_key_is_refused_with_its_line, teardown),
		cmocka_unit_test_teardown(unknown_section_is_refused, teardown),
		cmocka_unit_test_teardown(bad_number_is_refused, teardown),
		cmocka_unit_test_teardown(relative_path_is_refused, teardown),
		cmocka_unit_test_teardown(unknown_backend_is_refused, teardown),
		cmocka_unit_test_teardown(syntax_error_names_the_line, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
