// SPDX-License-Identifier: LGPL-2.1-or-later
/* The internal error convention (err.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

int lw_err_setv(struct lw_err *err, int errnum, const char *fmt, va_list ap)
{
	if (err)
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -errnum;
}

int lw_err_set(struct lw_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = lw_err_setv(err, errnum, fmt, ap);
	va_end(ap);
	return r;
}

void lw_err_prefix(struct lw_err *err, const char *fmt, ...)
{
	char context[LW_ERR_MAX], reason[LW_ERR_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	memcpy(reason, err->msg, sizeof(reason));
	/* a reason cut short is still a reason; the truncation is deliberate */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %.*s", context, LW_ERR_MAX / 2, reason) < 0)
		err->msg[0] = '\0';
}
