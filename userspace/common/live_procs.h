/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes proven alive, each with a pidfd kept.
 *
 * The daemon proves the same few processes again and again: a client that
 * connects for every call (libvirt's lock driver does), which is also the
 * holder it acquires for, proven by the peer check, the enforcer and the
 * holder watch in turn. Proving is a pidfd opened, then /proc/PID/stat read
 * for the start time, then the pidfd polled: the dearest read of a round
 * trip. But a pidfd stays "not exited" exactly as long as its process lives,
 * and a live process's pid is never reused: a process proven once is known
 * again, for as long as it lives, from a poll of the pidfd kept for it. What
 * that returns is what a new proof would: the process that has the pid now.
 *
 * A process is kept from its second proof on (a client's second
 * connection; or its connection, then its watch as a holder), so a process
 * proven once, such as a status call from the command line, costs no
 * descriptor. A kept process that has exited is dropped as soon as the
 * holder watch sees it exit (lw_live_proc_exited), else at the next proof
 * of another process (one poll for all). Thread-safe (the fanotify
 * enforcer's answering thread may ask too). */
#ifndef LW_COMMON_LIVE_PROCS_H
#define LW_COMMON_LIVE_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/lease_types.h"

/* Pidfds kept, the least recently asked for replaced first; the daemon's
 * descriptor room counts them. */
#define LW_LIVE_PROCS 8

/* For a connecting client: a new pidfd (close-on-exec, the caller's to
 * close) of the process whose tgid is pid, with its start time and its
 * command (LW_COMM_LEN bytes, if comm is not NULL; a kept process's as
 * /proc showed it when it was kept: a later rename is not seen). -ESRCH if
 * there is no such process, or an error lw_lookup_failed_here. */
int lw_live_proc_open(pid_t pid, uint64_t *start_time, char *comm);
/* The same proof, of a process named once (acquire --pid): a new pidfd of
 * pid's process with its start time and comm, neither kept nor counted as
 * a proof (its holder watch is the first); -EINVAL if pid is a thread
 * other than its process's first, else as lw_live_proc_open. */
int lw_live_proc_prove(pid_t pid, uint64_t *start_time, char comm[LW_COMM_LEN]);
/* A new pidfd of a process holder's process, if that still runs (same pid,
 * same start time); else -ESRCH, or an error lw_lookup_failed_here. */
int lw_live_proc_pidfd(const struct lw_holder *holder);
/* The holder's process has exited: its pidfd, if kept, is closed now. */
void lw_live_proc_exited(const struct lw_holder *holder);
/* Has the process behind this pidfd exited? Readable, it has; a poll that
 * fails counts as exited too, so every caller fails closed. */
bool lw_pidfd_exited(int pidfd);
/* The real and effective uid of pid's process, from /proc/PID/status, read
 * while pidfd (a pidfd of the process that had pid) is open and polled
 * after: what was read is that process's. -ESRCH if it has exited (the pid
 * may run another process now), or an error lw_lookup_failed_here. */
int lw_pidfd_uids(int pidfd, pid_t pid, uid_t *ruid, uid_t *euid);
/* Close every pidfd kept and forget every process seen (tests; exec
 * closes them anyway). */
void lw_live_procs_forget(void);

#endif /* LW_COMMON_LIVE_PROCS_H */
