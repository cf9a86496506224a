/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the keeper's files share (keeper.c: the daemon's side,
 * keeper_process.c: the keeper process, keeper_msg.c: their messages); not
 * part of the API (keeper.h). */
#ifndef LW_DAEMON_KEEPER_INTERNAL_H
#define LW_DAEMON_KEEPER_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "keeper.h"

enum keeper_op {
	KEEPER_PUT = 1,		/* daemon -> keeper, with a descriptor */
	KEEPER_DROP,		/* daemon -> keeper */
	KEEPER_LIST,		/* daemon -> keeper; answered by ITEMs then END */
	KEEPER_ITEM,		/* keeper -> daemon, with a descriptor */
	KEEPER_END,
	KEEPER_OK,
	KEEPER_FAIL,
	KEEPER_HELLO,		/* daemon -> keeper; answered by OK with pid and count */
	KEEPER_QUIT,		/* daemon -> keeper: drop every copy and exit (it was replaced) */
	KEEPER_GROUP_PUT,	/* daemon -> keeper, with the fanotify "group" or its "table" */
	KEEPER_GROUP_TAKE,	/* daemon -> keeper; answered by ITEMs then END (keeper_group.h) */
	KEEPER_GROUP_DROP,	/* daemon -> keeper: close the group copies */
	KEEPER_ITEMS,		/* keeper -> daemon, to LIST: count names, each ended by its NUL,
				 * with as many descriptors in one SCM_RIGHTS, in order */
	/* to a keeper whose HELLO answer is KEEPER_KNOWS_QUIET: */
	KEEPER_PUT_QUIET,	/* daemon -> keeper, with a descriptor; answered only if refused */
	KEEPER_DROP_QUIET,	/* daemon -> keeper; never answered */
	KEEPER_REFUSED,		/* keeper -> daemon: the PUT_QUIET of name was refused */
	KEEPER_SYNC,		/* daemon -> keeper; answered by OK after all before it */
};

struct keeper_msg {
	uint32_t op;
	int32_t pid;		/* in every message: the sender's pid */
	uint32_t count;		/* OK to HELLO: how many descriptors the keeper holds;
				 * HELLO: KEEPER_HELLO_TRIMMED if the daemon reads trimmed messages */
	char name[PATH_MAX];
};

/* A daemon that reads trimmed messages says so in its HELLO; one from
 * before reads only whole structs. One that reads ITEMS says so too: a
 * LIST of 65,536 locks is then some 1,700 messages, not 65,536. */
#define KEEPER_HELLO_TRIMMED 1u
#define KEEPER_HELLO_ITEMS 2u
/* The name in a keeper's OK to HELLO when it reads trimmed messages too
 * (keepers from before send none): the daemon then sends its puts and
 * drops trimmed, a few dozen bytes each instead of 4 KiB. */
#define KEEPER_READS_TRIMMED "reads-trimmed"
/* A daemon that sends PUT_QUIET and DROP_QUIET says so in its HELLO; a
 * keeper that knows them answers KEEPER_KNOWS_QUIET (it reads trimmed
 * messages too). A put or drop then costs no answer, and the keeper no
 * message: a lock round trip is two messages, not four. */
#define KEEPER_HELLO_QUIET 4u
#define KEEPER_KNOWS_QUIET "reads-trimmed, quiet puts and drops"
/* Descriptors in one ITEMS at most (the kernel's limit is 253). */
#define KEEPER_ITEMS_MAX 64

/* keeper_msg.c: one message, with a descriptor attached if fd >= 0.
 * Trimmed: only up to the name's NUL (a LIST of 65,536 locks sends a few
 * MiB, not 270); lw_keeper_recv takes either. */
int lw_keeper_send_count(int sock, uint32_t op, const char *name, int fd, uint32_t count);
int lw_keeper_send(int sock, uint32_t op, const char *name, int fd);
int lw_keeper_send_trimmed(int sock, uint32_t op, const char *name, int fd);
/* Trimmed, without waiting: -EAGAIN if the keeper's queue is full. */
int lw_keeper_send_ready(int sock, uint32_t op, const char *name, int fd);
/* ITEMS: the n names packed in names[0..len) (each with its NUL), fds[i]
 * the descriptor of the i-th. */
int lw_keeper_send_items(int sock, const char *names, size_t len, const int *fds, unsigned int n);
/* Receives one message; *fd gets an attached descriptor or -1. 0 on EOF. */
int lw_keeper_recv(int sock, struct keeper_msg *m, int *fd);
/* The same, for a message that may be ITEMS: fds[0..*nfds) get its
 * descriptors (at most KEEPER_ITEMS_MAX). The kernel stops passing at the
 * first it refuses (an LSM's file_receive, the descriptor limit): that one
 * and those after it in the message are -1; the keeper's copies still
 * hold those locks. */
int lw_keeper_recv_items(int sock, struct keeper_msg *m, int fds[KEEPER_ITEMS_MAX], unsigned int *nfds);
/* The same, without waiting: -EAGAIN if none is there. */
int lw_keeper_recv_ready(int sock, struct keeper_msg *m, int *fd);

/* Where the keeper listens: the socket file it was started on. A keeper
 * whose file was replaced (a new keeper took over; the daemon died before it
 * could tell this one to quit) is reached by nobody and must not hold copies
 * of locks that may be released meanwhile. */
struct keeper_home {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
};

/* keeper_process.c: start a keeper listening on listen_fd, holding a copy
 * of each of locks (see there). */
int lw_keeper_spawn(int listen_fd, const struct lw_keeper_lock *locks, size_t count,
		    const struct keeper_home *home);

#endif /* LW_DAEMON_KEEPER_INTERNAL_H */
