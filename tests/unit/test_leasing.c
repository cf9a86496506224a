// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's lease logic (leasing.c, acquiring.c) against an in-memory
 * enforcer: what it asks the enforcer to do on acquire, shared join,
 * release and a holder's exit, and that an enforcer's refusal rolls
 * everything back. Then against a backend that answers later: nothing
 * reaches the enforcer, the table or the state before the backend grants,
 * and a cancelled or refused acquire leaves nothing behind. The doubles
 * stand in for the kernel and for a slow backend only; the lease table, the
 * nop backend, the state file, the keeper and the holder watches are the
 * real ones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "daemon/acquiring.h"
#include "daemon/daemon.h"
#include "daemon/holders.h"
#include "common/enforcement.h"
#include "common/fd_reopen.h"
#include "daemon/keeper.h"
#include "daemon/lease.h"
#include "daemon/leasing.h"
#include "daemon/state.h"

/* ---- the in-memory enforcer ---- */

#define MEM_MAX 8

struct mem_enforcer {
	struct lw_enforcement base;
	struct { bool used; struct lw_image_key key; struct lw_lease lease; } slot[MEM_MAX];
	int fail_add_lease;		/* next add_lease returns this (0: works) */
	unsigned int adds, removes;	/* calls seen */
	int add_fd_flags;		/* F_GETFL of the last add_lease's descriptor */
	char error[128];
};

#define MEM(enf) ((struct mem_enforcer *)(enf))

static int mem_find(struct mem_enforcer *m, const struct lw_image_key *key)
{
	for (int i = 0; i < MEM_MAX; i++)
		if (m->slot[i].used && m->slot[i].key.dev == key->dev && m->slot[i].key.ino == key->ino)
			return i;
	return -1;
}

static bool same_holder(const struct lw_holder *a, const struct lw_holder *b)
{
	return a->kind == b->kind && a->pid == b->pid && a->start_time == b->start_time &&
	       a->cgroup_id == b->cgroup_id;
}

static int mem_key_of_fd(struct lw_enforcement *enf, int fd, struct lw_image_key *key)
{
	struct stat st;

	(void)enf;
	if (fstat(fd, &st) < 0)
		return -errno;
	memset(key, 0, sizeof(*key));
	key->dev = st.st_dev;
	key->ino = st.st_ino;
	return 0;
}

static int mem_add_lease(struct lw_enforcement *enf, int fd, enum lw_lease_mode mode,
			 const struct lw_holder *first, unsigned int flags, struct lw_image_key *key_out,
			 struct lw_writer *writer)
{
	struct mem_enforcer *m = MEM(enf);
	struct lw_image_key key;
	int i, r;

	(void)flags;
	m->add_fd_flags = fcntl(fd, F_GETFL);
	if (m->fail_add_lease) {
		r = m->fail_add_lease;
		m->fail_add_lease = 0;
		if (r == -EBUSY) {
			writer->pid = 4242;
			snprintf(writer->comm, sizeof(writer->comm), "rogue");
		}
		snprintf(m->error, sizeof(m->error), "refused on purpose: %s", strerror(-r));
		return r;
	}
	if ((r = mem_key_of_fd(enf, fd, &key)) < 0)
		return r;
	if (mem_find(m, &key) >= 0)
		return -EEXIST;
	for (i = 0; i < MEM_MAX && m->slot[i].used; i++)
		;
	if (i == MEM_MAX)
		return -ENOSPC;
	memset(&m->slot[i], 0, sizeof(m->slot[i]));
	m->slot[i].used = true;
	m->slot[i].key = key;
	m->slot[i].lease.mode = mode;
	m->slot[i].lease.nr_holders = 1;
	m->slot[i].lease.holders[0] = *first;
	*key_out = key;
	m->adds++;
	return 0;
}

static int mem_remove_lease(struct lw_enforcement *enf, const struct lw_image_key *key)
{
	struct mem_enforcer *m = MEM(enf);
	int i = mem_find(m, key);

	if (i < 0)
		return -ENOENT;
	m->slot[i].used = false;
	m->removes++;
	return 0;
}

static int mem_add_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			  const struct lw_holder *holder)
{
	struct mem_enforcer *m = MEM(enf);
	int i = mem_find(m, key);
	struct lw_lease *l;

	if (i < 0)
		return -ENOENT;
	l = &m->slot[i].lease;
	for (__u32 j = 0; j < l->nr_holders; j++)
		if (same_holder(&l->holders[j], holder))
			return -EEXIST;
	if (l->mode == LW_LEASE_EXCLUSIVE)
		return -EINVAL;
	if (l->nr_holders >= LW_MAX_HOLDERS)
		return -E2BIG;
	l->holders[l->nr_holders++] = *holder;
	return 0;
}

static int mem_remove_holder(struct lw_enforcement *enf, const struct lw_image_key *key,
			     const struct lw_holder *holder)
{
	struct mem_enforcer *m = MEM(enf);
	int i = mem_find(m, key);
	struct lw_lease *l;

	if (i < 0)
		return -ENOENT;
	l = &m->slot[i].lease;
	for (__u32 j = 0; j < l->nr_holders; j++)
		if (same_holder(&l->holders[j], holder)) {
			memmove(&l->holders[j], &l->holders[j + 1], (l->nr_holders - j - 1) * sizeof(*holder));
			if (--l->nr_holders == 0)
				return mem_remove_lease(enf, key);
			return 0;
		}
	return -ENOENT;
}

static int mem_lookup(struct lw_enforcement *enf, const struct lw_image_key *key, struct lw_lease *lease)
{
	struct mem_enforcer *m = MEM(enf);
	int i = mem_find(m, key);

	if (i < 0)
		return -ENOENT;
	*lease = m->slot[i].lease;
	return 0;
}

static int mem_foreach(struct lw_enforcement *enf, lw_lease_fn fn, void *ctx)
{
	struct mem_enforcer *m = MEM(enf);
	int r;

	for (int i = 0; i < MEM_MAX; i++)
		if (m->slot[i].used && (r = fn(&m->slot[i].key, &m->slot[i].lease, ctx)))
			return r;
	return 0;
}

static int mem_events_fd(struct lw_enforcement *enf) { (void)enf; return -1; }
static int mem_events_consume(struct lw_enforcement *enf, lw_denial_fn fn, void *ctx)
{
	(void)enf; (void)fn; (void)ctx;
	return 0;
}
static int mem_counters(struct lw_enforcement *enf, __u64 *d, __u64 *s, __u64 *x)
{
	(void)enf;
	*d = *s = *x = 0;
	return 0;
}
static unsigned int mem_max_images(const struct lw_enforcement *enf) { (void)enf; return MEM_MAX; }
static const char *mem_limits(const struct lw_enforcement *enf) { (void)enf; return "in memory"; }
static const char *mem_pin_dir(const struct lw_enforcement *enf) { (void)enf; return ""; }
static const char *mem_error(const struct lw_enforcement *enf) { return MEM(enf)->error; }
static void mem_close(struct lw_enforcement *enf) { (void)enf; }

static const struct lw_enforcement_ops mem_ops = {
	.name = "memory",
	.key_of_fd = mem_key_of_fd,
	.add_lease = mem_add_lease,
	.remove_lease = mem_remove_lease,
	.add_holder = mem_add_holder,
	.remove_holder = mem_remove_holder,
	.lookup = mem_lookup,
	.foreach = mem_foreach,
	.events_fd = mem_events_fd,
	.events_consume = mem_events_consume,
	.counters = mem_counters,
	.max_images = mem_max_images,
	.limits = mem_limits,
	.pin_dir = mem_pin_dir,
	.error = mem_error,
	.close = mem_close,
};

/* ---- a backend that answers later, when the test says so ---- */

struct later_backend {
	struct lw_backend base;
	sd_event *event;
	struct lw_backend_pending *waiting;	/* at most one here */
	unsigned int acquires, cancels, releases;
	bool release_later;			/* as paxos: the engine lets go later */
	lw_backend_released_fn released;	/* then: the answer to give */
	void *released_ctx;
};

struct lw_backend_pending {
	struct later_backend *lb;
	lw_backend_done_fn done;
	void *ctx;
	int result;			/* the answer to give */
	sd_event_source *answer;	/* the loop gives it */
};

static int later_check_option(const char *key, const char *value, struct lw_err *err)
{
	(void)value;
	return lw_err_set(err, ENOENT, "unknown key %s", key);
}

static int later_open(const struct lw_backend_setup *setup, struct lw_backend **out, struct lw_err *err)
{
	(void)setup; (void)out;
	return lw_err_set(err, ENOTSUP, "opened by the fixture");
}

static int later_acquire(struct lw_backend *be, const struct lw_backend_request *req,
			 lw_backend_done_fn done, void *ctx, struct lw_backend_lock **lock,
			 struct lw_backend_pending **pending, struct lw_err *err)
{
	struct later_backend *lb = (struct later_backend *)be;
	struct lw_backend_pending *p = calloc(1, sizeof(*p));

	(void)req; (void)lock; (void)err;
	assert_non_null(p);
	assert_null(lb->waiting);
	p->lb = lb;
	p->done = done;
	p->ctx = ctx;
	lb->waiting = p;
	lb->acquires++;
	*pending = p;
	return -EINPROGRESS;
}

static void later_cancel(struct lw_backend *be, struct lw_backend_pending *p)
{
	struct later_backend *lb = (struct later_backend *)be;

	assert_ptr_equal(lb->waiting, p);
	sd_event_source_disable_unref(p->answer);
	lb->waiting = NULL;
	lb->cancels++;
	free(p);
}

static int later_release(struct lw_backend *be, struct lw_backend_lock *lock, lw_backend_released_fn released,
			 void *ctx, struct lw_err *err)
{
	struct later_backend *lb = (struct later_backend *)be;

	(void)err;
	lb->releases++;
	lw_backend_lock_clear(lock);
	free(lock);
	if (!lb->release_later)
		return 0;
	assert_null(lb->released);	/* one at a time here */
	lb->released = released;
	lb->released_ctx = ctx;
	return -EINPROGRESS;
}

static void later_forget(struct lw_backend *be, struct lw_backend_lock *lock)
{
	(void)be;
	lw_backend_lock_clear(lock);
	free(lock);
}

static int later_adopt(struct lw_backend *be, const struct lw_backend_request *req, const char *id,
		       int kept_fd, struct lw_backend_lock **lock, struct lw_err *err)
{
	(void)be; (void)req; (void)id; (void)kept_fd; (void)lock;
	return lw_err_set(err, ENOTSUP, "not in these tests");
}

static void later_close(struct lw_backend *be)
{
	(void)be;
}

static const struct lw_backend_ops later_ops = {
	.name = "later",
	.named_leases = true,	/* as paxos */
	.check_option = later_check_option,
	.open = later_open,
	.acquire = later_acquire,
	.cancel = later_cancel,
	.release = later_release,
	.forget = later_forget,
	.adopt = later_adopt,
	.close = later_close,
};

/* The backend's answer, from the loop as the contract says. */
static int give_answer(sd_event_source *s, void *userdata)
{
	struct lw_backend_pending *p = userdata;
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { { 0 } };

	(void)s;
	p->lb->waiting = NULL;
	if (p->result == 0) {
		lock = calloc(1, sizeof(*lock));
		assert_non_null(lock);
		lock->keep_fd = -1;
		assert_int_equal(lw_backend_lock_set_id(lock, "later-lock"), 0);
	} else {
		lw_err_set(&err, -p->result, "held on another host");
	}
	sd_event_source_disable_unref(p->answer);
	p->done(p->ctx, p->result, lock, &err);
	free(p);
	return 0;
}

/* ---- a daemon around it ---- */

struct fixture {
	struct later_backend later;
	struct lw_backend *nop;
	struct mem_enforcer mem;
	struct lw_config cfg;
	struct lw_daemon d;
	char dir[64], image[96];
	int image_fd;
	pid_t kids[3];
	const char *lease;	/* the acquires' named lease (paxos manual mode), or NULL */
};

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lw_err why;
	int fd;

	assert_non_null(f);
	f->mem.base.ops = &mem_ops;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lw-test-leasing-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->image, sizeof(f->image), "%s/vm1.raw", f->dir);
	fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	f->image_fd = open(f->image, O_RDONLY | O_CLOEXEC);
	assert_true(f->image_fd >= 0);
	lw_config_defaults(&f->cfg);
	snprintf(f->cfg.state_dir, sizeof(f->cfg.state_dir), "%s", f->dir);
	f->cfg.max_images = MEM_MAX;
	f->d.cfg = &f->cfg;
	f->d.enforcer = &f->mem.base;
	assert_int_equal(sd_event_new(&f->d.event), 0);
	assert_int_equal(lw_lease_table_new(16, &f->d.leases), 0);
	assert_int_equal(lw_state_open(f->dir, f->d.leases, &f->d.state, &why), 0);
	assert_int_equal(lw_backend_open("nop", NULL, &f->d.backend, NULL), 0);
	f->nop = f->d.backend;
	f->later.base.ops = &later_ops;
	f->later.event = f->d.event;
	assert_int_equal(lw_keeper_connect(f->dir, &f->d.keeper, &why), 0);
	for (int i = 0; i < 3; i++)
		f->kids[i] = sleeper();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	for (int i = 0; i < 3; i++) {
		kill(f->kids[i], SIGKILL);
		waitpid(f->kids[i], NULL, 0);
	}
	while (lw_acquiring_first(&f->d))
		lw_acquiring_cancel(lw_acquiring_first(&f->d));
	lw_releasing_forget_all(&f->d);
	for (struct lw_lease_entry *e = lw_lease_first(f->d.leases); e; e = e->next) {
		for (unsigned int i = 0; i < e->nr_holders; i++)
			lw_holder_unwatch(&e->holders[i]);
		lw_backend_forget(f->d.backend, e->lock);
	}
	lw_state_close(f->d.state);
	lw_lease_table_free(f->d.leases);
	lw_backend_close(f->nop);
	lw_keeper_close(f->d.keeper);
	sd_event_unref(f->d.event);
	close(f->image_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct lw_lease_holder holder_of(pid_t pid)
{
	struct lw_lease_holder h = { .pidfd = -1 };

	assert_int_equal(lw_holder_of_pid(pid, &h.id), 0);
	return h;
}

/* What the one who asked heard later. */
struct heard {
	bool called;
	int result;
	struct lw_lease_entry *e;
	struct json_object *error;
};

static void on_acquired(void *ctx, int result, struct lw_lease_entry *e, struct json_object *error)
{
	struct heard *h = ctx;

	assert_false(h->called);	/* once */
	h->called = true;
	h->result = result;
	h->e = e;
	h->error = error;
}

static int acquire_for(struct fixture *f, pid_t pid, bool shared, struct heard *heard,
		       struct lw_acquiring **pending, struct json_object **error)
{
	struct lw_lease_holder h = holder_of(pid);
	struct lw_lease_entry *e = NULL;
	struct lw_acquire_request req = {
		.image = f->image, .fd = f->image_fd, .holder = &h, .shared = shared,
		.lease = f->lease, .later = on_acquired, .ctx = heard,
	};
	struct lw_acquiring *scratch;

	*error = NULL;
	return lw_leasing_acquire(&f->d, &req, &e, pending ? pending : &scratch, error);
}

static int acquire(struct fixture *f, pid_t pid, bool shared, struct json_object **error)
{
	return acquire_for(f, pid, shared, NULL, NULL, error);
}

static const char *error_name(struct json_object *error)
{
	struct json_object *v;

	return json_object_object_get_ex(error, "error", &v) ? json_object_get_string(v) : "(none)";
}

static void mem_lease(struct fixture *f, struct lw_lease *out)
{
	struct lw_image_key key;

	assert_int_equal(mem_key_of_fd(&f->mem.base, f->image_fd, &key), 0);
	assert_int_equal(mem_lookup(&f->mem.base, &key, out), 0);
}

static bool mem_has_lease(struct fixture *f)
{
	struct lw_lease l;
	struct lw_image_key key;

	mem_key_of_fd(&f->mem.base, f->image_fd, &key);
	return mem_lookup(&f->mem.base, &key, &l) == 0;
}

static void acquire_enforces_an_exclusive_lease_for_its_holder(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_holder h = holder_of(f->kids[0]);
	struct json_object *error;
	struct lw_lease l;
	struct stat st;
	char path[160];

	assert_int_equal(acquire(f, f->kids[0], false, &error), 0);
	mem_lease(f, &l);
	assert_int_equal(l.mode, LW_LEASE_EXCLUSIVE);
	assert_int_equal(l.nr_holders, 1);
	assert_true(same_holder(&l.holders[0], &h.id));
	assert_int_equal(lw_lease_count(f->d.leases), 1);
	snprintf(path, sizeof(path), "%s/leases.json", f->dir);
	assert_int_equal(stat(path, &st), 0);	/* committed to the state file */
}

static void second_exclusive_acquire_is_refused_and_leaves_the_enforcer_alone(void **state)
{
	struct fixture *f = *state;
	struct json_object *error;
	struct lw_lease l;

	assert_int_equal(acquire(f, f->kids[0], false, &error), 0);
	assert_int_equal(acquire(f, f->kids[1], false, &error), -EAGAIN);
	assert_string_equal(error_name(error), "io.lockwarden.LeaseHeld");
	json_object_put(error);
	mem_lease(f, &l);
	assert_int_equal(l.nr_holders, 1);
	assert_int_equal(f->mem.adds, 1);
}

static void shared_join_adds_the_holder_in_the_enforcer(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_holder h2 = holder_of(f->kids[1]);
	struct json_object *error;
	struct lw_lease l;

	assert_int_equal(acquire(f, f->kids[0], true, &error), 0);
	assert_int_equal(acquire(f, f->kids[1], true, &error), 0);
	mem_lease(f, &l);
	assert_int_equal(l.mode, LW_LEASE_SHARED);
	assert_int_equal(l.nr_holders, 2);
	assert_true(same_holder(&l.holders[1], &h2.id));
	assert_int_equal(f->mem.adds, 1);	/* one lease, joined */
}

/* Another file under a leased path (the leased one renamed away, in a
 * folder others may write): its acquire neither joins the old file's lease
 * (which would leave it unprotected) nor is told it holds it already. */
static void another_file_under_a_leased_path_is_not_its_lease(void **state)
{
	struct fixture *f = *state;
	struct json_object *error = NULL;
	char moved[sizeof(f->image) + 8];
	struct lw_lease l;
	int old_fd = f->image_fd, fd;

	assert_int_equal(acquire(f, f->kids[0], true, &error), 0);
	snprintf(moved, sizeof(moved), "%s.away", f->image);
	assert_int_equal(rename(f->image, moved), 0);
	fd = open(f->image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	f->image_fd = fd;
	assert_int_equal(acquire(f, f->kids[1], true, &error), -EEXIST);
	assert_string_equal(error_name(error), "io.lockwarden.InvalidParameter");
	json_object_put(error);
	assert_int_equal(acquire(f, f->kids[0], true, &error), -EEXIST);	/* not "held already" either */
	json_object_put(error);
	assert_false(mem_has_lease(f));		/* nothing leased on the new file */
	f->image_fd = old_fd;
	close(fd);
	mem_lease(f, &l);
	assert_int_equal(l.nr_holders, 1);	/* the old file's lease as it was */
}

static void release_of_one_shared_holder_keeps_the_lease_and_the_last_ends_it(void **state)
{
	struct fixture *f = *state;
	struct json_object *error;
	struct lw_lease_entry *e;
	struct lw_lease l;

	assert_int_equal(acquire(f, f->kids[0], true, &error), 0);
	assert_int_equal(acquire(f, f->kids[1], true, &error), 0);
	e = lw_lease_by_image(f->d.leases, f->image);
	assert_non_null(e);
	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, NULL, NULL, NULL, &error), 0);
	mem_lease(f, &l);
	assert_int_equal(l.nr_holders, 1);
	e = lw_lease_by_image(f->d.leases, f->image);
	assert_non_null(e);
	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, NULL, NULL, NULL, &error), 0);
	assert_false(mem_has_lease(f));
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

static void enforcer_refusing_a_busy_image_rolls_back_and_names_the_writer(void **state)
{
	struct fixture *f = *state;
	struct json_object *error, *v;

	f->mem.fail_add_lease = -EBUSY;
	assert_int_equal(acquire(f, f->kids[0], false, &error), -EBUSY);
	assert_string_equal(error_name(error), "io.lockwarden.ImageBusy");
	assert_true(json_object_object_get_ex(error, "parameters", &v));
	assert_true(json_object_object_get_ex(v, "pid", &v));
	assert_int_equal(json_object_get_int(v), 4242);
	json_object_put(error);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_false(mem_has_lease(f));
	/* and the image can be leased once the writer is gone */
	assert_int_equal(acquire(f, f->kids[0], false, &error), 0);
}

/* One more holder than a lease may have is told so, as holders (not as
 * "images", the table's capacity). */
static void a_shared_lease_full_of_holders_says_so(void **state)
{
	struct fixture *f = *state;
	struct json_object *error = NULL, *p, *reason;
	pid_t extra[LW_MAX_HOLDERS + 1];
	int r = 0;

	for (int i = 0; i <= LW_MAX_HOLDERS; i++)
		extra[i] = sleeper();
	for (int i = 0; i <= LW_MAX_HOLDERS && r == 0; i++)
		r = acquire(f, extra[i], true, &error);
	assert_int_equal(r, -E2BIG);
	assert_string_equal(error_name(error), "io.lockwarden.CapacityExceeded");
	assert_true(json_object_object_get_ex(error, "parameters", &p));
	assert_true(json_object_object_get_ex(p, "reason", &reason));
	assert_non_null(strstr(json_object_get_string(reason), "holders"));
	json_object_put(error);
	for (int i = 0; i <= LW_MAX_HOLDERS; i++) {
		kill(extra[i], SIGKILL);
		waitpid(extra[i], NULL, 0);
	}
}

static void image_the_enforcer_cannot_guard_is_an_invalid_parameter_with_the_reason(void **state)
{
	struct fixture *f = *state;
	struct json_object *error, *p, *reason;

	f->mem.fail_add_lease = -EOPNOTSUPP;
	assert_int_equal(acquire(f, f->kids[0], false, &error), -EOPNOTSUPP);
	assert_string_equal(error_name(error), "io.lockwarden.InvalidParameter");
	assert_true(json_object_object_get_ex(error, "parameters", &p));
	assert_true(json_object_object_get_ex(p, "reason", &reason));
	assert_non_null(strstr(json_object_get_string(reason), "the memory enforcer cannot guard this image"));
	assert_non_null(strstr(json_object_get_string(reason), "refused on purpose"));
	json_object_put(error);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

static void holder_exit_removes_it_from_the_enforcer(void **state)
{
	struct fixture *f = *state;
	struct json_object *error;

	assert_int_equal(acquire(f, f->kids[0], false, &error), 0);
	assert_true(mem_has_lease(f));
	kill(f->kids[0], SIGKILL);
	waitpid(f->kids[0], NULL, 0);
	/* the pidfd watch fires, then the exit batch runs on a timer */
	for (int i = 0; i < 200 && mem_has_lease(f); i++)
		sd_event_run(f->d.event, 10000);
	assert_false(mem_has_lease(f));
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

/* Another image in the fixture's folder, leased for pid; 0 or the error. */
static int acquire_image(struct fixture *f, const char *name, pid_t pid, char path[96])
{
	struct lw_lease_holder h = holder_of(pid);
	struct lw_lease_entry *e = NULL;
	struct lw_acquire_request req = { .image = path, .holder = &h };
	struct lw_acquiring *pending;
	struct json_object *error = NULL;
	int r;

	snprintf(path, 96, "%s/%s", f->dir, name);
	req.fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(req.fd >= 0);
	r = lw_leasing_acquire(&f->d, &req, &e, &pending, &error);
	json_object_put(error);
	close(req.fd);
	return r;
}

/* An acquire of another image in the fixture's folder for kids[0], as
 * root (privileged) or a user; 0 or the error, whose reason goes to why. */
static int acquire_numbered(struct fixture *f, int n, bool privileged, char *why, size_t size)
{
	struct lw_lease_holder h = holder_of(f->kids[0]);
	struct lw_lease_entry *e = NULL;
	struct lw_acquiring *pending;
	struct json_object *error = NULL, *p, *reason;
	char path[96];
	struct lw_acquire_request req = { .image = path, .holder = &h, .privileged = privileged };
	int r;

	snprintf(path, sizeof(path), "%s/n%d.raw", f->dir, n);
	req.fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(req.fd >= 0);
	r = lw_leasing_acquire(&f->d, &req, &e, &pending, &error);
	if (error && json_object_object_get_ex(error, "parameters", &p) &&
	    json_object_object_get_ex(p, "reason", &reason))
		snprintf(why, size, "%s", json_object_get_string(reason));
	json_object_put(error);
	close(req.fd);
	return r;
}

/* Users together cannot fill the table: its last 64th (one image of 8
 * here) is root's and the admin group's. */
static void users_leave_the_last_of_the_table_to_root(void **state)
{
	struct fixture *f = *state;
	char why[256] = "";
	int n;

	assert_int_equal(lw_leasing_kept_for_root(&f->d), 1);
	for (n = 0; n < MEM_MAX - 1; n++)
		assert_int_equal(acquire_numbered(f, n, false, why, sizeof(why)), 0);
	assert_int_equal(acquire_numbered(f, n, false, why, sizeof(why)), -ENOSPC);
	assert_non_null(strstr(why, "kept for root"));
	assert_int_equal(acquire_numbered(f, n, true, why, sizeof(why)), 0);
}

/* Runs the loop until image is no longer leased, or a while has passed. */
static bool released_after_a_while(struct fixture *f, const char *image)
{
	for (int i = 0; i < 200 && lw_lease_by_image(f->d.leases, image); i++)
		sd_event_run(f->d.event, 10000);
	return !lw_lease_by_image(f->d.leases, image);
}

static int open_descriptors(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

/* An acquire of an image whose key stat told (manager.c): its O_PATH
 * descriptor, the key, and what the enforcer got; the lease released. */
static int keyed_acquire(struct fixture *f, struct lw_backend *backend)
{
	struct lw_lease_holder h = holder_of(f->kids[0]);
	struct lw_lease_entry *e = NULL;
	struct lw_acquiring *pending = NULL;
	struct json_object *error = NULL;
	struct lw_image_key key;
	struct lw_acquire_request req = { .image = f->image, .holder = &h, .key = &key };
	int before = (lw_proc_fd_dir(), open_descriptors());	/* reopens' folder: opened once, kept */

	f->d.backend = backend;
	req.fd = open(f->image, O_PATH | O_CLOEXEC);
	assert_true(req.fd >= 0);
	assert_int_equal(mem_key_of_fd(&f->mem.base, req.fd, &key), 0);
	assert_int_equal(lw_leasing_acquire(&f->d, &req, &e, &pending, &error), 0);
	close(req.fd);
	assert_non_null(e);
	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, NULL, NULL, NULL, &error), 0);
	assert_null(lw_lease_by_image(f->d.leases, f->image));
	assert_int_equal(open_descriptors(), before);	/* what grant opened, it closed */
	f->d.backend = f->nop;
	return f->mem.add_fd_flags;
}

/* The image is opened for read only where the enforcer needs it (the lock
 * is not the image), at grant: after the lease checks. */
static void keyed_acquire_opens_the_image_for_read_at_grant(void **state)
{
	struct fixture *f = *state;
	int flags = keyed_acquire(f, f->nop);

	assert_false(flags & O_PATH);
	assert_int_equal(flags & O_ACCMODE, O_RDONLY);
}

/* fcntl's lock on the image itself is what the enforcer gets: the image is
 * not opened for read at all. */
static void keyed_acquire_hands_the_enforcer_the_fcntl_lock(void **state)
{
	struct fixture *f = *state;
	struct lw_backend *fcntl_backend = NULL;
	int flags;

	assert_int_equal(lw_backend_open("fcntl", NULL, &fcntl_backend, NULL), 0);
	flags = keyed_acquire(f, fcntl_backend);
	lw_backend_close(fcntl_backend);
	assert_false(flags & O_PATH);
	assert_int_equal(flags & O_ACCMODE, O_RDWR);
}

static void holder_exit_releases_each_of_its_leases_and_no_other(void **state)
{
	struct fixture *f = *state;
	char a[96], b[96], c[96], other[96];

	assert_int_equal(acquire_image(f, "a.raw", f->kids[0], a), 0);
	assert_int_equal(acquire_image(f, "b.raw", f->kids[0], b), 0);
	assert_int_equal(acquire_image(f, "c.raw", f->kids[0], c), 0);
	assert_int_equal(acquire_image(f, "other.raw", f->kids[1], other), 0);
	kill(f->kids[0], SIGKILL);
	waitpid(f->kids[0], NULL, 0);
	assert_true(released_after_a_while(f, a));
	assert_true(released_after_a_while(f, b));
	assert_true(released_after_a_while(f, c));
	assert_non_null(lw_lease_by_image(f->d.leases, other));
	assert_int_equal(lw_lease_count(f->d.leases), 1);
}

/* The watch names the lease of a holder watched for one lease only; one
 * that held two and released the first must not be looked for there. */
static void holder_exit_releases_the_lease_left_after_it_released_its_first(void **state)
{
	struct fixture *f = *state;
	char first[96], second[96];
	struct json_object *error = NULL;

	assert_int_equal(acquire_image(f, "first.raw", f->kids[0], first), 0);
	assert_int_equal(acquire_image(f, "second.raw", f->kids[0], second), 0);
	assert_int_equal(lw_leasing_release(&f->d, lw_lease_by_image(f->d.leases, first), 0, LW_LEASE_RELEASE,
					    NULL, NULL, NULL, NULL, &error), 0);
	kill(f->kids[0], SIGKILL);
	waitpid(f->kids[0], NULL, 0);
	if (!released_after_a_while(f, second))
		fail_msg("expected %s released at its holder's exit, it is still leased", second);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

/* ---- a backend that answers later ---- */

/* How many leases a restarted daemon would find in the state. */
static unsigned int saved_leases(struct fixture *f)
{
	struct lw_lease_table *t;
	struct lw_lease_entry *e;
	struct lw_err err;
	unsigned int n;

	assert_int_equal(lw_lease_table_new(16, &t), 0);
	if (lw_state_load(f->dir, t, NULL, &err) < 0)
		fail_msg("expected the state to load, got: %s", err.msg);
	n = lw_lease_count(t);
	while ((e = lw_lease_first(t))) {
		lw_lease_table_remove(t, e);
		lw_lease_entry_free(e);
	}
	lw_lease_table_free(t);
	return n;
}

static void use_later_backend(struct fixture *f)
{
	f->d.backend = &f->later.base;
}

/* The backend answers result from the loop; run it until the answer is heard. */
static void backend_answers(struct fixture *f, int result, struct heard *heard)
{
	struct lw_backend_pending *p = f->later.waiting;

	assert_non_null(p);
	p->result = result;
	assert_int_equal(sd_event_add_defer(f->d.event, &p->answer, give_answer, p), 0);
	for (int i = 0; i < 100 && !heard->called; i++)
		sd_event_run(f->d.event, 10000);
	if (!heard->called)
		fail_msg("expected the acquire answered once the backend answered, it was not");
}

static const char *error_text(struct json_object *error)
{
	struct json_object *p, *v;

	return json_object_object_get_ex(error, "parameters", &p) &&
	       json_object_object_get_ex(p, "reason", &v) ? json_object_get_string(v) : "(none)";
}

static void named_lease_on_a_backend_without_them_is_refused_also_when_joining(void **state)
{
	struct fixture *f = *state;
	struct json_object *error;
	struct lw_lease l;

	assert_int_equal(acquire(f, f->kids[0], true, &error), 0);
	f->lease = "LS:vm1:/dev/sdb:1048576";
	assert_int_equal(acquire(f, f->kids[1], true, &error), -EINVAL);
	assert_non_null(strstr(error_text(error), "has no named leases"));
	json_object_put(error);
	mem_lease(f, &l);
	assert_int_equal(l.nr_holders, 1);
}

static void shared_join_naming_a_lease_is_refused_not_ignored(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;
	struct lw_lease l;

	use_later_backend(f);
	f->lease = "LS:vm1:/dev/sdb:1048576";
	assert_int_equal(acquire_for(f, f->kids[0], true, &heard, NULL, &error), -EINPROGRESS);
	backend_answers(f, 0, &heard);
	assert_int_equal(heard.result, 0);
	/* the join never reaches the backend: whatever lease it names is not checked */
	f->lease = "LS:other:/dev/sdc:0";
	assert_int_equal(acquire(f, f->kids[1], true, &error), -EINVAL);
	assert_non_null(strstr(error_text(error), "without lease="));
	json_object_put(error);
	mem_lease(f, &l);
	assert_int_equal(l.nr_holders, 1);
	/* its holder asking again is no join: answered as before */
	f->lease = "LS:vm1:/dev/sdb:1048576";
	assert_int_equal(acquire(f, f->kids[0], true, &error), 0);
}

static void pending_acquire_reaches_nothing_until_the_backend_grants(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;
	struct lw_acquiring *pending = NULL;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, &pending, &error), -EINPROGRESS);
	assert_non_null(pending);
	assert_null(error);
	assert_false(heard.called);
	assert_int_equal(f->mem.adds, 0);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_int_equal(f->d.nr_acquiring, 1);
	assert_int_equal(saved_leases(f), 0);	/* nothing committed */

	backend_answers(f, 0, &heard);
	assert_int_equal(heard.result, 0);
	assert_non_null(heard.e);
	assert_ptr_equal(lw_lease_by_image(f->d.leases, f->image), heard.e);
	assert_string_equal(heard.e->lock_id, "later-lock");
	assert_true(mem_has_lease(f));
	assert_int_equal(f->d.nr_acquiring, 0);
	assert_int_equal(saved_leases(f), 1);	/* committed at the grant */
}

static void second_acquire_of_a_pending_image_is_lease_held_pending(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error, *p, *v;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], true, &heard, NULL, &error), -EINPROGRESS);
	/* whoever asks, shared or not: one acquire of an image at a time */
	assert_int_equal(acquire_for(f, f->kids[1], true, NULL, NULL, &error), -EAGAIN);
	assert_string_equal(error_name(error), "io.lockwarden.LeaseHeld");
	assert_true(json_object_object_get_ex(error, "parameters", &p));
	if (!json_object_object_get_ex(p, "pending", &v) || !json_object_get_boolean(v))
		fail_msg("expected \"pending\": true in %s", json_object_to_json_string(error));
	json_object_put(error);
	assert_int_equal(f->later.acquires, 1);
	assert_int_equal(f->mem.adds, 0);
}

static void cancelled_pending_acquire_leaves_nothing_and_is_never_answered(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;
	struct lw_acquiring *pending = NULL;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, &pending, &error), -EINPROGRESS);
	lw_acquiring_cancel(pending);
	assert_int_equal(f->later.cancels, 1);
	assert_int_equal(f->d.nr_acquiring, 0);
	assert_null(lw_acquiring_first(&f->d));
	for (int i = 0; i < 10; i++)
		sd_event_run(f->d.event, 1000);
	assert_false(heard.called);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_false(mem_has_lease(f));
	/* and the image may be asked for again */
	assert_int_equal(acquire_for(f, f->kids[1], false, &heard, NULL, &error), -EINPROGRESS);
}

static void backend_refusing_later_answers_lease_held_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, NULL, &error), -EINPROGRESS);
	backend_answers(f, -EAGAIN, &heard);
	assert_int_equal(heard.result, -EAGAIN);
	assert_null(heard.e);
	assert_string_equal(error_name(heard.error), "io.lockwarden.LeaseHeld");
	json_object_put(heard.error);
	assert_int_equal(f->d.nr_acquiring, 0);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_int_equal(f->mem.adds, 0);
}

static void holder_exit_while_pending_cancels_and_answers(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, NULL, &error), -EINPROGRESS);
	kill(f->kids[0], SIGKILL);
	waitpid(f->kids[0], NULL, 0);
	for (int i = 0; i < 200 && !heard.called; i++)
		sd_event_run(f->d.event, 10000);
	if (!heard.called)
		fail_msg("expected the pending acquire answered when its holder exited, it was not");
	assert_string_equal(error_name(heard.error), "io.lockwarden.InvalidParameter");
	json_object_put(heard.error);
	assert_int_equal(f->later.cancels, 1);
	assert_int_equal(f->d.nr_acquiring, 0);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

static void enforcer_refusing_at_the_grant_releases_the_late_lock(void **state)
{
	struct fixture *f = *state;
	struct heard heard = { 0 };
	struct json_object *error;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, NULL, &error), -EINPROGRESS);
	/* a writer opened the image while the backend was deciding */
	f->mem.fail_add_lease = -EBUSY;
	backend_answers(f, 0, &heard);
	assert_int_equal(heard.result, -EBUSY);
	assert_string_equal(error_name(heard.error), "io.lockwarden.ImageBusy");
	json_object_put(heard.error);
	assert_int_equal(f->later.releases, 1);
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_false(mem_has_lease(f));
}

/* ---- releases the backend answers later (paxos) ---- */

struct released {
	bool called;
	int result;
};

static void on_released(void *ctx, int result, const struct lw_err *err)
{
	struct released *r = ctx;

	(void)err;
	assert_false(r->called);	/* once */
	r->called = true;
	r->result = result;
}

/* The backend's engine let go (result 0) or failed to. */
static void backend_lets_go(struct fixture *f, int result)
{
	lw_backend_released_fn released = f->later.released;
	struct lw_err err = { { 0 } };

	assert_non_null(released);
	f->later.released = NULL;
	if (result < 0)
		lw_err_set(&err, -result, "the agent did not release in time and was killed");
	released(f->later.released_ctx, result, &err);
}

/* A granted exclusive lease of the later backend, held by kids[0]. */
static struct lw_lease_entry *granted_later(struct fixture *f)
{
	struct heard heard = { 0 };
	struct json_object *error;

	use_later_backend(f);
	assert_int_equal(acquire_for(f, f->kids[0], false, &heard, NULL, &error), -EINPROGRESS);
	backend_answers(f, 0, &heard);
	assert_int_equal(heard.result, 0);
	f->later.release_later = true;
	return heard.e;
}

static void release_is_answered_once_the_backend_let_go_and_the_image_waits_meanwhile(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_entry *e = granted_later(f);
	struct released released = { 0 };
	struct lw_releasing *pending = NULL;
	struct json_object *error = NULL, *p, *v;

	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, on_released, &released,
					    &pending, &error), -EINPROGRESS);
	assert_non_null(pending);
	assert_null(error);
	assert_false(released.called);
	/* gone everywhere but in the backend's engine */
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_false(mem_has_lease(f));
	assert_int_equal(saved_leases(f), 0);
	/* a new acquire meanwhile is refused, whoever asks, and says why */
	assert_int_equal(acquire(f, f->kids[1], false, &error), -EAGAIN);
	assert_string_equal(error_name(error), "io.lockwarden.LeaseHeld");
	assert_true(json_object_object_get_ex(error, "parameters", &p));
	if (!json_object_object_get_ex(p, "releasing", &v) || !json_object_get_boolean(v))
		fail_msg("expected \"releasing\": true in %s", json_object_to_json_string(error));
	json_object_put(error);
	assert_int_equal(f->later.acquires, 1);

	backend_lets_go(f, 0);
	assert_true(released.called);
	assert_int_equal(released.result, 0);
	assert_true(LIST_EMPTY(&f->d.releasing));
	/* and the image may be asked for again */
	assert_int_equal(acquire_for(f, f->kids[1], false, &(struct heard){ 0 }, NULL, &error), -EINPROGRESS);
}

static void release_whose_caller_went_away_is_finished_but_not_answered(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_entry *e = granted_later(f);
	struct released released = { 0 };
	struct lw_releasing *pending = NULL;
	struct json_object *error = NULL;

	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, on_released, &released,
					    &pending, &error), -EINPROGRESS);
	lw_releasing_forget_caller(pending);
	backend_lets_go(f, 0);
	assert_false(released.called);
	assert_true(LIST_EMPTY(&f->d.releasing));
}

static void release_the_backend_failed_is_answered_with_its_error_and_ends_the_lease(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_entry *e = granted_later(f);
	struct released released = { 0 };
	struct lw_releasing *pending = NULL;
	struct json_object *error = NULL;

	assert_int_equal(lw_leasing_release(&f->d, e, 0, LW_LEASE_RELEASE, NULL, on_released, &released,
					    &pending, &error), -EINPROGRESS);
	backend_lets_go(f, -ETIMEDOUT);
	assert_true(released.called);
	assert_int_equal(released.result, -ETIMEDOUT);
	assert_true(LIST_EMPTY(&f->d.releasing));
	assert_int_equal(lw_lease_count(f->d.leases), 0);
}

static void dead_holder_of_a_lease_the_backend_lets_go_later_frees_it_once_let_go(void **state)
{
	struct fixture *f = *state;
	struct json_object *error = NULL;

	granted_later(f);
	kill(f->kids[0], SIGKILL);
	waitpid(f->kids[0], NULL, 0);
	for (int i = 0; i < 200 && !f->later.released; i++)
		sd_event_run(f->d.event, 10000);
	if (!f->later.released)
		fail_msg("expected the dead holder's lease handed to the backend to let go, it was not");
	assert_int_equal(lw_lease_count(f->d.leases), 0);
	assert_int_equal(acquire(f, f->kids[1], false, &error), -EAGAIN);
	json_object_put(error);
	backend_lets_go(f, 0);
	assert_true(LIST_EMPTY(&f->d.releasing));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(acquire_enforces_an_exclusive_lease_for_its_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(second_exclusive_acquire_is_refused_and_leaves_the_enforcer_alone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(shared_join_adds_the_holder_in_the_enforcer, setup, teardown),
		cmocka_unit_test_setup_teardown(another_file_under_a_leased_path_is_not_its_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(users_leave_the_last_of_the_table_to_root, setup, teardown),
		cmocka_unit_test_setup_teardown(a_shared_lease_full_of_holders_says_so, setup, teardown),
		cmocka_unit_test_setup_teardown(release_of_one_shared_holder_keeps_the_lease_and_the_last_ends_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(enforcer_refusing_a_busy_image_rolls_back_and_names_the_writer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(image_the_enforcer_cannot_guard_is_an_invalid_parameter_with_the_reason,
						setup, teardown),
		cmocka_unit_test_setup_teardown(holder_exit_removes_it_from_the_enforcer, setup, teardown),
		cmocka_unit_test_setup_teardown(keyed_acquire_opens_the_image_for_read_at_grant, setup, teardown),
		cmocka_unit_test_setup_teardown(keyed_acquire_hands_the_enforcer_the_fcntl_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(holder_exit_releases_each_of_its_leases_and_no_other, setup, teardown),
		cmocka_unit_test_setup_teardown(holder_exit_releases_the_lease_left_after_it_released_its_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pending_acquire_reaches_nothing_until_the_backend_grants,
						setup, teardown),
		cmocka_unit_test_setup_teardown(second_acquire_of_a_pending_image_is_lease_held_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(named_lease_on_a_backend_without_them_is_refused_also_when_joining,
						setup, teardown),
		cmocka_unit_test_setup_teardown(shared_join_naming_a_lease_is_refused_not_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(cancelled_pending_acquire_leaves_nothing_and_is_never_answered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(backend_refusing_later_answers_lease_held_and_leaves_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(holder_exit_while_pending_cancels_and_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(enforcer_refusing_at_the_grant_releases_the_late_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(
			release_is_answered_once_the_backend_let_go_and_the_image_waits_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(release_whose_caller_went_away_is_finished_but_not_answered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			release_the_backend_failed_is_answered_with_its_error_and_ends_the_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(
			dead_holder_of_a_lease_the_backend_lets_go_later_frees_it_once_let_go, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
