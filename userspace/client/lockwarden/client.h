/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* liblockwarden: the client side of lockwardend's io.lockwarden.Manager
 * interface, for the lockwarden CLI and the libvirt lock-driver plugin.
 *
 * Every call is a blocking round trip on one connection. Functions return
 * 0 or a negative errno; when err is not NULL it is filled with the errno,
 * the varlink error name (empty for local failures) and a one-line
 * message suitable after "lockwarden: acquire IMAGE: " (safe to print on a
 * terminal: control characters, C1 and bad UTF-8 from the daemon's reply
 * come out escaped, as \x1b, \n, \u009b):
 *
 *   io.lockwarden.LeaseHeld          -EBUSY       "lease held by pid 1234 (qemu-system-x86)"
 *   io.lockwarden.ImageNotFound      -ENOENT
 *   io.lockwarden.ImageBusy          -ETXTBSY     "image open for write by pid 99 (dd)"
 *   io.lockwarden.NotHolder          -ENOLCK
 *   io.lockwarden.PermissionDenied   -EPERM
 *   io.lockwarden.CapacityExceeded   -ENOSPC
 *   io.lockwarden.BackendFailure     -EIO
 *   *.InvalidParameter               -EINVAL
 *   org.varlink.service.*NotFound    -EOPNOTSUPP
 *   any other error name             -EPROTO
 *
 * Not thread-safe per connection; use one connection per thread.
 */
#ifndef LOCKWARDEN_CLIENT_H
#define LOCKWARDEN_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOCKWARDEN_SOCKET_DEFAULT "/run/lockwarden/lockwarden.sock"
#define LOCKWARDEN_INTERFACE "io.lockwarden.Manager"

struct lockwarden;

struct lockwarden_error {
	int code;          /* negative errno, 0 when no error */
	char name[128];    /* varlink error name, "" for local failures */
	char message[512]; /* one line, no trailing newline */
};

enum lockwarden_holder_kind {
	LOCKWARDEN_HOLDER_PROCESS,
	LOCKWARDEN_HOLDER_CGROUP,
};

struct lockwarden_holder {
	enum lockwarden_holder_kind kind;
	pid_t pid;            /* process holders; 0 if not given */
	uint64_t start_time;  /* process start time as the daemon reports it */
	char *comm;           /* may be NULL */
	char *cgroup;         /* cgroup holders; may be NULL */
};

struct lockwarden_lease {
	char *image;
	bool shared;
	uint64_t dev;
	uint64_t ino;
	char *backend;
	struct lockwarden_holder *holders;
	size_t n_holders;
	uint64_t acquired_usec;
	bool pending;		/* the backend has not granted it yet: not held, not enforced */
};

struct lockwarden_status {
	char *version;
	char *backend;
	char *pin_dir;
	int64_t leases;
	int64_t max_images;
	int64_t denials;
	int64_t suppressed;
	int64_t ringbuf_dropped;
	uint64_t uptime_usec;
	char *enforcer;		/* "bpf-lsm" | "fanotify"; NULL from an older daemon */
	char *enforcer_limits;	/* what the active enforcer cannot stop */
};

/* Acquire flags. */
#define LOCKWARDEN_SHARED 0x1u /* shared lease (<shareable/> disks) */
#define LOCKWARDEN_FORCE  0x2u /* even if a non-holder has it open for write */
/* The caller does not need the lease (lease NULL): the daemon leaves it out
 * of its reply, which spares both sides most of a round trip's JSON, and
 * lockwarden_last_reply_json has none. Ignored when lease is asked for. */
#define LOCKWARDEN_BRIEF  0x4u

/* socket_path NULL means LOCKWARDEN_SOCKET_DEFAULT. The socket is
 * close-on-exec, so a lease taken before exec() is not tied to it. */
int lockwarden_connect(const char *socket_path, struct lockwarden **out,
		       struct lockwarden_error *err);
/* Take over an already connected stream socket (socket activation, tests). */
int lockwarden_connect_fd(int fd, struct lockwarden **out, struct lockwarden_error *err);
void lockwarden_disconnect(struct lockwarden *lw);
/* Whether an idle connection can carry another call: no call on it failed,
 * and lockwardend has neither closed its end (it stopped or restarted) nor
 * sent anything unasked. Asks the kernel without waiting. For callers that
 * keep connections between calls (the libvirt plugin); lw NULL: false. */
bool lockwarden_reusable(struct lockwarden *lw);

/* Give up on a call when lockwardend has not answered within timeout_ms
 * (0: wait forever, the default; a paxos acquire may take many seconds).
 * A call that timed out or lost the connection leaves lw unusable: later
 * calls fail with -ENOTCONN, since a late reply would be taken for the
 * next call's. */
int lockwarden_set_timeout(struct lockwarden *lw, unsigned timeout_ms,
			   struct lockwarden_error *err);

/* image must be an absolute path. pid 0 means the calling process.
 * lease (may be NULL) receives the lease as the daemon now holds it. */
int lockwarden_acquire(struct lockwarden *lw, const char *image, pid_t pid, unsigned flags,
		       struct lockwarden_lease **lease, struct lockwarden_error *err);
/* lockwarden_acquire with the backend's lease named (lease_name; NULL as
 * lockwarden_acquire): the paxos backend's LOCKSPACE:RESOURCE:PATH:OFFSET,
 * a lease a management application created (libvirt's <lease>). */
int lockwarden_acquire_named(struct lockwarden *lw, const char *image, pid_t pid, unsigned flags,
			     const char *lease_name, struct lockwarden_lease **lease,
			     struct lockwarden_error *err);
int lockwarden_acquire_cgroup(struct lockwarden *lw, const char *image, const char *cgroup,
			      unsigned flags, struct lockwarden_lease **lease,
			      struct lockwarden_error *err);
/* lockwarden_acquire_cgroup with the backend's lease named, as
 * lockwarden_acquire_named. */
int lockwarden_acquire_cgroup_named(struct lockwarden *lw, const char *image, const char *cgroup,
				    unsigned flags, const char *lease_name, struct lockwarden_lease **lease,
				    struct lockwarden_error *err);
int lockwarden_release(struct lockwarden *lw, const char *image, pid_t pid,
		       struct lockwarden_error *err);
int lockwarden_release_cgroup(struct lockwarden *lw, const char *image, const char *cgroup,
			      struct lockwarden_error *err);

/* *lease is NULL when the image has no lease. */
int lockwarden_inquire(struct lockwarden *lw, const char *image,
		       struct lockwarden_lease **lease, struct lockwarden_error *err);
int lockwarden_list(struct lockwarden *lw, struct lockwarden_lease ***leases, size_t *n,
		    struct lockwarden_error *err);
int lockwarden_status(struct lockwarden *lw, struct lockwarden_status *status,
		      struct lockwarden_error *err);

void lockwarden_lease_free(struct lockwarden_lease *lease);
void lockwarden_lease_list_free(struct lockwarden_lease **leases, size_t n);
void lockwarden_status_clear(struct lockwarden_status *status);

/* The parameters of the last successful reply on lw as JSON text (pretty
 * when pretty), valid until the next call; NULL before any reply. This is
 * what `lockwarden ... --json` prints. */
const char *lockwarden_last_reply_json(struct lockwarden *lw, bool pretty);

/* "lease held by pid 1234 (qemu)" style text for one holder list, used in
 * the messages above and by the CLI's tables; names are escaped for a
 * terminal like the messages. Returns buf. */
char *lockwarden_holders_format(const struct lockwarden_holder *holders, size_t n,
				char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
