// SPDX-License-Identifier: LGPL-2.1-or-later
/* Logging: to the journal with structured fields when stderr is connected
 * to it (under systemd), else plain lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

#include "daemon.h"

void lw_log(int priority, const char *fmt, ...)
{
	char message[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (getenv("JOURNAL_STREAM") &&
	    sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", priority,
			    "SYSLOG_IDENTIFIER=lockwardend", NULL) == 0)
		return;
	fprintf(stderr, "lockwardend: %s\n", message);
}
