// SPDX-License-Identifier: LGPL-2.1-or-later
/* A lease's JSON, streamed (lease_json.h), is byte for byte the text of the
 * json-c tree it replaced: in the protocol's replies and errors, in the
 * state's snapshot and journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <zlib.h>

#include "common/json_write.h"
#include "common/varlink.h"
#include "daemon/errors.h"
#include "daemon/lease.h"
#include "daemon/lease_json.h"
#include "daemon/state.h"

/* ---- the trees the daemon built before, kept here as the reference ---- */

static struct json_object *old_holder_tree(const struct lw_lease_holder *h, bool with_ids)
{
	struct json_object *o = json_object_new_object();

	if (with_ids)
		json_object_object_add(o, "uid", json_object_new_int64(h->uid));
	if (h->id.kind == LW_HOLDER_CGROUP) {
		json_object_object_add(o, "kind", json_object_new_string("cgroup"));
		json_object_object_add(o, "cgroup", json_object_new_string(lw_lease_holder_cgroup(h)));
		if (with_ids)
			json_object_object_add(o, "cgroup_id", json_object_new_uint64(h->id.cgroup_id));
		return o;
	}
	json_object_object_add(o, "kind", json_object_new_string("process"));
	json_object_object_add(o, "pid", json_object_new_int64(h->id.pid));
	json_object_object_add(o, "start_time", json_object_new_uint64(h->id.start_time));
	json_object_object_add(o, "comm", json_object_new_string(h->comm));
	return o;
}

/* lw_lease_to_json, then the "pending" manager.c added */
static struct json_object *old_lease_tree(const struct lw_lease_entry *e, bool with_ids, bool pending)
{
	struct json_object *o = json_object_new_object(), *holders = json_object_new_array();

	json_object_object_add(o, "image", json_object_new_string(e->image));
	json_object_object_add(o, "mode", json_object_new_string(lw_lease_mode_name(e->mode)));
	json_object_object_add(o, "dev", json_object_new_uint64(e->key.dev));
	json_object_object_add(o, "ino", json_object_new_uint64(e->key.ino));
	json_object_object_add(o, "backend", json_object_new_string(e->backend));
	for (unsigned int i = 0; i < e->nr_holders; i++)
		json_object_array_add(holders, old_holder_tree(&e->holders[i], with_ids));
	json_object_object_add(o, "holders", holders);
	json_object_object_add(o, "acquired_usec", json_object_new_uint64(e->acquired_usec));
	if (with_ids && e->lock_id)
		json_object_object_add(o, "lock", json_object_new_string(e->lock_id));
	if (pending)
		json_object_object_add(o, "pending", json_object_new_boolean(1));
	return o;
}

/* ---- leases to write ---- */

/* A comm with all json-c escapes: a quote, a backslash, a newline, a
 * control byte, and bytes that are not UTF-8 (written as they are). */
static const char odd_comm[] = "q\"e\\m\n\x01\xff\xfe";

static struct lw_lease_entry *process_lease(bool with_lock)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	assert_int_equal(lw_lease_set_image(e, "/images/vm \"1\"/disk.qcow2"), 0);
	if (with_lock)
		assert_int_equal(lw_lease_set_lock_id(e, "/images/vm \"1\"/disk.qcow2"), 0);
	e->key.dev = 0x803;
	e->key.ino = 18446744073709551615ull;	/* above INT64_MAX */
	snprintf(e->backend, sizeof(e->backend), "fcntl");
	e->acquired_usec = 1764460000123456ull;
	e->nr_holders = 1;
	e->holders[0].uid = 1000;
	e->holders[0].id.kind = LW_HOLDER_PROCESS;
	e->holders[0].id.pid = 4242;
	e->holders[0].id.start_time = 987654321ull;
	memcpy(e->holders[0].comm, odd_comm, sizeof(odd_comm));
	return e;
}

static struct lw_lease_entry *cgroup_lease(void)
{
	struct lw_lease_entry *e = lw_lease_entry_new();

	assert_int_equal(lw_lease_set_image(e, "/var/lib/libvirt/images/a.raw"), 0);
	assert_int_equal(lw_lease_set_lock_id(e, "paxos:1f2e3d"), 0);
	e->key.dev = 0x10300000ull;
	snprintf(e->backend, sizeof(e->backend), "paxos");
	e->nr_holders = 1;
	e->holders[0].id.kind = LW_HOLDER_CGROUP;
	e->holders[0].id.cgroup_id = 123456;
	assert_int_equal(lw_cgroup_path_intern("/sys/fs/cgroup/machine.slice/vm\\x2d1", &e->holders[0].cgroup), 0);
	return e;
}

static struct lw_lease_entry *shared_lease(void)
{
	struct lw_lease_entry *e = lw_lease_entry_new();
	struct lw_lease_holder *h;

	assert_int_equal(lw_lease_set_image(e, "/images/shared.raw"), 0);
	e->mode = LW_LEASE_SHARED;
	e->key.dev = 2049;
	e->key.ino = 77;
	snprintf(e->backend, sizeof(e->backend), "nop");
	e->acquired_usec = 42;
	for (unsigned int i = 0; i < 3; i++) {
		assert_non_null(h = lw_lease_new_holder(e));
		h->uid = 1000 + i;
		h->id.kind = i == 1 ? LW_HOLDER_CGROUP : LW_HOLDER_PROCESS;
		h->id.pid = 100 + i;
		h->id.start_time = 5 + i;
		if (i == 1) {
			h->id.cgroup_id = 9;
			assert_int_equal(lw_cgroup_path_intern("/sys/fs/cgroup/vm2", &h->cgroup), 0);
		} else {
			strcpy(h->comm, i ? "qemu" : odd_comm);
		}
	}
	return e;
}

/* ---- checks ---- */

static char *streamed(const struct lw_lease_entry *e, bool with_ids, bool pending)
{
	struct lw_json_buf b = { 0 };
	char *text;

	lw_lease_json_put(&b, e, with_ids, pending);
	assert_int_equal(lw_json_end(&b, 0), 0);
	assert_int_equal(strlen(b.text), b.len);
	text = strdup(b.text);
	lw_json_buf_free(&b);
	return text;
}

static char *written(struct json_object *o)
{
	struct lw_json_buf b = { 0 };
	char *text;

	assert_int_equal(lw_json_write(&b, o), 0);
	text = strdup(b.text);
	lw_json_buf_free(&b);
	return text;
}

/* The streamed text is the old tree's, and json-c writes it back as it is. */
static void assert_same_as_the_tree(const struct lw_lease_entry *e)
{
	for (int ids = 0; ids < 2; ids++)
		for (int pending = 0; pending < 2; pending++) {
			char *text = streamed(e, ids, pending), *old;
			struct json_object *tree = old_lease_tree(e, ids, pending);
			struct json_object *parsed = json_tokener_parse(text);

			old = written(tree);
			assert_string_equal(text, old);
			assert_string_equal(text, json_object_to_json_string_ext(tree, JSON_C_TO_STRING_PLAIN |
									     JSON_C_TO_STRING_NOSLASHESCAPE));
			assert_non_null(parsed);
			assert_string_equal(text, json_object_to_json_string_ext(parsed, JSON_C_TO_STRING_PLAIN |
									     JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(parsed);
			json_object_put(tree);
			free(old);
			free(text);
		}
}

static void a_process_holder_lease_is_the_trees_text(void **state)
{
	struct lw_lease_entry *e = process_lease(true), *bare = process_lease(false);

	(void)state;
	assert_same_as_the_tree(e);
	assert_same_as_the_tree(bare);
	lw_lease_entry_free(e);
	lw_lease_entry_free(bare);
}

static void a_cgroup_holder_lease_is_the_trees_text(void **state)
{
	struct lw_lease_entry *e = cgroup_lease();

	(void)state;
	assert_same_as_the_tree(e);
	lw_lease_entry_free(e);
}

static void a_shared_lease_of_three_holders_is_the_trees_text(void **state)
{
	struct lw_lease_entry *e = shared_lease();

	(void)state;
	assert_int_equal(e->nr_holders, 3);
	assert_same_as_the_tree(e);
	lw_lease_entry_free(e);
}

/* The members' order, written out: clients and old state files see this. */
static void members_come_in_the_protocols_order(void **state)
{
	struct lw_lease_entry *e = process_lease(true);
	char *text;

	(void)state;
	text = streamed(e, true, false);
	assert_string_equal(text,
		"{\"image\":\"/images/vm \\\"1\\\"/disk.qcow2\",\"mode\":\"exclusive\",\"dev\":2051,"
		"\"ino\":18446744073709551615,\"backend\":\"fcntl\",\"holders\":[{\"uid\":1000,"
		"\"kind\":\"process\",\"pid\":4242,\"start_time\":987654321,"
		"\"comm\":\"q\\\"e\\\\m\\n\\u0001\xff\xfe\"}],\"acquired_usec\":1764460000123456,"
		"\"lock\":\"/images/vm \\\"1\\\"/disk.qcow2\"}");
	free(text);
	text = streamed(e, false, true);
	assert_string_equal(text,
		"{\"image\":\"/images/vm \\\"1\\\"/disk.qcow2\",\"mode\":\"exclusive\",\"dev\":2051,"
		"\"ino\":18446744073709551615,\"backend\":\"fcntl\",\"holders\":[{"
		"\"kind\":\"process\",\"pid\":4242,\"start_time\":987654321,"
		"\"comm\":\"q\\\"e\\\\m\\n\\u0001\xff\xfe\"}],\"acquired_usec\":1764460000123456,"
		"\"pending\":true}");
	free(text);
	lw_lease_entry_free(e);
}

/* Written after what the buffer holds already, as a member of a record. */
static void a_lease_streams_inside_a_record(void **state)
{
	struct lw_lease_entry *e = cgroup_lease();
	struct lw_json_buf b = { 0 };
	char *lease = streamed(e, true, false), want[1024];

	(void)state;
	lw_json_open(&b, '{');
	lw_json_key(&b, "seq");
	lw_json_uint(&b, 7);
	lw_json_key(&b, "lease");
	lw_lease_json_put(&b, e, true, false);
	lw_json_close(&b, '}');
	assert_int_equal(lw_json_end(&b, 0), 0);
	snprintf(want, sizeof(want), "{\"seq\":7,\"lease\":%s}", lease);
	assert_string_equal(b.text, want);
	lw_json_buf_free(&b);
	free(lease);
	lw_lease_entry_free(e);
}

/* LeaseHeld names the holders as before: a raw array in the error's tree. */
static void lease_held_error_is_the_trees_text(void **state)
{
	struct lw_lease_entry *e = shared_lease();
	struct json_object *got, *want, *params, *holders;
	char *got_text, *want_text;

	(void)state;
	for (int known = 0; known < 2; known++) {
		got = lw_error_lease_held("/images/shared.raw", known ? e : NULL);
		params = json_object_new_object();
		holders = json_object_new_array();
		for (unsigned int i = 0; known && i < e->nr_holders; i++)
			json_object_array_add(holders, old_holder_tree(&e->holders[i], false));
		json_object_object_add(params, "image", json_object_new_string("/images/shared.raw"));
		json_object_object_add(params, "holders", holders);
		want = varlink_error_new("io.lockwarden.LeaseHeld", params);
		got_text = written(got);
		want_text = written(want);
		assert_string_equal(got_text, want_text);
		/* json-c's own writer (the tests', the client's) gives it too */
		assert_string_equal(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE), want_text);
		free(got_text);
		free(want_text);
		json_object_put(got);
		json_object_put(want);
	}
	lw_lease_entry_free(e);
}

/* ---- the journal: records framed as before, and read back ---- */

struct journal {
	char dir[64];
	char *text;
	char *lines[8];
	unsigned int n;
};

static void read_journal(struct journal *j)
{
	char path[128];
	FILE *f;
	size_t cap = 0;

	snprintf(path, sizeof(path), "%s/%s", j->dir, LW_STATE_JOURNAL);
	assert_non_null(f = fopen(path, "r"));
	assert_true(getdelim(&j->text, &cap, '\0', f) > 0);
	fclose(f);
	j->n = 0;
	for (char *line = strtok(j->text, "\n"); line && j->n < 8; line = strtok(NULL, "\n"))
		j->lines[j->n++] = line;
}

/* "CRC32 JSON": the CRC of the text after it, eight lowercase hex digits */
static const char *framed_text(const char *line)
{
	char crc[9];

	assert_true(strlen(line) > 9 && line[8] == ' ');
	snprintf(crc, sizeof(crc), "%08lx", crc32(0L, (const Bytef *)line + 9, (uInt)strlen(line + 9)));
	assert_memory_equal(line, crc, 8);
	return line + 9;
}

static void journal_records_are_framed_and_replay(void **state)
{
	struct lw_lease_table *t, *loaded;
	struct lw_lease_entry *e = process_lease(true), *gone = shared_lease(), *back;
	struct journal j = { .dir = "/dev/shm/lw-test-lease-json-XXXXXX" };
	struct lw_state *s;
	struct lw_err err = { "" };
	char want[1024], *lease, cmd[128];
	const char *text;

	(void)state;
	assert_non_null(mkdtemp(j.dir));
	assert_int_equal(lw_lease_table_new(8, &t), 0);
	lw_lease_table_insert(t, gone);
	assert_int_equal(lw_state_open(j.dir, t, &s, &err), 0);
	lw_lease_table_insert(t, e);
	assert_int_equal(lw_state_append(s, e, false, &err), 0);
	lw_lease_table_remove(t, gone);
	assert_int_equal(lw_state_append(s, gone, true, &err), 0);
	assert_int_equal(lw_state_commit(s, t, &err), 0);
	lw_state_close(s);

	read_journal(&j);
	assert_int_equal(j.n, 3);
	text = framed_text(j.lines[0]);
	assert_int_equal(strlen(text), strlen("{\"snapshot\":\"0123456789abcdef\"}"));
	assert_memory_equal(text, "{\"snapshot\":\"", 13);
	lease = streamed(e, true, false);
	snprintf(want, sizeof(want), "{\"seq\":1,\"lease\":%s}", lease);
	assert_string_equal(framed_text(j.lines[1]), want);
	assert_string_equal(framed_text(j.lines[2]),
			    "{\"seq\":2,\"end\":{\"image\":\"/images/shared.raw\",\"dev\":2049,\"ino\":77}}");

	assert_int_equal(lw_lease_table_new(8, &loaded), 0);
	assert_int_equal(lw_state_load(j.dir, loaded, NULL, &err), 0);
	assert_int_equal(lw_lease_count(loaded), 1);
	assert_non_null(back = lw_lease_by_image(loaded, e->image));
	assert_null(lw_lease_by_image(loaded, gone->image));
	free(lease);
	lease = streamed(back, true, false);	/* read back, it writes the same */
	snprintf(want, sizeof(want), "{\"seq\":1,\"lease\":%s}", lease);
	assert_string_equal(framed_text(j.lines[1]), want);

	free(lease);
	free(j.text);
	lw_lease_table_free(loaded);
	lw_lease_table_free(t);
	lw_lease_entry_free(gone);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", j.dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_process_holder_lease_is_the_trees_text),
		cmocka_unit_test(a_cgroup_holder_lease_is_the_trees_text),
		cmocka_unit_test(a_shared_lease_of_three_holders_is_the_trees_text),
		cmocka_unit_test(members_come_in_the_protocols_order),
		cmocka_unit_test(a_lease_streams_inside_a_record),
		cmocka_unit_test(lease_held_error_is_the_trees_text),
		cmocka_unit_test(journal_records_are_framed_and_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
