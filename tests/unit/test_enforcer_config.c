// SPDX-License-Identifier: LGPL-2.1-or-later
/* [daemon] enforcer: auto by default, the three names accepted, anything
 * else refused; hardened with fanotify refused with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/enforcer_choice.h"

static void enforcer_defaults_to_auto(void **state)
{
	struct lw_config cfg;

	(void)state;
	lw_config_defaults(&cfg);
	assert_string_equal(cfg.enforcer, "auto");
}

static void each_enforcer_name_is_accepted_and_parsed(void **state)
{
	static const struct { const char *name; enum lw_enforcer_choice choice; } names[] = {
		{ "auto", LW_ENFORCER_AUTO },
		{ "bpf-lsm", LW_ENFORCER_BPF_LSM },
		{ "fanotify", LW_ENFORCER_FANOTIFY },
	};
	struct lw_config cfg;
	enum lw_enforcer_choice c;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		lw_config_defaults(&cfg);
		assert_int_equal(lw_config_set(&cfg, "daemon", "enforcer", names[i].name, NULL), 0);
		assert_string_equal(cfg.enforcer, names[i].name);
		assert_int_equal(lw_enforcer_choice_parse(cfg.enforcer, &c), 0);
		assert_int_equal(c, names[i].choice);
	}
}

static void unknown_enforcer_is_refused_and_keeps_the_old_value(void **state)
{
	static const char *bad[] = { "bpf", "BPF-LSM", "", "fanotify ", "nop" };
	struct lw_config cfg;
	enum lw_enforcer_choice c;

	(void)state;
	lw_config_defaults(&cfg);
	lw_config_set(&cfg, "daemon", "enforcer", "fanotify", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lw_config_set(&cfg, "daemon", "enforcer", bad[i], NULL), -EINVAL);
		assert_int_equal(lw_enforcer_choice_parse(bad[i], &c), -EINVAL);
	}
	assert_string_equal(cfg.enforcer, "fanotify");
}

static void hardened_with_fanotify_is_refused_with_a_reason(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	lw_config_set(&cfg, "daemon", "hardened", "yes", NULL);
	lw_config_set(&cfg, "daemon", "enforcer", "fanotify", NULL);
	assert_int_equal(lw_config_check(&cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "hardened needs the bpf-lsm enforcer"));
}

static void hardened_with_auto_or_bpf_lsm_passes_the_check(void **state)
{
	struct lw_config cfg;
	struct lw_err err = { "" };

	(void)state;
	lw_config_defaults(&cfg);
	lw_config_set(&cfg, "daemon", "hardened", "yes", NULL);
	assert_int_equal(lw_config_check(&cfg, &err), 0);
	lw_config_set(&cfg, "daemon", "enforcer", "bpf-lsm", NULL);
	assert_int_equal(lw_config_check(&cfg, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enforcer_defaults_to_auto),
		cmocka_unit_test(each_enforcer_name_is_accepted_and_parsed),
		cmocka_unit_test(unknown_enforcer_is_refused_and_keeps_the_old_value),
		cmocka_unit_test(hardened_with_fanotify_is_refused_with_a_reason),
		cmocka_unit_test(hardened_with_auto_or_bpf_lsm_passes_the_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
