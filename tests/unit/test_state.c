// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state: every lease field survives a save and load, a save is atomic
 * (a reader sees the old state or the new, never a mix or nothing), and the
 * journal replays what was committed, no more, no less. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "enforcer/enforcer.h"
#include "daemon/lease.h"
#include "daemon/state.h"

struct fixture {
	char dir[64];
	char path[128];
	struct lw_lease_table *table;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	/* tmpfs: the tests are about what is written, not how fast a disk syncs */
	snprintf(f->dir, sizeof(f->dir), "/dev/shm/lw-test-state-XXXXXX");
	if (!mkdtemp(f->dir) || lw_lease_table_new(16, &f->table) < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, LW_STATE_FILE);
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

static struct lw_lease_entry *add_exclusive(struct lw_lease_table *t, const char *image, __u64 ino, __u32 pid)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	assert_int_equal(lw_lease_set_image(e, image), 0);
	e->key.dev = 0x803;
	e->key.ino = ino;
	e->mode = LW_LEASE_EXCLUSIVE;
	snprintf(e->backend, sizeof(e->backend), "fcntl");
	e->acquired_usec = 1764460000123456ull;
	e->nr_holders = 1;
	e->holders[0].id.kind = LW_HOLDER_PROCESS;
	e->holders[0].id.pid = pid;
	e->holders[0].id.start_time = 987654321ull;
	snprintf(e->holders[0].comm, sizeof(e->holders[0].comm), "qemu-system-x86");
	lw_lease_table_insert(t, e);
	return e;
}

static struct lw_lease_entry *add_shared(struct lw_lease_table *t)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	assert_int_equal(lw_lease_set_image(e, "/images/shared.raw"), 0);
	e->key.dev = 0x10300000ull;
	e->key.ino = 0;
	e->mode = LW_LEASE_SHARED;
	snprintf(e->backend, sizeof(e->backend), "nop");
	e->acquired_usec = 42;
	assert_non_null(lw_lease_new_holder(e));
	assert_non_null(lw_lease_new_holder(e));
	e->holders[0].id.kind = LW_HOLDER_PROCESS;
	e->holders[0].id.pid = 77;
	e->holders[0].id.start_time = 5;
	snprintf(e->holders[0].comm, sizeof(e->holders[0].comm), "vm1");
	e->holders[1].id.kind = LW_HOLDER_CGROUP;
	e->holders[1].id.cgroup_id = 123456;
	assert_int_equal(lw_cgroup_path_intern("/sys/fs/cgroup/machine.slice/vm2", &e->holders[1].cgroup), 0);
	lw_lease_table_insert(t, e);
	return e;
}

static void assert_same_lease(const struct lw_lease_entry *a, const struct lw_lease_entry *b)
{
	assert_string_equal(a->image, b->image);
	assert_int_equal(a->key.dev, b->key.dev);
	assert_int_equal(a->key.ino, b->key.ino);
	assert_int_equal(a->mode, b->mode);
	assert_string_equal(a->backend, b->backend);
	assert_int_equal(a->acquired_usec, b->acquired_usec);
	assert_int_equal(a->nr_holders, b->nr_holders);
	for (unsigned int i = 0; i < a->nr_holders; i++) {
		assert_true(lw_holder_equal(&a->holders[i].id, &b->holders[i].id));
		assert_string_equal(a->holders[i].comm, b->holders[i].comm);
		assert_string_equal(lw_lease_holder_cgroup(&a->holders[i]), lw_lease_holder_cgroup(&b->holders[i]));
	}
	assert_string_equal(a->lock_id ? a->lock_id : "", b->lock_id ? b->lock_id : "");
	assert_null(b->lock);	/* runtime fields are not stored */
}

static void saved_leases_load_back_with_every_field(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_table *loaded;
	struct lw_err err = { "" };
	struct lw_lease_entry *a = add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	struct lw_lease_entry *b = add_shared(f->table);

	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	assert_int_equal(lw_lease_table_new(16, &loaded), 0);
	if (lw_state_load(f->dir, loaded, NULL, &err) < 0)
		fail_msg("expected the saved state to load, got: %s", err.msg);
	assert_int_equal(lw_lease_count(loaded), 2);
	assert_same_lease(a, lw_lease_by_image(loaded, "/images/a.qcow2"));
	assert_same_lease(b, lw_lease_by_key(loaded, &b->key));
	lw_lease_table_free(loaded);
}

static void missing_state_file_is_an_empty_state(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), 0);
	assert_int_equal(lw_lease_count(f->table), 0);
}

static void save_leaves_no_temporary_file(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };
	char tmp[160];

	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->dir, LW_STATE_FILE);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(f->path, F_OK), 0);
}

static void failed_save_leaves_previous_state_intact(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_table *loaded;
	struct lw_err err = { "" };
	char tmp[160];

	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	/* make the temporary file impossible to create: a folder in its place */
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->dir, LW_STATE_FILE);
	assert_int_equal(mkdir(tmp, 0700), 0);
	add_exclusive(f->table, "/images/b.qcow2", 13, 1235);
	assert_true(lw_state_save(f->dir, f->table, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot create"));
	assert_int_equal(lw_lease_table_new(16, &loaded), 0);
	assert_int_equal(lw_state_load(f->dir, loaded, NULL, &err), 0);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_non_null(lw_lease_by_image(loaded, "/images/a.qcow2"));
	lw_lease_table_free(loaded);
	rmdir(tmp);
}

static void concurrent_reader_never_sees_a_partial_state(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };
	int status;
	pid_t reader;

	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		/* load in a loop; any failure means a torn or missing file was seen */
		for (;;) {
			struct lw_lease_table *t;
			struct lw_err why;

			if (lw_lease_table_new(16, &t) < 0)
				_exit(2);
			if (lw_state_load(f->dir, t, NULL, &why) < 0 || lw_lease_count(t) < 1)
				_exit(1);
			lw_lease_table_free(t);
		}
	}
	for (int i = 0; i < 300; i++) {
		char image[64];

		snprintf(image, sizeof(image), "/images/%d.qcow2", i);
		add_exclusive(f->table, image, 100 + (__u64)i, 2000 + (__u32)i);
		assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	}
	assert_int_equal(waitpid(reader, &status, WNOHANG), 0);	/* still happy */
	kill(reader, SIGKILL);
	waitpid(reader, &status, 0);
}

static void corrupt_state_file_is_refused_with_reason(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };
	FILE *fp = fopen(f->path, "w");

	fputs("{\"version\":1,\"leases\":[{\"image\":\"relative\"}]}", fp);
	fclose(fp);
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "lease 0"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

static void unparsable_state_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };
	FILE *fp = fopen(f->path, "w");

	fputs("{\"version\":1,\"leases\":[", fp);
	fclose(fp);
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "cannot parse"));
}

static void write_state(const struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

#define LEASE_A "{\"image\":\"/a\",\"mode\":\"exclusive\",\"dev\":1,\"ino\":2,\"backend\":\"fcntl\"," \
	"\"holders\":[{\"kind\":\"process\",\"pid\":7,\"start_time\":8}],\"acquired_usec\":0}"

static void refused_state_file_adds_no_lease(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	/* a good lease, then a bad one: nothing of the file is taken */
	write_state(f, "{\"version\":1,\"leases\":[" LEASE_A ",{\"image\":\"relative\"}]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "lease 1"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

static void nul_inside_image_path_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	write_state(f, "{\"version\":1,\"leases\":[{\"image\":\"/a\\u0000/etc/passwd\",\"mode\":\"exclusive\","
		       "\"dev\":1,\"ino\":2,\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\","
		       "\"pid\":7,\"start_time\":8}],\"acquired_usec\":0}]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "image"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

static void negative_number_is_refused_not_wrapped(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	/* read as 2^64 - 8 it would be saved so and read back clamped to INT64_MAX */
	write_state(f, "{\"version\":1,\"leases\":[{\"image\":\"/a\",\"mode\":\"exclusive\","
		       "\"dev\":1,\"ino\":2,\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\","
		       "\"pid\":7,\"start_time\":-8}],\"acquired_usec\":0}]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "holder"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

static void number_above_int64_loads_whole(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	write_state(f, "{\"version\":1,\"leases\":[{\"image\":\"/a\",\"mode\":\"exclusive\","
		       "\"dev\":1,\"ino\":18446744073709551615,\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\","
		       "\"pid\":7,\"start_time\":8}],\"acquired_usec\":0}]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), 0);
	assert_true(lw_lease_first(f->table)->key.ino == UINT64_MAX);
}

static void data_after_the_document_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	write_state(f, "{\"version\":1,\"leases\":[" LEASE_A "]}\n{\"version\":1}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "unexpected data"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

#define LEASE_B "{\"image\":\"/b\",\"mode\":\"exclusive\",\"dev\":1,\"ino\":3,\"backend\":\"fcntl\"," \
	"\"holders\":[{\"kind\":\"process\",\"pid\":7,\"start_time\":8}],\"acquired_usec\":0}"

/* A snapshot as the daemon writes it is read lease by lease; any other
 * form of the same document is read whole, to the same result. */
static void snapshot_loads_lease_by_lease_or_whole_alike(void **state)
{
	static const char *const loads_two[] = {
		"{\"version\":1,\"leases\":[" LEASE_A "," LEASE_B "]}",
		"{\"version\":1,\"leases\":[ " LEASE_A " ,\n" LEASE_B " ]\n}\n",
		"{ \"version\": 1, \"leases\": [" LEASE_A ", " LEASE_B "] }",
		"{\"leases\":[" LEASE_A "," LEASE_B "],\"version\":1}",
	};
	struct fixture *f = *state;
	struct lw_err err = { "" };

	for (size_t i = 0; i < sizeof(loads_two) / sizeof(loads_two[0]); i++) {
		write_state(f, loads_two[i]);
		if (lw_state_load(f->dir, f->table, NULL, &err) < 0)
			fail_msg("form %zu: expected it to load, got: %s", i, err.msg);
		assert_int_equal(lw_lease_count(f->table), 2);
		assert_non_null(lw_lease_by_image(f->table, "/a"));
		assert_non_null(lw_lease_by_image(f->table, "/b"));
		lw_lease_table_free(f->table);
		assert_int_equal(lw_lease_table_new(64, &f->table), 0);
	}
	/* a second list replaces the first, as json-c reads the whole document */
	write_state(f, "{\"version\":1,\"leases\":[" LEASE_A "],\"leases\":[" LEASE_B "]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), 0);
	assert_int_equal(lw_lease_count(f->table), 1);
	assert_non_null(lw_lease_by_image(f->table, "/b"));
}

static void snapshot_cut_inside_its_lease_list_adds_no_lease(void **state)
{
	static const char *const cut[] = {
		"{\"version\":1,\"leases\":[" LEASE_A ",",
		"{\"version\":1,\"leases\":[" LEASE_A,
		"{\"version\":1,\"leases\":[" LEASE_A "]",
		"{\"version\":1,\"leases\":[" LEASE_A " " LEASE_B "]}",
	};
	struct fixture *f = *state;
	struct lw_err err = { "" };

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		write_state(f, cut[i]);
		assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "cannot parse"));
		assert_int_equal(lw_lease_count(f->table), 0);
	}
}

static void empty_state_file_is_refused_on_one_line(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	write_state(f, "");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "cannot parse"));
	assert_null(strchr(err.msg, '\n'));
}

static void holder_listed_twice_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };

	write_state(f, "{\"version\":1,\"leases\":[{\"image\":\"/a\",\"mode\":\"shared\",\"dev\":1,\"ino\":2,"
		       "\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\",\"pid\":7,\"start_time\":8},"
		       "{\"kind\":\"process\",\"pid\":7,\"start_time\":8}],\"acquired_usec\":0}]}");
	assert_int_equal(lw_state_load(f->dir, f->table, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "listed twice"));
	assert_int_equal(lw_lease_count(f->table), 0);
}

/* ---- the journal ---- */

static struct lw_lease_table *load_or_fail(const struct fixture *f)
{
	struct lw_lease_table *t;
	struct lw_err err = { "" };

	assert_int_equal(lw_lease_table_new(16, &t), 0);
	if (lw_state_load(f->dir, t, NULL, &err) < 0)
		fail_msg("expected the state to load, got: %s", err.msg);
	return t;
}

static off_t journal_file_size(const struct fixture *f)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* The journal's records: the bytes up to its last newline (the file may
 * run ahead, zeros of room for the next records). */
static off_t journal_size(const struct fixture *f)
{
	char path[160], buf[4096];
	off_t at = 0, end = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				end = at + i + 1;
		at += n;
	}
	close(fd);
	return end;
}

static void append_text(const struct fixture *f, const char *name, const char *text)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "a");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

/* Commits one change: e as it is now (ended when it has left the table). */
static void commit(struct lw_state *s, struct lw_lease_table *t, struct lw_lease_entry *e, bool ended)
{
	struct lw_err err = { "" };

	if (lw_state_append(s, e, ended, &err) < 0 || lw_state_commit(s, t, &err) < 0)
		fail_msg("expected the change to commit, got: %s", err.msg);
}

static void journaled_changes_replay_over_the_snapshot(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_lease_entry *a, *b, *c;
	struct lw_err err = { "" };
	off_t before;

	a = add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	before = journal_size(f);
	b = add_shared(f->table);
	commit(s, f->table, b, false);				/* a lease taken */
	b->nr_holders = 1;
	commit(s, f->table, b, false);				/* one holder leaving */
	c = add_exclusive(f->table, "/images/c.qcow2", 14, 1236);
	commit(s, f->table, c, false);
	lw_lease_table_remove(f->table, a);
	commit(s, f->table, a, true);				/* a lease ending */
	lw_lease_entry_free(a);
	assert_true(journal_size(f) > before);	/* appended, not rewritten */
	lw_state_close(s);

	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 2);
	assert_null(lw_lease_by_image(loaded, "/images/a.qcow2"));
	assert_same_lease(b, lw_lease_by_image(loaded, b->image));
	assert_same_lease(c, lw_lease_by_image(loaded, c->image));
	lw_lease_table_free(loaded);
}

static void a_change_costs_one_record_whatever_the_table_size(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_entry *e;
	struct lw_err err = { "" };
	char image[64];
	off_t before, one_small, one_large;

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	before = journal_size(f);
	e = add_exclusive(f->table, "/images/first.qcow2", 1, 1);
	commit(s, f->table, e, false);
	one_small = journal_size(f) - before;
	for (int i = 0; i < 2000; i++) {
		snprintf(image, sizeof(image), "/images/%05d.qcow2", i);
		commit(s, f->table, add_exclusive(f->table, image, 100 + (__u64)i, 2), false);
	}
	before = journal_size(f);
	e = add_exclusive(f->table, "/images/later.qcow2", 2, 1);
	commit(s, f->table, e, false);
	one_large = journal_size(f) - before;
	if (one_large > one_small + 8)
		fail_msg("expected one record of about %lld bytes at 2,000 leases, got %lld",
			 (long long)one_small, (long long)one_large);
	lw_state_close(s);
}

/* The file runs ahead of its records (room, so writes need not grow it);
 * a daemon killed meanwhile leaves the room, which replay reads as the
 * end; a stopped one leaves the records alone. */
static void the_journal_keeps_room_ahead_and_stops_at_its_records(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	assert_int_equal(journal_file_size(f), journal_size(f));
	commit(s, f->table, add_exclusive(f->table, "/images/a.qcow2", 12, 1234), false);
	commit(s, f->table, add_exclusive(f->table, "/images/b.qcow2", 13, 1235), false);
	assert_true(journal_file_size(f) > journal_size(f));
	assert_int_equal(journal_file_size(f) % (64 * 1024), 0);
	loaded = load_or_fail(f);	/* as a daemon killed now would find it */
	assert_int_equal(lw_lease_count(loaded), 2);
	assert_non_null(lw_lease_by_image(loaded, "/images/b.qcow2"));
	lw_lease_table_free(loaded);
	lw_state_close(s);
	assert_int_equal(journal_file_size(f), journal_size(f));
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 2);
	lw_lease_table_free(loaded);
}

static void a_journal_past_twice_the_snapshot_is_compacted(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_lease_entry *e;
	struct lw_err err = { "" };
	off_t biggest = 0;
	bool compacted = false;

	e = add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	/* one lease changing holder over and over: the journal grows, the table does not */
	for (int i = 0; i < 20000 && !compacted; i++) {
		off_t now;

		e->holders[0].id.pid = 2000 + (__u32)i;
		commit(s, f->table, e, false);
		now = journal_size(f);
		compacted = now < biggest;
		biggest = now > biggest ? now : biggest;
	}
	lw_state_close(s);
	if (!compacted)
		fail_msg("expected the journal to be compacted, it grew to %lld bytes", (long long)biggest);
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_same_lease(e, lw_lease_first(loaded));
	lw_lease_table_free(loaded);
}

static void a_record_cut_by_a_crash_is_ignored(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/a.qcow2", 12, 1234), false);
	lw_state_close(s);
	/* the next record, cut short: never acknowledged, so never there */
	append_text(f, LW_STATE_JOURNAL, "1b2c3d4e {\"seq\":2,\"lease\":{\"image\":\"/images/b.q");
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_non_null(lw_lease_by_image(loaded, "/images/a.qcow2"));
	lw_lease_table_free(loaded);
	/* and a whole last line with a CRC that does not match, then zeros */
	append_text(f, LW_STATE_JOURNAL, "\n00000000 {\"seq\":2}\n");
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 1);
	lw_lease_table_free(loaded);
}

/* Flip one byte inside the JSON of the journal's record n (0: header). */
static void damage_record(const struct fixture *f, int n)
{
	char path[160], line[4096];
	long at = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	for (int i = 0; i < n; i++) {
		assert_non_null(fgets(line, sizeof(line), fp));
		at += (long)strlen(line);
	}
	assert_int_equal(fseek(fp, at + 12, SEEK_SET), 0);
	assert_int_equal(fputc('X', fp), 'X');
	assert_int_equal(fclose(fp), 0);
}

static void a_damaged_record_before_a_good_one_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *t;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/a.qcow2", 12, 1234), false);
	commit(s, f->table, add_exclusive(f->table, "/images/b.qcow2", 13, 1235), false);
	lw_state_close(s);
	damage_record(f, 1);
	assert_int_equal(lw_lease_table_new(16, &t), 0);
	assert_int_equal(lw_state_load(f->dir, t, NULL, &err), -EBADMSG);
	if (!strstr(err.msg, "record 1") || !strstr(err.msg, "CRC mismatch") || strchr(err.msg, '\n'))
		fail_msg("expected one line naming record 1 and its CRC mismatch, got: %s", err.msg);
	assert_int_equal(lw_lease_count(t), 0);
	lw_lease_table_free(t);
}

/* The snapshot's "boot", replaced with another boot's id. */
static void move_to_another_boot(const struct fixture *f)
{
	char text[8192], *boot;
	size_t len;
	FILE *fp = fopen(f->path, "r+");

	assert_non_null(fp);
	len = fread(text, 1, sizeof(text) - 1, fp);
	text[len] = '\0';
	boot = strstr(text, "\"boot\":\"");
	assert_non_null(boot);
	assert_int_equal(fseek(fp, boot - text + 8, SEEK_SET), 0);
	assert_true(fputs("00000000-0000-4000-8000-000000000000", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static void a_snapshot_names_this_boot(void **state)
{
	struct fixture *f = *state;
	struct lw_err err = { "" };
	char boot[64], expected[80], text[8192];
	size_t len;
	FILE *fp;

	fp = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(fp);
	assert_non_null(fgets(boot, sizeof(boot), fp));
	fclose(fp);
	boot[strcspn(boot, "\n")] = '\0';
	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	len = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[len] = '\0';
	snprintf(expected, sizeof(expected), "\"boot\":\"%s\"", boot);
	if (!strstr(text, expected))
		fail_msg("expected the snapshot to name this boot (%s), got: %s", expected, text);
}

/* A host crash ends every lease: a state from another boot is dropped whole,
 * and its journal, which is not synced and may be torn anywhere, is not read. */
static void a_state_of_an_earlier_boot_is_dropped_unread(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_table *t;
	struct lw_err err = { "" };
	bool earlier = false;
	struct lw_state *s;

	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	add_exclusive(f->table, "/images/b.qcow2", 13, 1235);
	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/c.qcow2", 14, 1236), false);
	commit(s, f->table, add_exclusive(f->table, "/images/d.qcow2", 15, 1237), false);
	lw_state_close(s);
	damage_record(f, 1);	/* refused if it were read */
	move_to_another_boot(f);
	assert_int_equal(lw_lease_table_new(16, &t), 0);
	if (lw_state_load(f->dir, t, &earlier, &err) < 0)
		fail_msg("expected a state of an earlier boot to load empty, got: %s", err.msg);
	assert_int_equal(lw_lease_count(t), 0);
	assert_true(earlier);
	lw_lease_table_free(t);
}

/* The same kind of files in this boot: every lease, and no earlier boot. */
static void a_state_of_this_boot_is_loaded(void **state)
{
	struct fixture *f = *state;
	struct lw_lease_table *t;
	struct lw_err err = { "" };
	bool earlier = true;
	struct lw_state *s;

	add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/c.qcow2", 14, 1236), false);
	lw_state_close(s);
	assert_int_equal(lw_lease_table_new(16, &t), 0);
	if (lw_state_load(f->dir, t, &earlier, &err) < 0)
		fail_msg("expected the state to load, got: %s", err.msg);
	assert_int_equal(lw_lease_count(t), 2);
	assert_false(earlier);
	lw_lease_table_free(t);
}

static void a_lost_record_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *t;
	struct lw_err err = { "" };
	char path[160], text[8192];
	size_t len;
	char *second, *third;
	FILE *fp;

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/a.qcow2", 12, 1234), false);
	commit(s, f->table, add_exclusive(f->table, "/images/b.qcow2", 13, 1235), false);
	lw_state_close(s);
	/* cut record 1 out: record 2 is whole and good but out of sequence */
	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	fp = fopen(path, "r");
	len = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[len] = '\0';
	second = strchr(text, '\n') + 1;
	third = strchr(second, '\n') + 1;
	memmove(second, third, strlen(third) + 1);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(lw_lease_table_new(16, &t), 0);
	assert_int_equal(lw_state_load(f->dir, t, NULL, &err), -EBADMSG);
	if (!strstr(err.msg, "out of sequence"))
		fail_msg("expected a sequence error, got: %s", err.msg);
	assert_int_equal(lw_lease_count(t), 0);
	lw_lease_table_free(t);
}

static void the_end_of_a_lease_not_held_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *t;
	struct lw_lease_entry *ghost;
	struct lw_err err = { "" };

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	ghost = lw_lease_entry_new();
	assert_int_equal(lw_lease_set_image(ghost, "/images/never.qcow2"), 0);
	commit(s, f->table, ghost, true);
	lw_lease_entry_free(ghost);
	lw_state_close(s);
	assert_int_equal(lw_lease_table_new(16, &t), 0);
	assert_int_equal(lw_state_load(f->dir, t, NULL, &err), -EBADMSG);
	if (!strstr(err.msg, "does not hold"))
		fail_msg("expected the end of an unknown lease refused, got: %s", err.msg);
	lw_lease_table_free(t);
}

static void a_journal_older_than_the_snapshot_is_ignored(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_lease_entry *a;
	struct lw_err err = { "" };
	char path[160], old[170];

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	a = add_exclusive(f->table, "/images/a.qcow2", 12, 1234);
	commit(s, f->table, a, false);
	lw_state_close(s);
	snprintf(path, sizeof(path), "%s/%s", f->dir, LW_STATE_JOURNAL);
	snprintf(old, sizeof(old), "%s.old", path);
	assert_int_equal(rename(path, old), 0);
	/* a compaction that crashed after its snapshot: the old journal is back */
	lw_lease_table_remove(f->table, a);
	lw_lease_entry_free(a);
	assert_int_equal(lw_state_save(f->dir, f->table, &err), 0);
	assert_int_equal(rename(old, path), 0);
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 0);
	lw_lease_table_free(loaded);
}

static void an_uncommitted_change_leaves_no_record(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_lease_entry *b;
	struct lw_err err = { "" };
	off_t before;

	assert_int_equal(lw_state_open(f->dir, f->table, &s, &err), 0);
	commit(s, f->table, add_exclusive(f->table, "/images/a.qcow2", 12, 1234), false);
	before = journal_size(f);
	b = add_exclusive(f->table, "/images/b.qcow2", 13, 1235);
	assert_int_equal(lw_state_append(s, b, false, &err), 0);
	assert_true(lw_state_pending(s));
	lw_state_close(s);	/* never committed: as if the daemon died before the sync */
	assert_int_equal(journal_size(f), before);
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_null(lw_lease_by_image(loaded, "/images/b.qcow2"));
	lw_lease_table_free(loaded);
}

static void a_version_1_state_file_loads_and_upgrades(void **state)
{
	struct fixture *f = *state;
	struct lw_state *s;
	struct lw_lease_table *loaded;
	struct lw_lease_entry *b;
	struct lw_err err = { "" };
	char text[256];
	FILE *fp;

	write_state(f, "{\"version\":1,\"leases\":[" LEASE_A "]}\n");
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_non_null(lw_lease_by_image(loaded, "/a"));
	/* what the daemon does next: a fresh snapshot, then changes in its journal */
	assert_int_equal(lw_state_open(f->dir, loaded, &s, &err), 0);
	b = add_exclusive(loaded, "/images/b.qcow2", 13, 1235);
	commit(s, loaded, b, false);
	lw_state_close(s);
	fp = fopen(f->path, "r");
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_non_null(strstr(text, "\"version\":2"));
	lw_lease_table_free(loaded);
	loaded = load_or_fail(f);
	assert_int_equal(lw_lease_count(loaded), 2);
	lw_lease_table_free(loaded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(saved_leases_load_back_with_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_state_file_is_an_empty_state, setup, teardown),
		cmocka_unit_test_setup_teardown(save_leaves_no_temporary_file, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_save_leaves_previous_state_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_reader_never_sees_a_partial_state, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_state_file_is_refused_with_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(unparsable_state_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_state_file_adds_no_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(nul_inside_image_path_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(negative_number_is_refused_not_wrapped, setup, teardown),
		cmocka_unit_test_setup_teardown(number_above_int64_loads_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(data_after_the_document_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_loads_lease_by_lease_or_whole_alike, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_cut_inside_its_lease_list_adds_no_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_state_file_is_refused_on_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(holder_listed_twice_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(journaled_changes_replay_over_the_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(a_change_costs_one_record_whatever_the_table_size, setup, teardown),
		cmocka_unit_test_setup_teardown(the_journal_keeps_room_ahead_and_stops_at_its_records, setup, teardown),
		cmocka_unit_test_setup_teardown(a_journal_past_twice_the_snapshot_is_compacted, setup, teardown),
		cmocka_unit_test_setup_teardown(a_record_cut_by_a_crash_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(a_damaged_record_before_a_good_one_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_lost_record_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_snapshot_names_this_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(a_state_of_an_earlier_boot_is_dropped_unread, setup, teardown),
		cmocka_unit_test_setup_teardown(a_state_of_this_boot_is_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(the_end_of_a_lease_not_held_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_journal_older_than_the_snapshot_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(an_uncommitted_change_leaves_no_record, setup, teardown),
		cmocka_unit_test_setup_teardown(a_version_1_state_file_loads_and_upgrades, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
