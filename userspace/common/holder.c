// SPDX-License-Identifier: LGPL-2.1-or-later
/* Holders: a process by tgid and start time, or a cgroup v2 subtree by id. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "common/holder.h"
#include "common/proc.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int tgid_of(int pid)
{
	char path[64];
	int tgid, r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = lw_proc_int_field(path, "Tgid: %d", &tgid);
	if (lw_lookup_failed_here(r))
		return r;
	return r ? -ESRCH : tgid;
}

int lw_proc_stat(int pid, uint64_t *start_time, char *comm, size_t comm_size)
{
	char path[64], buf[1024], *open_paren, *p;
	unsigned long long value;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	r = lw_read_text(path, buf, sizeof(buf));
	if (lw_lookup_failed_here(r))
		return r;
	if (r < 0)
		return -ESRCH;
	/* "PID (COMM) STATE ...": comm may hold spaces and parentheses, so
	 * fields count from the last ')'. */
	open_paren = strchr(buf, '(');
	p = strrchr(buf, ')');
	if (!open_paren || !p || p < open_paren)
		return -EINVAL;
	if (comm && comm_size)
		snprintf(comm, comm_size, "%.*s", (int)(p - open_paren - 1), open_paren + 1);
	for (int field = 3; field <= 22; field++) {	/* to the space before field 22 */
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	if (sscanf(p + 1, "%llu", &value) != 1)
		return -EINVAL;
	*start_time = value;
	return 0;
}

int lw_holder_of_pid(int pid, struct lw_holder *holder)
{
	int tgid = pid > 0 ? tgid_of(pid) : -ESRCH;
	int err;

	if (tgid < 0)
		return tgid;
	memset(holder, 0, sizeof(*holder));
	holder->kind = LW_HOLDER_PROCESS;
	holder->pid = tgid;
	err = lw_proc_stat(tgid, &holder->start_time, NULL, 0);
	return err;
}

int lw_holder_of_cgroup(const char *cgroup_path, struct lw_holder *holder)
{
	struct statfs fs;
	struct stat st;

	if (statfs(cgroup_path, &fs) || stat(cgroup_path, &st))
		return -errno;
	if (fs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		return -ENOTDIR;	/* not a cgroup v2 folder */
	memset(holder, 0, sizeof(*holder));
	holder->kind = LW_HOLDER_CGROUP;
	holder->cgroup_id = st.st_ino;	/* cgroup v2: the id is the folder's inode number */
	return 0;
}

/* Whether cgroup_id is the cgroup of pid or one of its ancestors. */
static bool pid_in_cgroup(int pid, uint64_t cgroup_id)
{
	char path[PATH_MAX], line[PATH_MAX];
	bool found = false;
	struct stat st;
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			break;
	fclose(f);
	if (strncmp(line, "0::", 3))
		return false;
	line[strcspn(line, "\n")] = 0;
	if (snprintf(path, sizeof(path), "%s%s", CGROUP_ROOT, line + 3) >= (int)sizeof(path))
		return false;
	for (;;) {
		if (!stat(path, &st) && st.st_ino == cgroup_id)
			found = true;
		if (found || !strcmp(path, CGROUP_ROOT))
			break;
		slash = strrchr(path, '/');
		if (!slash)
			break;
		*slash = 0;
	}
	return found;
}

bool lw_holder_process_alive(const struct lw_holder *holder)
{
	uint64_t start_time;

	return holder->kind == LW_HOLDER_PROCESS && !lw_proc_stat((int)holder->pid, &start_time, NULL, 0) &&
	       start_time == holder->start_time;
}

bool lw_holder_covers_pid(const struct lw_holder *holder, int pid)
{
	if (holder->kind == LW_HOLDER_CGROUP)
		return pid_in_cgroup(pid, holder->cgroup_id);
	return (uint32_t)pid == holder->pid && lw_holder_process_alive(holder);
}

bool lw_holder_equal(const struct lw_holder *a, const struct lw_holder *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == LW_HOLDER_CGROUP)
		return a->cgroup_id == b->cgroup_id;
	return a->pid == b->pid && a->start_time == b->start_time;
}

uint32_t lw_holder_hash(const struct lw_holder *holder)
{
	uint64_t h = (uint64_t)holder->pid * 0x9e3779b97f4a7c15ull ^ holder->start_time;

	return (uint32_t)(h ^ (h >> 32));
}
