// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden list`, `lockwarden inquire` and `lockwarden status`: a table
 * for people (every name from the daemon escaped for the terminal), the
 * reply's JSON with --json. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lockwarden/client.h"
#include "common/terminal.h"

/* The image column of each lease, escaped: freed with free_images. */
static char **escaped_images(struct lockwarden_lease **leases, size_t n)
{
	char **images = calloc(n ? n : 1, sizeof(*images));
	size_t i;

	for (i = 0; images && i < n; i++) {
		images[i] = lw_terminal_escape_dup(leases[i]->image);
		if (!images[i]) {
			while (i-- > 0)
				free(images[i]);
			free(images);
			return NULL;
		}
	}
	return images;
}

static int print_leases(struct lockwarden_lease **leases, size_t n)
{
	int width = (int)strlen("IMAGE");
	char holders[1024], backend[64];
	char **images;
	size_t i;

	if (n == 0) {
		printf("no leases\n");
		return 0;
	}
	images = escaped_images(leases, n);
	if (!images)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if ((int)strlen(images[i]) > width)
			width = (int)strlen(images[i]);
	printf("%-*s  %-9s  %-8s  %s\n", width, "IMAGE", "MODE", "BACKEND", "HOLDERS");
	for (i = 0; i < n; i++) {
		/* the library's holder text is already escaped */
		lockwarden_holders_format(leases[i]->holders, leases[i]->n_holders, holders,
					  sizeof(holders));
		printf("%-*s  %-9s  %-8s  %s%s\n", width, images[i],
		       leases[i]->shared ? "shared" : "exclusive",
		       leases[i]->backend ? lw_terminal_escape(leases[i]->backend, backend,
							      sizeof(backend))
					  : "-",
		       holders, leases[i]->pending ? "  (pending: not granted yet, not enforced)" : "");
		free(images[i]);
	}
	free(images);
	return 0;
}

int cmd_list(const struct cli_args *args)
{
	struct lockwarden_lease **leases = NULL;
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	size_t n = 0;
	int status = CLI_EXIT_FAILURE;

	if (lockwarden_connect(args->socket_path, &lw, &err) < 0 ||
	    lockwarden_list(lw, &leases, &n, &err) < 0) {
		cli_fail_error("list", &err);
		goto cleanup;
	}
	if (args->json ? cli_print_json(lockwarden_last_reply_json(lw, true)) < 0
		       : print_leases(leases, n) < 0) {
		cli_fail("list", "out of memory");
		goto cleanup;
	}
	status = 0;
cleanup:
	lockwarden_lease_list_free(leases, n);
	lockwarden_disconnect(lw);
	return status;
}

/* Exit 0 whether or not the image is leased: the question was answered.
 * Scripts tell the two apart with --json ("lease": null). */
int cmd_inquire(const struct cli_args *args)
{
	struct lockwarden_lease *lease = NULL;
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	int status = CLI_EXIT_FAILURE;
	char *image, *what = NULL;

	/* like release: a deleted image may still be leased under its name */
	image = cli_image_path(args->images[0], false);
	if (!image)
		return cli_fail("inquire", "%s: %s", args->images[0], strerror(errno));
	if (asprintf(&what, "inquire %s", image) < 0) {
		free(image);
		return cli_fail("inquire", "out of memory");
	}
	if (lockwarden_connect(args->socket_path, &lw, &err) < 0 ||
	    lockwarden_inquire(lw, image, &lease, &err) < 0) {
		cli_fail_error(what, &err);
		goto cleanup;
	}
	status = 0;
	if (args->json ? cli_print_json(lockwarden_last_reply_json(lw, true)) < 0
		       : lease ? print_leases(&lease, 1) < 0 : puts("not leased") < 0)
		status = cli_fail(what, "out of memory");
cleanup:
	lockwarden_lease_free(lease);
	lockwarden_disconnect(lw);
	free(what);
	free(image);
	return status;
}

/* A number of seconds the daemon sent under key, or -1 if none. */
static double seconds_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return -1;
	return json_object_get_double(v);
}

static const char *text_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : "?";
}

/* "NAME joined in 21.3 s (host_id 1)", "NAME joining for 4.0 s (host_id 1)",
 * "NAME failed: REASON (host_id 1)": how a lockspace's join goes. */
static void print_lockspace(struct json_object *ls)
{
	const char *state = text_of(ls, "state");
	char name[1024], reason[4096];
	struct json_object *host_id;
	double secs;

	printf("lockspace:        %s %s", lw_terminal_escape(text_of(ls, "name"), name, sizeof(name)),
	       lw_terminal_escape(state, reason, sizeof(reason)));
	if (strcmp(state, "joined") == 0 && (secs = seconds_of(ls, "join_seconds")) >= 0)
		printf(" in %.1f s", secs);
	else if (strcmp(state, "joining") == 0 && (secs = seconds_of(ls, "joining_seconds")) >= 0)
		printf(" for %.1f s", secs);
	else if (strcmp(state, "failed") == 0)
		printf(": %s", lw_terminal_escape(text_of(ls, "reason"), reason, sizeof(reason)));
	if (json_object_object_get_ex(ls, "host_id", &host_id))
		printf(" (host_id %" PRId64 ")", json_object_get_int64(host_id));
	printf("\n");
}

/* One line per lockspace of the backend (paxos has them): the reply's
 * backend_status.lockspaces, which the library's struct does not carry. */
static void print_lockspaces(const char *reply)
{
	struct json_object *j = reply ? json_tokener_parse(reply) : NULL, *be, *lss;

	if (j && json_object_object_get_ex(j, "backend_status", &be) &&
	    json_object_object_get_ex(be, "lockspaces", &lss) && json_object_is_type(lss, json_type_array))
		for (size_t i = 0; i < json_object_array_length(lss); i++)
			print_lockspace(json_object_array_get_idx(lss, i));
	json_object_put(j);
}

/* After a restart the daemon answers while it adopts its leases: the
 * reply's adopting {adopted, total}, which the library's struct does not
 * carry; "leases" counts the adopted ones meanwhile. */
static void print_adopting(const char *reply)
{
	struct json_object *j = reply ? json_tokener_parse(reply) : NULL, *a, *adopted, *total;

	if (j && json_object_object_get_ex(j, "adopting", &a) &&
	    json_object_object_get_ex(a, "adopted", &adopted) && json_object_object_get_ex(a, "total", &total))
		printf("adopting:         %" PRId64 "/%" PRId64 " leases (after a restart)\n",
		       json_object_get_int64(adopted), json_object_get_int64(total));
	json_object_put(j);
}

static void print_status(const struct lockwarden_status *st, const char *reply)
{
	uint64_t s = st->uptime_usec / 1000000;
	char text[4096 * 4];

	printf("version:          %s\n", lw_terminal_escape(st->version, text, sizeof(text)));
	printf("backend:          %s\n", lw_terminal_escape(st->backend, text, sizeof(text)));
	print_lockspaces(reply);
	if (st->enforcer)
		printf("enforcer:         %s\n", lw_terminal_escape(st->enforcer, text, sizeof(text)));
	if (st->enforcer_limits)
		printf("enforcer limits:  %s\n", lw_terminal_escape(st->enforcer_limits, text, sizeof(text)));
	if (st->pin_dir && st->pin_dir[0])
		printf("pin dir:          %s\n", lw_terminal_escape(st->pin_dir, text, sizeof(text)));
	printf("leases:           %" PRId64 " (at most %" PRId64 " images)\n", st->leases,
	       st->max_images);
	print_adopting(reply);
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
	int status = CLI_EXIT_FAILURE;

	if (lockwarden_connect(args->socket_path, &lw, &err) < 0 ||
	    lockwarden_status(lw, &st, &err) < 0) {
		cli_fail_error("status", &err);
		goto cleanup;
	}
	if (args->json && cli_print_json(lockwarden_last_reply_json(lw, true)) < 0) {
		cli_fail("status", "out of memory");
		goto cleanup;
	}
	if (!args->json)
		print_status(&st, lockwarden_last_reply_json(lw, false));
	status = 0;
cleanup:
	lockwarden_status_clear(&st);
	lockwarden_disconnect(lw);
	return status;
}
