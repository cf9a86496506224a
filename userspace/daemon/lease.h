/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's table of leases: what it holds, for whom, and the backend
 * lock that goes with each. Indexed by the kernel's image key and by the
 * image path the lease was taken with. */
#ifndef LW_DAEMON_LEASE_H
#define LW_DAEMON_LEASE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#include "common/lease_types.h"

struct lw_backend_lock;
struct lw_holder_watch;

#define LW_LEASE_BACKEND_MAX 16	/* a backend's name and its NUL */
#define LW_LEASE_LOCK_ID_MAX 512	/* a lock's text form (LW_BACKEND_LOCK_ID_MAX), as the state accepts it */

/* Copied by value; a copy kept past the slot it came from holds its own
 * reference to the cgroup path (lw_lease_holder_hold). */
struct lw_lease_holder {
	struct lw_holder id;		/* pid + start time, or cgroup id */
	char comm[LW_COMM_LEN];		/* process holder's command, for errors and audit */
	const char *cgroup;		/* cgroup holder's path, interned (lw_cgroup_path_intern);
					 * NULL for a process */
	uid_t uid;			/* whose it is: who may see it, whose cap it counts in */
	int pidfd;			/* runtime: process holder's pidfd, -1 if none */
	struct lw_holder_watch *watch;	/* runtime: lw_holder_watch's, NULL if not watched */
};

/* Cgroup paths interned (holder_cgroup.c): one counted copy a distinct path.
 * intern: *out a reference to path's copy (NULL for NULL or ""); -ENAMETOOLONG
 * at LW_PATH_MAX characters or more, -ENOMEM. hold and put take NULL. */
int lw_cgroup_path_intern(const char *path, const char **out);
void lw_cgroup_path_hold(const char *path);
void lw_cgroup_path_put(const char *path);
/* Distinct paths interned now. */
unsigned int lw_cgroup_path_count(void);

/* h's cgroup path, "" for none. */
static inline const char *lw_lease_holder_cgroup(const struct lw_lease_holder *h)
{
	return h->cgroup ? h->cgroup : "";
}
/* A copy of h kept past h's slot: its own reference, given back by put. */
static inline void lw_lease_holder_hold(const struct lw_lease_holder *h)
{
	lw_cgroup_path_hold(h->cgroup);
}
static inline void lw_lease_holder_put(struct lw_lease_holder *h)
{
	lw_cgroup_path_put(h->cgroup);
	h->cgroup = NULL;
}
/* src into the slot dst of an entry: who it is, with a reference of its own
 * to the cgroup path, and no pidfd nor watch yet (dst's path is put first). */
void lw_lease_holder_copy(struct lw_lease_holder *dst, const struct lw_lease_holder *src);

/* Sized to what it holds: thousands are kept (65,536 by default), so the
 * image path, the lock's name and the holders are allocated to their length
 * and count, not to their maximum (lw_lease_set_image, lw_lease_new_holder),
 * the first holder is inside the entry (most leases are exclusive), and the
 * fields are ordered so that none pads: 184 bytes, one block. */
struct lw_lease_entry {
	char *image;			/* absolute path the lease was taken with */
	struct lw_image_key key;	/* the kernel's identity of the image */
	uint64_t acquired_usec;		/* CLOCK_REALTIME */
	struct lw_lease_holder *holders;	/* &first, or a block for several */
	struct lw_backend_lock *lock;	/* runtime: the backend's lock (backend.h), NULL if none */
	const char *lock_id;		/* the lock's text form, kept in the state; NULL if none.
					 * fcntl names a lock by its image: then this is image
					 * itself, not a copy (lw_lease_set_lock_id), and so is
					 * the lock's own name (lw_backend_lock_share_id) */
	struct lw_lease_entry *next_by_key, *next_by_image, *next, *prev;
	enum lw_lease_mode mode;
	unsigned int nr_holders;
	unsigned int holders_room;	/* holders has room for this many (at most LW_MAX_HOLDERS) */
	bool lock_id_is_image;
	char backend[LW_LEASE_BACKEND_MAX];	/* its name: "nop", "fcntl", "paxos" */
	struct lw_lease_holder first;	/* holders' room while there is one */
};

struct lw_lease_table;

int lw_lease_table_new(unsigned int buckets, struct lw_lease_table **out);
/* Frees entries (closing nothing: the owner closes descriptors first). */
void lw_lease_table_free(struct lw_lease_table *t);

/* A zeroed entry (exclusive, no image yet) with room for one holder, not
 * yet in a table. */
struct lw_lease_entry *lw_lease_entry_new(void);
/* Frees e and what it owns, its holders' cgroup paths among it (not its
 * descriptors: the owner closes those). */
void lw_lease_entry_free(struct lw_lease_entry *e);
/* Copies image into e; -ENOMEM, or -ENAMETOOLONG past PATH_MAX. */
int lw_lease_set_image(struct lw_lease_entry *e, const char *image);
/* Copies the lock's text form into e (NULL or "" for none), or points at
 * e->image if it is the same text; -ENOMEM. */
int lw_lease_set_lock_id(struct lw_lease_entry *e, const char *lock_id);
/* A new holder slot at the end of e->holders (zeroed, pidfd -1), counted in
 * nr_holders; NULL if e has LW_MAX_HOLDERS already or memory ran out. */
struct lw_lease_holder *lw_lease_new_holder(struct lw_lease_entry *e);
void lw_lease_table_insert(struct lw_lease_table *t, struct lw_lease_entry *e);
/* Unlinks e; the caller frees it. */
void lw_lease_table_remove(struct lw_lease_table *t, struct lw_lease_entry *e);

struct lw_lease_entry *lw_lease_by_key(struct lw_lease_table *t, const struct lw_image_key *key);
struct lw_lease_entry *lw_lease_by_image(struct lw_lease_table *t, const char *image);
unsigned int lw_lease_count(const struct lw_lease_table *t);
/* Iteration in insertion order: for (e = first(t); e; e = e->next). */
struct lw_lease_entry *lw_lease_first(struct lw_lease_table *t);

/* Index of holder in e->holders, or -1. */
int lw_lease_find_holder(const struct lw_lease_entry *e, const struct lw_holder *holder);
/* Removes holders[i] (putting its cgroup path), keeping order. */
void lw_lease_drop_holder(struct lw_lease_entry *e, unsigned int i);

/* Whether uid has a holder in e. */
bool lw_lease_held_by_uid(const struct lw_lease_entry *e, uid_t uid);
/* How many holders uid has across the table. */
unsigned int lw_lease_count_uid(struct lw_lease_table *t, uid_t uid);

#endif /* LW_DAEMON_LEASE_H */
