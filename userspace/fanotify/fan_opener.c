// SPDX-License-Identifier: LGPL-2.1-or-later
/* Who is behind a permission event and what it is doing. A FAN_OPEN_PERM
 * event does not carry the opener's flags (the event's descriptor is opened
 * with the group's flags), but the opener is blocked inside its system call
 * until we answer, so the arguments it entered the kernel with sit in its
 * saved registers, which /proc/TID/syscall shows; they cannot change while
 * it waits (the wait is killable only, so no ptrace stop can edit them).
 * Only flags passed in registers are trusted: openat2's live in user memory
 * another thread could rewrite, so openat2 (like io_uring, kernel threads
 * and anything else not listed) is "unknown" and treated as a write. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/proc.h"
#include "fanotify/fan_internal.h"
#include "fanotify/fan_procs.h"

/* Read /proc/TID/syscall: "NR ARG0..ARG5 SP PC", "-1 SP PC" outside a
 * system call, "running" for a running task. */
static int read_syscall(pid_t tid, long *nr, unsigned long args[6])
{
	char path[64], line[512];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	n = lw_read_text(path, line, sizeof(line));
	if (n <= 0)
		return n < 0 ? n : -EIO;
	if (!strncmp(line, "running", 7))
		return -EAGAIN;
	n = sscanf(line, "%ld %lx %lx %lx %lx %lx %lx", nr, &args[0], &args[1], &args[2], &args[3],
		   &args[4], &args[5]);
	return n == 7 ? 0 : -ENOENT;
}

/* The event is queued before its task goes to sleep waiting for the
 * answer, and the kernel shows a task's registers only once it sleeps
 * ("running" until then): wait for that, a bounded while (the task cannot
 * go on without our answer, so it sleeps soon). */
static int syscall_of(pid_t tid, long *nr, unsigned long args[6])
{
	struct timespec pause = { 0, 10000 };	/* 10 us, doubling up to 1 ms */
	long waited_ns = 0;
	int err;

	/* At most about a second (a preempted opener on a saturated or
	 * emulated machine), then the open counts as unknown: denied. */
	for (int tries = 0; waited_ns < 1000000000; tries++) {
		err = read_syscall(tid, nr, args);
		if (err != -EAGAIN)
			return err;
		if (tries < 10) {
			sched_yield();
			continue;
		}
		nanosleep(&pause, NULL);
		waited_ns += pause.tv_nsec;
		if (pause.tv_nsec < 1000000)
			pause.tv_nsec *= 2;
	}
	return err;
}

static bool open_flags_write(unsigned long flags)
{
	/* O_RDONLY|O_TRUNC truncates on Linux; access mode 3 asks for write permission. */
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void classify_open(long nr, const unsigned long *args, struct lw_fan_opener *o)
{
	long flags = -1;

	o->op = LW_OP_OPEN_WRITE;
	switch (nr) {
#ifdef SYS_open
	case SYS_open:
		flags = args[1];
		break;
#endif
#ifdef SYS_creat
	case SYS_creat:
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		break;
#endif
	case SYS_openat:
	case SYS_open_by_handle_at:
		flags = args[2];
		break;
	case SYS_execve:
	case SYS_execveat:
		flags = O_RDONLY;	/* exec opens the program and its interpreter to read */
		break;
	default:
		o->access = LW_FAN_UNKNOWN;
		return;
	}
	o->open_flags = (__u32)flags;
	o->access = open_flags_write(flags) ? LW_FAN_MODIFY : LW_FAN_READ;
}

/* A pre-content event (FAN_PRE_ACCESS) comes before a read, a write, a
 * truncate or a page fault and does not say which. Only system calls that
 * cannot modify are reads; each number below means no file write in the
 * 32-bit table either (a 64-bit process may enter through int 0x80, and
 * /proc does not say which table a number belongs to), which is why
 * readahead (sendfile in that table) is not among them. */
static void classify_access(long nr, const unsigned long *args, struct lw_fan_opener *o)
{
	o->op = LW_OP_WRITE;
	switch (nr) {
	case SYS_read:
	case SYS_pread64:
	case SYS_readv:
	case SYS_preadv:
		o->access = LW_FAN_READ;
		return;
	case SYS_mmap: {
		int type = args[3] & MAP_TYPE;
		bool shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;

		o->access = (args[2] & PROT_WRITE) && shared ? LW_FAN_MODIFY : LW_FAN_READ;
		return;
	}
	case SYS_truncate:
	case SYS_ftruncate:
		o->op = LW_OP_TRUNCATE;
		o->access = LW_FAN_MODIFY;
		return;
	default:
		o->access = LW_FAN_UNKNOWN;	/* write family, fallocate, copies, faults... */
		return;
	}
}

void lw_fan_classify(pid_t tid, bool pre_content_event, struct lw_fan_opener *o)
{
	unsigned long args[6] = { 0 };

	memset(o, 0, sizeof(*o));
	o->syscall_nr = -1;
	o->op = pre_content_event ? LW_OP_WRITE : LW_OP_OPEN_WRITE;
	o->access = LW_FAN_UNKNOWN;
	if (syscall_of(tid, &o->syscall_nr, args)) {
		o->syscall_nr = -1;
		return;
	}
	if (pre_content_event)
		classify_access(o->syscall_nr, args, o);
	else
		classify_open(o->syscall_nr, args, o);
}

bool lw_fan_thread_of(pid_t tid, pid_t pid)
{
	char path[64];
	struct stat st;

	if (tid == pid)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return !stat(path, &st);
}

bool lw_fan_holder_covers_tid(const struct lw_fan_lease *l, pid_t tid)
{
	const struct lw_lease *lease = &l->lease;

	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAX_HOLDERS; i++) {
		const struct lw_holder *h = &lease->holders[i];

		/* The thread is looked up first and the holder's life checked
		 * after, so a holder that died meanwhile (its pid reusable) fails. */
		if (h->kind == LW_HOLDER_PROCESS && lw_fan_thread_of(tid, h->pid) &&
		    lw_fan_proc_alive(l->procs[i]))
			return true;
		/* A thread's own cgroup: threaded cgroups may put threads apart. */
		if (h->kind == LW_HOLDER_CGROUP && lw_holder_covers_pid(h, tid))
			return true;
	}
	return false;
}

static void read_line(const char *fmt, pid_t tid, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), fmt, tid);
	if (lw_read_text(path, buf, size) < 0)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

void lw_fan_fill_subject(pid_t tid, struct lw_denial *e)
{
	char path[64], line[256];
	unsigned int value;
	FILE *f;

	e->pid = tid;
	e->tgid = tid;
	e->uid = e->gid = e->loginuid = e->sessionid = (__u32)-1;
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Tgid: %u", &value) == 1)
				e->tgid = value;
			else if (sscanf(line, "Uid: %u", &value) == 1)
				e->uid = value;	/* the real uid, as the BPF side's current uid */
			else if (sscanf(line, "Gid: %u", &value) == 1)
				e->gid = value;
		}
		fclose(f);
	}
	read_line("/proc/%d/loginuid", tid, line, sizeof(line));
	if (sscanf(line, "%u", &value) == 1)
		e->loginuid = value;
	read_line("/proc/%d/sessionid", tid, line, sizeof(line));
	if (sscanf(line, "%u", &value) == 1)
		e->sessionid = value;
	read_line("/proc/%d/comm", tid, line, sizeof(line));
	memcpy(e->comm, line, strnlen(line, sizeof(e->comm) - 1));	/* e is zeroed */
}
