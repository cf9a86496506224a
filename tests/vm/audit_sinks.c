/* The journal and Linux audit sinks for real, inside the VM: a record sent
 * through lw_audit reads back from the journal (sd_journal, matched on the
 * fixed MESSAGE_ID) and from auditd's log (ausearch -m USER_AVC). Starts
 * systemd-journald and auditd when they are not running; if they cannot
 * run, the tests fail and say why. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-journal.h>

#include "audit/audit.h"

#define JOURNALD "/lib/systemd/systemd-journald"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool wait_for(bool (*ready)(void), int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (ready())
			return true;
		usleep(100000);
	}
	return ready();
}

static bool journal_socket_exists(void)
{
	return access(JOURNAL_SOCKET, W_OK) == 0;
}

static bool auditd_running(void)
{
	return system("auditctl -s 2>/dev/null | grep -Eq '^pid [1-9]'") == 0;
}

static int start_journald(void **state)
{
	(void)state;
	if (journal_socket_exists())
		return 0;
	if (system("setsid " JOURNALD " </dev/null >/dev/null 2>&1 &") != 0 ||
	    !wait_for(journal_socket_exists, 30)) {
		fprintf(stderr, "# expected %s to start and create %s; it did not\n", JOURNALD,
			JOURNAL_SOCKET);
		return -1;
	}
	return 0;
}

static int start_auditd(void **state)
{
	(void)state;
	if (auditd_running())
		return 0;
	/* auditd forks and returns once it is the kernel's audit daemon */
	if (system("auditd") != 0 || !wait_for(auditd_running, 30)) {
		fprintf(stderr, "# expected auditd to start and register with the kernel; "
			"`auditctl -s` shows no pid\n");
		return -1;
	}
	return 0;
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
	int r;

	lw_audit_config_defaults(&cfg);
	cfg.file = false;
	cfg.journal = journal;
	cfg.linux_audit = linux_audit;
	r = lw_audit_open(&cfg, &audit);
	if (r < 0)
		fail_msg("expected the audit sinks to open, got %s: %s", strerror(-r),
			 lw_audit_error(NULL));
	return audit;
}

static struct lw_denial_event denial_of(const char *path)
{
	struct lw_denial_event ev = {
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

/* The value of field in the journal entry sd is at, or "" if absent. */
static void journal_value(sd_journal *j, const char *field, char *buf, size_t len)
{
	const void *data;
	size_t size, name = strlen(field) + 1;

	buf[0] = '\0';
	if (sd_journal_get_data(j, field, &data, &size) < 0 || size < name)
		return;
	snprintf(buf, len, "%.*s", (int)(size - name), (const char *)data + name);
}

/* Wait up to 10 s for the entry with MESSAGE_ID and LOCKWARDEN_field=value. */
static sd_journal *journal_find(const char *message_id, const char *field, const char *value)
{
	char match[512];
	sd_journal *j;
	int i, r;

	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		fail_msg("expected sd_journal_open to work, got %s", strerror(-r));
	snprintf(match, sizeof(match), "MESSAGE_ID=%s", message_id);
	sd_journal_add_match(j, match, 0);
	snprintf(match, sizeof(match), "%s=%s", field, value);
	sd_journal_add_match(j, match, 0);
	for (i = 0; i < 100; i++) {
		if (sd_journal_next(j) > 0)
			return j;
		sd_journal_wait(j, 100000);
	}
	sd_journal_close(j);
	fail_msg("expected a journal entry with MESSAGE_ID=%s and %s=%s within 10 s; none came",
		 message_id, field, value);
	return NULL;
}

static void assert_journal_value(sd_journal *j, const char *field, const char *want)
{
	char got[512];

	journal_value(j, field, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("expected journal field %s=%s, got \"%s\"", field, want, got);
}

static void journal_denial_reads_back_by_message_id(void **state)
{
	struct lw_audit *audit = open_sinks(true, false);
	char path[128], pid[16];
	struct lw_denial_event ev;
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

/* ausearch's output for our record, waiting up to 10 s for auditd. */
static char *ausearch_find(const char *path)
{
	char cmd[256], *out = NULL;
	size_t len = 0;
	FILE *p;
	int i;

	snprintf(cmd, sizeof(cmd), "ausearch -m USER_AVC --raw 2>/dev/null | grep -F '%s'", path);
	for (i = 0; i < 100; i++) {
		p = popen(cmd, "r");
		if (p) {
			ssize_t n = getdelim(&out, &len, '\0', p);

			pclose(p);
			if (n > 0)
				return out;
		}
		usleep(100000);
	}
	free(out);
	return NULL;
}

static void linux_audit_denial_is_found_by_ausearch(void **state)
{
	struct lw_audit *audit = open_sinks(false, true);
	char path[128], want[64];
	struct lw_denial_event ev;
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
		cmocka_unit_test_setup(journal_denial_reads_back_by_message_id, start_journald),
		cmocka_unit_test_setup(journal_lease_event_reads_back_by_message_id, start_journald),
		cmocka_unit_test_setup(linux_audit_denial_is_found_by_ausearch, start_auditd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
