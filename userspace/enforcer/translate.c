// SPDX-License-Identifier: LGPL-2.1-or-later
/* The enforcer's boundary: the daemon's types (common/lease_types.h) in, the
 * map layouts (enforcer_maps.h) inside, and back. Nothing above the enforcer
 * sees a map layout, so either side can change without the other. */
#include <string.h>

#include "enforcer/enforcer_internal.h"

_Static_assert(LW_MAP_MAX_HOLDERS == LW_MAX_HOLDERS, "a lease entry holds every holder of a lease");
_Static_assert(LW_MAP_COMM_LEN == LW_COMM_LEN, "commands are copied whole");
_Static_assert(LW_MAP_PATH_MAX == LW_PATH_MAX, "denied paths are copied whole");

struct lw_map_key lw_to_map_key(const struct lw_image_key *key)
{
	return (struct lw_map_key){ .dev = key->dev, .ino = key->ino };
}

struct lw_image_key lw_from_map_key(const struct lw_map_key *key)
{
	return (struct lw_image_key){ .dev = key->dev, .ino = key->ino };
}

void lw_map_key_name(const struct lw_map_key *key, char *buf, size_t size)
{
	struct lw_image_key k = lw_from_map_key(key);

	lw_image_key_name(&k, buf, size);
}

/* A kind the other side does not know becomes NONE, which every check refuses. */
struct lw_map_holder lw_to_map_holder(const struct lw_holder *holder)
{
	struct lw_map_holder m = { .kind = LW_MAP_HOLDER_NONE };

	if (holder->kind == LW_HOLDER_PROCESS) {
		m.kind = LW_MAP_HOLDER_PROCESS;
		m.pid = holder->pid;
		m.start_time = holder->start_time;
	} else if (holder->kind == LW_HOLDER_CGROUP) {
		m.kind = LW_MAP_HOLDER_CGROUP;
		m.cgroup_id = holder->cgroup_id;
	}
	return m;
}

struct lw_holder lw_from_map_holder(const struct lw_map_holder *m)
{
	struct lw_holder holder = { .kind = LW_HOLDER_NONE };

	if (m->kind == LW_MAP_HOLDER_PROCESS) {
		holder.kind = LW_HOLDER_PROCESS;
		holder.pid = m->pid;
		holder.start_time = m->start_time;
	} else if (m->kind == LW_MAP_HOLDER_CGROUP) {
		holder.kind = LW_HOLDER_CGROUP;
		holder.cgroup_id = m->cgroup_id;
	}
	return holder;
}

/* 0 (neither mode) for anything else: refused on the way in, "unknown" out. */
__u32 lw_to_map_mode(enum lw_lease_mode mode)
{
	switch (mode) {
	case LW_LEASE_EXCLUSIVE: return LW_MAP_LEASE_EXCLUSIVE;
	case LW_LEASE_SHARED: return LW_MAP_LEASE_SHARED;
	}
	return 0;
}

enum lw_lease_mode lw_from_map_mode(__u32 mode)
{
	switch (mode) {
	case LW_MAP_LEASE_EXCLUSIVE: return LW_LEASE_EXCLUSIVE;
	case LW_MAP_LEASE_SHARED: return LW_LEASE_SHARED;
	}
	return 0;
}

struct lw_map_lease lw_to_map_lease(const struct lw_lease *lease)
{
	struct lw_map_lease m = { .mode = lw_to_map_mode(lease->mode) };

	m.nr_holders = lease->nr_holders < LW_MAX_HOLDERS ? lease->nr_holders : LW_MAX_HOLDERS;
	for (__u32 i = 0; i < m.nr_holders; i++)
		m.holders[i] = lw_to_map_holder(&lease->holders[i]);
	return m;
}

void lw_from_map_lease(const struct lw_map_lease *m, struct lw_lease *lease)
{
	memset(lease, 0, sizeof(*lease));
	lease->mode = lw_from_map_mode(m->mode);
	lease->nr_holders = m->nr_holders < LW_MAX_HOLDERS ? m->nr_holders : LW_MAX_HOLDERS;
	for (__u32 i = 0; i < lease->nr_holders; i++)
		lease->holders[i] = lw_from_map_holder(&m->holders[i]);
}

static enum lw_denial_op from_map_op(__u32 op)
{
	switch (op) {
	case LW_MAP_OP_OPEN_WRITE: return LW_OP_OPEN_WRITE;
	case LW_MAP_OP_TRUNCATE: return LW_OP_TRUNCATE;
	case LW_MAP_OP_UNLINK: return LW_OP_UNLINK;
	case LW_MAP_OP_RENAME: return LW_OP_RENAME;
	case LW_MAP_OP_WRITE: return LW_OP_WRITE;
	case LW_MAP_OP_BPF: return LW_OP_BPF;
	case LW_MAP_OP_UNPIN: return LW_OP_UNPIN;
	case LW_MAP_OP_PTRACE: return LW_OP_PTRACE;
	case LW_MAP_OP_IOCTL: return LW_OP_IOCTL;
	case LW_MAP_OP_MOUNT: return LW_OP_MOUNT;
	}
	return 0;	/* "unknown" in the record */
}

void lw_from_map_denial(const struct lw_map_denial *m, struct lw_denial *d)
{
	memset(d, 0, sizeof(*d));
	d->time_ns = m->time_ns;
	d->pid = m->pid;
	d->tgid = m->tgid;
	d->uid = m->uid;
	d->gid = m->gid;
	d->loginuid = m->loginuid;
	d->sessionid = m->sessionid;
	d->op = from_map_op(m->op);
	d->open_flags = m->open_flags;
	d->key = lw_from_map_key(&m->key);
	d->lease_mode = lw_from_map_mode(m->lease_mode);
	d->suppressed = m->suppressed;
	d->holder = lw_from_map_holder(&m->holder);
	/* the kernel's strings may fill their arrays: keep them terminated */
	memcpy(d->comm, m->comm, sizeof(d->comm) - 1);
	memcpy(d->path, m->path, sizeof(d->path) - 1);
}
