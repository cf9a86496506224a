// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden acquire` and `lockwarden release`: one image, one holder pid. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockwarden/client.h"

/* Connect, then run one acquire or release of image for args->pid. */
static int lease_command(const struct cli_args *args, bool acquire)
{
	const char *verb = acquire ? "acquire" : "release";
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	char *image, *what = NULL;
	int status = 1, ret;

	image = cli_image_path(args->images[0], acquire);
	if (!image)
		return cli_fail(verb, "%s: %s", args->images[0], strerror(errno));
	if (asprintf(&what, "%s %s", verb, image) < 0) {
		free(image);
		return cli_fail(verb, "out of memory");
	}
	if (lockwarden_connect(args->socket_path, &lw, &err) < 0) {
		cli_fail_error(what, &err);
		goto cleanup;
	}
	if (acquire)
		ret = lockwarden_acquire_named(lw, image, args->pid,
					       (args->shared ? LOCKWARDEN_SHARED : 0) |
						       (args->force ? LOCKWARDEN_FORCE : 0) |
						       (args->json ? 0 : LOCKWARDEN_BRIEF),
					       args->lease, NULL, &err);
	else
		ret = lockwarden_release(lw, image, args->pid, &err);
	if (ret < 0) {
		cli_fail_error(what, &err);
		goto cleanup;
	}
	if (args->json && cli_print_json(lockwarden_last_reply_json(lw, true)) < 0) {
		cli_fail(what, "out of memory");
		goto cleanup;
	}
	status = 0;
cleanup:
	lockwarden_disconnect(lw);
	free(what);
	free(image);
	return status;
}

int cmd_acquire(const struct cli_args *args)
{
	return lease_command(args, true);
}

int cmd_release(const struct cli_args *args)
{
	return lease_command(args, false);
}
