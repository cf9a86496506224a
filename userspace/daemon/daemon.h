/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The running daemon: the parts main.c wires together, which the manager,
 * the server and re-adoption all act on. */
#ifndef LW_DAEMON_DAEMON_H
#define LW_DAEMON_DAEMON_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "lease.h"

struct lw_backend;
struct lw_enforcement;
struct lw_audit;
struct lw_keeper;
struct lw_server;
struct lw_tamper;
struct lw_exit_queue;
struct lw_denials;
struct lw_state;
struct lw_commit;
struct lw_acquiring;
struct lw_releasing;
struct lw_adoption;
struct lw_looking_up;

struct lw_daemon {
	const struct lw_config *cfg;
	sd_event *event;
	struct lw_lease_table *leases;
	struct lw_backend *backend;
	struct lw_enforcement *enforcer;	/* common/enforcement.h */
	struct lw_audit *audit;		/* NULL: no audit sink */
	struct lw_keeper *keeper;
	sd_event_source *keeper_source;	/* hangs up when the keeper dies (keeping.c) */
	bool keeper_receives;	/* the kernel lets the keeper receive a leased image's
				 * write descriptor: puts go unanswered (keeping.c) */
	struct lw_server *server;
	bool has_admin_group;
	gid_t admin_gid;		/* [daemon] admin_group: may act for any process */
	uint64_t start_usec;		/* CLOCK_MONOTONIC */
	sd_event_source *events_source;	/* the enforcer's denial events */
	struct lw_tamper *tamper;	/* tamper evidence (tamper.h) */
	struct lw_exit_queue *exits;	/* holders that exited, released in batches (leasing.c) */
	struct lw_denials *denials;	/* denials.c: the per-uid record budget */
	struct lw_state *state;		/* state.h: the journal changes are committed to */
	struct lw_adoption *adoption;	/* adopt.h: leases still to adopt; NULL once all are */
	bool reexec_after_adoption;	/* SIGUSR1 came while adopting */
	struct lw_commit *commit;	/* commit.h: group commit, NULL when off */
	LIST_HEAD(lw_acquiring_list, lw_acquiring) acquiring;	/* acquiring.h: answered later */
	unsigned int nr_acquiring;
	unsigned long long fd_limit;	/* RLIMIT_NOFILE, as raised at start; 0: no cap */
	unsigned int fd_per_lease;	/* descriptors a lease takes (main.c) */
	unsigned int fd_per_holder;	/* pidfds a holder process takes, however many leases */
	unsigned int fd_reserved;	/* kept for the daemon's own, whatever the leases */
	LIST_HEAD(lw_releasing_list, lw_releasing) releasing;	/* releasing.h: the backend lets go later */
	LIST_HEAD(lw_looking_up_list, lw_looking_up) looking_up;	/* looking_up.h: users' path lookups */
	unsigned int nr_looking_up;
};

/* Logging with a priority, to stderr (the journal under systemd). */
void lw_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* LW_DAEMON_DAEMON_H */
