/* `lockwarden list` and `lockwarden status`: a table for people, the
 * reply's JSON with --json. */
#include "lockwarden/commands.h"

#include <inttypes.h>
#include <string.h>

#include "client/lockwarden.h"

static void print_leases(struct lockwarden_lease **leases, size_t n)
{
	int width = (int)strlen("IMAGE");
	char holders[512];
	size_t i;

	if (n == 0) {
		printf("no leases\n");
		return;
	}
	for (i = 0; i < n; i++)
		if ((int)strlen(leases[i]->image) > width)
			width = (int)strlen(leases[i]->image);
	printf("%-*s  %-9s  %-8s  %s\n", width, "IMAGE", "MODE", "BACKEND", "HOLDERS");
	for (i = 0; i < n; i++) {
		lockwarden_holders_format(leases[i]->holders, leases[i]->n_holders, holders,
					  sizeof(holders));
		printf("%-*s  %-9s  %-8s  %s\n", width, leases[i]->image,
		       leases[i]->shared ? "shared" : "exclusive",
		       leases[i]->backend ? leases[i]->backend : "-", holders);
	}
}

int cmd_list(const struct cli_args *args)
{
	struct lockwarden_lease **leases = NULL;
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	size_t n = 0;
	int status = 1;

	if (lockwarden_connect(args->socket_path, &lw, &err) < 0 ||
	    lockwarden_list(lw, &leases, &n, &err) < 0) {
		cli_fail("list", "%s", err.message);
		goto cleanup;
	}
	if (args->json)
		printf("%s\n", lockwarden_last_reply_json(lw, true));
	else
		print_leases(leases, n);
	status = 0;
cleanup:
	lockwarden_lease_list_free(leases, n);
	lockwarden_disconnect(lw);
	return status;
}

static void print_status(const struct lockwarden_status *st)
{
	uint64_t s = st->uptime_usec / 1000000;

	printf("version:          %s\n", st->version ? st->version : "?");
	printf("backend:          %s\n", st->backend ? st->backend : "?");
	printf("pin dir:          %s\n", st->pin_dir ? st->pin_dir : "?");
	printf("leases:           %" PRId64 " (at most %" PRId64 " images)\n", st->leases,
	       st->max_images);
	printf("denials:          %" PRId64 " (%" PRId64 " suppressed from the audit trail)\n",
	       st->denials, st->suppressed);
	printf("ringbuf dropped:  %" PRId64 "\n", st->ringbuf_dropped);
	printf("uptime:           %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "\n",
	       s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
}

int cmd_status(const struct cli_args *args)
{
	struct lockwarden_status st = { 0 };
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	int status = 1;

	if (lockwarden_connect(args->socket_path, &lw, &err) < 0 ||
	    lockwarden_status(lw, &st, &err) < 0) {
		cli_fail("status", "%s", err.message);
		goto cleanup;
	}
	if (args->json)
		printf("%s\n", lockwarden_last_reply_json(lw, true));
	else
		print_status(&st);
	status = 0;
cleanup:
	lockwarden_status_clear(&st);
	lockwarden_disconnect(lw);
	return status;
}
