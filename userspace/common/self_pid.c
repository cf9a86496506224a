// SPDX-License-Identifier: LGPL-2.1-or-later
/* This process's pid, cached (self_pid.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/self_pid.h"

static atomic_int cached;	/* 0: not read yet in this process */
static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void forget_in_child(void)
{
	atomic_store(&cached, 0);
}

static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, forget_in_child);
}

pid_t lw_self_pid(void)
{
	int pid = atomic_load(&cached);

	if (pid)
		return pid;
	pthread_once(&registered, register_fork_handler);
	pid = getpid();
	atomic_store(&cached, pid);
	return pid;
}
