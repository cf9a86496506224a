// SPDX-License-Identifier: LGPL-2.1-or-later
/* Tamper evidence and restoration. See tamper.h. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "audit/audit.h"
#include "audit/audit_record.h"
#include "commit.h"
#include "enforcer/enforcer.h"
#include "enforcer_choice.h"
#include "image_open.h"
#include "keeper.h"
#include "leasing.h"
#include "reexec.h"
#include "tamper.h"

#define MAX_GAP_WRITERS 32

struct gap_writer {
	char image[PATH_MAX];
	struct lw_writer writer;
	__u64 time_usec;	/* CLOCK_REALTIME */
};

struct lw_tamper {
	sd_event_source *timer;
	struct lw_lease_holder self;	/* the daemon as a holder, for audit records */
	char degraded[512];		/* "": enforcement active */
	unsigned long events;		/* tampering found since start */
	char last[512];			/* what the last one was */
	__u64 last_usec, restored_usec;	/* CLOCK_REALTIME; restored 0: not yet */
	struct gap_writer gap[MAX_GAP_WRITERS];
	size_t nr_gap;			/* reported, also beyond MAX_GAP_WRITERS */
	__u64 entries_due_usec;		/* CLOCK_MONOTONIC: the next check of the lease entries */
};

/* The lease entries are read whole: at 65,536 leases that takes long
 * enough (a tenth of a second or more in a slow guest) that doing it every
 * second slowed every acquire several times over. So the next such check
 * comes after ten times as long as the last took, once a second at most:
 * at most a tenth of the daemon's time. Pins and the guard entry cost the
 * same at any size and are checked every time. */
#define ENTRIES_CHECK_SHARE 10

static __u64 clock_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * 1000000u + (__u64)ts.tv_nsec / 1000u;
}

/* Only the BPF enforcer pins anything to tamper with; under another
 * enforcer only the gap writers are reported and remembered. */
static struct lw_enforcement *bpf_of(const struct lw_daemon *d)
{
	return lw_enforcement_bpf(d->enforcer);
}

int lw_tamper_open(struct lw_daemon *d, struct lw_err *err)
{
	struct lw_tamper *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return lw_err_set(err, ENOMEM, "out of memory");
	d->tamper = t;
	if (!bpf_of(d))
		return 0;	/* nothing pinned to guard: gap writers only */
	t->self.pidfd = -1;
	if ((r = lw_holder_of_pid(getpid(), &t->self.id)) < 0)
		return lw_err_set(err, -r, "cannot read the daemon's own start time: %s", strerror(-r));
	snprintf(t->self.comm, sizeof(t->self.comm), "lockwardend");
	r = lw_enforcer_guard(bpf_of(d), d->cfg->hardened, &t->self.id, lw_reexec_binary());
	if (r < 0)
		return lw_err_set(err, -r, "%s", lw_enforcer_error(bpf_of(d)));
	if (d->cfg->hardened)
		lw_log(LOG_NOTICE, "hardened: only this process (pid %d) may touch the BPF objects and pins in %s",
		       getpid(), lw_enforcer_pin_dir(bpf_of(d)));
	return 0;
}

/* One finding: log it, audit it, remember it for status. e NULL: the pins. */
static void found(struct lw_daemon *d, const struct lw_lease_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void found(struct lw_daemon *d, const struct lw_lease_entry *e, const char *fmt, ...)
{
	struct lw_tamper *t = d->tamper;
	struct lw_audit_lease_record rec = {
		.event = LW_LEASE_TAMPER,
		.image = lw_enforcer_pin_dir(bpf_of(d)),
		.holder = &t->self.id,
		.holder_comm = t->self.comm,
	};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->last, sizeof(t->last), fmt, ap);
	va_end(ap);
	t->events++;
	t->last_usec = clock_usec(CLOCK_REALTIME);
	t->restored_usec = 0;
	if (e) {
		rec.image = e->image;
		rec.key = &e->key;
		rec.mode = e->mode;
	}
	rec.reason = t->last;
	lw_log(LOG_CRIT, "tamper: %s: %s", rec.image, t->last);
	if (d->audit && lw_audit_lease_event(d->audit, &rec) < 0)
		lw_log(LOG_WARNING, "audit: %s", lw_audit_error(d->audit));
}

void lw_tamper_report_unenforced(struct lw_daemon *d, const struct lw_lease_entry *e)
{
	if (!d->tamper || !bpf_of(d))	/* fanotify's marks die with the keeper: no tampering */
		return;
	found(d, e, "the kernel did not enforce this lease at start (pins removed while no daemon ran, "
	      "or a stop between two steps of a change); enforced again: writes meanwhile are unknown");
	d->tamper->restored_usec = clock_usec(CLOCK_REALTIME);
}

void lw_tamper_report_writers(struct lw_daemon *d, const struct lw_lease_entry *e, int fd, const char *when)
{
	struct lw_tamper *t = d->tamper;
	struct lw_writer writers[MAX_GAP_WRITERS];
	size_t count = 0;
	char reason[160];
	int r;

	if (!t)
		return;
	if (bpf_of(d)) {
		r = lw_enforcer_writers(bpf_of(d), fd, &e->key, writers, MAX_GAP_WRITERS, &count);
	} else {
		r = lw_enforcement_writers(d->enforcer, fd, &e->key, writers, MAX_GAP_WRITERS, &count);
	}
	if (r < 0) {
		lw_log(LOG_ERR, "%s: cannot check for writers %s: %s", e->image, when,
		       bpf_of(d) ? lw_enforcer_error(bpf_of(d)) : lw_enforcement_error(d->enforcer));
		return;
	}
	for (size_t i = 0; i < count && i < MAX_GAP_WRITERS; i++) {
		struct lw_lease_holder who = { .pidfd = -1 };

		if (writers[i].pid && lw_holder_of_pid((int)writers[i].pid, &who.id) < 0)
			who.id = (struct lw_holder){ .kind = LW_HOLDER_PROCESS, .pid = writers[i].pid };
		memcpy(who.comm, writers[i].comm, sizeof(who.comm));
		if (writers[i].pid)
			snprintf(reason, sizeof(reason), "pid %u (%.16s) opened it for write while enforcement was off (found %s)",
				 writers[i].pid, writers[i].comm, when);
		else
			snprintf(reason, sizeof(reason), "a writer in no descriptor table (shared writable mapping) appeared while enforcement was off (found %s)",
				 when);
		lw_log(LOG_CRIT, "gap writer: %s: %s; it keeps its descriptor, the lease is enforced for new opens",
		       e->image, reason);
		lw_leasing_audit(d, e, &who, LW_LEASE_GAP_WRITER, reason);
		if (t && t->nr_gap < MAX_GAP_WRITERS) {
			struct gap_writer *g = &t->gap[t->nr_gap];

			snprintf(g->image, sizeof(g->image), "%s", e->image);
			g->writer = writers[i];
			g->time_usec = clock_usec(CLOCK_REALTIME);
		}
		if (t)
			t->nr_gap++;
	}
}

static bool holders_match(const struct lw_lease_entry *e, const struct lw_lease *k)
{
	if (k->mode != (__u32)e->mode || k->nr_holders != e->nr_holders)
		return false;
	for (__u32 i = 0; i < k->nr_holders && i < LW_MAX_HOLDERS; i++)
		if (lw_lease_find_holder(e, &k->holders[i]) < 0)
			return false;
	return true;
}

/* Put e's entry back as the daemon's table has it. */
static int restore_entry(struct lw_daemon *d, const struct lw_lease_entry *e)
{
	struct lw_holder holders[LW_MAX_HOLDERS];

	for (unsigned int i = 0; i < e->nr_holders; i++)
		holders[i] = e->holders[i].id;
	return lw_enforcer_put_lease(bpf_of(d), &e->key, e->mode, holders, e->nr_holders);
}

/* One pass over the kernel's entries: those the table has as they are,
 * and those it never made. */
struct kernel_pass {
	struct lw_daemon *d;
	unsigned int intact;
	struct lw_image_key extra[64];
	size_t nr_extra;
};

static int pass_one(const struct lw_image_key *key, const struct lw_lease *lease, void *ctx)
{
	struct kernel_pass *p = ctx;
	const struct lw_lease_entry *e = lw_lease_by_key(p->d->leases, key);

	if (e)
		p->intact += holders_match(e, lease);
	else if (p->nr_extra < sizeof(p->extra) / sizeof(p->extra[0]))
		p->extra[p->nr_extra++] = *key;
	return 0;
}

/* lw_tamper_report_writers for e, its image opened again by its path:
 * only if that still names the leased image (lw_adopt_image). */
static void report_writers_again(struct lw_daemon *d, const struct lw_lease_entry *e, const char *when)
{
	const char *why;
	bool fd_path;
	int fd, opened;

	if (lw_adopt_image(d, e, &fd, &fd_path, &why) < 0) {
		lw_log(LOG_ERR, "%s: cannot check for writers %s: %s", e->image, when, why);
		return;
	}
	opened = fd_path ? lw_image_open_read(fd) : fd;
	if (opened < 0)
		lw_log(LOG_ERR, "%s: cannot check for writers %s: %s", e->image, when, strerror(-opened));
	else
		lw_tamper_report_writers(d, e, opened, when);
	if (opened >= 0 && opened != fd)
		close(opened);
	close(fd);
}

/* Entries of the table the kernel lacks or has otherwise: put back. Only
 * called when the pass found fewer intact entries than the table holds. */
static int restore_entries(struct lw_daemon *d)
{
	struct lw_lease_entry *e;
	struct lw_lease kernel;
	int restored = 0, r = 0;

	for (e = lw_lease_first(d->leases); e && r >= 0; e = e->next) {
		bool missing;

		r = lw_enforcer_lookup(bpf_of(d), &e->key, &kernel);
		if (r == 0 && holders_match(e, &kernel))
			continue;
		missing = r == -ENOENT;
		if (r < 0 && !missing)
			break;
		r = restore_entry(d, e);
		if (r < 0)
			break;
		restored++;
		found(d, e, "the kernel's lease entry was %s behind the daemon's back; restored",
		      missing ? "deleted" : "changed");
		if (missing)
			report_writers_again(d, e, "after the entry was restored");
	}
	return r < 0 ? r : restored;
}

/* The lease entries and the filter against the daemon's table: one
 * batched read of the kernel's entries, each looked up in the table's hash,
 * not a lookup system call per lease. */
static int check_entries(struct lw_daemon *d)
{
	unsigned int n = lw_lease_count(d->leases), i = 0;
	struct lw_image_key *keys = malloc((n ? n : 1) * sizeof(*keys));
	struct kernel_pass *pass = calloc(1, sizeof(*pass));
	struct lw_lease_entry *e;
	int restored = 0, r;

	if (!keys || !pass) {
		free(keys);
		free(pass);
		return -ENOMEM;
	}
	for (e = lw_lease_first(d->leases); e && i < n; e = e->next)
		keys[i++] = e->key;
	/* the filter first: a zeroed slot makes the programs skip the lease */
	r = lw_enforcer_repair_filter(bpf_of(d), keys, i);
	if (r > 0) {
		found(d, NULL, "%d lease filter slot(s) lowered behind the daemon's back; restored", r);
		restored += r;
	}
	pass->d = d;
	if (r >= 0)
		r = lw_enforcer_foreach(bpf_of(d), pass_one, pass);
	if (r >= 0 && pass->intact < n && (r = restore_entries(d)) > 0)
		restored += r;
	for (size_t j = 0; r >= 0 && j < pass->nr_extra; j++) {
		char what[128];

		snprintf(what, sizeof(what), "a kernel lease entry (dev %llu ino %llu) the daemon never made; removed",
			 (unsigned long long)pass->extra[j].dev, (unsigned long long)pass->extra[j].ino);
		if ((r = lw_enforcer_drop_entry(bpf_of(d), &pass->extra[j])) == 0) {
			found(d, NULL, "%s", what);
			restored++;
		}
	}
	free(keys);
	free(pass);
	return r < 0 ? r : restored;
}

int lw_tamper_check(struct lw_daemon *d)
{
	struct lw_tamper *t = d->tamper;
	char what[400];
	int pins, entries, r;
	__u64 start;

	if (!t || !bpf_of(d))
		return 0;
	/* A batch still pending has changed the table but not yet the kernel
	 * (a release leaves its entry there until the release is durable):
	 * compared now, that entry would look planted and be removed, and an
	 * undone release would then stand unenforced. */
	if (lw_commit_pending(d))
		lw_commit_flush(d, NULL);
	pins = lw_enforcer_verify_pins(bpf_of(d), what, sizeof(what));
	if (pins > 0)
		found(d, NULL, "pins removed or replaced behind the daemon's back: %s; pinned again", what);
	if (pins < 0) {
		if (strcmp(t->degraded, lw_enforcer_error(bpf_of(d))))
			found(d, NULL, "pins removed and cannot be restored: %s", lw_enforcer_error(bpf_of(d)));
		snprintf(t->degraded, sizeof(t->degraded), "%s", lw_enforcer_error(bpf_of(d)));
		return pins;
	}
	r = lw_enforcer_verify_guard(bpf_of(d));
	if (r > 0) {
		found(d, NULL, "the guard entry (hardened mode, the daemon's identity) was changed behind the daemon's back; restored");
		pins += r;
	}
	r = lw_enforcer_verify_keeper(bpf_of(d));
	if (r > 0) {
		found(d, NULL, "the keeper entry (the keeper's identity) was changed behind the daemon's back; restored");
		pins += r;
	}
	start = clock_usec(CLOCK_MONOTONIC);
	if (start < t->entries_due_usec)
		entries = 0;
	else {
		entries = check_entries(d);
		t->entries_due_usec = start + ENTRIES_CHECK_SHARE * (clock_usec(CLOCK_MONOTONIC) - start);
	}
	if (entries < 0) {
		snprintf(t->degraded, sizeof(t->degraded), "cannot check the lease entries: %s",
			 lw_enforcer_error(bpf_of(d)));
		return entries;
	}
	if (pins + entries > 0 || t->degraded[0]) {
		t->restored_usec = clock_usec(CLOCK_REALTIME);
		if (t->degraded[0])
			lw_log(LOG_NOTICE, "tamper: enforcement restored");
		t->degraded[0] = '\0';
	}
	return pins + entries;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_daemon *d = userdata;

	lw_tamper_check(d);
	sd_event_source_set_time(s, usec + LW_TAMPER_INTERVAL_USEC);
	return sd_event_source_set_enabled(s, SD_EVENT_ON);	/* a time source fires once */
}

int lw_tamper_start(struct lw_daemon *d)
{
	uint64_t now;

	if (!d->tamper || !bpf_of(d))
		return 0;
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	return sd_event_add_time(d->event, &d->tamper->timer, CLOCK_MONOTONIC,
				 now + LW_TAMPER_INTERVAL_USEC, 100000, on_timer, d);
}

void lw_tamper_close(struct lw_daemon *d)
{
	if (!d->tamper)
		return;
	sd_event_source_disable_unref(d->tamper->timer);
	free(d->tamper);
	d->tamper = NULL;
}

static struct json_object *time_or_null(__u64 usec)
{
	char buf[64];

	if (!usec)
		return NULL;
	lw_audit_format_time((int64_t)usec * 1000, buf, sizeof(buf));
	return json_object_new_string(buf);
}

void lw_tamper_status(const struct lw_daemon *d, struct json_object *reply)
{
	const struct lw_tamper *t = d->tamper;
	struct json_object *tamper, *gap;
	char state[600];

	if (!t || !bpf_of(d)) {
		json_object_object_add(reply, "enforcement", json_object_new_string("active"));
		json_object_object_add(reply, "hardened", json_object_new_boolean(false));
		if (!t)
			return;
		goto gap_writers;	/* no pins: nothing to tamper with */
	}
	snprintf(state, sizeof(state), "%s%s", t->degraded[0] ? "degraded: " : "active", t->degraded);
	json_object_object_add(reply, "enforcement", json_object_new_string(state));
	json_object_object_add(reply, "hardened", json_object_new_boolean(d->cfg->hardened));
	tamper = json_object_new_object();
	json_object_object_add(tamper, "events", json_object_new_int64((int64_t)t->events));
	json_object_object_add(tamper, "last", t->events ? json_object_new_string(t->last) : NULL);
	json_object_object_add(tamper, "last_time", time_or_null(t->last_usec));
	json_object_object_add(tamper, "restored_time", time_or_null(t->restored_usec));
	json_object_object_add(reply, "tamper", tamper);
gap_writers:
	gap = json_object_new_array();
	for (size_t i = 0; i < t->nr_gap && i < MAX_GAP_WRITERS; i++) {
		struct json_object *w = json_object_new_object();

		json_object_object_add(w, "image", json_object_new_string(t->gap[i].image));
		json_object_object_add(w, "pid", json_object_new_int64(t->gap[i].writer.pid));
		json_object_object_add(w, "comm", json_object_new_string_len(t->gap[i].writer.comm,
						strnlen(t->gap[i].writer.comm, LW_COMM_LEN)));
		json_object_object_add(w, "time", time_or_null(t->gap[i].time_usec));
		json_object_array_add(gap, w);
	}
	json_object_object_add(reply, "gap_writers", gap);
}
