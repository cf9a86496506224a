// SPDX-License-Identifier: LGPL-2.1-or-later
/* Re-execution for upgrades. See reexec.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "reexec.h"

static char binary[PATH_MAX];
static char **arguments;
static void (*hook_before)(void *ctx), (*hook_failed)(void *ctx);
static void *hook_ctx;

void lw_reexec_set_hooks(void (*before)(void *ctx), void (*failed)(void *ctx), void *ctx)
{
	hook_before = before;
	hook_failed = failed;
	hook_ctx = ctx;
}

void lw_reexec_init(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", binary, sizeof(binary) - 1);

	(void)argc;
	binary[n > 0 ? n : 0] = '\0';
	arguments = argv;
}

const char *lw_reexec_binary(void)
{
	char *deleted = strstr(binary, " (deleted)");

	/* /proc/self/exe names the old file after an upgrade replaced it; the path names the new */
	if (deleted)
		*deleted = '\0';
	return binary;
}

int lw_reexec(int listen_fd)
{
	char pid[32];
	int fd = listen_fd, r;

	/* /proc/self/exe names the old file after an upgrade replaced it; the path names the new */
	if (strstr(binary, " (deleted)"))
		*strstr(binary, " (deleted)") = '\0';
	if (fd != SD_LISTEN_FDS_START) {
		fd = dup2(listen_fd, SD_LISTEN_FDS_START);
		if (fd < 0) {
			r = -errno;
			lw_log(LOG_ERR, "re-exec: cannot hand over the socket: %s", strerror(errno));
			return r;
		}
	}
	fcntl(fd, F_SETFD, 0);	/* the one descriptor that crosses exec */
	snprintf(pid, sizeof(pid), "%d", getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDNAMES", "varlink", 1);
	lw_log(LOG_NOTICE, "re-executing %s", binary);
	sd_notify(0, "RELOADING=1");
	fflush(NULL);
	if (hook_before)
		hook_before(hook_ctx);
	execv(binary, arguments);
	r = -errno;
	if (hook_failed)
		hook_failed(hook_ctx);
	lw_log(LOG_ERR, "re-exec of %s failed: %s", binary, strerror(-r));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
