// SPDX-License-Identifier: LGPL-2.1-or-later
/* The per-lease sanlock client (paxos_agent.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sanlock.h>
#include <sanlock_admin.h>
#include <sanlock_resource.h>
#include <sanlock_rv.h>

#include "paxos_agent.h"
#include "common/holder.h"
#include "paxos_fence.h"

#define LEASE_FILE_SIZE (1u << 20)	/* one resource lease, 512-byte sectors, 1 MiB alignment */
#define FENCE_WAIT_MS 10000
#define BUSY_RETRY_MS 5000		/* a release of the same lease still in flight here */
#define STAY_WAIT_MS 1000		/* for the daemon's word after a release */
#define CTL_FD 3
#define IMAGE_FD 4

struct agent_result {
	int32_t rv;
	char reason[LW_ERR_MAX];
};

/* A sanlock acquire error as errno + reason. */
static int acquire_error(int rv, struct lw_err *err)
{
	switch (rv) {
	case -EEXIST:
	case -EBUSY:
		return lw_err_set(err, EAGAIN, "lease held by another holder on this host");
	case SANLK_ACQUIRE_IDLIVE:
	case SANLK_ACQUIRE_OWNED:
	case SANLK_ACQUIRE_OTHER:
	case SANLK_ACQUIRE_OWNED_RETRY:
		return lw_err_set(err, EAGAIN, "lease held by another host (sanlock %d)", rv);
	case SANLK_ACQUIRE_SHRETRY:
		return lw_err_set(err, EAGAIN, "shared lease contention with another host, try again");
	case -ENOSPC:	/* a backend condition (a lockspace lost to a failed renewal), not a missing image */
		return lw_err_set(err, ENOTCONN, "the lease's lockspace is not joined on this host (lost, or never joined)");
	case SANLK_LEADER_MAGIC:
	case SANLK_LEADER_VERSION:
		return lw_err_set(err, ENOENT, "no lease is initialised at that place (sanlock %d)", rv);
	case SANLK_LEADER_LOCKSPACE:
		return lw_err_set(err, EINVAL, "the lease belongs to another lockspace (sanlock %d)", rv);
	case SANLK_LEADER_RESOURCE:
		return lw_err_set(err, EINVAL, "the lease at that place has another name (sanlock %d)", rv);
	default:
		return lw_err_set(err, EIO, "sanlock acquire failed: %s (%d)", strerror(rv > -200 ? -rv : EIO), rv);
	}
}

/* ---- in the agent ------------------------------------------------------- */

static void report(int rv, const struct lw_err *err)
{
	struct agent_result r = { .rv = rv };

	if (err)
		snprintf(r.reason, sizeof(r.reason), "%s", err->msg);
	if (send(CTL_FD, &r, sizeof(r), MSG_NOSIGNAL) < 0) {
		/* the daemon is gone: nobody will be told, keep going */
	}
}

static struct sanlk_resource *resource_copy(const struct sanlk_resource *res)
{
	size_t size = sizeof(*res) + res->num_disks * sizeof(struct sanlk_disk);
	struct sanlk_resource *copy = malloc(size);

	if (copy)
		memcpy(copy, res, size);
	return copy;
}

/* The lease folder's group, mode 0660. */
static int group_access(int fd, const char *path)
{
	char dir[SANLK_PATH_LEN];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) < 0 || fchown(fd, (uid_t)-1, st.st_gid) < 0 || fchmod(fd, 0660) < 0)
		return -errno;
	return 0;
}

/* Automatic mode: the lease file, created and initialised once by whichever
 * host comes first. Initialised under a temporary name and linked into
 * place, so a host never sees (or overwrites) a half-made lease. It gets
 * the lease folder's group, read-write (0660): sanlock's daemon runs as its
 * own user, which the operator puts in that group (docs/paxos.md). */
static int ensure_lease_file(const struct sanlk_resource *res, struct lw_err *err)
{
	const char *path = res->disks[0].path;
	struct sanlk_resource *tmp_res;
	char tmp[SANLK_PATH_LEN];
	int fd, rv;

	if (access(path, F_OK) == 0)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return lw_err_set(err, ENAMETOOLONG, "lease file name too long: %s", path);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return lw_err_set(err, errno, "cannot create %s: %s", tmp, strerror(errno));
	rv = ftruncate(fd, LEASE_FILE_SIZE) < 0 || fsync(fd) < 0 ? -errno : 0;
	if (rv == 0)
		rv = group_access(fd, path);
	close(fd);
	if (rv < 0) {
		unlink(tmp);
		return lw_err_set(err, -rv, "cannot size %s: %s", tmp, strerror(-rv));
	}
	tmp_res = resource_copy(res);
	if (!tmp_res) {
		unlink(tmp);
		return lw_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(tmp_res->disks[0].path, tmp, sizeof(tmp));
	tmp_res->flags &= ~SANLK_RES_SHARED;
	rv = sanlock_write_resource(tmp_res, 0, 0, 0);
	free(tmp_res);
	if (rv < 0) {
		unlink(tmp);
		return lw_err_set(err, EIO, "sanlock cannot initialise the lease in %s (%d)", tmp, rv);
	}
	if (link(tmp, path) < 0 && errno != EEXIST) {
		rv = errno;
		unlink(tmp);
		return lw_err_set(err, rv, "cannot link %s into place: %s", path, strerror(rv));
	}
	unlink(tmp);	/* lost the race to another host: its lease file is as good */
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int acquire(int sock, const struct lw_paxos_agent_spec *spec, struct lw_err *err)
{
	struct sanlk_resource *res = (struct sanlk_resource *)spec->res;
	struct sanlk_options opt;
	long deadline = now_ms() + BUSY_RETRY_MS;
	int rv;

	memset(&opt, 0, sizeof(opt));
	snprintf(opt.owner_name, sizeof(opt.owner_name), "%s", spec->owner);
	for (;;) {
		rv = sanlock_acquire(sock, -1, 0, 1, &res, &opt);
		/* -EAGAIN: this host's previous holder is still releasing it */
		if (rv != -EAGAIN || now_ms() >= deadline)
			break;
		usleep(20000);
	}
	return rv < 0 ? acquire_error(rv, err) : 0;
}

/* Whether the SIGTERM came from sanlock (its daemon or helper): that is a
 * fence order. Anyone else's is ignored: stopping the agent would drop the
 * lease under a running holder. */
static int from_sanlock(pid_t sender)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)sender);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	return strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, "sanlock") == 0;
}

/* What the daemon sends a spare: its lease, and the image (SCM_RIGHTS). */
struct agent_order {
	uint32_t create;
	char owner[SANLK_NAME_LEN];
	struct sanlk_resource res;	/* then res.num_disks disks */
};

union agent_order_buf {
	struct agent_order order;
	char bytes[sizeof(struct agent_order) + SANLK_MAX_DISKS * sizeof(struct sanlk_disk)];
};

/* Room for one descriptor, aligned as a cmsghdr. */
union fd_control {
	char bytes[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static size_t order_size(const struct sanlk_resource *res)
{
	return offsetof(struct agent_order, res) + sizeof(*res) + res->num_disks * sizeof(struct sanlk_disk);
}

/* The next order, its image at IMAGE_FD; false when the daemon's end of the
 * socket closed instead (it died, re-executed, or has no use for us). */
static bool next_order(union agent_order_buf *buf, struct lw_paxos_agent_spec *spec)
{
	union fd_control control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(*buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c;
	int image = -1;
	ssize_t n;

	do
		n = recvmsg(CTL_FD, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&image, CMSG_DATA(c), sizeof(int));
	if (image < 0 || (size_t)n < offsetof(struct agent_order, res) + sizeof(buf->order.res) ||
	    buf->order.res.num_disks > SANLK_MAX_DISKS || (size_t)n != order_size(&buf->order.res))
		return false;
	if (image != IMAGE_FD) {
		if (dup2(image, IMAGE_FD) < 0)
			return false;
		close(image);
	}
	buf->order.owner[sizeof(buf->order.owner) - 1] = '\0';
	spec->res = &buf->order.res;
	spec->owner = buf->order.owner;
	spec->create = buf->order.create;
	spec->image_fd = IMAGE_FD;
	return true;
}

/* Signals that came while no lease was held are about none: dropped. */
static void drop_pending_signals(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		;
}

/* A registration sanlock still knows, made again if sanlock restarted. */
static int registered(int *sock, struct lw_err *err)
{
	struct pollfd p = { .fd = *sock, .events = POLLIN };

	if (*sock >= 0 && poll(&p, 1, 0) == 0)
		return 0;
	if (*sock >= 0)
		close(*sock);
	*sock = sanlock_register();
	if (*sock < 0)
		return lw_err_set(err, ECONNREFUSED, "cannot register with sanlock (%d): is its daemon running?",
				  *sock);
	return 0;
}

/* After a release: whether the daemon keeps this agent for another lease
 * (LW_PAXOS_AGENT_STAY). A daemon that closes its end, or one from before
 * spare agents that says nothing and waits for the exit, gets the exit. */
static bool told_to_stay(void)
{
	struct pollfd p = { .fd = CTL_FD, .events = POLLIN };
	char word;

	return poll(&p, 1, STAY_WAIT_MS) == 1 && recv(CTL_FD, &word, 1, 0) == 1 && word == LW_PAXOS_AGENT_STAY;
}

/* Take spec's lease and hold it until the daemon says let go (return: the
 * agent can take another) or sanlock orders a fence (exit). */
static void hold(int *sock, int sfd, const struct lw_paxos_agent_spec *spec)
{
	struct sanlk_resource *res = (struct sanlk_resource *)spec->res;
	struct lw_err err = { "" };
	int rv, ctl_open = 1;

	if ((spec->create && (rv = ensure_lease_file(res, &err)) < 0) || (rv = registered(sock, &err)) < 0) {
		report(rv, &err);
		_exit(LW_PAXOS_AGENT_NOT_ACQUIRED);
	}
	rv = acquire(*sock, spec, &err);
	report(rv, &err);
	if (rv < 0)
		_exit(LW_PAXOS_AGENT_NOT_ACQUIRED);

	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = CTL_FD, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, ctl_open ? 2 : 1, -1) < 0)
			continue;
		if (ctl_open && p[1].revents) {
			char byte;

			/* the daemon is gone (crash, restart): the lease stays, fencing too */
			if (recv(CTL_FD, &byte, 1, MSG_DONTWAIT) <= 0 && errno != EAGAIN)
				ctl_open = 0;
		}
		if (!p[0].revents || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1) {
			rv = sanlock_release(*sock, -1, 0, 1, &res);
			if (rv < 0)
				_exit(LW_PAXOS_AGENT_RELEASE_FAILED);
			/* the release is answered on this, not on an exit */
			if (!ctl_open)
				_exit(LW_PAXOS_AGENT_RELEASED);
			report(LW_PAXOS_AGENT_LET_GO, NULL);
			close(IMAGE_FD);
			if (!told_to_stay())
				_exit(LW_PAXOS_AGENT_RELEASED);
			return;
		}
		if (si.ssi_signo == SIGTERM && from_sanlock((pid_t)si.ssi_pid)) {
			/* sanlock cannot renew: the daemon is told first (it stops the
			 * holders it knows and ends the lease), then every writer is
			 * stopped here, then exit (which frees the lease) */
			if (ctl_open)
				report(LW_PAXOS_AGENT_FENCING, NULL);
			rv = lw_paxos_fence_writers(IMAGE_FD, FENCE_WAIT_MS);
			fprintf(stderr, "lockwarden paxos agent %d: sanlock lost lease %.48s: %s%d writer(s) stopped\n",
				(int)getpid(), res->name, rv < 0 ? "not all " : "", rv < 0 ? 0 : rv);
			_exit(LW_PAXOS_AGENT_FENCED);
		}
	}
}

/* An agent waits for a lease (an order), holds it, and after a release
 * waits for the next: a fork, a registration with sanlock and an exit are
 * saved for each lease after its first. While it waits it holds nothing,
 * and when the daemon's end of the socket closes (the daemon died, or
 * re-executed: the end is close-on-exec) it exits. */
static void __attribute__((noreturn)) agent_main(void)
{
	union agent_order_buf buf;
	struct lw_paxos_agent_spec spec;
	int sock = -1, sfd;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_SETMASK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* above IMAGE_FD, which each order's image takes */
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd >= 0 && sfd <= IMAGE_FD) {
		int moved = fcntl(sfd, F_DUPFD_CLOEXEC, IMAGE_FD + 1);

		close(sfd);
		sfd = moved;
	}
	while (next_order(&buf, &spec)) {
		if (sfd < 0) {
			struct lw_err err;

			report(lw_err_set(&err, errno, "signalfd: %s", strerror(errno)), &err);
			_exit(LW_PAXOS_AGENT_NOT_ACQUIRED);
		}
		drop_pending_signals(sfd);
		hold(&sock, sfd, &spec);
	}
	_exit(LW_PAXOS_AGENT_RELEASED);
}

/* ---- in the daemon ------------------------------------------------------- */

int lw_paxos_agent_prepare(struct lw_paxos_agent *spare, struct lw_err *err)
{
	int sv[2], pidfd = -1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return lw_err_set(err, errno, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return lw_err_set(err, e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		/* Own session: the daemon's death (or its group's signals) is not ours. */
		setsid();
		prctl(PR_SET_NAME, "lw-paxos-agent");
		if (dup2(sv[1], CTL_FD) < 0)
			_exit(LW_PAXOS_AGENT_NOT_ACQUIRED);
		close_range(CTL_FD + 1, ~0u, 0);
		if (chdir("/") < 0)
			_exit(LW_PAXOS_AGENT_NOT_ACQUIRED);
		agent_main();
	}
	close(sv[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		return lw_err_set(err, e, "pidfd_open: %s", strerror(e));
	}
	spare->pid = pid;
	spare->pidfd = pidfd;
	spare->ctl_fd = sv[0];
	/* its identity, read now: a spare's fork is off the acquire's path */
	if (lw_proc_stat(pid, &spare->start_time, NULL, 0) < 0)
		spare->start_time = 0;
	return 0;
}

int lw_paxos_agent_start(const struct lw_paxos_agent *spare, const struct lw_paxos_agent_spec *spec,
			 struct lw_err *err)
{
	union agent_order_buf buf;
	union fd_control control = { 0 };
	struct iovec iov = { .iov_base = &buf };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	if (spec->res->num_disks > SANLK_MAX_DISKS)
		return lw_err_set(err, EINVAL, "a lease has at most %d disks", SANLK_MAX_DISKS);
	memset(&buf.order, 0, offsetof(struct agent_order, res));
	buf.order.create = spec->create;
	snprintf(buf.order.owner, sizeof(buf.order.owner), "%s", spec->owner);
	memcpy(&buf.order.res, spec->res, sizeof(*spec->res) + spec->res->num_disks * sizeof(struct sanlk_disk));
	iov.iov_len = order_size(spec->res);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &spec->image_fd, sizeof(int));
	if (sendmsg(spare->ctl_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)iov.iov_len)
		return lw_err_set(err, errno ? errno : EIO, "the sanlock agent %d took no lease: %s",
				  (int)spare->pid, strerror(errno ? errno : EIO));
	return 0;
}

int lw_paxos_agent_spawn(const struct lw_paxos_agent_spec *spec, struct lw_paxos_agent *agent,
			 struct lw_err *err)
{
	int rv = lw_paxos_agent_prepare(agent, err);

	if (rv == 0 && (rv = lw_paxos_agent_start(agent, spec, err)) < 0)
		lw_paxos_agent_discard(agent);
	return rv;
}

int lw_paxos_agent_keep(const struct lw_paxos_agent *agent)
{
	char word = LW_PAXOS_AGENT_STAY;

	return send(agent->ctl_fd, &word, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

void lw_paxos_agent_hang_up(struct lw_paxos_agent *agent)
{
	if (agent->ctl_fd >= 0)
		close(agent->ctl_fd);
	agent->ctl_fd = -1;
}

void lw_paxos_agent_discard(struct lw_paxos_agent *agent)
{
	syscall(SYS_pidfd_send_signal, agent->pidfd, SIGKILL, NULL, 0);
	waitid(P_PIDFD, (id_t)agent->pidfd, &(siginfo_t){ 0 }, WEXITED);
	close(agent->pidfd);
	close(agent->ctl_fd);
	agent->pidfd = agent->ctl_fd = -1;
	agent->pid = 0;
}

int lw_paxos_agent_result(int ctl_fd, struct lw_err *err)
{
	struct agent_result r;
	ssize_t n = recv(ctl_fd, &r, sizeof(r), MSG_DONTWAIT);

	if (n != (ssize_t)sizeof(r))
		return lw_err_set(err, EIO, "the sanlock agent ended without an answer");
	r.reason[sizeof(r.reason) - 1] = '\0';
	if (r.rv < 0)
		return lw_err_set(err, -r.rv, "%s", r.reason);
	return r.rv == LW_PAXOS_AGENT_FENCING || r.rv == LW_PAXOS_AGENT_LET_GO ? r.rv : 0;
}

int lw_paxos_agent_reap(int pidfd)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0 || info.si_pid == 0)
		return -1;
	return info.si_code == CLD_EXITED ? info.si_status : -1;
}

int lw_paxos_agent_release(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0) < 0 && errno != ESRCH)
		return -errno;
	if (poll(&p, 1, timeout_ms) != 1) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		p.revents = 0;
		poll(&p, 1, 1000);
		lw_paxos_agent_reap(pidfd);
		return -ETIMEDOUT;
	}
	return lw_paxos_agent_reap(pidfd);
}
