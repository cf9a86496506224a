// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lockwarden run [--shared] IMAGE... -- CMD ARGS`: take every lease for
 * this very process, then exec CMD. exec keeps the pid and the start time,
 * so the daemon's holder identity (pid + start time) now names CMD, and
 * the leases end when CMD exits (the daemon watches the holder). All or
 * none: if one acquire fails, the ones taken are released and CMD never
 * runs. */
#include "lockwarden/commands.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lockwarden/client.h"

/* Give back images[0..n) in reverse order; errors only reported. */
static void release_all(struct lockwarden *lw, char **images, size_t n, pid_t pid)
{
	struct lockwarden_error err;
	char what[PATH_MAX + 16];

	while (n-- > 0) {
		if (lockwarden_release(lw, images[n], pid, &err) < 0) {
			snprintf(what, sizeof(what), "run: release %s", images[n]);
			cli_fail_error(what, &err);
		}
	}
}

int cmd_run(const struct cli_args *args)
{
	unsigned flags = args->shared ? LOCKWARDEN_SHARED : 0;
	struct lockwarden *lw = NULL;
	struct lockwarden_error err;
	pid_t self = getpid();
	size_t i, taken = 0;
	const char *name;
	char what[PATH_MAX + 16];
	char **images;
	int status = 1, saved;

	images = calloc(args->n_images, sizeof(*images));
	if (!images)
		return cli_fail("run", "out of memory");
	for (i = 0; i < args->n_images; i++) {
		images[i] = cli_image_path(args->images[i], true);
		if (!images[i]) {
			cli_fail("run", "%s: %s", args->images[i], strerror(errno));
			goto cleanup;
		}
	}
	/* Take CMD's name now (exec will give it the same one), so the daemon
	 * records the holder as "qemu-system-x86", not "lockwarden", in its
	 * conflict messages, list and audit trail. Best effort. */
	name = strrchr(args->exec_argv[0], '/');
	prctl(PR_SET_NAME, name ? name + 1 : args->exec_argv[0], 0, 0, 0);
	/* The socket is close-on-exec: CMD does not inherit it. */
	if (lockwarden_connect(args->socket_path, &lw, &err) < 0) {
		cli_fail_error("run", &err);
		goto cleanup;
	}
	for (taken = 0; taken < args->n_images; taken++) {
		if (lockwarden_acquire(lw, images[taken], self, flags | LOCKWARDEN_BRIEF, NULL, &err) < 0) {
			snprintf(what, sizeof(what), "run: acquire %s", images[taken]);
			cli_fail_error(what, &err);
			release_all(lw, images, taken, self);
			goto cleanup;
		}
	}
	fflush(NULL);
	execvp(args->exec_argv[0], args->exec_argv);
	saved = errno;
	release_all(lw, images, taken, self);
	cli_fail("run", "%s: %s", args->exec_argv[0], strerror(saved));
	/* Like env(1): 127 if CMD was not found, 126 if it could not run. */
	status = saved == ENOENT ? 127 : 126;
cleanup:
	lockwarden_disconnect(lw);
	for (i = 0; i < args->n_images; i++)
		free(images[i]);
	free(images);
	return status;
}
