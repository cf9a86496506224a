/* Holders' lifetime: each process holder is watched through a pidfd, which
 * becomes readable when the process exits; the daemon then releases what it
 * held. The identity is pid + start time, so a reused pid never matches. */
#ifndef LW_DAEMON_HOLDERS_H
#define LW_DAEMON_HOLDERS_H

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "lease.h"

/* Called once when a watched holder exits; image and holder say which. */
typedef void (*lw_holder_exit_fn)(const char *image, const struct lw_holder *holder, void *ctx);

/* Start watching e->holders[i] (process holders only; others: no-op).
 * -ESRCH if that process is gone already (or its pid now names another). */
int lw_holder_watch(sd_event *event, const struct lw_lease_entry *e, struct lw_lease_holder *h,
		    lw_holder_exit_fn fn, void *ctx);
void lw_holder_unwatch(struct lw_lease_holder *h);

/* Is this exact process (pid and start time) still there? */
bool lw_holder_alive(const struct lw_holder *holder);

/* Why pid may not hold a lease (pid 1, which never exits, or a kernel
 * thread, which no pidfd can watch), or NULL if it may. */
const char *lw_pid_refusal(int pid);

/* The effective uid pid runs as (the owner of /proc/PID), or -1. */
uid_t lw_pid_uid(int pid);

/* The command name of pid, "" if unknown. */
void lw_pid_comm(int pid, char comm[LW_COMM_LEN]);

#endif /* LW_DAEMON_HOLDERS_H */
