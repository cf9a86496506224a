// SPDX-License-Identifier: LGPL-2.1-or-later
/* What keeps the daemon small at 65,536 leases without changing a byte it
 * writes: the snapshot, written lease by lease, is the text json-c makes of
 * the whole table; a backend lock's id is allocated to its length, with the
 * old limit kept, and an fcntl lock named by its image shares the lease's
 * path; a cgroup holder's path is one counted copy a distinct cgroup; a
 * process's watch is one for all its leases; a lease with its watched
 * holder and its lock costs at most LEASE_BYTES_MAX at 100-character
 * paths; and everything a lease owns is freed with it (ASan's leak check
 * fails the run otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lease_tree.h"

#include <json-c/json.h>
#include <systemd/sd-event.h>
#if defined(__SANITIZE_ADDRESS__)
/* ASan's runtime (sanitizer/allocator_interface.h, not installed here) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "backend.h"
#include "common/holder.h"
#include "daemon/holders.h"
#include "daemon/lease.h"
#include "daemon/lease_json.h"
#include "daemon/state.h"

struct fixture {
	char dir[64];
	struct lw_lease_table *table;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/dev/shm/lw-test-lease-memory-XXXXXX");
	/* buckets made at start, as the daemon's (max_images): none grow in a measure */
	if (!mkdtemp(f->dir) || lw_lease_table_new(1024, &f->table) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	lw_lease_table_free(f->table);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A lease of image with n holders (process ones, and a cgroup last if n > 1). */
static struct lw_lease_entry *add_lease(struct lw_lease_table *t, const char *image, uint64_t ino, unsigned int n)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	assert_non_null(e);
	assert_int_equal(lw_lease_set_image(e, image), 0);
	assert_int_equal(lw_lease_set_lock_id(e, image), 0);
	e->key.dev = 0x803;
	e->key.ino = ino;
	e->mode = n > 1 ? LW_LEASE_SHARED : LW_LEASE_EXCLUSIVE;
	snprintf(e->backend, sizeof(e->backend), "fcntl");
	e->acquired_usec = 1764460000000000ull + ino;
	for (unsigned int i = 0; i < n; i++) {
		struct lw_lease_holder *h = i ? lw_lease_new_holder(e) : &e->holders[0];

		assert_non_null(h);
		if (i == 0)
			e->nr_holders = 1;
		h->uid = 1000 + i;
		if (i && i == n - 1) {
			h->id.kind = LW_HOLDER_CGROUP;
			h->id.cgroup_id = 4242 + ino;
			char cgroup[LW_PATH_MAX];

			snprintf(cgroup, sizeof(cgroup), "/sys/fs/cgroup/machine.slice/vm-%llu/\"quoted\"",
				 (unsigned long long)ino);
			assert_int_equal(lw_cgroup_path_intern(cgroup, &h->cgroup), 0);
		} else {
			h->id.kind = LW_HOLDER_PROCESS;
			h->id.pid = 100 + i;
			h->id.start_time = 987654321ull + i;
			snprintf(h->comm, sizeof(h->comm), "qemu-%u", i);
		}
	}
	lw_lease_table_insert(t, e);
	return e;
}

/* json-c's text of the whole table as one tree: what the snapshot was
 * before it was written lease by lease. */
static char *tree_text(struct lw_lease_table *t, const char *id, const char *boot)
{
	struct json_object *root = json_object_new_object(), *leases = json_object_new_array();
	char *text;

	json_object_object_add(root, "version", json_object_new_int(2));
	json_object_object_add(root, "id", json_object_new_string(id));
	json_object_object_add(root, "boot", json_object_new_string(boot));
	for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
		json_object_array_add(leases, lease_tree(e));
	json_object_object_add(root, "leases", leases);
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;

	assert_non_null(f);
	n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	assert_true(n > 0);
	return text;
}

/* A field of the snapshot's head, as written ("id":"..."). */
static void snapshot_field(const char *text, const char *name, char value[64])
{
	struct json_object *o = json_tokener_parse(text), *v;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, name, &v));
	snprintf(value, 64, "%s", json_object_get_string(v));
	json_object_put(o);
}

static void check_snapshot_matches_tree(struct fixture *f)
{
	struct lw_err err = { { 0 } };
	char path[128], id[64], boot[64], *got, *want;

	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_FILE);
	got = read_all(path);
	snapshot_field(got, "id", id);
	snapshot_field(got, "boot", boot);
	want = tree_text(f->table, id, boot);
	if (strcmp(got, want) != 0)
		fail_msg("snapshot differs from json-c's whole-tree text:\nexpected %.300s...\ngot      %.300s...",
			 want, got);
	free(got);
	free(want);
}

static void snapshot_of_an_empty_table_is_the_tree_text(void **state)
{
	check_snapshot_matches_tree(*state);
}

static void snapshot_of_one_lease_is_the_tree_text(void **state)
{
	struct fixture *f = *state;

	add_lease(f->table, "/images/one.qcow2", 1, 1);
	check_snapshot_matches_tree(f);
}

/* More than the writer's 64 KiB buffer, shared leases with cgroup holders
 * and escaped characters among them. */
static void snapshot_of_thousands_of_leases_is_the_tree_text(void **state)
{
	struct fixture *f = *state;
	char image[PATH_MAX];

	for (unsigned int i = 0; i < 3000; i++) {
		snprintf(image, sizeof(image), "/var/lib/libvirt/images/guest-%05u/disk \"%u\"\\/.qcow2", i, i % 7);
		add_lease(f->table, image, 10 + i, 1 + i % LW_MAX_HOLDERS);
	}
	check_snapshot_matches_tree(f);
}

/* The longest lease there is: a path of PATH_MAX - 1 characters and
 * eight holders, between short ones. */
static void snapshot_of_the_longest_lease_is_the_tree_text(void **state)
{
	struct fixture *f = *state;
	char image[PATH_MAX];

	memset(image, 'a', sizeof(image));
	image[0] = '/';
	image[PATH_MAX - 1] = '\0';
	add_lease(f->table, "/images/before.raw", 1, 1);
	add_lease(f->table, image, 2, LW_MAX_HOLDERS);
	add_lease(f->table, "/images/after.raw", 3, 2);
	check_snapshot_matches_tree(f);
}

static void snapshot_loads_back_every_lease(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_table *loaded;
	struct lw_err err = { { 0 } };
	char image[64];

	for (unsigned int i = 0; i < 500; i++) {
		snprintf(image, sizeof(image), "/images/vm%u.raw", i);
		add_lease(f->table, image, 10 + i, 1 + i % 3);
	}
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	assert_int_equal(lw_lease_table_new(64, &loaded), 0);
	if (lw_state_load(f->dir, loaded, NULL, &err) < 0)
		fail_msg("expected the snapshot to load, got: %s", err.msg);
	assert_int_equal(lw_lease_count(loaded), 500);
	for (struct lw_lease_entry *e = lw_lease_first(f->table); e; e = e->next) {
		struct lw_lease_entry *l = lw_lease_by_image(loaded, e->image);

		assert_non_null(l);
		assert_int_equal(l->nr_holders, e->nr_holders);
		assert_string_equal(l->lock_id, e->lock_id);
		for (unsigned int i = 0; i < e->nr_holders; i++)
			assert_ptr_equal(l->holders[i].cgroup, e->holders[i].cgroup);	/* one copy of each path */
	}
	lw_lease_table_free(loaded);
}

/* A table made with few buckets (the state's, while it is read) grows:
 * every lease stays found by image and by key, in its order of arrival,
 * through growth and removals. */
static void table_made_small_grows_and_finds_every_lease(void **state)
{
	struct lw_lease_table *t;
	struct lw_lease_entry *e;
	char image[64];
	unsigned int n = 0;

	(void)state;
	assert_int_equal(lw_lease_table_new(4, &t), 0);
	for (unsigned int i = 0; i < 5000; i++) {
		snprintf(image, sizeof(image), "/images/vm%u.raw", i);
		add_lease(t, image, 10 + i, 1);
	}
	assert_int_equal(lw_lease_count(t), 5000);
	for (e = lw_lease_first(t); e; e = e->next, n++) {
		snprintf(image, sizeof(image), "/images/vm%u.raw", n);
		assert_string_equal(e->image, image);
		assert_ptr_equal(lw_lease_by_image(t, image), e);
		assert_ptr_equal(lw_lease_by_key(t, &(struct lw_image_key){ .dev = 0x803, .ino = 10 + n }), e);
	}
	for (unsigned int i = 0; i < 5000; i += 2) {
		snprintf(image, sizeof(image), "/images/vm%u.raw", i);
		e = lw_lease_by_image(t, image);
		assert_non_null(e);
		lw_lease_table_remove(t, e);
		lw_lease_entry_free(e);
	}
	assert_int_equal(lw_lease_count(t), 2500);
	for (unsigned int i = 0; i < 5000; i++) {
		snprintf(image, sizeof(image), "/images/vm%u.raw", i);
		e = lw_lease_by_image(t, image);
		if (i % 2 == 0) {
			assert_null(e);
			assert_null(lw_lease_by_key(t, &(struct lw_image_key){ .dev = 0x803, .ino = 10 + i }));
		} else {
			assert_non_null(e);
			assert_ptr_equal(lw_lease_by_key(t, &e->key), e);
		}
	}
	lw_lease_table_free(t);
}

static void lock_id_is_copied_to_its_length(void **state)
{
	struct lw_backend_lock lock = { .keep_fd = -1 };
	char id[] = "/images/vm1.raw";

	(void)state;
	assert_int_equal(lw_backend_lock_set_id(&lock, id), 0);
	id[1] = 'X';	/* a copy, not the caller's buffer */
	assert_string_equal(lw_backend_lock_id(&lock), "/images/vm1.raw");
	assert_int_equal(lw_backend_lock_set_id(&lock, "/images/vm2.raw"), 0);	/* the old one freed */
	assert_string_equal(lw_backend_lock_id(&lock), "/images/vm2.raw");
	lw_backend_lock_clear(&lock);
	assert_null(lock.id);
	assert_string_equal(lw_backend_lock_id(&lock), "");
}

static void lock_id_empty_is_none(void **state)
{
	struct lw_backend_lock lock = { .keep_fd = -1 };

	(void)state;
	assert_int_equal(lw_backend_lock_set_id(&lock, "x"), 0);
	assert_int_equal(lw_backend_lock_set_id(&lock, ""), 0);
	assert_null(lock.id);
	assert_int_equal(lw_backend_lock_set_id(&lock, NULL), 0);
	assert_string_equal(lw_backend_lock_id(&lock), "");
	assert_string_equal(lw_backend_lock_id(NULL), "");
}

/* The limit the state file accepts is kept: one character under it is an
 * id, the limit itself is refused and leaves the id it had. */
static void lock_id_at_the_limit_is_refused_and_keeps_the_old(void **state)
{
	struct lw_backend_lock lock = { .keep_fd = -1 };
	char id[LW_BACKEND_LOCK_ID_MAX + 1];

	(void)state;
	memset(id, 'i', sizeof(id));
	id[LW_BACKEND_LOCK_ID_MAX - 1] = '\0';
	assert_int_equal(lw_backend_lock_set_id(&lock, id), 0);
	assert_int_equal(strlen(lw_backend_lock_id(&lock)), LW_BACKEND_LOCK_ID_MAX - 1);
	id[LW_BACKEND_LOCK_ID_MAX - 1] = 'i';
	id[LW_BACKEND_LOCK_ID_MAX] = '\0';
	assert_int_equal(lw_backend_lock_set_id(&lock, id), -ENAMETOOLONG);
	assert_int_equal(strlen(lw_backend_lock_id(&lock)), LW_BACKEND_LOCK_ID_MAX - 1);
	lw_backend_lock_clear(&lock);
}

/* fcntl names its lock by the image: the entry keeps one copy of the path. */
static void lock_id_equal_to_the_image_is_not_copied(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct json_object *o, *v;

	(void)state;
	assert_int_equal(lw_lease_set_image(e, "/images/vm1.raw"), 0);
	assert_int_equal(lw_lease_set_lock_id(e, "/images/vm1.raw"), 0);
	assert_ptr_equal(e->lock_id, e->image);
	o = lease_tree(e);
	assert_true(json_object_object_get_ex(o, "lock", &v));
	assert_string_equal(json_object_get_string(v), "/images/vm1.raw");
	json_object_put(o);
	lw_lease_entry_free(e);
}

/* A new image path leaves the lock's name as it was. */
static void new_image_keeps_the_lock_name(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	(void)state;
	assert_int_equal(lw_lease_set_image(e, "/images/old.raw"), 0);
	assert_int_equal(lw_lease_set_lock_id(e, "/images/old.raw"), 0);
	assert_int_equal(lw_lease_set_image(e, "/images/new.raw"), 0);
	assert_string_equal(e->image, "/images/new.raw");
	assert_string_equal(e->lock_id, "/images/old.raw");
	assert_int_equal(lw_lease_set_lock_id(e, e->lock_id), 0);	/* set from itself */
	assert_string_equal(e->lock_id, "/images/old.raw");
	assert_int_equal(lw_lease_set_lock_id(e, "/images/new.raw"), 0);
	assert_ptr_equal(e->lock_id, e->image);
	assert_int_equal(lw_lease_set_lock_id(e, ""), 0);
	assert_null(e->lock_id);
	lw_lease_entry_free(e);
}

/* Other names, and a name set before the image, are copies. */
static void lock_id_other_than_the_image_is_a_copy(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	char id[] = "agent=7 start=1 exclusive LS:R:/dev/sdb:0";

	(void)state;
	assert_int_equal(lw_lease_set_lock_id(e, "/images/vm1.raw"), 0);	/* no image yet */
	assert_int_equal(lw_lease_set_image(e, "/images/vm1.raw"), 0);
	assert_ptr_not_equal(e->lock_id, e->image);
	assert_string_equal(e->lock_id, "/images/vm1.raw");
	assert_int_equal(lw_lease_set_lock_id(e, id), 0);
	id[0] = 'X';
	assert_string_equal(e->lock_id, "agent=7 start=1 exclusive LS:R:/dev/sdb:0");
	lw_lease_entry_free(e);
}

/* Many leases with many holders and every allocated field, freed with the
 * table: ASan reports any block left. */
static void table_free_frees_every_lease_and_holder(void **state)
{
	struct lw_lease_table *t;
	char image[64];

	(void)state;
	assert_int_equal(lw_lease_table_new(8, &t), 0);
	for (unsigned int i = 0; i < 2000; i++) {
		snprintf(image, sizeof(image), "/images/many-%u.raw", i);
		add_lease(t, image, i + 1, 1 + i % LW_MAX_HOLDERS);
	}
	assert_int_equal(lw_lease_count(t), 2000);
	lw_lease_table_free(t);
}

/* Bytes the program has allocated now: what it asked for under ASan, the
 * heap's blocks in use otherwise. */
static size_t allocated_now(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* A lease with a 100-character path, its process holder watched, its fcntl
 * lock held: the entry (184 bytes, the holder inside), the path (101) and
 * the lock (24) came to 309 bytes asked (336 in heap blocks); the process's
 * watch is shared by all its leases. Before the holder's cgroup path was
 * interned, the watch shared and the lock's name the lease's path, they
 * were 831 (896). */
#if defined(__SANITIZE_ADDRESS__)
#define LEASE_BYTES_MAX 320
#else
#define LEASE_BYTES_MAX 352
#endif
#define MEASURED_LEASES 256

static void exit_ignored(const struct lw_image_key *key, const struct lw_holder *holder, void *ctx)
{
	(void)key;
	(void)holder;
	(void)ctx;
}

static struct lw_lease_entry *held_lease(struct fixture *f, struct lw_backend *be, sd_event *event, unsigned int i)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct lw_backend_pending *pending = NULL;
	struct lw_backend_lock *lock = NULL;
	struct lw_err err = { { 0 } };
	char image[128];
	int len, fd;

	assert_non_null(e);
	len = snprintf(image, sizeof(image), "%s/img%06u", f->dir, i);
	while (len < 100)
		image[len++] = 'x';
	image[len] = '\0';
	fd = open(image, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(lw_lease_set_image(e, image), 0);
	e->key.dev = 0x803;
	e->key.ino = 1000 + i;
	snprintf(e->backend, sizeof(e->backend), "fcntl");
	assert_int_equal(lw_holder_of_pid(getpid(), &e->holders[0].id), 0);
	e->nr_holders = 1;
	struct lw_backend_request req = { .image = e->image, .image_fd = fd };

	if (lw_backend_acquire(be, &req, NULL, NULL, &lock, &pending, &err) < 0)
		fail_msg("expected the fcntl lock of %s, got: %s", image, err.msg);
	close(fd);
	/* as the daemon grants it (leasing.c) */
	e->lock = lock;
	assert_int_equal(lw_lease_set_lock_id(e, lw_backend_lock_id(lock)), 0);
	lw_lease_table_insert(f->table, e);
	assert_int_equal(lw_holder_watch(event, e, &e->holders[0], exit_ignored, NULL), 0);
	return e;
}

static void lease_with_its_watch_and_lock_costs_at_most_lease_bytes_max(void **state)
{
	struct fixture *f = *state;
	struct lw_backend_setup setup = { 0 };
	struct lw_err err = { { 0 } };
	struct lw_backend *be;
	sd_event *event;
	size_t before, per_lease;

	assert_int_equal(sd_event_new(&event), 0);
	setup.event = event;
	if (lw_backend_open("fcntl", &setup, &be, &err) < 0)
		fail_msg("expected the fcntl backend to open, got: %s", err.msg);
	held_lease(f, be, event, 0);	/* the process's shared watch, outside the measure */
	before = allocated_now();
	for (unsigned int i = 1; i <= MEASURED_LEASES; i++)
		held_lease(f, be, event, i);
	per_lease = (allocated_now() - before) / MEASURED_LEASES;
	for (struct lw_lease_entry *e = lw_lease_first(f->table); e; e = e->next) {
		assert_ptr_equal(lw_backend_lock_id(e->lock), e->image);	/* one copy of the path */
		lw_holder_unwatch(&e->holders[0]);
		assert_int_equal(lw_backend_release(be, e->lock, NULL, NULL, &err), 0);
		e->lock = NULL;
	}
	lw_backend_close(be);
	sd_event_unref(event);
	print_message("a lease costs %zu bytes (at most %d)\n", per_lease, LEASE_BYTES_MAX);
	if (per_lease > LEASE_BYTES_MAX)
		fail_msg("expected a lease to cost at most %d bytes, got %zu", LEASE_BYTES_MAX, per_lease);
}

static void cgroup_path_is_one_copy_for_all_its_holders(void **state)
{
	struct lw_lease_table *t;
	char image[64];

	(void)state;
	assert_int_equal(lw_lease_table_new(8, &t), 0);
	for (unsigned int i = 0; i < 3; i++) {
		struct lw_lease_entry *e = lw_lease_entry_new();

		snprintf(image, sizeof(image), "/images/disk%u.raw", i);
		assert_int_equal(lw_lease_set_image(e, image), 0);
		e->key.ino = i + 1;
		e->holders[0].id.kind = LW_HOLDER_CGROUP;
		e->holders[0].id.cgroup_id = 77;
		e->nr_holders = 1;
		assert_int_equal(lw_cgroup_path_intern("/sys/fs/cgroup/machine.slice/vm1.scope", &e->holders[0].cgroup),
				 0);
		lw_lease_table_insert(t, e);
	}
	assert_int_equal(lw_cgroup_path_count(), 1);
	assert_ptr_equal(lw_lease_first(t)->holders[0].cgroup, lw_lease_first(t)->next->holders[0].cgroup);
	assert_ptr_equal(lw_lease_first(t)->holders[0].cgroup, lw_lease_first(t)->next->next->holders[0].cgroup);
	lw_lease_table_free(t);
	assert_int_equal(lw_cgroup_path_count(), 0);
}

/* The limit the holder's buffer had: LW_PATH_MAX - 1 characters. */
static void cgroup_path_at_lw_path_max_is_refused(void **state)
{
	char path[LW_PATH_MAX + 1];
	const char *got = "untouched";

	(void)state;
	memset(path, 'c', sizeof(path));
	path[0] = '/';
	path[LW_PATH_MAX - 1] = '\0';
	assert_int_equal(lw_cgroup_path_intern(path, &got), 0);
	assert_int_equal(strlen(got), LW_PATH_MAX - 1);
	lw_cgroup_path_put(got);
	path[LW_PATH_MAX - 1] = 'c';
	path[LW_PATH_MAX] = '\0';
	assert_int_equal(lw_cgroup_path_intern(path, &got), -ENAMETOOLONG);
	assert_null(got);
	assert_int_equal(lw_cgroup_path_intern("", &got), 0);	/* none: a process holder's */
	assert_null(got);
	assert_int_equal(lw_cgroup_path_count(), 0);
}

/* A holder copied out of its lease (a release's audit record) holds its
 * own reference: the path outlives the slot it came from (ASan would
 * report a use after free) and goes with the last reference. */
static void holder_kept_past_its_slot_keeps_its_cgroup_path(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct lw_lease_holder *h, gone;

	(void)state;
	assert_int_equal(lw_lease_set_image(e, "/images/shared.raw"), 0);
	e->mode = LW_LEASE_SHARED;
	e->holders[0].id.kind = LW_HOLDER_PROCESS;
	e->holders[0].id.pid = 100;
	e->nr_holders = 1;
	h = lw_lease_new_holder(e);
	assert_non_null(h);
	h->id.kind = LW_HOLDER_CGROUP;
	h->id.cgroup_id = 42;
	assert_int_equal(lw_cgroup_path_intern("/sys/fs/cgroup/machine.slice/vm2.scope", &h->cgroup), 0);
	gone = e->holders[1];
	lw_lease_holder_hold(&gone);
	lw_lease_drop_holder(e, 1);
	assert_int_equal(e->nr_holders, 1);
	assert_null(e->holders[0].cgroup);
	assert_string_equal(gone.cgroup, "/sys/fs/cgroup/machine.slice/vm2.scope");
	/* and back into a slot of its own, the copy's reference given back */
	h = lw_lease_new_holder(e);
	lw_lease_holder_copy(h, &gone);
	lw_lease_holder_put(&gone);
	assert_string_equal(lw_lease_holder_cgroup(&e->holders[1]), "/sys/fs/cgroup/machine.slice/vm2.scope");
	assert_string_equal(lw_lease_holder_cgroup(&e->holders[0]), "");
	assert_int_equal(e->holders[1].pidfd, -1);
	lw_lease_entry_free(e);
	assert_int_equal(lw_cgroup_path_count(), 0);
}

/* The lease's new path (never once it holds a lock, but if ever) leaves the
 * lock a copy of its own name, not the freed path; clearing a shared name
 * frees nothing (ASan would report either). */
static void lock_sharing_the_image_keeps_its_name_when_the_image_changes(void **state)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct lw_backend_lock lock = { .keep_fd = -1 };

	(void)state;
	assert_int_equal(lw_lease_set_image(e, "/images/vm1.raw"), 0);
	assert_int_equal(lw_backend_lock_set_id(&lock, "/images/vm1.raw"), 0);
	e->lock = &lock;
	assert_int_equal(lw_lease_set_lock_id(e, lw_backend_lock_id(&lock)), 0);
	assert_ptr_equal(lw_backend_lock_id(&lock), e->image);
	assert_int_equal(lw_lease_set_image(e, "/images/vm1-renamed.raw"), 0);
	assert_ptr_not_equal(lw_backend_lock_id(&lock), e->image);
	assert_ptr_not_equal(lw_backend_lock_id(&lock), e->lock_id);
	assert_string_equal(lw_backend_lock_id(&lock), "/images/vm1.raw");
	assert_string_equal(e->lock_id, "/images/vm1.raw");
	lw_backend_lock_clear(&lock);
	/* shared again, then cleared: the lease's path stays */
	assert_int_equal(lw_backend_lock_set_id(&lock, "/images/vm1-renamed.raw"), 0);
	assert_int_equal(lw_lease_set_lock_id(e, lw_backend_lock_id(&lock)), 0);
	assert_ptr_equal(lw_backend_lock_id(&lock), e->image);
	lw_backend_lock_clear(&lock);
	assert_string_equal(e->image, "/images/vm1-renamed.raw");
	e->lock = NULL;
	lw_lease_entry_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(snapshot_of_an_empty_table_is_the_tree_text, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_of_one_lease_is_the_tree_text, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_of_thousands_of_leases_is_the_tree_text, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_of_the_longest_lease_is_the_tree_text, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_loads_back_every_lease, setup, teardown),
		cmocka_unit_test(table_made_small_grows_and_finds_every_lease),
		cmocka_unit_test(lock_id_is_copied_to_its_length),
		cmocka_unit_test(lock_id_empty_is_none),
		cmocka_unit_test(lock_id_at_the_limit_is_refused_and_keeps_the_old),
		cmocka_unit_test(lock_id_equal_to_the_image_is_not_copied),
		cmocka_unit_test(new_image_keeps_the_lock_name),
		cmocka_unit_test(lock_id_other_than_the_image_is_a_copy),
		cmocka_unit_test(table_free_frees_every_lease_and_holder),
		cmocka_unit_test_setup_teardown(lease_with_its_watch_and_lock_costs_at_most_lease_bytes_max, setup,
						teardown),
		cmocka_unit_test(cgroup_path_is_one_copy_for_all_its_holders),
		cmocka_unit_test(cgroup_path_at_lw_path_max_is_refused),
		cmocka_unit_test(holder_kept_past_its_slot_keeps_its_cgroup_path),
		cmocka_unit_test(lock_sharing_the_image_keeps_its_name_when_the_image_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
