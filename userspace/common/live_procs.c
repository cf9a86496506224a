// SPDX-License-Identifier: LGPL-2.1-or-later
/* Processes proven alive, each with a pidfd kept. See live_procs.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/holder.h"
#include "common/live_procs.h"
#include "common/proc.h"

struct live_proc {
	pid_t pid;		/* 0: a free slot */
	uint64_t start_time;
	char comm[LW_COMM_LEN];
	int pidfd;
	uint64_t asked;		/* when last asked for: the oldest goes first */
};

static struct live_proc procs[LW_LIVE_PROCS];
static uint64_t asks;
/* Processes proven once, by pid and start time, no descriptor kept:
 * proven again, one is kept. Overwritten in turn. */
static struct { pid_t pid; uint64_t start_time; } seen[2 * LW_LIVE_PROCS];
static unsigned int next_seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool lw_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

int lw_pidfd_uids(int pidfd, pid_t pid, uid_t *ruid, uid_t *euid)
{
	char path[64], buf[1024];
	unsigned int real, effective;
	const char *line;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = lw_read_text(path, buf, sizeof(buf));	/* "Uid:" comes in the first 1 KiB */
	if (lw_lookup_failed_here(r))
		return r;
	line = r < 0 ? NULL : strstr(buf, "\nUid:");
	if (!line || sscanf(line + 5, "%u %u", &real, &effective) != 2 || lw_pidfd_exited(pidfd))
		return -ESRCH;
	*ruid = real;
	*euid = effective;
	return 0;
}

static void drop(struct live_proc *p)
{
	close(p->pidfd);
	memset(p, 0, sizeof(*p));
}

/* pid's entry if its process still runs; an exited one is dropped. */
static struct live_proc *find(pid_t pid)
{
	for (int i = 0; i < LW_LIVE_PROCS; i++) {
		struct live_proc *p = &procs[i];

		if (p->pid != pid)
			continue;
		if (lw_pidfd_exited(p->pidfd)) {
			drop(p);
			return NULL;
		}
		p->asked = ++asks;
		return p;
	}
	return NULL;
}

static int dup_pidfd(int pidfd)
{
	int fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);

	return fd < 0 ? -errno : fd;
}

/* The pidfd first, then the start time, then the pidfd again: the stat
 * read was of the process the pidfd holds, alive after it. */
int lw_live_proc_prove(pid_t pid, uint64_t *start_time, char comm[LW_COMM_LEN])
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), r;

	if (pidfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	r = lw_proc_stat(pid, start_time, comm, LW_COMM_LEN);
	if (r == 0 && lw_pidfd_exited(pidfd))
		r = -ESRCH;
	if (r < 0) {
		close(pidfd);
		return lw_lookup_failed_here(r) ? r : -ESRCH;
	}
	return pidfd;
}

/* Keep a copy of a proven pidfd in a free slot, else the oldest one's. */
static void keep(pid_t pid, uint64_t start_time, const char comm[LW_COMM_LEN], int pidfd)
{
	struct live_proc *slot = &procs[0];
	int copy = dup_pidfd(pidfd);

	if (copy < 0)
		return;	/* nothing kept: the next ask proves it again */
	for (int i = 0; i < LW_LIVE_PROCS && slot->pid; i++)
		if (!procs[i].pid || procs[i].asked < slot->asked)
			slot = &procs[i];
	if (slot->pid)
		drop(slot);
	*slot = (struct live_proc){ .pid = pid, .start_time = start_time, .pidfd = copy, .asked = ++asks };
	memcpy(slot->comm, comm, LW_COMM_LEN);
}

/* Drop every kept process that has exited, with one poll for all. */
static void sweep(void)
{
	struct pollfd fds[LW_LIVE_PROCS];
	struct live_proc *at[LW_LIVE_PROCS];
	nfds_t n = 0;

	for (int i = 0; i < LW_LIVE_PROCS; i++)
		if (procs[i].pid) {
			fds[n] = (struct pollfd){ .fd = procs[i].pidfd, .events = POLLIN };
			at[n++] = &procs[i];
		}
	if (!n || poll(fds, n, 0) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].revents)
			drop(at[i]);
}

/* Whether this process was proven before; remembered if not. */
static bool seen_before(pid_t pid, uint64_t start_time)
{
	for (unsigned int i = 0; i < 2 * LW_LIVE_PROCS; i++)
		if (seen[i].pid == pid && seen[i].start_time == start_time)
			return true;
	seen[next_seen].pid = pid;
	seen[next_seen].start_time = start_time;
	next_seen = (next_seen + 1) % (2 * LW_LIVE_PROCS);
	return false;
}

/* With the lock held: a new pidfd of pid's process, its start time and
 * comm; a process proven for the second time is kept. */
static int open_locked(pid_t pid, uint64_t *start_time, char comm[LW_COMM_LEN])
{
	struct live_proc *p = find(pid);
	int pidfd;

	if (p) {
		*start_time = p->start_time;
		memcpy(comm, p->comm, LW_COMM_LEN);
		return dup_pidfd(p->pidfd);
	}
	sweep();
	pidfd = lw_live_proc_prove(pid, start_time, comm);
	if (pidfd >= 0 && seen_before(pid, *start_time))
		keep(pid, *start_time, comm, pidfd);
	return pidfd;
}

int lw_live_proc_open(pid_t pid, uint64_t *start_time, char *comm)
{
	char name[LW_COMM_LEN] = "";
	int r;

	if (pid <= 0)
		return -ESRCH;
	pthread_mutex_lock(&lock);
	r = open_locked(pid, start_time, name);
	pthread_mutex_unlock(&lock);
	if (r >= 0 && comm)
		memcpy(comm, name, LW_COMM_LEN);
	return r;
}

int lw_live_proc_pidfd(const struct lw_holder *holder)
{
	char comm[LW_COMM_LEN];
	uint64_t start_time;
	int r;

	if (holder->kind != LW_HOLDER_PROCESS || !holder->pid)
		return -ESRCH;
	pthread_mutex_lock(&lock);
	r = open_locked((pid_t)holder->pid, &start_time, comm);
	pthread_mutex_unlock(&lock);
	/* the pid runs another process now: holder's has exited */
	if (r >= 0 && start_time != holder->start_time) {
		close(r);
		r = -ESRCH;
	}
	return r;
}

void lw_live_proc_exited(const struct lw_holder *holder)
{
	if (holder->kind != LW_HOLDER_PROCESS)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < LW_LIVE_PROCS; i++)
		if (procs[i].pid == (pid_t)holder->pid && procs[i].start_time == holder->start_time)
			drop(&procs[i]);
	pthread_mutex_unlock(&lock);
}

void lw_live_procs_forget(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < LW_LIVE_PROCS; i++)
		if (procs[i].pid)
			drop(&procs[i]);
	memset(seen, 0, sizeof(seen));
	next_seen = 0;
	pthread_mutex_unlock(&lock);
}
