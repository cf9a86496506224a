// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "libvirt/cgroup.h"

/* "vcpu12" for prefix "vcpu": the prefix and one or more digits. */
static bool numbered(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0 || !name[n])
		return false;
	for (name += n; *name; name++)
		if (!isdigit((unsigned char)*name))
			return false;
	return true;
}

static bool thread_group(const char *name)
{
	return strcmp(name, "emulator") == 0 || numbered(name, "vcpu") ||
	       numbered(name, "iothread");
}

void lw_domain_cgroup_trim(char *path)
{
	char *slash = strrchr(path, '/');

	while (slash && slash != path && thread_group(slash + 1)) {
		*slash = '\0';
		slash = strrchr(path, '/');
	}
	if (slash && slash != path && strcmp(slash + 1, "libvirt") == 0)
		*slash = '\0';
}

int lw_domain_cgroup_of_pid(pid_t pid, const char *root, char *out, size_t size)
{
	char file[64], line[PATH_MAX + 8];
	bool found = false;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, "0::/", 4) == 0;
	fclose(f);
	if (!found)
		return -ENOENT; /* no cgroup v2 */
	line[strcspn(line, "\n")] = '\0';
	lw_domain_cgroup_trim(line + 3);
	if (strcmp(line + 3, "/") == 0)
		return -EPERM; /* the root cgroup holds everyone: never a holder */
	if ((size_t)snprintf(out, size, "%s%s", root, line + 3) >= size)
		return -ENAMETOOLONG;
	return 0;
}
