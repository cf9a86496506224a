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
	assert_string_equal(cfg.lockspace, "");
	assert_int_equal(cfg.max_images, 65536);
}

static void file_overrides_every_key(void **state)
{
	struct lw_config cfg;

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
	if (lw_config_load(&cfg, conf_path, true) < 0)
		fail_msg("expected the file to load, got: %s", cfg.error);
	assert_string_equal(cfg.socket, "/tmp/x/lw.sock");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/other");
	assert_string_equal(cfg.state_dir, "/tmp/x/state");
	assert_string_equal(cfg.admin_group, "kvm");
	assert_int_equal(cfg.max_clients, 8);
	assert_int_equal(cfg.max_images, 1024);
	assert_string_equal(cfg.backend, "nop");
	assert_string_equal(cfg.lockspace, "/shared/locks");
	assert_string_equal(cfg.audit.file_path, "/tmp/x/audit.log");
	assert_true(cfg.audit.journal);
}

static void missing_optional_file_keeps_defaults(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_load(&cfg, "/nonexistent/lockwarden.conf", false), 0);
	assert_string_equal(cfg.socket, "/run/lockwarden/lockwarden.sock");
}

static void missing_required_file_is_an_error(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_load(&cfg, "/nonexistent/lockwarden.conf", true), -ENOENT);
	assert_non_null(strstr(cfg.error, "/nonexistent/lockwarden.conf"));
}

static void unknown_key_is_refused_with_its_line(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nsocket = /tmp/a.sock\nsokcet = /tmp/b.sock\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true), -ENOENT);
	if (!strstr(cfg.error, ":3: unknown key sokcet in [daemon]"))
		fail_msg("expected line 3 and the key named, got: %s", cfg.error);
}

static void unknown_section_is_refused(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[deamon]\nsocket = /tmp/a.sock\n");
	assert_true(lw_config_load(&cfg, conf_path, true) < 0);
	assert_non_null(strstr(cfg.error, "unknown section [deamon]"));
}

static void bad_number_is_refused(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nmax_clients = -1\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true), -EINVAL);
	assert_non_null(strstr(cfg.error, "bad value for max_clients"));
	write_conf("[daemon]\nmax_images = 12abc\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true), -EINVAL);
}

static void relative_path_is_refused(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nstate_dir = var/lib/lockwarden\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true), -EINVAL);
}

static void unknown_backend_is_refused(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[backend]\nname = zookeeper\n");
	assert_int_equal(lw_config_load(&cfg, conf_path, true), -EINVAL);
	assert_non_null(strstr(cfg.error, "zookeeper"));
}

static void syntax_error_names_the_line(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	write_conf("[daemon]\nthis line has no equals sign\n");
	assert_true(lw_config_load(&cfg, conf_path, true) < 0);
	assert_non_null(strstr(cfg.error, ":2:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_the_documented_paths),
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
