// SPDX-License-Identifier: LGPL-2.1-or-later
/* The holder's process is part of its lease: another process, root
 * included, cannot take the holder's io_uring ring (pidfd_getfd), write its
 * shared mapping of the image (process_vm_writev, /proc/PID/mem) or attach
 * to it (ptrace), while the holder keeps writing through its ring and its
 * mapping. Nor can it reach them through a descendant of the holder, which
 * inherits all of them: one forked after the lease, even once reparented,
 * and one forked before it, at any depth, even once its parent is killed
 * after the acquire, its threads and what they fork later. A holder with
 * more descendants than an acquire marks is refused. protect_holders = no
 * (debuggable_holders) lifts it; a task in the same cgroup holder is the
 * holder too. */
#include <bpf/bpf.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "enforce_common.h"
#include "common/proc.h"

#define IMAGE_SIZE 4096
#define MARK_OFFSET 512

static struct lw_enforcement *enf;
static pid_t stranger[2] = { -1, -1 };	/* a process that holds nothing, and its child */
static char scratch[16];		/* at the same address in every fork of this program */
static char pin_dir[128], fs_dir[128], image[256], cgroup_dir[128];

/* The holder: a child with the image open O_RDWR, mapped shared, and
 * registered as fixed file 0 of an io_uring ring. */
static struct holder {
	pid_t pid;
	pid_t target;			/* what the attacks aim at: the holder or its descendant */
	pid_t middle;			/* the parent of a grandchild made by 'g' */
	int cmd_fd, reply_fd;
	int ring_fd;			/* its number in the holder */
	struct io_uring_params params;	/* to map a stolen ring */
	char *map;			/* its address in the holder */
	struct lw_image_key key;
	bool leased;
} h = { .pid = -1 };

static int ring_write(struct io_uring *ring, const char *text, off_t offset)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_write(sqe, 0, text, strlen(text), offset);
	sqe->flags |= IOSQE_FIXED_FILE;
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return EIO;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res < 0 ? -res : 0;
}

#define DEEP 17	/* generations: one past the parent chain the ptrace hook climbs */
#define WIDE 4097	/* children: one past the descendants an acquire marks */

/* What the loop's process (the holder, or the descendant that took the
 * loop over) hands the loop to, sending its pid and its parent's first:
 * 'f' a child; 'F' a grandchild, whose parent exits so it is reparented;
 * 'g' a grandchild, whose parent waits for it; 'd' the descendant DEEP
 * generations down, each parent waiting. The holder waits, alive; a
 * descendant that handed the loop on exits once its child does. */
static void hand_loop_to_a_descendant(char how, int reply)
{
	int generations = how == 'f' ? 1 : how == 'd' ? DEEP : 2;
	pid_t ids[2];

	for (int i = 0; i < generations; i++) {
		pid_t child;

		ids[1] = getpid();	/* the parent, even once it has exited */
		child = fork();
		if (child == 0)
			continue;
		if (i == 0 || how != 'F')
			waitpid(child, NULL, 0);
		if (i == 0 && getpid() == h.pid)
			for (;;)
				pause();
		_exit(0);
	}
	ids[0] = getpid();
	if (write(reply, ids, sizeof(ids)) != sizeof(ids))
		_exit(1);
}

/* 't': a new thread of the loop's process takes the loop over (its
 * first thread waits), and sends its thread id and the process id. */
struct loop_args {
	struct io_uring *ring;
	int cmd, reply;
};

static void holder_loop(struct io_uring *ring, int cmd, int reply);

static void *thread_loop(void *arg)
{
	struct loop_args *a = arg;
	pid_t ids[2] = { gettid(), getpid() };

	if (write(a->reply, ids, sizeof(ids)) != sizeof(ids))
		_exit(1);
	holder_loop(a->ring, a->cmd, a->reply);
	return NULL;
}

static void hand_loop_to_a_thread(struct io_uring *ring, int cmd, int reply)
{
	struct loop_args a = { ring, cmd, reply };
	pthread_t thread;

	if (pthread_create(&thread, NULL, thread_loop, &a))
		_exit(1);
	for (;;)
		pause();
}

/* 'w': WIDE children of the loop's process, which end with it; then one
 * reply, 0 when all were forked. */
static void fork_wide(int reply)
{
	unsigned char r = 0;

	for (int i = 0; i < WIDE && !r; i++) {
		pid_t child = fork();

		if (child == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		r = child < 0 ? 1 : 0;
	}
	if (write(reply, &r, 1) != 1)
		_exit(1);
}

/* The holder's loop: 'r' writes through the ring, 'm' through the mapping. */
static void holder_loop(struct io_uring *ring, int cmd, int reply)
{
	char c;

	while (read(cmd, &c, 1) == 1) {
		unsigned char r = 0;

		if (c == 'f' || c == 'F' || c == 'g' || c == 'd') {
			hand_loop_to_a_descendant(c, reply);
			continue;
		}
		if (c == 't')
			hand_loop_to_a_thread(ring, cmd, reply);
		if (c == 'w') {
			fork_wide(reply);
			continue;
		}
		if (c == 'r')
			r = ring_write(ring, "holder-ring", MARK_OFFSET);
		else if (c == 'm') {
			memcpy(h.map + MARK_OFFSET, "holder-map", 10);
			r = msync(h.map, IMAGE_SIZE, MS_SYNC) ? errno : 0;
		}
		if (write(reply, &r, 1) != 1)
			break;
	}
	_exit(0);
}

static void start_holder(void)
{
	int cmd[2], reply[2], fd;
	struct io_uring ring;

	memset(&h.params, 0, sizeof(h.params));
	fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s: %s", image, strerror(errno));
	h.map = mmap(NULL, IMAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h.map == MAP_FAILED)
		fail_msg("cannot map %s: %s", image, strerror(errno));
	if (io_uring_queue_init_params(4, &ring, &h.params) < 0 || io_uring_register_files(&ring, &fd, 1))
		fail_msg("cannot set up an io_uring ring with the image as fixed file 0");
	h.ring_fd = ring.ring_fd;
	if (pipe(cmd) || pipe(reply))
		fail_msg("pipe: %s", strerror(errno));
	h.pid = fork();
	h.target = h.pid;
	if (h.pid == 0) {
		h.pid = getpid();	/* for its descendants: who the holder is */
		close(cmd[1]);
		close(reply[0]);
		holder_loop(&ring, cmd[0], reply[1]);
	}
	/* the holder has them now; this process keeps none */
	close(cmd[0]);
	close(reply[1]);
	h.cmd_fd = cmd[1];
	h.reply_fd = reply[0];
	io_uring_queue_exit(&ring);
	munmap(h.map, IMAGE_SIZE);
	close(fd);
}

static int holder_do(char c)
{
	unsigned char r = 255;

	if (write(h.cmd_fd, &c, 1) != 1 || read(h.reply_fd, &r, 1) != 1)
		return 255;
	return r;
}

/* The attacks aim at a descendant of the holder made now ('f', 'F', 'g',
 * 'd'), or at a thread ('t'; h.middle is then its process). */
static void aim_at_a_descendant(char how)
{
	pid_t ids[2];

	if (write(h.cmd_fd, &how, 1) != 1 || read(h.reply_fd, ids, sizeof(ids)) != sizeof(ids))
		fail_msg("the holder made no descendant");
	h.target = ids[0];
	h.middle = ids[1];
}

static void stop_holder(void)
{
	if (h.pid <= 0)
		return;
	close(h.cmd_fd);
	close(h.reply_fd);
	kill(h.pid, SIGKILL);	/* it may be waiting for a descendant, which ends with the pipe */
	waitpid(h.pid, NULL, 0);
	h.pid = -1;
}

static void lease_to(const struct lw_holder *holder)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		fail_msg("cannot open %s: %s", image, strerror(errno));
	/* forced: the holder's mapping and fixed file are write openers in no
	 * descriptor table, which the busy check cannot tell from a stranger's */
	err = lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, holder, LW_LEASE_FORCE, &h.key, NULL);
	close(fd);
	if (err)
		fail_msg("expected the lease on %s to be taken, got %s: %s", image, strerror(-err),
			 lw_enforcer_error(enf));
	h.leased = true;
}

static void lease_to_holder_process(void)
{
	struct lw_holder holder;
	int err;

	if ((err = lw_holder_of_pid(h.pid, &holder)))
		fail_msg("cannot describe pid %d as a holder: %s", h.pid, strerror(-err));
	lease_to(&holder);
}

static void release(void)
{
	if (h.leased && lw_enforcer_remove_lease(enf, &h.key))
		fail_msg("cannot release: %s", lw_enforcer_error(enf));
	h.leased = false;
}

static int setup(void **state)
{
	(void)state;
	write_file(image, "");
	if (truncate(image, IMAGE_SIZE))
		fail_msg("cannot size %s: %s", image, strerror(errno));
	start_holder();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (h.leased)
		lw_enforcer_remove_lease(enf, &h.key);
	h.leased = false;
	stop_holder();
	for (int i = 1; i >= 0; i--)
		if (stranger[i] > 0) {
			kill(stranger[i], SIGKILL);
			waitpid(stranger[i], NULL, 0);	/* reaps the parent; its child was its own */
			stranger[i] = -1;
		}
	if (cgroup_dir[0])
		sh("rmdir %s/holder %s 2>/dev/null; true", cgroup_dir, cgroup_dir);
	cgroup_dir[0] = 0;
	return 0;
}

/* What the image holds at MARK_OFFSET, as a string of n bytes. */
static void image_mark(char *buf, size_t n)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : pread(fd, buf, n - 1, MARK_OFFSET);

	buf[got > 0 ? got : 0] = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = '.';
	if (fd >= 0)
		close(fd);
}

#define assert_image_unchanged(what)                                                              \
	do {                                                                                      \
		char mark_[16];                                                                   \
		image_mark(mark_, sizeof(mark_));                                                 \
		if (strncmp(mark_, "...............", 15))                                        \
			fail_msg("expected the image unchanged after %s, got \"%s\" at offset %d", \
				 what, mark_, MARK_OFFSET);                                       \
	} while (0)

/* --- attacks, each in a new process (never a holder) --- */

/* 0 if taking the ring and writing the image through it worked, else errno. */
static int steal_ring(void *arg)
{
	struct io_uring ring;
	int pidfd, stolen;

	(void)arg;
	pidfd = syscall(SYS_pidfd_open, h.target, 0);
	if (pidfd < 0)
		return errno;
	stolen = syscall(SYS_pidfd_getfd, pidfd, h.ring_fd, 0);
	if (stolen < 0)
		return errno;
	if (io_uring_queue_mmap(stolen, &h.params, &ring))
		return EIO;
	return ring_write(&ring, "stolen-ring", MARK_OFFSET);
}

static int vm_writev(void *arg)
{
	char text[] = "vm-writev";
	struct iovec local = { text, strlen(text) }, remote = { h.map + MARK_OFFSET, strlen(text) };

	(void)arg;
	if (syscall(SYS_process_vm_writev, h.target, &local, 1, &remote, 1, 0) < 0)
		return errno;
	return 0;
}

static int proc_mem_write(void *arg)
{
	char path[64];
	int fd;
	ssize_t n;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/mem", h.target);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = pwrite(fd, "proc-mem", 8, (off_t)(uintptr_t)(h.map + MARK_OFFSET));
	close(fd);
	return n < 0 ? errno : 0;
}

static int ptrace_seize(void *arg)
{
	(void)arg;
	if (ptrace(PTRACE_SEIZE, h.target, NULL, NULL))
		return errno;
	ptrace(PTRACE_DETACH, h.target, NULL, NULL);
	return 0;
}

static int vm_writev_scratch(void *arg)
{
	char text[] = "vm-writev";
	struct iovec local = { text, strlen(text) }, remote = { scratch, strlen(text) };

	(void)arg;
	if (syscall(SYS_process_vm_writev, h.target, &local, 1, &remote, 1, 0) < 0)
		return errno;
	return 0;
}

static int read_proc_status(void *arg)
{
	char path[64], buf[256];
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/status", h.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (read(fd, buf, sizeof(buf)) <= 0) {
		close(fd);
		return EIO;
	}
	close(fd);
	return 0;
}

#define assert_refused(result, what)                                                              \
	do {                                                                                      \
		int r_ = (result);                                                                \
		if (r_ != EPERM && r_ != EACCES)                                                  \
			fail_msg("expected %s to be refused (EPERM or EACCES), got %s", what,      \
				 errno_name(r_));                                                 \
	} while (0)

/* --- process holder --- */

static void non_holder_pidfd_getfd_of_the_holders_ring_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	assert_refused(in_child(steal_ring, NULL),
		       "pidfd_getfd of the holder's io_uring ring (then a write on its fixed file)");
	assert_image_unchanged("a non-holder took the holder's ring");
}

static void non_holder_process_vm_writev_into_the_holders_mapping_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	assert_refused(in_child(vm_writev, NULL), "process_vm_writev into the holder's shared mapping");
	assert_image_unchanged("process_vm_writev by a non-holder");
}

static void non_holder_proc_mem_write_into_the_holder_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	assert_refused(in_child(proc_mem_write, NULL), "a write of /proc/HOLDER/mem at its mapping");
	assert_image_unchanged("a /proc/HOLDER/mem write by a non-holder");
}

static void non_holder_ptrace_attach_to_the_holder_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	assert_refused(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of the holder");
}

static void non_holder_still_reads_the_holders_proc_status(void **state)
{
	(void)state;
	lease_to_holder_process();
	assert_allowed(in_child(read_proc_status, NULL), "a read of /proc/HOLDER/status (read mode)");
}

static void holder_writes_through_its_ring_and_its_mapping(void **state)
{
	char mark[16];

	(void)state;
	lease_to_holder_process();
	assert_allowed(holder_do('r'), "the holder's write on its own ring's fixed file");
	image_mark(mark, 12);
	if (strcmp(mark, "holder-ring"))
		fail_msg("expected \"holder-ring\" in the image after the holder's ring write, got \"%s\"", mark);
	assert_allowed(holder_do('m'), "the holder's write through its shared mapping");
	image_mark(mark, 11);
	if (strcmp(mark, "holder-map"))
		fail_msg("expected \"holder-map\" in the image after the holder's mapping write, got \"%s\"", mark);
}

static void after_release_process_vm_writev_is_allowed_again(void **state)
{
	(void)state;
	lease_to_holder_process();
	release();
	assert_allowed(in_child(vm_writev, NULL), "process_vm_writev into a process that holds no lease");
}

/* --- the holder's descendants --- */

static void non_holder_pidfd_getfd_of_a_holder_childs_ring_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	aim_at_a_descendant('f');
	assert_refused(in_child(steal_ring, NULL),
		       "pidfd_getfd of the ring a child of the holder inherited (then a write on its fixed file)");
	assert_refused(in_child(vm_writev, NULL), "process_vm_writev into the mapping a child of the holder inherited");
	assert_refused(in_child(proc_mem_write, NULL), "a /proc/PID/mem write into a child of the holder");
	assert_refused(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of a child of the holder");
	assert_image_unchanged("non-holders went for a child of the holder");
}

static void non_holder_process_vm_writev_into_a_reparented_grandchild_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	aim_at_a_descendant('F');
	assert_refused(in_child(vm_writev, NULL),
		       "process_vm_writev into a grandchild of the holder whose parent exited");
	assert_refused(in_child(steal_ring, NULL), "pidfd_getfd of a reparented grandchild's ring");
	assert_image_unchanged("non-holders went for a reparented grandchild of the holder");
}

static void holder_child_still_writes_through_what_it_inherited(void **state)
{
	char mark[16];

	(void)state;
	lease_to_holder_process();
	aim_at_a_descendant('f');
	assert_allowed(holder_do('r'), "the child's write on the ring it inherited");
	image_mark(mark, 12);
	if (strcmp(mark, "holder-ring"))
		fail_msg("expected \"holder-ring\" in the image after the child's ring write, got \"%s\"", mark);
}

static void after_release_the_holders_child_may_be_attached_again(void **state)
{
	(void)state;
	lease_to_holder_process();
	aim_at_a_descendant('f');
	release();
	assert_allowed(in_child(vm_writev, NULL),
		       "process_vm_writev into a child of a process that holds no lease any more");
}

/* --- descendants the holder had before it took the lease --- */

/* The parent tgid of pid (/proc/PID/stat field 4), or -1. */
static pid_t parent_of(pid_t pid)
{
	char buf[512];
	const char *fields = lw_proc_stat_fields(pid, buf, sizeof(buf));
	int parent;

	return fields && sscanf(fields, "%*c %d", &parent) == 1 ? parent : -1;
}

/* Wait until the target's parent is no longer h.middle, which exits. */
static void wait_reparented(void)
{
	pid_t parent = -1;

	for (int i = 0; i < 3000 && (parent = parent_of(h.target)) == h.middle; i++)
		usleep(10000);
	if (parent == h.middle || parent == h.pid)
		fail_msg("expected %d reparented away from %d, got parent %d", h.target, h.middle, parent);
}

/* Every attach-mode attack on the current target is refused. */
static void assert_every_attack_refused(const char *whom)
{
	char what[160];

	snprintf(what, sizeof(what), "pidfd_getfd of the ring %s inherited (then a write on its fixed file)", whom);
	assert_refused(in_child(steal_ring, NULL), what);
	snprintf(what, sizeof(what), "process_vm_writev into the mapping %s inherited", whom);
	assert_refused(in_child(vm_writev, NULL), what);
	snprintf(what, sizeof(what), "a /proc/PID/mem write into %s", whom);
	assert_refused(in_child(proc_mem_write, NULL), what);
	snprintf(what, sizeof(what), "PTRACE_SEIZE of %s", whom);
	assert_refused(in_child(ptrace_seize, NULL), what);
	assert_image_unchanged(whom);
}

static void non_holder_attach_to_a_child_forked_before_the_lease_is_refused(void **state)
{
	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	h.target = h.middle;
	assert_every_attack_refused("a child the holder forked before the lease");
}

static void non_holder_attach_to_a_grandchild_forked_before_the_lease_is_refused(void **state)
{
	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	assert_every_attack_refused("a grandchild of the holder forked before the lease");
}

/* Its parent killed after the acquire, the grandchild is reparented: its
 * parent chain no longer leads to the holder, the mark of the acquire does. */
static void non_holder_attach_to_a_grandchild_from_before_the_lease_whose_parent_is_killed_is_refused(void **state)
{
	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	kill(h.middle, SIGKILL);
	wait_reparented();
	assert_every_attack_refused("a grandchild of the holder from before the lease, reparented");
}

/* Past the parent chain the ptrace hook climbs: only the acquire's mark
 * shields it. */
static void non_holder_attach_to_a_descendant_17_generations_down_from_before_the_lease_is_refused(void **state)
{
	(void)state;
	aim_at_a_descendant('d');
	lease_to_holder_process();
	assert_every_attack_refused("a descendant 17 generations below the holder, from before the lease");
}

/* A grandchild from before the lease forks after it, and the fork is
 * reparented: it inherits the mark the acquire gave the grandchild. */
static void non_holder_attach_to_a_reparented_fork_made_after_the_lease_by_a_grandchild_from_before_it_is_refused(void **state)
{
	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	aim_at_a_descendant('F');
	wait_reparented();
	assert_every_attack_refused("a reparented fork, made after the lease, of a grandchild from before it");
}

/* A grandchild from before the lease with a second thread, also from
 * before it; the grandchild's parent is killed after the acquire. */
static void thread_of_a_reparented_grandchild_from_before_the_lease(void)
{
	pid_t grandchild, child, thread;

	aim_at_a_descendant('g');
	grandchild = h.target;
	child = h.middle;
	aim_at_a_descendant('t');
	thread = h.target;
	if (h.middle != grandchild || thread == grandchild)
		fail_msg("expected a second thread of %d, got thread %d of %d", grandchild, thread, h.middle);
	lease_to_holder_process();
	h.target = grandchild;
	h.middle = child;
	kill(child, SIGKILL);
	wait_reparented();
	h.target = thread;
	h.middle = grandchild;
}

/* The acquire marks a process (a pidfd names one): its thread is shielded
 * by that mark. (No pidfd_getfd: a thread has no pidfd of its own.) */
static void non_holder_attach_to_a_thread_of_a_grandchild_from_before_the_lease_is_refused(void **state)
{
	(void)state;
	thread_of_a_reparented_grandchild_from_before_the_lease();
	assert_refused(in_child(vm_writev, NULL), "process_vm_writev into a thread of a grandchild from before the lease");
	assert_refused(in_child(proc_mem_write, NULL), "a /proc/TID/mem write into that thread");
	assert_refused(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of that thread");
	assert_image_unchanged("non-holders went for a thread of a grandchild from before the lease");
}

/* What that thread forks after the lease inherits its process's mark. */
static void non_holder_attach_to_a_reparented_fork_made_after_the_lease_by_a_thread_from_before_it_is_refused(void **state)
{
	(void)state;
	thread_of_a_reparented_grandchild_from_before_the_lease();
	aim_at_a_descendant('F');
	wait_reparented();
	assert_every_attack_refused("a reparented fork, made after the lease by a thread from before it");
}

/* A child of this program at pid (through ns_last_pid), or -1. */
static pid_t fork_at_pid(pid_t pid)
{
	for (int tries = 0; tries < 20; tries++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		char last[16];
		pid_t child;
		ssize_t n;

		snprintf(last, sizeof(last), "%d", pid - 1);
		if (fd < 0)
			return -1;
		n = write(fd, last, strlen(last));
		close(fd);
		if (n < 0)
			return -1;
		if ((child = fork()) == 0)
			for (;;)
				pause();
		if (child == pid)
			return child;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return -1;
}

/* The mark is the task's, not its pid's: a process that takes the pid of
 * a marked grandchild that exited is nobody's family. */
static void process_reusing_the_pid_of_a_marked_grandchild_stays_attachable(void **state)
{
	pid_t old;

	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	old = h.target;
	kill(old, SIGKILL);	/* its parent, waiting for it, reaps it */
	for (int i = 0; i < 3000 && !kill(old, 0); i++)
		usleep(10000);
	if ((stranger[0] = fork_at_pid(old)) != old)
		fail_msg("expected a new process at the grandchild's pid %d, got %d", old, stranger[0]);
	h.target = old;
	assert_allowed(in_child(vm_writev_scratch, NULL), "process_vm_writev into a process that reused a marked pid");
	assert_allowed(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of a process that reused a marked pid");
}

/* Half a family marked would leave the rest open to attach. */
static void acquire_for_a_holder_with_more_descendants_than_an_acquire_marks_is_refused(void **state)
{
	struct lw_holder holder;
	int fd, err;

	(void)state;
	if (holder_do('w'))
		fail_msg("expected the holder to fork %d children", WIDE);
	if ((err = lw_holder_of_pid(h.pid, &holder)))
		fail_msg("cannot describe pid %d as a holder: %s", h.pid, strerror(-err));
	if ((fd = open(image, O_RDONLY | O_CLOEXEC)) < 0)
		fail_msg("cannot open %s: %s", image, strerror(errno));
	err = lw_enforcer_add_lease_flags(enf, fd, LW_LEASE_EXCLUSIVE, &holder, LW_LEASE_FORCE, &h.key, NULL);
	close(fd);
	h.leased = !err;
	if (err != -E2BIG || !strstr(lw_enforcer_error(enf), "descendants"))
		fail_msg("expected the acquire for a holder with %d children refused (E2BIG, naming its "
			 "descendants), got %s: %s", WIDE, err ? strerror(-err) : "taken",
			 err ? lw_enforcer_error(enf) : "");
	assert_allowed(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of the holder whose acquire was refused");
}

/* A task the acquire did not mark (forked while it listed the family) is
 * found through its parent chain: drop the grandchild's mark, which also
 * proves the acquire made it. */
static void non_holder_attach_to_an_unmarked_grandchild_from_before_the_lease_is_refused(void **state)
{
	char path[192];
	int map, pidfd, err = 0;

	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	snprintf(path, sizeof(path), "%s/holder_family", pin_dir);
	map = bpf_obj_get(path);
	pidfd = (int)syscall(SYS_pidfd_open, h.target, 0);
	if (map < 0 || pidfd < 0)
		fail_msg("cannot open %s (%s) or a pidfd of %d", path, strerror(errno), h.target);
	if (bpf_map_delete_elem(map, &pidfd))
		err = errno;
	close(pidfd);
	close(map);
	if (err)
		fail_msg("expected the acquire to have marked the grandchild %d, deleting its mark got %s",
			 h.target, errno_name(err));
	assert_every_attack_refused("an unmarked grandchild of the holder from before the lease");
}

/* Forked while its holder held nothing, between two leases, and then
 * reparented: neither the second acquire's walk nor the parent chain
 * reaches it. The holder's holder_index entry outlived its first lease (at
 * count 0, shielding nothing), so the fork was marked, and the mark
 * shields it once the holder holds again. */
static void non_holder_attach_to_a_reparented_grandchild_forked_between_two_leases_is_refused(void **state)
{
	(void)state;
	lease_to_holder_process();
	release();
	aim_at_a_descendant('F');
	wait_reparented();
	assert_allowed(in_child(vm_writev_scratch, NULL),
		       "process_vm_writev into a grandchild of a process that holds no lease any more");
	lease_to_holder_process();
	assert_every_attack_refused("a reparented grandchild the holder forked between two leases");
}

static void after_release_the_holders_family_from_before_the_lease_may_be_attached_again(void **state)
{
	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	release();
	assert_allowed(in_child(vm_writev, NULL),
		       "process_vm_writev into a grandchild of a process that holds no lease any more");
	h.target = h.middle;
	assert_allowed(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of a child of a process that holds no lease any more");
}

static void debuggable_holders_allow_attach_to_the_family_from_before_the_lease(void **state)
{
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir, .debuggable_holders = true };
	struct lw_enforcement *debug = NULL;
	struct lw_err why;
	int err, seize;

	(void)state;
	aim_at_a_descendant('g');
	lease_to_holder_process();
	if ((err = lw_enforcer_open(&opts, &debug, &why)))
		fail_msg("cannot reopen the pins with debuggable_holders: %s", why.msg);
	err = in_child(vm_writev, NULL);
	h.target = h.middle;
	seize = in_child(ptrace_seize, NULL);
	lw_enforcer_close(debug);
	opts.debuggable_holders = false;
	if (lw_enforcer_open(&opts, &debug, NULL) == 0)	/* back to protected */
		lw_enforcer_close(debug);
	assert_allowed(err, "process_vm_writev into a grandchild from before the lease with protect_holders = no");
	assert_allowed(seize, "PTRACE_SEIZE of a child from before the lease with protect_holders = no");
}

/* The holder is a child of this program too: a stranger's family (a
 * sibling of the holder and its child) is nobody's. */
static void children_of_a_process_that_holds_nothing_stay_attachable(void **state)
{
	int ids[2];

	(void)state;
	if (pipe(ids))
		fail_msg("pipe: %s", strerror(errno));
	if ((stranger[0] = fork()) == 0) {
		pid_t child = fork();

		if (child == 0) {
			child = getpid();
			if (write(ids[1], &child, sizeof(child)) != sizeof(child))
				_exit(1);
			for (;;)
				pause();
		}
		waitpid(child, NULL, 0);
		_exit(0);
	}
	close(ids[1]);
	if (read(ids[0], &stranger[1], sizeof(stranger[1])) != sizeof(stranger[1]))
		fail_msg("the stranger made no child");
	close(ids[0]);
	aim_at_a_descendant('g');
	lease_to_holder_process();
	h.target = stranger[1];
	assert_allowed(in_child(vm_writev_scratch, NULL), "process_vm_writev into a child of a process that holds nothing");
	assert_allowed(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of a child of a process that holds nothing");
	h.target = stranger[0];
	assert_allowed(in_child(ptrace_seize, NULL), "PTRACE_SEIZE of a process that holds nothing");
}

/* protect_holders = no: another open of the pins with debuggable_holders. */
static void debuggable_holders_allow_process_vm_writev(void **state)
{
	struct lw_enforcer_opts opts = { .pin_dir = pin_dir, .debuggable_holders = true };
	struct lw_enforcement *debug = NULL;
	struct lw_err why;
	int err;

	(void)state;
	lease_to_holder_process();
	if ((err = lw_enforcer_open(&opts, &debug, &why)))
		fail_msg("cannot reopen the pins with debuggable_holders: %s", why.msg);
	err = in_child(vm_writev, NULL);
	lw_enforcer_close(debug);
	opts.debuggable_holders = false;
	if (lw_enforcer_open(&opts, &debug, NULL) == 0)	/* back to protected */
		lw_enforcer_close(debug);
	assert_allowed(err, "process_vm_writev into a holder with protect_holders = no");
	assert_refused(in_child(vm_writev, NULL),
		       "process_vm_writev into the holder once protect_holders is yes again");
}

/* --- cgroup holder --- */

static int join(const char *sub)
{
	char procs[256];

	snprintf(procs, sizeof(procs), "%s/%s/cgroup.procs", cgroup_dir, sub);
	return sh("echo %d > %s", getpid(), procs) ? EIO : 0;
}

static void lease_to_cgroup_with_the_holder_in_it(void)
{
	struct lw_holder holder;
	char path[192];
	int err;

	snprintf(cgroup_dir, sizeof(cgroup_dir), "/sys/fs/cgroup/lw-test-hp-%d", getpid());
	if (sh("mkdir -p %s/holder && echo %d > %s/holder/cgroup.procs", cgroup_dir, h.pid, cgroup_dir))
		fail_msg("expected to create %s/holder and move the holder in (is cgroup2 mounted?)",
			 cgroup_dir);
	snprintf(path, sizeof(path), "%s/holder", cgroup_dir);
	if ((err = lw_holder_of_cgroup(path, &holder)))
		fail_msg("cannot describe %s as a holder: %s", path, strerror(-err));
	lease_to(&holder);
}

static int vm_writev_from_holder_cgroup(void *arg)
{
	int err = join("holder");

	return err ? err : vm_writev(arg);
}

static void non_holder_process_vm_writev_into_a_cgroup_holders_task_is_refused(void **state)
{
	(void)state;
	lease_to_cgroup_with_the_holder_in_it();
	assert_refused(in_child(vm_writev, NULL),
		       "process_vm_writev from outside into a task of the holder cgroup");
	assert_refused(in_child(steal_ring, NULL), "pidfd_getfd of a cgroup holder task's ring");
	assert_image_unchanged("non-holders went for a cgroup holder's task");
}

static void task_of_the_same_cgroup_holder_may_process_vm_writev(void **state)
{
	(void)state;
	lease_to_cgroup_with_the_holder_in_it();
	assert_allowed(in_child(vm_writev_from_holder_cgroup, NULL),
		       "process_vm_writev between two tasks of the holder cgroup");
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(non_holder_pidfd_getfd_of_the_holders_ring_is_refused),
		CASE(non_holder_process_vm_writev_into_the_holders_mapping_is_refused),
		CASE(non_holder_proc_mem_write_into_the_holder_is_refused),
		CASE(non_holder_ptrace_attach_to_the_holder_is_refused),
		CASE(non_holder_still_reads_the_holders_proc_status),
		CASE(holder_writes_through_its_ring_and_its_mapping),
		CASE(after_release_process_vm_writev_is_allowed_again),
		CASE(debuggable_holders_allow_process_vm_writev),
		CASE(non_holder_pidfd_getfd_of_a_holder_childs_ring_is_refused),
		CASE(non_holder_process_vm_writev_into_a_reparented_grandchild_is_refused),
		CASE(holder_child_still_writes_through_what_it_inherited),
		CASE(after_release_the_holders_child_may_be_attached_again),
		CASE(non_holder_attach_to_a_child_forked_before_the_lease_is_refused),
		CASE(non_holder_attach_to_a_grandchild_forked_before_the_lease_is_refused),
		CASE(non_holder_attach_to_a_grandchild_from_before_the_lease_whose_parent_is_killed_is_refused),
		CASE(non_holder_attach_to_an_unmarked_grandchild_from_before_the_lease_is_refused),
		CASE(non_holder_attach_to_a_descendant_17_generations_down_from_before_the_lease_is_refused),
		CASE(non_holder_attach_to_a_reparented_fork_made_after_the_lease_by_a_grandchild_from_before_it_is_refused),
		CASE(non_holder_attach_to_a_thread_of_a_grandchild_from_before_the_lease_is_refused),
		CASE(non_holder_attach_to_a_reparented_fork_made_after_the_lease_by_a_thread_from_before_it_is_refused),
		CASE(process_reusing_the_pid_of_a_marked_grandchild_stays_attachable),
		CASE(acquire_for_a_holder_with_more_descendants_than_an_acquire_marks_is_refused),
		CASE(non_holder_attach_to_a_reparented_grandchild_forked_between_two_leases_is_refused),
		CASE(after_release_the_holders_family_from_before_the_lease_may_be_attached_again),
		CASE(debuggable_holders_allow_attach_to_the_family_from_before_the_lease),
		CASE(children_of_a_process_that_holds_nothing_stay_attachable),
		CASE(non_holder_process_vm_writev_into_a_cgroup_holders_task_is_refused),
		CASE(task_of_the_same_cgroup_holder_may_process_vm_writev),
	};
	int failed;

	test_pin_dir(pin_dir, sizeof(pin_dir), "holderproc");
	snprintf(fs_dir, sizeof(fs_dir), "/tmp/lw-holderproc-%d", getpid());
	snprintf(image, sizeof(image), "%s/image.raw", fs_dir);
	if (mount_test_fs("tmpfs", fs_dir)) {
		fprintf(stderr, "# cannot mount a tmpfs at %s\n", fs_dir);
		return 1;
	}
	enf = open_enforcer(pin_dir, 64);
	if (!enf)
		return 1;
	failed = cmocka_run_group_tests_name("holder process", tests, NULL, NULL);
	close_and_unpin(enf);
	unmount_test_fs(fs_dir);
	return failed;
}
