// SPDX-License-Identifier: LGPL-2.1-or-later
/* Adoption's hash index (daemon/adopt_index.h): every item is found, an
 * absent one is not, and image paths that differ only in their last digits
 * (how hosts name their images) spread out instead of piling up in one run
 * of slots, so a lookup costs O(1) at the default capacity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/adopt_index.h"

#define COUNT 65536	/* max_images by default */

static char (*paths)[80];

static uint64_t hash_of(size_t i)
{
	return lw_index_hash(paths[i], strlen(paths[i]));
}

/* Slots looked at to find path (inserted ones), or to learn it is absent. */
static size_t probes(const struct lw_index *ix, const char *path, long *found)
{
	size_t n = 1;

	*found = -1;
	for (uint32_t *s = lw_index_first(ix, lw_index_hash(path, strlen(path))); *s;
	     s = lw_index_next(ix, s), n++)
		if (strcmp(paths[*s - 1], path) == 0) {
			*found = (long)*s - 1;
			return n;
		}
	return n;
}

static void every_image_path_is_found_and_an_absent_one_is_not(void **state)
{
	struct lw_index ix;
	size_t worst = 0, total = 0;
	long found;

	(void)state;
	paths = calloc(COUNT, sizeof(*paths));
	assert_non_null(paths);
	for (size_t i = 0; i < COUNT; i++)
		snprintf(paths[i], sizeof(paths[i]), "/var/lib/libvirt/images/tenant-a/vm-%08zu.qcow2", i);
	assert_int_equal(lw_index_init(&ix, COUNT), 0);
	for (size_t i = 0; i < COUNT; i++) {
		uint32_t *s = lw_index_first(&ix, hash_of(i));

		while (*s)
			s = lw_index_next(&ix, s);
		*s = (uint32_t)i + 1;
	}
	for (size_t i = 0; i < COUNT; i++) {
		size_t n = probes(&ix, paths[i], &found);

		if (found != (long)i)
			fail_msg("expected %s at item %zu, found item %ld", paths[i], i, found);
		total += n;
		worst = n > worst ? n : worst;
	}
	probes(&ix, "/var/lib/libvirt/images/tenant-a/vm-99999999.qcow2", &found);
	if (found != -1)
		fail_msg("expected an absent path not found, got item %ld", found);
	/* half full with a well-mixed hash: about 1.5 probes on average */
	if (total > 3 * (size_t)COUNT || worst > 64)
		fail_msg("expected at most 3 probes a lookup on average and 64 at worst, got %.2f and %zu",
			 (double)total / COUNT, worst);
	lw_index_free(&ix);
	free(paths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_image_path_is_found_and_an_absent_one_is_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
