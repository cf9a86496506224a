/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decimal digits without snprintf, which costs about a thousand
 * instructions a number: for the numbers every lease round trip writes
 * (JSON records, /proc/self/fd names). */
#ifndef LW_COMMON_DECIMAL_H
#define LW_COMMON_DECIMAL_H

#include <stdint.h>

/* u's digits written backwards, the last just before end; returns the first. */
static inline char *lw_decimal(uint64_t u, char *end)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return end;
}

#endif /* LW_COMMON_DECIMAL_H */
