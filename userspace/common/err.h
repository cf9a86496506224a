/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one internal error convention: a call that can fail returns a negative
 * errno and, when the caller passes a struct lw_err, leaves a one-line reason
 * in it (no trailing newline, no program prefix: the caller adds context). */
#ifndef LW_COMMON_ERR_H
#define LW_COMMON_ERR_H

#include <stdarg.h>

#define LW_ERR_MAX 512	/* as the public struct lockwarden_error's message */

struct lw_err {
	char msg[LW_ERR_MAX];
};

/* Formats the reason into err (if not NULL) and returns -errnum (errnum > 0),
 * so a failure path reads: return lw_err_set(err, EINVAL, "bad key %s", k); */
int lw_err_set(struct lw_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same with a va_list, for wrappers that add their own arguments. */
int lw_err_setv(struct lw_err *err, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Puts context in front of the reason already in err: "context: reason". */
void lw_err_prefix(struct lw_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* LW_COMMON_ERR_H */
