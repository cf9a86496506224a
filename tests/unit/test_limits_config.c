// SPDX-License-Identifier: LGPL-2.1-or-later
/* The limit keys of lockwarden.conf: defaults that keep root's calls
 * working, values checked, and a reserve that must leave room for others. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/config.h"

static void defaults_keep_a_reserve_and_a_root_only_socket(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(cfg.max_clients_per_uid, 32);
	assert_int_equal(cfg.reserved_clients, 16);
	assert_int_equal(cfg.idle_timeout_sec, 60);
	assert_int_equal(cfg.socket_mode, 0660);
	assert_string_equal(cfg.socket_group, "");
	assert_int_equal(cfg.audit.max_records_per_uid_per_min, 600);
	assert_int_equal(lw_config_check(&cfg, &err), 0);
}

static void socket_mode_is_octal(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "0666", NULL), 0);
	assert_int_equal(cfg.socket_mode, 0666);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "600", NULL), 0);
	assert_int_equal(cfg.socket_mode, 0600);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "0888", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "01777", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "-1", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_mode", "", NULL), -EINVAL);
	assert_int_equal(cfg.socket_mode, 0600);	/* a bad value changes nothing */
}

static void limits_are_checked(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_set(&cfg, "daemon", "max_clients_per_uid", "0", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "daemon", "idle_timeout_sec", "0", NULL), 0);
	assert_int_equal(lw_config_set(&cfg, "daemon", "idle_timeout_sec", "x", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "audit", "max_records_per_uid_per_min", "0", NULL), 0);
	assert_int_equal(lw_config_set(&cfg, "audit", "max_records_per_uid_per_min", "-5", NULL), -EINVAL);
	assert_int_equal(lw_config_set(&cfg, "daemon", "socket_group", "kvm", NULL), 0);
	assert_string_equal(cfg.socket_group, "kvm");
}

static void a_reserve_as_large_as_max_clients_is_refused(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	assert_int_equal(lw_config_set(&cfg, "daemon", "max_clients", "16", NULL), 0);
	assert_int_equal(lw_config_check(&cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "reserved_clients (16) must be less than max_clients (16)"));
	assert_int_equal(lw_config_set(&cfg, "daemon", "reserved_clients", "4", NULL), 0);
	assert_int_equal(lw_config_check(&cfg, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_keep_a_reserve_and_a_root_only_socket),
		cmocka_unit_test(socket_mode_is_octal),
		cmocka_unit_test(limits_are_checked),
		cmocka_unit_test(a_reserve_as_large_as_max_clients_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
