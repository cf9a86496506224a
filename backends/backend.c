/* The table of backends and the helpers every backend shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

static const struct lw_backend_ops *const backends[] = {
	&lw_backend_nop,
	&lw_backend_fcntl,
};

const struct lw_backend_ops *lw_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

int lw_backend_open(const char *name, const struct lw_backend_config *cfg, struct lw_backend **out)
{
	const struct lw_backend_ops *ops = lw_backend_find(name);

	if (!ops)
		return -ENOENT;
	return ops->open(cfg, out);
}

void lw_backend_set_error(struct lw_backend *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be->error, sizeof(be->error), fmt, ap);
	va_end(ap);
}

void lw_backend_close(struct lw_backend *be)
{
	if (be)
		be->ops->close(be);
}
