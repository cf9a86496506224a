/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the audit VM tests share: starting journald and auditd in the
 * guest, and reading records back from the journal and from ausearch.
 * Included by one test program each, so everything is static. */
#ifndef LW_AUDIT_COMMON_H
#define LW_AUDIT_COMMON_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-journal.h>

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

/* 0, or -1 with the reason on stderr: a missing journal fails the test. */
static int start_journald(void)
{
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

static int start_auditd(void)
{
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

/* The value of field in the journal entry j is at, or "" if absent. */
static void journal_value(sd_journal *j, const char *field, char *buf, size_t len)
{
	const void *data;
	size_t size, name = strlen(field) + 1;

	buf[0] = '\0';
	if (sd_journal_get_data(j, field, &data, &size) < 0 || size < name)
		return;
	snprintf(buf, len, "%.*s", (int)(size - name), (const char *)data + name);
}

/* Wait up to 10 s for the entry with MESSAGE_ID and field=value. Opens the
 * journal afresh each time: a journald started moments ago may not have
 * created its files yet when the first open looks. */
static sd_journal *journal_find(const char *message_id, const char *field, const char *value)
{
	char match[512];
	sd_journal *j;
	int i, r;

	for (i = 0; i < 100; i++) {
		r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
		if (r < 0)
			fail_msg("expected sd_journal_open to work, got %s", strerror(-r));
		snprintf(match, sizeof(match), "MESSAGE_ID=%s", message_id);
		sd_journal_add_match(j, match, 0);
		snprintf(match, sizeof(match), "%s=%s", field, value);
		sd_journal_add_match(j, match, 0);
		if (sd_journal_next(j) > 0)
			return j;
		sd_journal_close(j);
		usleep(100000);
	}
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

/* ausearch's raw USER_AVC records holding text, waiting up to 10 s for
 * auditd to write them; NULL if none came. malloc'd. */
static char *ausearch_find(const char *text)
{
	char cmd[512], *out = NULL;
	size_t len = 0;
	FILE *p;
	int i;

	snprintf(cmd, sizeof(cmd), "ausearch -m USER_AVC --raw 2>/dev/null | grep -F -- '%s'", text);
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

#endif /* LW_AUDIT_COMMON_H */
