// SPDX-License-Identifier: LGPL-2.1-or-later
/* The audit trail: builds each record once and hands it to every enabled
 * sink. A sink that fails does not keep the record from the others. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit/audit.h"
#include "audit/audit_proc.h"
#include "audit/audit_record.h"
#include "audit/audit_sinks.h"

struct lw_audit {
	struct lw_audit_config cfg;
	struct lw_audit_file file;
	int linux_fd;
	struct lw_audit_stats stats;
	struct lw_err err;	/* why the last call failed */
	struct lw_json_buf line;	/* the record being written, its room reused */
};

const char *lw_audit_error(const struct lw_audit *audit)
{
	return audit->err.msg;
}

int lw_audit_open(const struct lw_audit_config *cfg, struct lw_audit **out, struct lw_err *why)
{
	struct lw_audit *audit = calloc(1, sizeof(*audit));
	int r = 0;

	*out = NULL;
	if (!audit)
		return lw_err_set(why, ENOMEM, "audit: out of memory");
	audit->cfg = *cfg;
	audit->file.fd = -1;
	audit->linux_fd = -1;
	if (cfg->file) {
		r = lw_audit_file_open(&audit->file, cfg->file_path, cfg->fsync, &audit->err);
		if (r < 0)
			goto cleanup;
	}
	if (cfg->journal) {
		r = lw_audit_journal_check(&audit->err);
		if (r < 0)
			goto cleanup;
	}
	if (cfg->linux_audit) {
		r = lw_audit_linux_open(&audit->linux_fd, &audit->err);
		if (r < 0)
			goto cleanup;
	}
	*out = audit;
	return 0;
cleanup:
	if (why)
		*why = audit->err;
	lw_audit_close(audit);
	return r;
}

/* Keep the first error's reason; count every failed sink write. */
static void sink_result(struct lw_audit *audit, int r, const struct lw_err *err, int *first)
{
	if (r >= 0)
		return;
	audit->stats.sink_errors++;
	if (*first == 0) {
		*first = r;
		audit->err = *err;
	}
}

/* The record in audit->line (built: r 0, or its -ENOMEM) to every sink. */
static int fan_out(struct lw_audit *audit, int r)
{
	struct lw_json_buf *line = &audit->line;
	struct json_object *tree = NULL;
	struct lw_err err;
	int first = 0;

	if (r < 0 || lw_json_put(line, "\n", 1) < 0) {
		line->len = 0;
		return lw_err_set(&audit->err, ENOMEM, "audit: out of memory building a record");
	}
	if (audit->cfg.file)
		sink_result(audit, lw_audit_file_write(&audit->file, line->text, line->len, &err), &err,
			    &first);
	/* the journal's fields and Linux audit's message are read from a tree:
	 * built only for them, off by default */
	if ((audit->cfg.journal || audit->cfg.linux_audit) && !(tree = json_tokener_parse(line->text)))
		sink_result(audit, lw_err_set(&err, ENOMEM, "audit: out of memory reading a record"),
			    &err, &first);
	if (tree && audit->cfg.journal)
		sink_result(audit, lw_audit_journal_write(tree, &err), &err, &first);
	if (tree && audit->cfg.linux_audit)
		sink_result(audit, lw_audit_linux_write(audit->linux_fd, tree, &err), &err, &first);
	json_object_put(tree);
	line->len = 0;
	return first;
}

int lw_audit_denial(struct lw_audit *audit, const struct lw_denial *ev,
		    const struct lw_audit_lease_ctx *ctx)
{
	struct lw_audit_lease_ctx filled = { 0 };
	char exe[4096], holder_comm[64];
	int r;

	if (ctx)
		filled = *ctx;
	if (!filled.holder_comm && ev->holder.kind == LW_HOLDER_PROCESS &&
	    lw_audit_proc_comm(ev->holder.pid, ev->holder.start_time, holder_comm,
			       sizeof(holder_comm)) == 0)
		filled.holder_comm = holder_comm;
	r = lw_audit_record_denial(&audit->line, ev, &filled,
				   lw_audit_proc_exe(ev->tgid, exe, sizeof(exe)) == 0 ? exe : NULL,
				   lw_audit_wall_ns_of_boot_ns(ev->time_ns));
	if (r == 0) {
		audit->stats.denials++;
		audit->stats.suppressed += ev->suppressed;
	}
	return fan_out(audit, r);
}

int lw_audit_lease_event(struct lw_audit *audit, const struct lw_audit_lease_record *lr)
{
	struct lw_audit_lease_record filled = *lr;
	char holder_comm[64];
	int r;

	if (!filled.holder_comm && lr->holder && lr->holder->kind == LW_HOLDER_PROCESS &&
	    lw_audit_proc_comm(lr->holder->pid, lr->holder->start_time, holder_comm,
			       sizeof(holder_comm)) == 0)
		filled.holder_comm = holder_comm;
	r = lw_audit_record_lease(&audit->line, &filled, filled.time_ns ? filled.time_ns : lw_audit_now_ns());
	if (r == 0)
		audit->stats.lease_events++;
	return fan_out(audit, r);
}

int lw_audit_suppressed(struct lw_audit *audit, uint32_t uid, uint64_t count, unsigned int limit)
{
	int r = lw_audit_record_suppressed(&audit->line, uid, count, limit, lw_audit_now_ns());

	if (r == 0)
		audit->stats.suppressed += count;
	return fan_out(audit, r);
}

int lw_audit_reopen(struct lw_audit *audit)
{
	if (!audit->cfg.file)
		return 0;
	return lw_audit_file_reopen(&audit->file, &audit->err);
}

void lw_audit_stats(const struct lw_audit *audit, struct lw_audit_stats *stats)
{
	*stats = audit->stats;
}

void lw_audit_close(struct lw_audit *audit)
{
	if (!audit)
		return;
	lw_audit_file_close(&audit->file);
	lw_audit_linux_close(audit->linux_fd);
	lw_json_buf_free(&audit->line);
	free(audit);
}
