// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify enforcer's hash index of its leases (fan_index.c), against
 * a walk of the table: every lease is found by its key and by its inode
 * after any mix of adds and swap-removes (as fan_leases.c makes them), an
 * absent one is not, and colliding identities (one inode number on several
 * devices; block devices, whose keys all have inode 0) stay apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fanotify/fan_index.h"
#include "fanotify/fan_internal.h"

#define MAX 5000

static struct lw_fan_enforcer enf;

static int setup(void **state)
{
	(void)state;
	enf = (struct lw_fan_enforcer){ 0 };
	enf.leases = calloc(MAX, sizeof(*enf.leases));
	return enf.leases ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lw_fan_index_free(&enf);
	free(enf.leases);
	return 0;
}

/* Identities that collide on purpose: inode numbers repeat on 4 devices,
 * and every 5th lease is a block device (key inode 0, the device varies). */
static void identity(unsigned int n, struct lw_fan_lease *l)
{
	*l = (struct lw_fan_lease){ 0 };
	l->st_dev = 100 + n % 4;
	l->st_ino = 1000 + n / 4;
	l->key.dev = n % 5 ? 200 + n % 4 : 70000 + n;
	l->key.ino = n % 5 ? l->st_ino : 0;
}

static void add(unsigned int n)
{
	identity(n, &enf.leases[enf.nr_leases++]);
	assert_int_equal(lw_fan_index_add(&enf, enf.nr_leases - 1), 0);
}

static void drop(size_t i)
{
	lw_fan_index_remove(&enf, i);
	enf.leases[i] = enf.leases[--enf.nr_leases];
}

/* Every lease in the table is found where it is, by both identities, and
 * the given absent identities are not. */
static void assert_index_agrees(const unsigned int *absent, size_t nr_absent)
{
	for (size_t i = 0; i < enf.nr_leases; i++) {
		assert_int_equal(lw_fan_index_by_key(&enf, &enf.leases[i].key), i);
		assert_int_equal(lw_fan_index_by_inode(&enf, enf.leases[i].st_dev, enf.leases[i].st_ino), i);
	}
	for (size_t a = 0; a < nr_absent; a++) {
		struct lw_fan_lease l;

		identity(absent[a], &l);
		assert_int_equal(lw_fan_index_by_key(&enf, &l.key), LW_FAN_NOT_FOUND);
		assert_int_equal(lw_fan_index_by_inode(&enf, l.st_dev, l.st_ino), LW_FAN_NOT_FOUND);
	}
}

static void nothing_is_found_in_an_empty_index(void **state)
{
	const unsigned int absent[] = { 0, 1, 5 };

	(void)state;
	assert_index_agrees(absent, 3);
}

static void every_lease_is_found_as_the_table_grows(void **state)
{
	const unsigned int absent[] = { MAX, MAX + 1, MAX + 5 };

	(void)state;
	for (unsigned int n = 0; n < MAX; n++) {
		add(n);
		if (n % 499 == 0 || n < 70)
			assert_index_agrees(absent, 3);
	}
	assert_index_agrees(absent, 3);
}

/* Swap-removes from the front, the middle and the end, then the table
 * filled again: a slot left behind or a moved lease not followed shows as
 * a wrong position. */
static void leases_removed_in_any_order_are_gone_and_the_moved_ones_found(void **state)
{
	unsigned int gone[MAX];
	size_t nr_gone = 0;

	(void)state;
	srand(7);
	for (unsigned int n = 0; n < MAX; n++)
		add(n);
	while (enf.nr_leases > MAX / 4) {
		size_t i = nr_gone % 3 == 0 ? 0 : nr_gone % 3 == 1 ? enf.nr_leases - 1 : (size_t)rand() % enf.nr_leases;
		unsigned int n = (unsigned int)(enf.leases[i].st_ino - 1000) * 4 + (unsigned int)(enf.leases[i].st_dev - 100);

		gone[nr_gone++] = n;
		drop(i);
		if (nr_gone % 250 == 0)
			assert_index_agrees(gone, nr_gone);
	}
	assert_index_agrees(gone, nr_gone);
	for (size_t g = 0; g < nr_gone; g++)
		add(gone[g]);
	assert_index_agrees(NULL, 0);
	while (enf.nr_leases)
		drop(enf.nr_leases / 2);
	assert_index_agrees(gone, nr_gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(nothing_is_found_in_an_empty_index, setup, teardown),
		cmocka_unit_test_setup_teardown(every_lease_is_found_as_the_table_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(leases_removed_in_any_order_are_gone_and_the_moved_ones_found,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("fanotify lease index", tests, NULL, NULL);
}
