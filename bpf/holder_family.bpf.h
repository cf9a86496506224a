/* SPDX-License-Identifier: GPL-2.0-only OR LGPL-2.1-or-later */
/* A holder's descendants are part of its lease too. A child inherits the
 * holder's descriptors, io_uring rings and shared mappings of the image,
 * so attach-mode access to it (pidfd_getfd, process_vm_writev,
 * /proc/PID/mem, ptrace) would reach the image as surely as access to the
 * holder. Each task forked by a holder, or by a task so marked, carries
 * the holders it descends from in task storage: the mark follows it
 * through exec and reparenting, and leaves with the task. The descendants
 * a holder already has when it takes a lease are marked then by userspace
 * (userspace/enforcer/family.c), and found by their parent chain besides.
 * A mark shields only while a holder it names still holds a lease
 * (an entry in holder_index above 0), so a family whose holder released
 * everything may be debugged again. Part of enforcer.bpf.c, after holder_guard.bpf.h's
 * holder_index. */
#ifndef LW_HOLDER_FAMILY_BPF_H
#define LW_HOLDER_FAMILY_BPF_H

#define LW_ENOMEM 12
#define LW_ANCESTOR_WALK 16	/* parents climbed from an unmarked target */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_family);
} holder_family SEC(".maps");

/* The current task as a process holder, if it holds a lease, or held one
 * lately (an entry at count 0: its family stays marked for its next). */
static __always_inline bool current_holds(struct task_struct *current, struct lw_map_holder *self)
{
	self->kind = LW_MAP_HOLDER_PROCESS;
	self->pid = current->tgid;
	self->start_time = lw_start_time_of(current);
	self->cgroup_id = 0;
	return bpf_map_lookup_elem(&holder_index, self) != NULL;
}

/* Every fork and thread of a holder or of its family. Others leave after
 * one task-storage lookup and one hash lookup. */
SEC("lsm/task_alloc")
int BPF_PROG(lw_task_alloc, struct task_struct *task, unsigned long clone_flags)
{
	struct task_struct *current = bpf_get_current_task_btf();
	struct lw_family *inherited, *family;
	struct lw_map_holder self;
	bool holder;
	int next = 0;

	inherited = bpf_task_storage_get(&holder_family, current, NULL, 0);
	if (!inherited && current->group_leader != current)	/* userspace marked its leader */
		inherited = bpf_task_storage_get(&holder_family, current->group_leader, NULL, 0);
	holder = current_holds(current, &self);
	barrier_var(holder);	/* else clang ORs the two pointers, which the verifier refuses */
	if (!inherited && !holder)
		return 0;
	family = bpf_task_storage_get(&holder_family, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!family)	/* no memory: an unmarked child would be open to attach */
		return -LW_ENOMEM;
	if (holder)
		family->holders[next++] = self;
	for (int i = 0; inherited && i < LW_FAMILY_HOLDERS && next < LW_FAMILY_HOLDERS; i++) {
		if (!inherited->holders[i].kind)
			break;
		if (holder && inherited->holders[i].pid == self.pid &&
		    inherited->holders[i].start_time == self.start_time)
			continue;	/* a thread of the holder forking: named once */
		family->holders[next++ & (LW_FAMILY_HOLDERS - 1)] = inherited->holders[i];
	}
	return 0;
}

/* The holder entry of a holder named by family that still holds a lease,
 * or NULL. */
static __always_inline struct lw_holder_ref *named_holder_of(struct lw_family *family)
{
	struct lw_holder_ref *ref;

	if (!family)
		return NULL;
	for (int i = 0; i < LW_FAMILY_HOLDERS; i++) {
		if (!family->holders[i].kind)
			break;
		if ((ref = holding(&family->holders[i])))
			return ref;
	}
	return NULL;
}

/* The holder entry of an ancestor of child that still holds a lease, or
 * NULL. The mark is per task; userspace can mark only a thread-group
 * leader (a pidfd), so a thread is asked for its leader's mark too. */
static __always_inline struct lw_holder_ref *family_shield_of(struct task_struct *child)
{
	struct task_struct *leader = child->group_leader;
	struct lw_holder_ref *ref;

	if ((ref = named_holder_of(bpf_task_storage_get(&holder_family, child, NULL, 0))))
		return ref;
	if (!leader || leader == child)
		return NULL;
	return named_holder_of(bpf_task_storage_get(&holder_family, leader, NULL, 0));
}

/* A process holder among child's ancestors that holds a lease, or NULL:
 * the net under the marks, for a task forked before its holder took the
 * lease and not marked then (forked during the acquire's walk of the
 * family). The parent chain is what it is now: a task reparented away
 * from the holder (its parent exited) is not found this way. Attach-mode
 * checks only, which are rare. */
static __always_inline struct lw_holder_ref *ancestor_shield_of(struct task_struct *child)
{
	struct lw_map_holder holder = { .kind = LW_MAP_HOLDER_PROCESS };
	struct task_struct *task = child;
	struct lw_holder_ref *ref;

	for (int i = 0; i < LW_ANCESTOR_WALK; i++) {
		task = task->real_parent;
		if (!task || task->pid <= 1)	/* init, or the idle task: no holder above */
			return NULL;
		holder.pid = task->tgid;
		holder.start_time = lw_start_time_of(task);
		if ((ref = holding(&holder)))
			return ref;
	}
	return NULL;
}

#endif
