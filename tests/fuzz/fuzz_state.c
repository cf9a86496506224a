// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target for the state loader: the bytes a damaged or hand-edited
 * state folder may hold. An input is the snapshot (leases.json), then, after
 * a line "--journal--", the journal (leases.journal). Whatever loads must be
 * what the files say (no string silently cut at a NUL, no holder twice), and
 * must survive a save and a second load unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "enforcer/enforcer.h"
#include "daemon/lease.h"
#include "daemon/state.h"

/* on tmpfs: every input is written, loaded, saved (with fsync) and loaded again */
static char in_dir[64], out_dir[64];

#define JOURNAL_MARK "\n--journal--\n"

static void remove_dir(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, LW_STATE_JOURNAL);
	unlink(path);
	rmdir(dir);
}

static void remove_dirs(void)
{
	remove_dir(in_dir);
	remove_dir(out_dir);
}

static void make_dirs(void)
{
	if (in_dir[0])
		return;
	snprintf(in_dir, sizeof(in_dir), "/dev/shm/fuzz_state.XXXXXX");
	snprintf(out_dir, sizeof(out_dir), "/dev/shm/fuzz_state.XXXXXX");
	if (!mkdtemp(in_dir) || !mkdtemp(out_dir))
		abort();
	atexit(remove_dirs);
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", in_dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

/* The snapshot's bytes (*size cut to them); the journal's, or NULL. */
static const uint8_t *write_state(const uint8_t *data, size_t *size)
{
	const uint8_t *mark = memmem(data, *size, JOURNAL_MARK, strlen(JOURNAL_MARK));
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", in_dir, LW_STATE_JOURNAL);
	unlink(path);
	if (!mark) {
		write_file(LW_STATE_FILE, data, *size);
		return NULL;
	}
	write_file(LW_STATE_FILE, data, (size_t)(mark - data));
	write_file(LW_STATE_JOURNAL, mark + strlen(JOURNAL_MARK),
		   *size - (size_t)(mark - data) - strlen(JOURNAL_MARK));
	*size = (size_t)(mark - data);
	return mark;
}

static struct lw_lease_table *load(const char *dir, int *r)
{
	struct lw_lease_table *t;
	struct lw_err err = { "" };

	if (lw_lease_table_new(16, &t) < 0)
		abort();
	*r = lw_state_load(dir, t, NULL, &err);
	if (*r < 0 && (!err.msg[0] || strchr(err.msg, '\n')))
		abort(); /* a refusal says why, on one line */
	return t;
}

static void check_entry(const struct lw_lease_entry *e)
{
	if (!e->image || e->image[0] != '/' || strnlen(e->image, PATH_MAX) == PATH_MAX)
		abort();
	if (e->nr_holders == 0 || e->nr_holders > LW_MAX_HOLDERS ||
	    (e->mode == LW_LEASE_EXCLUSIVE && e->nr_holders != 1))
		abort();
	if (e->lock)
		abort(); /* runtime fields stay unset */
	if (e->lock_id && (!e->lock_id[0] || strnlen(e->lock_id, LW_LEASE_LOCK_ID_MAX) == LW_LEASE_LOCK_ID_MAX))
		abort(); /* the backend's lock id: none, or a terminated string that fits */
	if (e->nr_holders > e->holders_room)
		abort();
	for (unsigned int i = 0; i < e->nr_holders; i++) {
		if (e->holders[i].pidfd != -1 || e->holders[i].watch)
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (lw_holder_equal(&e->holders[i].id, &e->holders[j].id))
				abort(); /* one holder listed twice */
	}
}

/* Every string the loader kept is the whole string the file holds. */
static void check_not_cut(const uint8_t *data, size_t size, struct lw_lease_table *t)
{
	struct json_object *root, *leases, *image;
	struct lw_lease_entry *e = lw_lease_first(t);
	char *text = strndup((const char *)data, size);

	root = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (!root || !json_object_object_get_ex(root, "leases", &leases))
		goto cleanup; /* a NUL before the end: the loader saw less than we do */
	for (size_t i = 0; e && i < json_object_array_length(leases); i++, e = e->next) {
		struct json_object *o = json_object_array_get_idx(leases, i);

		if (json_object_object_get_ex(o, "image", &image) &&
		    (size_t)json_object_get_string_len(image) != strlen(e->image))
			abort(); /* the image path was cut at a NUL */
	}
cleanup:
	json_object_put(root);
}

static void check_round_trip(struct lw_lease_table *t)
{
	struct lw_lease_table *again;
	struct lw_lease_entry *a, *b;
	struct lw_err err;
	int r;

	if (lw_state_save(out_dir, t, &err) < 0)
		abort();
	again = load(out_dir, &r);
	if (r < 0 || lw_lease_count(again) != lw_lease_count(t))
		abort(); /* what we write, we must read back */
	for (a = lw_lease_first(t), b = lw_lease_first(again); a && b; a = a->next, b = b->next) {
		if (strcmp(a->image, b->image) || a->mode != b->mode || a->key.dev != b->key.dev ||
		    a->key.ino != b->key.ino || strcmp(a->backend, b->backend) ||
		    a->acquired_usec != b->acquired_usec || a->nr_holders != b->nr_holders)
			abort();
		for (unsigned int i = 0; i < a->nr_holders; i++)
			if (!lw_holder_equal(&a->holders[i].id, &b->holders[i].id) ||
			    strcmp(a->holders[i].comm, b->holders[i].comm) ||
			    strcmp(lw_lease_holder_cgroup(&a->holders[i]), lw_lease_holder_cgroup(&b->holders[i])))
				abort();
	}
	lw_lease_table_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_lease_table *t;
	int r;

	const uint8_t *journal;

	make_dirs();
	journal = write_state(data, &size);
	t = load(in_dir, &r);
	if (r == 0) {
		for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
			check_entry(e);
		if (!journal)	/* with a journal, the snapshot's order is not the table's */
			check_not_cut(data, size, t);
		check_round_trip(t);
	} else if (lw_lease_count(t) != 0) {
		/* a refused file may leave entries read before the bad one: the
		 * daemon refuses to start then, so only their sanity matters */
		for (struct lw_lease_entry *e = lw_lease_first(t); e; e = e->next)
			check_entry(e);
	}
	lw_lease_table_free(t);
	return 0;
}
