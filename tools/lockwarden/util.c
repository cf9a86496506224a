/* Helpers every lockwarden command uses. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int cli_fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lockwarden: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
