/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sh(): run a shell command from a VM test; a failure names the command. */
#ifndef LW_TEST_SHELL_H
#define LW_TEST_SHELL_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define SH_CMD_MAX (3 * PATH_MAX + 256)	/* room for three paths and options */

/* The command's wait status; the command and its output go to stderr. */
static inline int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[SH_CMD_MAX];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		fprintf(stderr, "# command failed (status %d): %s\n", status, cmd);
	return status;
}

#endif /* LW_TEST_SHELL_H */
