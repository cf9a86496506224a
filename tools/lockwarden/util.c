// SPDX-License-Identifier: LGPL-2.1-or-later
/* Helpers every lockwarden command uses. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockwarden/client.h"
#include "common/terminal.h"

char *cli_image_path(const char *image, bool must_exist)
{
	char *path = realpath(image, NULL), *cwd;
	int saved;

	if (path || must_exist || errno != ENOENT)
		return path;
	if (image[0] == '/')
		return strdup(image);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&path, "%s/%s", cwd, image) < 0)
		path = NULL;
	saved = errno;
	free(cwd);
	errno = saved;
	return path;
}

/* "lockwarden: what: reason" on one line; reason_is_safe: already escaped. */
static void print_failure(const char *what, const char *reason, bool reason_is_safe)
{
	char *w = lw_terminal_escape_dup(what);
	char *r = reason_is_safe ? NULL : lw_terminal_escape_dup(reason);

	fprintf(stderr, "lockwarden: %s: %s\n", w ? w : "?",
		reason_is_safe ? reason : r ? r : "out of memory");
	free(w);
	free(r);
}

int cli_fail(const char *what, const char *fmt, ...)
{
	char *reason = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&reason, fmt, ap);
	va_end(ap);
	print_failure(what, n < 0 ? "out of memory" : reason, false);
	free(n < 0 ? NULL : reason);
	return CLI_EXIT_FAILURE;
}

int cli_fail_error(const char *what, const struct lockwarden_error *err)
{
	print_failure(what, err->message, true);
	return CLI_EXIT_FAILURE;
}

int cli_print_json(const char *json)
{
	char *shown = lw_terminal_json_dup(json ? json : "{}");

	if (!shown)
		return -1;
	puts(shown);
	free(shown);
	return 0;
}
