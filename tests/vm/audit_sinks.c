// SPDX-License-Identifier: LGPL-2.1-or-later
/* The journal and Linux audit sinks for real, inside the VM: a record sent
 * through lw_audit reads back from the journal (sd_journal, matched on the
 * fixed MESSAGE_ID) and from auditd's log (ausearch -m USER_AVC). Starts
 * systemd-journald and auditd when they are not running; if they cannot
 * run, the tests fail and say why. */
#include <time.h>

#include "audit/audit.h"
#include "audit_common.h"

static int journald_setup(void **state)
{
	(void)state;
	return start_journald();
}

static int auditd_setup(void **state)
{
	(void)state;
	return start_auditd();
}

/* A path no other test run uses, so reading back finds only our record. */
static void unique_path(char *buf, size_t len, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "/images/%s-%d-%ld.qcow2", what, getpid(), (long)ts.tv_nsec);
}

static struct lw_audit *open_sinks(bool journal, bool linux_audit)
{
	struct lw_audit_config cfg;
	struct lw_audit *audit = NULL;
	struct lw_err why;
	int r;

	lw_audit_config_defaults(&cfg);
	cfg.file = false;
	cfg.journal = journal;
	cfg.linux_audit = linux_audit;
	r = lw_audit_open(&cfg, &audit, &why);
	if (r < 0)
		fail_msg("expected the audit sinks to open, got %s: %s", strerror(-r), why.msg);
	return audit;
}

static struct lw_denial denial_of(const char *path)
{
	struct lw_denial ev = {
		.pid = (uint32_t)getpid(), .tgid = (uint32_t)getpid(), .uid = 0, .gid = 0,
		.loginuid = UINT32_MAX, .sessionid = UINT32_MAX, .op = LW_OP_OPEN_WRITE,
		.open_flags = 0100001, .key = { .dev = (7ULL << 20) | 0, .ino = 0 },
		.lease_mode = LW_LEASE_EXCLUSIVE, .suppressed = 17,
		.holder = { .kind = LW_HOLDER_PROCESS, .pid = 1, .start_time = 0 },
	};

	snprintf(ev.comm, sizeof(ev.comm), "dd");
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	return ev;
}

static void journal_denial_reads_back_by_message_id(void **state)
{
	struct lw_audit *audit = open_sinks(true, false);
	char path[128], pid[16];
	struct lw_denial ev;
	sd_journal *j;

	(void)state;
	unique_path(path, sizeof(path), "journal");
	ev = denial_of(path);
	assert_int_equal(lw_audit_denial(audit, &ev, NULL), 0);
	j = journal_find(LW_AUDIT_DENIAL_MESSAGE_ID, "LOCKWARDEN_PATH", path);
	snprintf(pid, sizeof(pid), "%d", getpid());
	assert_journal_value(j, "PRIORITY", "4");
	assert_journal_value(j, "LOCKWARDEN_TYPE", "denial");
	assert_journal_value(j, "LOCKWARDEN_OP", "open-write");
	assert_journal_value(j, "LOCKWARDEN_TGID", pid);
	assert_journal_value(j, "LOCKWARDEN_COMM", "dd");
	assert_journal_value(j, "LOCKWARDEN_OPEN_FLAGS_NAMES", "O_WRONLY|O_LARGEFILE");
	assert_journal_value(j, "LOCKWARDEN_KEY_MAJOR", "7");
	assert_journal_value(j, "LOCKWARDEN_HOLDER_PID", "1");
	assert_journal_value(j, "LOCKWARDEN_SUPPRESSED", "17");
	sd_journal_close(j);
	lw_audit_close(audit);
}

static void journal_lease_event_reads_back_by_message_id(void **state)
{
	struct lw_audit *audit = open_sinks(true, false);
	struct lw_holder holder = { .kind = LW_HOLDER_PROCESS, .pid = 1, .start_time = 0 };
	char path[128];
	sd_journal *j;

	(void)state;
	unique_path(path, sizeof(path), "journal-lease");
	struct lw_audit_lease_record lr = { .event = LW_LEASE_FORCED_RELEASE, .image = path,
					    .mode = LW_LEASE_SHARED, .holder = &holder,
					    .holder_comm = "qemu", .reason = "operator" };
	assert_int_equal(lw_audit_lease_event(audit, &lr), 0);
	j = journal_find(LW_AUDIT_LEASE_MESSAGE_ID, "LOCKWARDEN_IMAGE", path);
	assert_journal_value(j, "PRIORITY", "6");
	assert_journal_value(j, "LOCKWARDEN_EVENT", "forced-release");
	assert_journal_value(j, "LOCKWARDEN_LEASE_MODE", "shared");
	assert_journal_value(j, "LOCKWARDEN_REASON", "operator");
	sd_journal_close(j);
	lw_audit_close(audit);
}

static void linux_audit_denial_is_found_by_ausearch(void **state)
{
	struct lw_audit *audit = open_sinks(false, true);
	char path[128], want[64];
	struct lw_denial ev;
	char *found;

	(void)state;
	unique_path(path, sizeof(path), "linux-audit");
	ev = denial_of(path);
	assert_int_equal(lw_audit_denial(audit, &ev, NULL), 0);
	found = ausearch_find(path);
	if (!found)
		fail_msg("expected `ausearch -m USER_AVC` to find a record for %s within 10 s", path);
	fprintf(stderr, "# %s", found);
	snprintf(want, sizeof(want), "proc_tgid=%d ", getpid());
	if (!strstr(found, "type=USER_AVC") || !strstr(found, "op=open-write") ||
	    !strstr(found, want) || !strstr(found, "proc_comm=\"dd\"") ||
	    !strstr(found, "suppressed=17"))
		fail_msg("expected a USER_AVC record with op=open-write, %s proc_comm=\"dd\" and "
			 "suppressed=17, got %s", want, found);
	free(found);
	lw_audit_close(audit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(journal_denial_reads_back_by_message_id, journald_setup),
		cmocka_unit_test_setup(journal_lease_event_reads_back_by_message_id, journald_setup),
		cmocka_unit_test_setup(linux_audit_denial_is_found_by_ausearch, auditd_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
