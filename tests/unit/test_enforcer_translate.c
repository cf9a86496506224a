// SPDX-License-Identifier: LGPL-2.1-or-later
/* The BPF enforcer's boundary (enforcer/translate.c): the daemon's types go
 * into the map layouts and come back unchanged, and a denial from the ring
 * buffer becomes the daemon's struct lw_denial. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "enforcer/enforcer_internal.h"

static void lease_survives_the_round_trip_through_the_map_layout(void **state)
{
	struct lw_lease lease = { .mode = LW_LEASE_SHARED, .nr_holders = 2 }, back;
	struct lw_map_lease m;

	(void)state;
	lease.holders[0] = (struct lw_holder){ .kind = LW_HOLDER_PROCESS, .pid = 7, .start_time = 99 };
	lease.holders[1] = (struct lw_holder){ .kind = LW_HOLDER_CGROUP, .cgroup_id = 4711 };
	m = lw_to_map_lease(&lease);
	assert_int_equal(m.mode, LW_MAP_LEASE_SHARED);
	assert_int_equal(m.holders[1].kind, LW_MAP_HOLDER_CGROUP);
	lw_from_map_lease(&m, &back);
	assert_memory_equal(&back, &lease, sizeof(lease));
}

static void unknown_map_values_become_nothing_the_daemon_would_trust(void **state)
{
	struct lw_map_holder odd = { .kind = 77, .pid = 5 };
	struct lw_holder h = lw_from_map_holder(&odd);

	(void)state;
	assert_int_equal(h.kind, LW_HOLDER_NONE);
	assert_int_equal(h.pid, 0);
	assert_int_equal(lw_from_map_mode(9), 0);
	assert_int_equal(lw_to_map_mode((enum lw_lease_mode)9), 0);
}

static void denial_event_becomes_the_daemons_denial(void **state)
{
	struct lw_map_denial ev = {
		.time_ns = 123, .pid = 11, .tgid = 10, .uid = 1000, .gid = 100,
		.loginuid = UINT32_MAX, .sessionid = 3, .op = LW_MAP_OP_TRUNCATE,
		.open_flags = 0, .key = { .dev = 8, .ino = 9 }, .lease_mode = LW_MAP_LEASE_EXCLUSIVE,
		.suppressed = 2,
		.holder = { .kind = LW_MAP_HOLDER_PROCESS, .pid = 20, .start_time = 30 },
	};
	struct lw_denial d;

	(void)state;
	memset(ev.comm, 'c', sizeof(ev.comm));	/* the kernel's strings may fill their arrays */
	memset(ev.path, 'p', sizeof(ev.path));
	lw_from_map_denial(&ev, &d);
	assert_int_equal(d.op, LW_OP_TRUNCATE);
	assert_string_equal(lw_denial_op_name(d.op), "truncate");
	assert_int_equal(d.lease_mode, LW_LEASE_EXCLUSIVE);
	assert_int_equal(d.holder.kind, LW_HOLDER_PROCESS);
	assert_int_equal(d.holder.start_time, 30);
	assert_int_equal(d.key.dev, 8);
	assert_int_equal(d.key.ino, 9);
	assert_int_equal(d.tgid, 10);
	assert_int_equal(d.loginuid, UINT32_MAX);
	assert_int_equal(d.suppressed, 2);
	assert_int_equal(strlen(d.comm), sizeof(d.comm) - 1);
	assert_int_equal(strlen(d.path), sizeof(d.path) - 1);
}

static void refused_mount_is_named_mount(void **state)
{
	struct lw_map_denial ev = { .op = LW_MAP_OP_MOUNT };
	struct lw_denial d;

	(void)state;
	lw_from_map_denial(&ev, &d);
	assert_int_equal(d.op, LW_OP_MOUNT);
	assert_string_equal(lw_denial_op_name(d.op), "mount");
}

static void unknown_op_is_named_unknown(void **state)
{
	struct lw_map_denial ev = { .op = 200 };
	struct lw_denial d;

	(void)state;
	lw_from_map_denial(&ev, &d);
	assert_string_equal(lw_denial_op_name(d.op), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lease_survives_the_round_trip_through_the_map_layout),
		cmocka_unit_test(unknown_map_values_become_nothing_the_daemon_would_trust),
		cmocka_unit_test(denial_event_becomes_the_daemons_denial),
		cmocka_unit_test(refused_mount_is_named_mount),
		cmocka_unit_test(unknown_op_is_named_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
