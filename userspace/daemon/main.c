// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwardend: parse options, wire the parts together, run the loop. */
#include <fcntl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "adopt.h"
#include "audit/audit.h"
#include "backend.h"
#include "common/version.h"
#include "commit.h"
#include "config.h"
#include "daemon.h"
#include "denials.h"
#include "enforcer_choice.h"
#include "enforcer/enforcer.h"	/* LW_DEFAULT_PIN_DIR */
#include "holders.h"
#include "keeper.h"
#include "common/live_procs.h"
#include "common/mkdirs.h"
#include "common/proc.h"
#include "leasing.h"
#include "reexec.h"
#include "releasing.h"
#include "server.h"
#include "state.h"
#include "tamper.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: lockwardend [OPTION]...\n"
		"Lease daemon for VM disk images; the kernel enforces the leases.\n\n"
		"  -c, --config FILE      configuration (default " LW_DEFAULT_CONFIG ")\n"
		"  -s, --socket PATH      varlink socket (default " LW_DEFAULT_SOCKET ")\n"
		"  -p, --pin-dir DIR      bpffs folder for pins (default " LW_DEFAULT_PIN_DIR ")\n"
		"  -S, --state-dir DIR    state folder (default " LW_DEFAULT_STATE_DIR ")\n"
		"  -a, --audit-log FILE   audit log (default " LW_AUDIT_DEFAULT_PATH ")\n"
		"  -b, --backend NAME     nop, fcntl or paxos (default fcntl)\n"
		"  -l, --lockspace DIR    fcntl: lock files in DIR instead of on the images\n"
		"  -e, --enforcer NAME    auto, bpf-lsm or fanotify (default auto: bpf-lsm,\n"
		"                         else fanotify)\n"
		"  -h, --help             this help\n"
		"  -V, --version          the version\n\n"
		"Signals: SIGTERM/SIGINT stop (leases stay held and enforced), SIGHUP reopens\n"
		"the audit log, SIGUSR1 re-executes the daemon (upgrade). See lockwardend(8).\n");
}

/* Options override the file: each is a [section] key. */
struct override {
	const char *option, *section, *key, *value;
};

static int parse_options(int argc, char **argv, const char **config, bool *config_given,
			 struct override *ov, int *nov)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "backend", required_argument, NULL, 'b' },
		{ "lockspace", required_argument, NULL, 'l' },
		{ "enforcer", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:s:p:S:a:b:l:e:hV", options, NULL)) != -1) {
		switch (c) {
		case 'c': *config = optarg; *config_given = true; break;
		case 's': ov[(*nov)++] = (struct override){ "--socket", "daemon", "socket", optarg }; break;
		case 'p': ov[(*nov)++] = (struct override){ "--pin-dir", "daemon", "pin_dir", optarg }; break;
		case 'S': ov[(*nov)++] = (struct override){ "--state-dir", "daemon", "state_dir", optarg }; break;
		case 'a': ov[(*nov)++] = (struct override){ "--audit-log", "audit", "path", optarg }; break;
		case 'b': ov[(*nov)++] = (struct override){ "--backend", "backend", "name", optarg }; break;
		case 'l': ov[(*nov)++] = (struct override){ "--lockspace", "fcntl", "lockspace", optarg }; break;
		case 'e': ov[(*nov)++] = (struct override){ "--enforcer", "daemon", "enforcer", optarg }; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("lockwardend %s\n", LOCKWARDEN_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (*nov >= 16) {
			fprintf(stderr, "lockwardend: too many options\n");
			return -E2BIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lockwardend: unexpected argument: %s\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct lw_daemon *d = userdata;

	(void)s;
	switch (si->ssi_signo) {
	case SIGHUP:
		if (d->audit && lw_audit_reopen(d->audit) < 0)
			lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
		break;
	case SIGUSR1:
		if (lw_adopt_running(d, NULL, NULL)) {
			/* locks taken anew live only in this process until then */
			lw_log(LOG_NOTICE, "re-executing once every lease is adopted");
			d->reexec_after_adoption = true;
			break;
		}
		lw_commit_flush(d, NULL);	/* a staged batch is made durable, never dropped */
		lw_reexec(lw_server_listen_fd(d->server));
		break;
	default:
		/* a staged batch is made durable and answered: a client never
		 * sees a dropped connection for a change that took effect */
		lw_commit_flush(d, NULL);
		lw_log(LOG_NOTICE, "stopping; %u lease(s) stay held and enforced", lw_lease_count(d->leases));
		sd_event_exit(d->event, 0);
	}
	return 0;
}

/* Descriptors open now, probed slot by slot up to the table's size
 * (listing /proc/self/fd makes an inode per descriptor: a tenth of a
 * restart's time at thousands of leases). */
static unsigned int open_descriptors(void)
{
	unsigned int n = 0;
	int size = 0;

	if (lw_proc_int_field("/proc/self/status", "FDSize: %d", &size) < 0)
		return 0;
	for (int fd = 0; fd < size; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* What the fanotify enforcer holds for itself: its group, two eventfds,
 * the table's memfd, the mountinfo watch, and a spare. */
#define FANOTIFY_OWN_DESCRIPTORS 8

/* Descriptors the daemon needs: per lease its lock (none with the nop
 * backend), plus the marked inode's under the fanotify enforcer; a pidfd a
 * holder process for its watch, and another under the fanotify enforcer
 * (at worst one holder a lease); two a connection (socket, pidfd); and what it holds now (the maps, the
 * fanotify group) with a margin for what it opens later or for a moment
 * (the socket, the keeper's, the audit sinks, a request's descriptors, an
 * event fanotify's answering thread reads). Say whether the limit fits;
 * an acquire past the room it leaves is refused with a reason
 * (lw_leasing_descriptor_room), before a descriptor runs out somewhere it
 * cannot be told (fanotify denies an open whose event it cannot read).
 * Called once the enforcer is open; the limit was raised before, for the
 * keeper to inherit. */
static void descriptor_room(struct lw_daemon *d, const struct lw_config *cfg, unsigned int before_enforcer)
{
	unsigned long long need;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	d->fd_limit = rl.rlim_cur;
	d->fd_per_lease = (strcmp(cfg->backend, "nop") ? 1 : 0) + (lw_enforcement_bpf(d->enforcer) ? 0 : 1);
	d->fd_per_holder = lw_enforcement_bpf(d->enforcer) ? 1 : 2;
	/* the fanotify enforcer took back a descriptor or two a lease after a
	 * restart, which fd_per_lease counts: its own are counted instead */
	d->fd_reserved = (lw_enforcement_bpf(d->enforcer) ? open_descriptors() :
			  before_enforcer + FANOTIFY_OWN_DESCRIPTORS) +
			 24 +	/* what it opens later, and for a moment in a request */
			 LW_LIVE_PROCS;	/* pidfds of processes proven alive (live_procs.h) */
	need = ((unsigned long long)d->fd_per_lease + d->fd_per_holder) * cfg->max_images + 2ull * cfg->max_clients + d->fd_reserved;
	if (rl.rlim_cur >= need) {
		lw_log(LOG_INFO, "descriptor limit %llu (max_images %u and max_clients %u need %llu)",
		       (unsigned long long)rl.rlim_cur, cfg->max_images, cfg->max_clients, need);
		return;
	}
	lw_log(LOG_WARNING, "descriptor limit %llu is below the %llu that max_images %u and max_clients %u "
	       "need (%u a lease with a holder of its own, 2 a connection, %u for the daemon): room for %llu such leases while no client "
	       "is connected; raise LimitNOFILE (ulimit -n)", (unsigned long long)rl.rlim_cur, need,
	       cfg->max_images, cfg->max_clients, d->fd_per_lease + d->fd_per_holder, d->fd_reserved,
	       rl.rlim_cur > d->fd_reserved ?
	       (unsigned long long)(rl.rlim_cur - d->fd_reserved) / (d->fd_per_lease + d->fd_per_holder) : 0ull);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int fail(const char *what, const char *why)
{
	lw_log(LOG_ERR, "%s: %s", what, why);
	sd_notifyf(0, "STATUS=%s: %s", what, why);
	return 1;
}

/* Every lease is adopted: the tamper check may compare the table with the
 * kernel now; a failure to write the state again stops the daemon, as it
 * would have at start. */
static void adopted(struct lw_daemon *d, int result, const struct lw_err *err)
{
	int r;

	if (result < 0) {
		fail("adopt", err->msg);
		sd_event_exit(d->event, result);
		return;
	}
	r = lw_tamper_start(d);
	if (r < 0) {
		fail("tamper check", strerror(-r));
		sd_event_exit(d->event, r);
		return;
	}
	sd_notifyf(0, "STATUS=%u lease(s)", lw_lease_count(d->leases));
	if (d->reexec_after_adoption) {
		lw_commit_flush(d, NULL);
		lw_reexec(lw_server_listen_fd(d->server));
	}
}

int main(int argc, char **argv)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	const char *config_path = LW_DEFAULT_CONFIG;
	struct lw_enforcement_opts enf_opts = { 0 };
	struct lw_backend_option be_options[LW_CONFIG_BACKEND_OPTIONS_MAX];
	struct lw_backend_setup be_setup = { 0 };
	struct lw_err be_err;
	struct lw_daemon d = { 0 };
	struct lw_config cfg;
	struct lw_err audit_err, cfg_err, start_err;
	struct override ov[16];
	bool config_given = false;
	struct timespec ts;
	struct group *gr;
	sigset_t mask;
	char err[2 * PATH_MAX], why_not_bpf[512];
	unsigned int adopting = 0, before_enforcer;
	int nov = 0, r, status = 1;

	lw_reexec_init(argc, argv);
	if (parse_options(argc, argv, &config_path, &config_given, ov, &nov) < 0)
		return 2;
	lw_config_defaults(&cfg);
	if (lw_config_load(&cfg, config_path, config_given, &cfg_err) < 0)
		return fail("config", cfg_err.msg);
	for (int i = 0; i < nov; i++)
		if (lw_config_set(&cfg, ov[i].section, ov[i].key, ov[i].value, NULL) < 0) {
			snprintf(err, sizeof(err), "bad value for %s: \"%s\"", ov[i].option, ov[i].value);
			return fail("options", err);
		}
	if (lw_config_check(&cfg, &cfg_err) < 0)
		return fail("config", cfg_err.msg);
	d.cfg = &cfg;
	if (cfg.admin_group[0]) {
		gr = getgrnam(cfg.admin_group);
		if (!gr)
			return fail("config", "admin_group names no group");
		d.has_admin_group = true;
		d.admin_gid = gr->gr_gid;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	d.start_usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	raise_fd_limit();	/* before the keeper is forked: it holds a lock a lease too */
	r = lw_mkdirs(cfg.state_dir, 0700);
	if (r < 0) {
		snprintf(err, sizeof(err), "cannot create %s: %s", cfg.state_dir, strerror(-r));
		return fail("state", err);
	}

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaddset(&mask, signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_default(&d.event);
	if (r < 0)
		return fail("event loop", strerror(-r));

	/* the socket first: it is fd 3, which a re-exec hands over */
	r = lw_server_open(&d, &d.server, &start_err);
	if (r < 0) {
		fail("socket", start_err.msg);
		goto cleanup;
	}
	r = lw_keeper_connect(cfg.state_dir, &d.keeper, &start_err);
	if (r < 0) {
		fail("keeper", start_err.msg);
		goto cleanup;
	}
	lw_log(LOG_INFO, "keeper pid %d holds the backend locks", lw_keeper_pid(d.keeper));
	enf_opts.pin_dir = cfg.pin_dir;
	enf_opts.max_images = cfg.max_images;
	enf_opts.debuggable_holders = !cfg.protect_holders;
	enf_opts.keeper = d.keeper;	/* fanotify: the group it kept across a restart */
	enf_opts.writable_fs_devices = !cfg.protect_fs_devices;
	lw_enforcer_choice_parse(cfg.enforcer, &enf_opts.choice);	/* checked by config.c */
	before_enforcer = open_descriptors();
	r = lw_enforcement_open(&enf_opts, &d.enforcer, why_not_bpf, sizeof(why_not_bpf), &start_err);
	if (r < 0) {
		fail("enforcer", start_err.msg);
		goto cleanup;
	}
	if (why_not_bpf[0])
		lw_log(LOG_WARNING, "enforcer: bpf-lsm unavailable (%s); using %s", why_not_bpf,
		       lw_enforcement_name(d.enforcer));
	lw_log(LOG_INFO, "enforcer %s: %s", lw_enforcement_name(d.enforcer), lw_enforcement_limits(d.enforcer));
	if (cfg.hardened && !lw_enforcement_bpf(d.enforcer)) {
		fail("enforcer", "hardened needs the bpf-lsm enforcer (fanotify pins nothing to guard)");
		goto cleanup;
	}
	descriptor_room(&d, &cfg, before_enforcer);
	be_setup.event = d.event;
	be_setup.lost = lw_leasing_lost;
	be_setup.lost_ctx = &d;
	be_setup.options = be_options;
	be_setup.nr_options = lw_config_backend_options(&cfg, cfg.backend, be_options, LW_CONFIG_BACKEND_OPTIONS_MAX);
	r = lw_backend_open(cfg.backend, &be_setup, &d.backend, &be_err);
	if (r < 0) {
		snprintf(err, sizeof(err), "%s: %s", cfg.backend, be_err.msg);
		fail("backend", err);
		goto cleanup;
	}
	r = lw_audit_open(&cfg.audit, &d.audit, &audit_err);
	if (r < 0) {
		fail("audit", audit_err.msg);
		goto cleanup;
	}
	r = lw_lease_table_new(cfg.max_images, &d.leases);
	if (r < 0) {
		fail("leases", strerror(-r));
		goto cleanup;
	}
	r = lw_tamper_open(&d, &start_err);
	if (r < 0) {
		fail("tamper", start_err.msg);
		goto cleanup;
	}
	r = lw_adopt_start(&d, adopted, &start_err);
	if (r < 0) {
		fail("adopt", start_err.msg);
		goto cleanup;
	}
	r = lw_commit_setup(&d, &start_err);
	if (r < 0) {
		fail("group commit", start_err.msg);
		goto cleanup;
	}
	r = lw_denials_start(&d);
	if (r < 0) {
		fail("denial events", strerror(-r));
		goto cleanup;
	}
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sd_event_add_signal(d.event, NULL, signals[i], on_signal, &d);

	/* ready to answer: the leases are adopted from the loop (adopt.h) */
	lw_adopt_running(&d, NULL, &adopting);
	lw_log(LOG_INFO, "ready: socket %s, backend %s, enforcer %s%s%s, %u lease(s) to adopt", cfg.socket,
	       cfg.backend, lw_enforcement_name(d.enforcer), lw_enforcement_bpf(d.enforcer) ? ", pins " : "",
	       lw_enforcement_pin_dir(d.enforcer), adopting);
	sd_notifyf(0, "READY=1\nSTATUS=adopting %u lease(s)\nMAINPID=%d", adopting, getpid());
	r = sd_event_loop(d.event);
	status = r < 0 ? 1 : 0;
	sd_notify(0, "STOPPING=1");
cleanup:
	/* leases are not released on exit: the kernel keeps enforcing (pins),
	 * the keeper keeps the backend locks, the next start re-adopts */
	/* first: closing the connections cancels the acquires still pending */
	lw_server_close(d.server);
	lw_denials_stop(&d);
	lw_tamper_close(&d);
	lw_adopt_abandon(&d);
	if (d.leases)
		for (struct lw_lease_entry *e = lw_lease_first(d.leases); e; e = e->next) {
			for (unsigned int i = 0; i < e->nr_holders; i++)
				lw_holder_unwatch(&e->holders[i]);
			lw_backend_forget(d.backend, e->lock);
		}
	lw_lease_table_free(d.leases);
	lw_state_close(d.state);
	lw_audit_close(d.audit);
	lw_backend_close(d.backend);
	lw_releasing_forget_all(&d);	/* after the backend: it calls none of them back now */
	lw_enforcement_close(d.enforcer);
	lw_keeper_close(d.keeper);
	sd_event_unref(d.event);
	return status;
}
