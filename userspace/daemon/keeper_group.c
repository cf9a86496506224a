// SPDX-License-Identifier: LGPL-2.1-or-later
/* The fanotify group in the keeper. See keeper_group.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fanotify/fan_enforcer.h"
#include "keeper_group.h"

static int kept_group = -1, kept_table = -1;
static struct lw_enforcement *answering;	/* while no daemon answers */

static int count_lease(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx)
{
	(void)key;
	(void)lease;
	++*(unsigned long *)ctx;
	return 0;
}

/* Stop answering: the thread answers what it has read, then leaves; the
 * group lives on in the copies kept here. */
static void quiet(void)
{
	lw_fan_enforcer_close(answering);
	answering = NULL;
}

int lw_keeper_group_keep(const char *which, int fd)
{
	int *slot = !strcmp(which, "group") ? &kept_group : !strcmp(which, "table") ? &kept_table : NULL;

	if (!slot)
		return -EINVAL;
	quiet();
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
	return 0;
}

void lw_keeper_group_take(int *group_fd, int *table_fd)
{
	quiet();
	*group_fd = kept_group;
	*table_fd = kept_table;
}

void lw_keeper_group_drop(void)
{
	quiet();
	if (kept_group >= 0)
		close(kept_group);
	if (kept_table >= 0)
		close(kept_table);
	kept_group = kept_table = -1;
}

void lw_keeper_group_answer(void)
{
	int group, table;

	if (answering || kept_group < 0 || kept_table < 0)
		return;
	group = fcntl(kept_group, F_DUPFD_CLOEXEC, 3);
	table = fcntl(kept_table, F_DUPFD_CLOEXEC, 3);
	if (group < 0 || table < 0) {
		if (group >= 0)
			close(group);
		if (table >= 0)
			close(table);
		return;	/* the group's events then wait for the next daemon */
	}
	/* leaves the openers waiting for the next daemon if it fails */
	lw_fan_enforcer_adopt(NULL, group, table, &answering, NULL);
}

bool lw_keeper_group_needed(void)
{
	unsigned long leases = 0;

	if (kept_group < 0)
		return false;
	if (!answering)
		return true;
	lw_fan_enforcer_foreach(answering, count_lease, &leases);
	return leases > 0;
}
