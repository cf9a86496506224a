// SPDX-License-Identifier: LGPL-2.1-or-later
/* Holding the pinned objects, and putting back pins removed behind the
 * daemon's back (rm -rf of the pin folder, a pin renamed away or replaced).
 * The daemon holds a descriptor of every map, program and link, so while
 * it runs a removed pin stops nothing: the links stay attached. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/holder.h"
#include "enforcer/enforcer_internal.h"
#include "enforcer.skel.h"

static void pin_path(const struct lw_enforcer *enf, const char *kind, const char *name,
		     char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s_%s", enf->pin_dir, enf->version, kind, name);
}

int lw_hold_programs(struct lw_enforcer *enf)
{
	struct enforcer_bpf *skel = lw_enforcer_bpf_open();
	struct bpf_program *prog;
	char path[600];
	int err = 0;

	if (!skel)
		return lw_fail(enf, -errno, "cannot open the BPF object: %s", strerror(errno));
	bpf_object__for_each_program(prog, skel->obj) {
		struct lw_held_program *held = &enf->programs[enf->nr_programs];

		if (!bpf_program__autoload(prog))	/* a hook this kernel lacks */
			continue;

		if (enf->nr_programs == LW_MAX_PROGRAMS) {
			err = lw_fail(enf, -E2BIG, "too many programs in the BPF object");
			break;
		}
		snprintf(held->name, sizeof(held->name), "%s", bpf_program__name(prog));
		pin_path(enf, "prog", held->name, path, sizeof(path));
		held->prog_fd = bpf_obj_get(path);
		pin_path(enf, "link", held->name, path, sizeof(path));
		held->link_fd = bpf_obj_get(path);
		enf->nr_programs++;
		if (held->prog_fd < 0 || held->link_fd < 0) {
			err = lw_fail(enf, -errno, "cannot hold the pinned program %s: %s", held->name,
				      strerror(errno));
			break;
		}
	}
	enforcer_bpf__destroy(skel);
	return err;
}

void lw_release_programs(struct lw_enforcer *enf)
{
	for (size_t i = 0; i < enf->nr_programs; i++) {
		if (enf->programs[i].prog_fd >= 0)
			close(enf->programs[i].prog_fd);
		if (enf->programs[i].link_fd >= 0)
			close(enf->programs[i].link_fd);
	}
	enf->nr_programs = 0;
}

/* Kernel id of the object behind a descriptor; 0 if none. */
static __u32 id_of(int fd, enum lw_object_kind kind)
{
	union {
		struct bpf_map_info map;
		struct bpf_prog_info prog;
		struct bpf_link_info link;
	} info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	switch (kind) {
	case LW_OBJECT_MAP: return info.map.id;
	case LW_OBJECT_PROG: return info.prog.id;
	case LW_OBJECT_LINK: return info.link.id;
	}
	return 0;
}

/* Whether path pins the object held at fd; if not, pin it there again
 * (replacing whatever took its name). 1: restored, 0: intact, <0: error. */
static int verify_pin(struct lw_enforcer *enf, int fd, enum lw_object_kind kind, const char *path,
		      char *what, size_t what_size)
{
	int pinned = bpf_obj_get(path), get_errno = errno;
	__u32 want = id_of(fd, kind), got = pinned >= 0 ? id_of(pinned, kind) : 0;
	size_t used = strlen(what);

	/* Out of descriptors says nothing of the pin: left as it is, checked
	 * again next time (unlinking it would open the very gap we guard). */
	if (pinned < 0 && (get_errno == EMFILE || get_errno == ENFILE || get_errno == ENOMEM))
		return 0;
	if (pinned >= 0)
		close(pinned);
	if (want && got == want)
		return 0;
	if (used + 2 < what_size)
		snprintf(what + used, what_size - used, "%s%s", used ? " " : "",
			 strrchr(path, '/') + 1);
	if (pinned >= 0 || get_errno != ENOENT)
		unlink(path);	/* replaced by another object: ours goes back */
	if (bpf_obj_pin(fd, path))
		return lw_fail(enf, -errno, "cannot pin %s again: %s", path, strerror(errno));
	return 1;
}

int lw_enforcer_verify_pins(struct lw_enforcement *handle, char *what, size_t what_size)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	char path[600];
	int restored = 0, r;

	what[0] = '\0';
	if (mkdir(enf->pin_dir, 0700) && errno != EEXIST)
		return lw_fail(enf, -errno, "cannot create pin folder %s: %s", enf->pin_dir, strerror(errno));
	for (size_t i = 0; i < LW_NR_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", enf->pin_dir, lw_map_names[i]);
		if ((r = verify_pin(enf, enf->map_fds[i], LW_OBJECT_MAP, path, what, what_size)) < 0)
			return r;
		restored += r;
	}
	snprintf(path, sizeof(path), "%s/%s", enf->pin_dir, enf->version);
	if (mkdir(path, 0700) && errno != EEXIST)
		return lw_fail(enf, -errno, "cannot create %s: %s", path, strerror(errno));
	for (size_t i = 0; i < enf->nr_programs; i++) {
		const struct lw_held_program *held = &enf->programs[i];

		pin_path(enf, "prog", held->name, path, sizeof(path));
		if ((r = verify_pin(enf, held->prog_fd, LW_OBJECT_PROG, path, what, what_size)) < 0)
			return r;
		restored += r;
		pin_path(enf, "link", held->name, path, sizeof(path));
		if ((r = verify_pin(enf, held->link_fd, LW_OBJECT_LINK, path, what, what_size)) < 0)
			return r;
		restored += r;
	}
	return restored;
}

/* The kernel's key of a path (as the programs see its inode). */
static int key_of_path(struct lw_enforcer *enf, const char *path, struct lw_map_key *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), err;

	if (fd < 0)
		return lw_fail(enf, -errno, "cannot open %s: %s", path, strerror(errno));
	err = lw_map_key_of_fd(enf, fd, key);
	close(fd);
	return err;
}

static int guard_object(struct lw_enforcer *enf, enum lw_object_kind kind, int fd)
{
	struct lw_object_id object = { .kind = kind, .id = id_of(fd, kind) };
	__u8 one = 1;

	if (!object.id)
		return lw_fail(enf, -EBADF, "cannot read a held object's id");
	if (bpf_map_update_elem(enf->guarded_fd, &object, &one, BPF_ANY))
		return lw_fail(enf, -errno, "cannot update the guarded map: %s", strerror(errno));
	return 0;
}

/* Whether object still exists; on doubt (a refusal), yes. */
static bool object_exists(const struct lw_object_id *object)
{
	int fd = object->kind == LW_OBJECT_MAP	 ? bpf_map_get_fd_by_id(object->id)
		 : object->kind == LW_OBJECT_PROG ? bpf_prog_get_fd_by_id(object->id)
						  : bpf_link_get_fd_by_id(object->id);

	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOENT;
}

/* The guarded map's entries of objects that are gone. The daemon's own
 * programs are loaded anew at every start, under new ids: their old
 * entries, left in, filled the map (256) after some 60 restarts, and the
 * next start failed (E2BIG). */
static void forget_gone_objects(struct lw_enforcer *enf)
{
	struct lw_object_id cur, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(enf->guarded_fd, prev, &next)) {
		cur = next;
		if (!object_exists(&cur) && !bpf_map_delete_elem(enf->guarded_fd, &cur))
			continue;	/* deleted: prev still names the entry before */
		prev = &cur;
	}
}

int lw_enforcer_guard(struct lw_enforcement *handle, bool enabled, const struct lw_holder *daemon,
		      const char *exe)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_guard guard = { .enabled = enabled, .flags = enf->guard_flags,
				  .daemon = lw_to_map_holder(daemon) };
	struct lw_map_key key;
	__u32 zero = 0;
	int err, own_fd;

	if ((err = key_of_path(enf, exe, &key)))
		return err;
	guard.exe_dev = key.dev;
	guard.exe_ino = key.ino;
	if ((err = key_of_path(enf, enf->pin_dir, &key)))
		return err;
	guard.pin_dev = key.dev;
	guard.pin_ino = key.ino;
	/* ids first: the guard is never on with an object it does not know */
	forget_gone_objects(enf);
	for (size_t i = 0; i < LW_NR_MAPS; i++)
		if ((err = guard_object(enf, LW_OBJECT_MAP, enf->map_fds[i])))
			return err;
	for (size_t i = 0; i < enf->nr_programs; i++)
		if ((err = guard_object(enf, LW_OBJECT_PROG, enf->programs[i].prog_fd)) ||
		    (err = guard_object(enf, LW_OBJECT_LINK, enf->programs[i].link_fd)))
			return err;
	/* the daemon's own programs write the lease table: loaded now, so
	 * that they are never there unguarded */
	for (int i = 0; i < LW_NR_OWN_PROGS; i++) {
		if ((own_fd = lw_own_prog_fd(enf, i)) < 0)
			return own_fd;
		if ((err = guard_object(enf, LW_OBJECT_PROG, own_fd)))
			return err;
	}
	if (bpf_map_update_elem(enf->guard_fd, &zero, &guard, BPF_ANY))
		return lw_fail(enf, -errno, "cannot update the guard map: %s", strerror(errno));
	enf->guard = guard;
	enf->guard_set = true;
	return 0;
}

/* A one-entry map's entry as the daemon wrote it (want); rewritten if not.
 * 1: restored, 0: intact. */
static int restore_entry(struct lw_enforcer *enf, int fd, const void *want, size_t size, const char *map)
{
	union {
		struct lw_guard guard;
		struct lw_map_holder keeper;
	} now;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &now))
		return lw_fail(enf, -errno, "cannot read the %s map: %s", map, strerror(errno));
	if (!memcmp(&now, want, size))
		return 0;
	if (bpf_map_update_elem(fd, &zero, want, BPF_ANY))
		return lw_fail(enf, -errno, "cannot restore the %s map: %s", map, strerror(errno));
	return 1;
}

int lw_enforcer_verify_guard(struct lw_enforcement *handle)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	return enf->guard_set ? restore_entry(enf, enf->guard_fd, &enf->guard, sizeof(enf->guard), "guard") : 0;
}

int lw_enforcer_verify_keeper(struct lw_enforcement *handle)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);

	return enf->keeper_set ? restore_entry(enf, enf->keeper_fd, &enf->keeper, sizeof(enf->keeper), "keeper") : 0;
}

int lw_set_guard_flags(struct lw_enforcer *enf, __u32 flags)
{
	struct lw_guard now;
	__u32 zero = 0;

	enf->guard_flags = flags;
	if (bpf_map_lookup_elem(enf->guard_fd, &zero, &now))
		return lw_fail(enf, -errno, "cannot read the guard map: %s", strerror(errno));
	if (now.flags == flags)
		return 0;
	now.flags = flags;
	if (bpf_map_update_elem(enf->guard_fd, &zero, &now, BPF_ANY))
		return lw_fail(enf, -errno, "cannot update the guard map: %s", strerror(errno));
	return 0;
}

bool lw_enforcer_trust_pid(struct lw_enforcement *handle, int pid)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_holder keeper;
	__u32 zero = 0;

	enf->trusted_pid = pid > 0 ? (__u32)pid : 0;
	memset(&enf->keeper, 0, sizeof(enf->keeper));	/* LW_MAP_HOLDER_NONE */
	if (pid > 0 && lw_holder_of_pid(pid, &keeper) == 0)
		enf->keeper = lw_to_map_holder(&keeper);
	if (bpf_map_update_elem(enf->keeper_fd, &zero, &enf->keeper, BPF_ANY)) {
		lw_fail(enf, -errno, "cannot update the keeper map: %s", strerror(errno));
		memset(&enf->keeper, 0, sizeof(enf->keeper));
		return false;
	}
	enf->keeper_set = true;
	if (pid > 0 && enf->keeper.kind != LW_MAP_HOLDER_PROCESS)
		lw_fail(enf, -ESRCH, "keeper pid %d: cannot read its start time", pid);
	return enf->keeper.kind == LW_MAP_HOLDER_PROCESS;
}
