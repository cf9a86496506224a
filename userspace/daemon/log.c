/* Logging: stderr with sd-daemon priority prefixes, so the journal keeps
 * the level under systemd and a terminal shows plain lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"

void lw_log(int priority, const char *fmt, ...)
{
	static const char *const prefix[] = {
		SD_EMERG, SD_ALERT, SD_CRIT, SD_ERR, SD_WARNING, SD_NOTICE, SD_INFO, SD_DEBUG,
	};
	va_list ap;

	/* the journal reads the priority from the prefix; a terminal shows it raw */
	if (getenv("JOURNAL_STREAM"))
		fputs(prefix[priority & 7], stderr);
	fputs("lockwardend: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
