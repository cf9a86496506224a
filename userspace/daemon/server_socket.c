// SPDX-License-Identifier: LGPL-2.1-or-later
/* The listening socket. See server_socket.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/mkdirs.h"
#include "server_socket.h"

/* The socket's group: socket_group, else the admin group, else root's. */
static int socket_gid(const struct lw_daemon *d, gid_t *gid, struct lw_err *err)
{
	const struct group *gr;

	*gid = d->has_admin_group ? d->admin_gid : 0;
	if (!d->cfg->socket_group[0])
		return 0;
	gr = getgrnam(d->cfg->socket_group);
	if (!gr)
		return lw_err_set(err, ENOENT, "socket_group %s names no group", d->cfg->socket_group);
	*gid = gr->gr_gid;
	return 0;
}

static int create_socket(const char *path, mode_t mode, gid_t gid, struct lw_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, r;
	mode_t old_umask;

	if (strlen(path) >= sizeof(sa.sun_path))
		return lw_err_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	r = lw_mkdirs_for(path);
	if (r < 0)
		return lw_err_set(err, -r, "cannot create the folder of %s: %s", path, strerror(-r));
	/* a live daemon on this path keeps it; a stale socket file goes */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		return lw_err_set(err, EADDRINUSE, "another lockwardend answers on %s", path);
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* born 0600: no one else may connect before mode and group are set */
	old_umask = umask(0177);
	r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0 || chown(path, 0, gid) < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		r = lw_err_set(err, errno, "cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

int lw_server_socket(const struct lw_daemon *d, struct lw_err *err)
{
	gid_t gid;
	int fd, r;

	r = socket_gid(d, &gid, err);
	if (r < 0)
		return r;
	/* socket activation, or our own socket handed over a re-exec */
	if (sd_listen_fds(1) >= 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) > 0) {
		fd = SD_LISTEN_FDS_START;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		return fd;
	}
	return create_socket(d->cfg->socket, d->cfg->socket_mode, gid, err);
}
