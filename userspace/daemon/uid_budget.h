/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A per-uid budget of records a minute: the first N a uid spends in a
 * minute pass, the rest are counted, and the count is handed back once
 * when that uid's minute ends, to be written as one summary. Memory is one
 * small entry per uid seen in the current minute. */
#ifndef LW_DAEMON_UID_BUDGET_H
#define LW_DAEMON_UID_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define LW_UID_BUDGET_WINDOW_USEC (60u * 1000000u)

struct lw_uid_budget;

/* per_window == 0: every record passes. NULL when out of memory. */
struct lw_uid_budget *lw_uid_budget_new(unsigned int per_window);
void lw_uid_budget_free(struct lw_uid_budget *b);

/* One record of uid at now_usec (CLOCK_MONOTONIC). true: write it; false:
 * it was counted (weight: the record plus what it already folded in). */
bool lw_uid_budget_take(struct lw_uid_budget *b, uint32_t uid, uint64_t now_usec, uint64_t weight);

/* Hand each uid whose minute ended by now_usec and that had records
 * counted to fn (uid, count); forget every ended minute. */
void lw_uid_budget_expire(struct lw_uid_budget *b, uint64_t now_usec,
			  void (*fn)(uint32_t uid, uint64_t count, void *ctx), void *ctx);

/* When the earliest minute with counted records ends; UINT64_MAX: none. */
uint64_t lw_uid_budget_next_expiry(const struct lw_uid_budget *b);

#endif /* LW_DAEMON_UID_BUDGET_H */
