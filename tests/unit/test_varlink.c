// SPDX-License-Identifier: LGPL-2.1-or-later
/* varlink codec: framing, request/reply validation, builders, send. */
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/varlink.h"

/* Feed a string including its terminating NUL, as one message on the wire. */
static void feed_message(struct varlink_reader *r, const char *s)
{
	assert_int_equal(varlink_reader_feed(r, s, strlen(s) + 1), 0);
}

static void expect_next(struct varlink_reader *r, const char *want)
{
	const char *msg = NULL;
	size_t len = 0;

	assert_int_equal(varlink_reader_next(r, &msg, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_string_equal(msg, want);
}

static void expect_none(struct varlink_reader *r)
{
	const char *msg;
	size_t len;

	assert_int_equal(varlink_reader_next(r, &msg, &len), 0);
}

static void message_split_across_partial_reads_is_reassembled(void **state)
{
	const char *wire = "{\"method\":\"a.B\"}";
	struct varlink_reader r;
	size_t i;

	(void)state;
	varlink_reader_init(&r, 0);
	/* One byte at a time: nothing until the NUL arrives. */
	for (i = 0; i < strlen(wire); i++) {
		assert_int_equal(varlink_reader_feed(&r, wire + i, 1), 0);
		expect_none(&r);
		assert_true(varlink_reader_has_partial(&r));
	}
	assert_int_equal(varlink_reader_feed(&r, "", 1), 0);
	expect_next(&r, wire);
	expect_none(&r);
	assert_false(varlink_reader_has_partial(&r));
	varlink_reader_free(&r);
}

static void several_messages_in_one_read_come_out_in_order(void **state)
{
	const char wire[] = "{\"a\":1}\0{\"b\":2}\0{\"c\":";
	struct varlink_reader r;

	(void)state;
	varlink_reader_init(&r, 0);
	assert_int_equal(varlink_reader_feed(&r, wire, sizeof(wire) - 1), 0);
	expect_next(&r, "{\"a\":1}");
	expect_next(&r, "{\"b\":2}");
	expect_none(&r);
	assert_true(varlink_reader_has_partial(&r));
	/* The tail completes with the next read. */
	feed_message(&r, "3}");
	expect_next(&r, "{\"c\":3}");
	varlink_reader_free(&r);
}

static void oversized_message_is_refused_without_growing(void **state)
{
	char chunk[64];
	struct varlink_reader r;
	int ret = 0;
	size_t fed = 0;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	varlink_reader_init(&r, 256);
	while (fed <= 1024 && (ret = varlink_reader_feed(&r, chunk, sizeof(chunk))) == 0) {
		expect_none(&r);
		fed += sizeof(chunk);
	}
	assert_int_equal(ret, -EMSGSIZE);
	assert_int_equal(fed, 256);
	assert_true(r.cap <= 256);
	varlink_reader_free(&r);
}

static void message_of_exactly_the_limit_is_accepted(void **state)
{
	char wire[16];
	struct varlink_reader r;

	(void)state;
	memset(wire, 'y', sizeof(wire) - 1);
	wire[sizeof(wire) - 1] = '\0';
	varlink_reader_init(&r, sizeof(wire));
	assert_int_equal(varlink_reader_feed(&r, wire, sizeof(wire)), 0);
	expect_next(&r, wire);
	/* Once drained, the space is free again. */
	assert_int_equal(varlink_reader_feed(&r, wire, sizeof(wire)), 0);
	expect_next(&r, wire);
	varlink_reader_free(&r);
}

static void fill_reports_oversized_message_from_socket(void **state)
{
	char junk[300];
	struct varlink_reader r;
	ssize_t n;
	int sv[2];

	(void)state;
	memset(junk, 'z', sizeof(junk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(sv[1]);
	varlink_reader_init(&r, 128);
	do {
		n = varlink_reader_fill(&r, sv[0]);
		if (n > 0)
			expect_none(&r);
	} while (n > 0);
	assert_int_equal(n, -EMSGSIZE);
	assert_true(r.cap <= 128);
	varlink_reader_free(&r);
	close(sv[0]);
}

static void fill_reports_end_of_stream(void **state)
{
	struct varlink_reader r;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "{}\0{", 4), 4);
	close(sv[1]);
	varlink_reader_init(&r, 0);
	assert_int_equal(varlink_reader_fill(&r, sv[0]), 4);
	expect_next(&r, "{}");
	expect_none(&r);
	assert_int_equal(varlink_reader_fill(&r, sv[0]), 0);
	assert_true(varlink_reader_has_partial(&r));
	varlink_reader_free(&r);
	close(sv[0]);
}

static void request_with_method_and_parameters_parses(void **state)
{
	const char *text = "{\"method\":\"io.lockwarden.Manager.Acquire\","
			   "\"parameters\":{\"image\":\"/a\",\"pid\":42},\"more\":true}";
	struct varlink_request req;
	struct json_object *pid;

	(void)state;
	assert_int_equal(varlink_request_parse(text, strlen(text), &req, NULL), 0);
	assert_string_equal(req.method, "io.lockwarden.Manager.Acquire");
	assert_true(req.more);
	assert_false(req.oneway);
	assert_true(json_object_object_get_ex(req.parameters, "pid", &pid));
	assert_int_equal(json_object_get_int(pid), 42);
	varlink_request_release(&req);
}

static void request_without_parameters_gets_empty_object(void **state)
{
	const char *text = "{\"method\":\"io.lockwarden.Manager.List\"}";
	struct varlink_request req;

	(void)state;
	assert_int_equal(varlink_request_parse(text, strlen(text), &req, NULL), 0);
	assert_non_null(req.parameters);
	assert_true(json_object_is_type(req.parameters, json_type_object));
	assert_int_equal(json_object_object_length(req.parameters), 0);
	varlink_request_release(&req);
}

/* A reader keeps one tokener for its stream's messages: a message cut off
 * inside a value, or one that is not JSON, leaves nothing behind for the
 * next message to continue from. */
static void a_reader_parses_message_after_message_with_one_tokener(void **state)
{
	static const char *const texts[] = {
		"{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\":\"/a\"}}",
		"{\"method\":\"io.lockwarden.Manager.Rel",	/* ends inside a string */
		"{\"method\":\"io.lockwarden.Manager.List\"",	/* ends inside the object */
		"[1,2]",
		"{\"method\":\"io.lockwarden.Manager.Release\",\"parameters\":{\"image\":\"/b\"}}",
	};
	static const int want[] = { 0, -EBADMSG, -EBADMSG, -EBADMSG, 0 };
	struct varlink_reader r;
	struct varlink_request req;
	struct json_tokener *kept = NULL;
	struct json_object *image;

	(void)state;
	varlink_reader_init(&r, 0);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(varlink_reader_parse_request(&r, texts[i], strlen(texts[i]), &req, NULL), want[i]);
		if (!kept)
			kept = r.tok;
		assert_ptr_equal(r.tok, kept);
		if (want[i] == 0)
			varlink_request_release(&req);
	}
	/* the last one parsed whole, not as the rest of an earlier one */
	assert_int_equal(varlink_reader_parse_request(&r, texts[4], strlen(texts[4]), &req, NULL), 0);
	assert_string_equal(req.method, "io.lockwarden.Manager.Release");
	assert_true(json_object_object_get_ex(req.parameters, "image", &image));
	assert_string_equal(json_object_get_string(image), "/b");
	varlink_request_release(&req);
	varlink_reader_free(&r);
	assert_null(r.tok);
}

/* Each malformed request is refused with -EBADMSG and a reason. */
static void expect_bad_request(const char *text, size_t len, const char *reason_part)
{
	struct varlink_request req;
	const char *why = NULL;

	assert_int_equal(varlink_request_parse(text, len, &req, &why), -EBADMSG);
	assert_non_null(why);
	if (!strstr(why, reason_part))
		fail_msg("expected a reason containing \"%s\", got \"%s\"", reason_part, why);
	assert_null(req.root);
}

static void malformed_json_request_is_refused(void **state)
{
	(void)state;
	expect_bad_request("{\"method\":", 10, "malformed JSON");
	expect_bad_request("{method: 1}", 11, "malformed JSON");
	expect_bad_request("", 0, "malformed JSON");
	expect_bad_request("{} {}", 5, "malformed JSON");
}

static void non_object_request_is_refused(void **state)
{
	(void)state;
	expect_bad_request("[1,2]", 5, "not a JSON object");
	expect_bad_request("\"x\"", 3, "not a JSON object");
}

static void request_without_method_is_refused(void **state)
{
	(void)state;
	expect_bad_request("{\"parameters\":{}}", 17, "method");
	expect_bad_request("{\"method\":7}", 12, "method");
	expect_bad_request("{\"method\":\"\"}", 13, "method");
	expect_bad_request("{\"method\":\"NoInterface\"}", 24, "interface.Method");
}

static void request_with_non_object_parameters_is_refused(void **state)
{
	(void)state;
	expect_bad_request("{\"method\":\"a.B\",\"parameters\":[]}", 32, "parameters");
	expect_bad_request("{\"method\":\"a.B\",\"oneway\":1}", 27, "oneway");
}

static void nul_inside_message_is_refused(void **state)
{
	const char raw[] = "{\"method\":\"a.B\"\0}";
	const char *escaped = "{\"method\":\"a.B\\u0000x\"}";

	(void)state;
	expect_bad_request(raw, sizeof(raw) - 1, "NUL");
	/* An escaped NUL would cut the method name short in C: refused. */
	expect_bad_request(escaped, strlen(escaped), "NUL");
}

/* json-c cuts member names at an escaped NUL ("image\u0000x" reads "image"):
 * refused wherever it is, in names and in values. */
static void escaped_nul_in_a_name_or_value_is_refused(void **state)
{
	const char *in_name = "{\"method\":\"a.B\",\"parameters\":{\"image\\u0000x\":\"/a\"}}";
	const char *in_value = "{\"method\":\"a.B\",\"parameters\":{\"image\":\"/a\\u0000/b\"}}";
	const char *escaped_backslash = "{\"method\":\"a.B\",\"parameters\":{\"image\":\"/a\\\\u0000\"}}";
	struct varlink_request req;
	const char *why = NULL;

	(void)state;
	expect_bad_request(in_name, strlen(in_name), "NUL");
	expect_bad_request(in_value, strlen(in_value), "NUL");
	/* a backslash, then the text u0000: no NUL */
	assert_int_equal(varlink_request_parse(escaped_backslash, strlen(escaped_backslash), &req, &why), 0);
	varlink_request_release(&req);
}

/* The bare success is read without json-c (its root is its parameters),
 * and means what json-c reads in the same reply spaced out. */
static void empty_reply_reads_as_json_c_reads_it(void **state)
{
	const char *texts[] = { "{\"parameters\":{}}", "{ \"parameters\": {} }" };
	struct varlink_reply reply;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(varlink_reply_parse(texts[i], strlen(texts[i]), &reply, NULL), 0);
		assert_null(reply.error);
		assert_false(reply.continues);
		assert_true(json_object_is_type(reply.parameters, json_type_object));
		assert_int_equal(json_object_object_length(reply.parameters), 0);
		if (i == 0)
			assert_ptr_equal(reply.root, reply.parameters);
		else
			assert_ptr_not_equal(reply.root, reply.parameters);
		varlink_reply_release(&reply);
	}
	/* one byte more is no longer that reply */
	assert_int_equal(varlink_reply_parse("{\"parameters\":{}}}", 18, &reply, NULL), -EBADMSG);
}

/* One shared object, a reference for each caller, written as a fresh
 * empty reply would be, and still whole after every caller let go. */
static void empty_reply_is_shared_and_written_whole(void **state)
{
	struct json_object *a = varlink_reply_empty(), *b = varlink_reply_empty(), *fresh = varlink_reply_new(NULL, false);
	char *wire, *want;
	size_t len, want_len;

	(void)state;
	assert_non_null(a);
	assert_ptr_equal(a, b);
	json_object_put(a);
	json_object_put(b);
	a = varlink_reply_empty();
	assert_int_equal(varlink_serialize(a, &wire, &len), 0);
	assert_int_equal(varlink_serialize(fresh, &want, &want_len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(wire, want, len);
	assert_string_equal(wire, "{\"parameters\":{}}");
	free(wire);
	free(want);
	json_object_put(a);
	json_object_put(fresh);
}

/* A freed reader's tokener serves the next reader (the daemon's next
 * connection), even one the last message left mid-value. */
static void a_freed_readers_tokener_serves_the_next_reader(void **state)
{
	const char bad[] = "{\"method\":\"x.y.Z\",\"parameters\":{\"a\":", good[] = "{\"method\":\"x.y.Z\"}";
	struct varlink_reader a, b;
	struct varlink_request req;
	const char *why = NULL;

	(void)state;
	varlink_reader_init(&a, 0);
	assert_int_equal(varlink_reader_parse_request(&a, bad, strlen(bad), &req, &why), -EBADMSG);
	assert_non_null(a.tok);
	varlink_reader_free(&a);
	varlink_reader_init(&b, 0);
	assert_int_equal(varlink_reader_parse_request(&b, good, strlen(good), &req, &why), 0);
	assert_string_equal(req.method, "x.y.Z");
	varlink_request_release(&req);
	varlink_reader_free(&b);
}

/* Parsing switches the thread to the C locale (json-c's numbers) and back:
 * a caller's own locale (libvirtd sets one) is what it finds after. */
static void parsing_leaves_the_callers_locale_in_place(void **state)
{
	static const char text[] = "{\"parameters\":{\"ratio\":1.5}}";
	locale_t mine = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0), before;
	struct varlink_reply reply;
	struct json_object *v;

	(void)state;
	assert_non_null(mine);
	before = uselocale(mine);
	assert_int_equal(varlink_reply_parse(text, sizeof(text) - 1, &reply, NULL), 0);
	assert_ptr_equal(uselocale((locale_t)0), mine);
	assert_true(json_object_object_get_ex(reply.parameters, "ratio", &v));
	assert_true(json_object_get_double(v) == 1.5);
	varlink_reply_release(&reply);
	uselocale(before);
	freelocale(mine);
}

static void reply_with_error_parses(void **state)
{
	const char *text = "{\"error\":\"io.lockwarden.LeaseHeld\","
			   "\"parameters\":{\"image\":\"/a\"}}";
	struct varlink_reply reply;

	(void)state;
	assert_int_equal(varlink_reply_parse(text, strlen(text), &reply, NULL), 0);
	assert_string_equal(reply.error, "io.lockwarden.LeaseHeld");
	assert_false(reply.continues);
	assert_int_equal(json_object_object_length(reply.parameters), 1);
	varlink_reply_release(&reply);
}

static void reply_with_non_string_error_is_refused(void **state)
{
	const char *text = "{\"error\":{},\"parameters\":{}}";
	struct varlink_reply reply;
	const char *why = NULL;

	(void)state;
	assert_int_equal(varlink_reply_parse(text, strlen(text), &reply, &why), -EBADMSG);
	assert_non_null(why);
}

static void built_error_reply_round_trips(void **state)
{
	struct json_object *msg = varlink_error_invalid_parameter("pid");
	struct varlink_reply reply;
	struct json_object *v;
	char *wire = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(msg);
	assert_int_equal(varlink_serialize(msg, &wire, &len), 0);
	assert_int_equal(wire[len - 1], '\0');
	assert_int_equal(varlink_reply_parse(wire, len - 1, &reply, NULL), 0);
	assert_string_equal(reply.error, VARLINK_ERROR_INVALID_PARAMETER);
	assert_true(json_object_object_get_ex(reply.parameters, "parameter", &v));
	assert_string_equal(json_object_get_string(v), "pid");
	varlink_reply_release(&reply);
	json_object_put(msg);
	free(wire);
}

static void string_with_nul_is_escaped_on_the_wire(void **state)
{
	struct json_object *params = json_object_new_object();
	struct json_object *msg;
	char *wire = NULL;
	size_t len = 0;

	(void)state;
	json_object_object_add(params, "image", json_object_new_string_len("a\0b", 3));
	msg = varlink_reply_new(params, true);
	assert_int_equal(varlink_serialize(msg, &wire, &len), 0);
	/* Exactly one raw NUL: the terminator. */
	assert_ptr_equal(memchr(wire, '\0', len), wire + len - 1);
	assert_non_null(strstr(wire, "\"continues\":true"));
	json_object_put(msg);
	free(wire);
}

/* The request is written as its tree would be: parameters, method, more. */
static void call_more_writes_parameters_method_and_more_in_order(void **state)
{
	const char reply_wire[] = "{\"parameters\":{}}";
	struct json_object *params = json_object_new_object();
	struct varlink_reader client_reader, server_reader;
	struct varlink_reply reply;
	const char *text;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], reply_wire, sizeof(reply_wire)), (ssize_t)sizeof(reply_wire));
	json_object_object_add(params, "image", json_object_new_string("/a \"b\"\n"));
	json_object_object_add(params, "pid", json_object_new_int(7));
	varlink_reader_init(&client_reader, 0);
	assert_int_equal(varlink_call_more(sv[0], &client_reader, "x.y.Z", params, &reply), 0);
	assert_int_equal(json_object_object_length(reply.parameters), 0);
	varlink_reply_release(&reply);
	varlink_reader_init(&server_reader, 0);
	assert_true(varlink_reader_fill(&server_reader, sv[1]) > 0);
	assert_int_equal(varlink_reader_next(&server_reader, &text, &len), 1);
	assert_string_equal(text, "{\"parameters\":{\"image\":\"/a \\\"b\\\"\\n\",\"pid\":7},"
				  "\"method\":\"x.y.Z\",\"more\":true}");
	varlink_reader_free(&client_reader);
	varlink_reader_free(&server_reader);
	close(sv[0]);
	close(sv[1]);
}

static void call_sends_request_and_reads_reply(void **state)
{
	const char reply_wire[] = "{\"parameters\":{\"n\":1}}";
	struct varlink_reader client_reader, server_reader;
	struct varlink_request req;
	struct varlink_reply reply;
	const char *text;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* The reply is queued before the call: the call still sends first. */
	assert_int_equal(write(sv[1], reply_wire, sizeof(reply_wire)), (ssize_t)sizeof(reply_wire));
	varlink_reader_init(&client_reader, 0);
	assert_int_equal(varlink_call(sv[0], &client_reader, "x.y.Z", NULL, &reply), 0);
	assert_null(reply.error);
	assert_int_equal(json_object_object_length(reply.parameters), 1);
	varlink_reply_release(&reply);

	varlink_reader_init(&server_reader, 0);
	assert_true(varlink_reader_fill(&server_reader, sv[1]) > 0);
	assert_int_equal(varlink_reader_next(&server_reader, &text, &len), 1);
	assert_int_equal(varlink_request_parse(text, len, &req, NULL), 0);
	assert_string_equal(req.method, "x.y.Z");
	varlink_request_release(&req);
	assert_string_equal(text, "{\"parameters\":{},\"method\":\"x.y.Z\"}");

	/* Peer gone: the send fails with -EPIPE (no SIGPIPE), not a hang. */
	close(sv[1]);
	assert_int_equal(varlink_call(sv[0], &client_reader, "x.y.Z", NULL, &reply), -EPIPE);
	varlink_reader_free(&client_reader);
	varlink_reader_free(&server_reader);
	close(sv[0]);
}

static void call_reports_peer_closing_before_reply(void **state)
{
	struct varlink_reader r;
	struct varlink_reply reply;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	varlink_reader_init(&r, 0);
	assert_int_equal(varlink_call(sv[0], &r, "x.y.Z", NULL, &reply), -ECONNRESET);
	varlink_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* wait_ms bounds the wait for a reply, with no SO_RCVTIMEO on the socket. */
static void a_silent_peer_times_out_after_wait_ms(void **state)
{
	struct varlink_reader r;
	struct varlink_reply reply;
	struct timespec t0, t1;
	long waited_ms;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	varlink_reader_init(&r, 0);
	r.wait_ms = 50;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(varlink_call(sv[0], &r, "x.y.Z", NULL, &reply), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(waited_ms >= 49);	/* not before its time */
	varlink_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* The server reading our request wakes whatever sleeps on our socket, for
 * write space. A client waiting for the reply must not wake for that: it
 * blocks once, until the reply comes (a blocking read blocked twice). */
static void waiting_for_a_reply_blocks_once(void **state)
{
	const char reply_wire[] = "{\"parameters\":{}}";
	struct varlink_reader r;
	struct varlink_reply reply;
	struct rusage before, after;
	int sv[2], status;
	pid_t server;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		char buf[256];

		close(sv[0]);
		usleep(50000);	/* the client is asleep by then */
		if (read(sv[1], buf, sizeof(buf)) <= 0)
			_exit(1);
		usleep(50000);
		if (write(sv[1], reply_wire, sizeof(reply_wire)) != (ssize_t)sizeof(reply_wire))
			_exit(1);
		while (read(sv[1], buf, sizeof(buf)) > 0)	/* until the client closes */
			;
		_exit(0);
	}
	close(sv[1]);
	varlink_reader_init(&r, 0);
	getrusage(RUSAGE_THREAD, &before);
	assert_int_equal(varlink_call(sv[0], &r, "x.y.Z", NULL, &reply), 0);
	getrusage(RUSAGE_THREAD, &after);
	varlink_reply_release(&reply);
	varlink_reader_free(&r);
	close(sv[0]);
	assert_int_equal(waitpid(server, &status, 0), server);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(after.ru_nvcsw - before.ru_nvcsw, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_split_across_partial_reads_is_reassembled),
		cmocka_unit_test(several_messages_in_one_read_come_out_in_order),
		cmocka_unit_test(oversized_message_is_refused_without_growing),
		cmocka_unit_test(message_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(fill_reports_oversized_message_from_socket),
		cmocka_unit_test(fill_reports_end_of_stream),
		cmocka_unit_test(request_with_method_and_parameters_parses),
		cmocka_unit_test(request_without_parameters_gets_empty_object),
		cmocka_unit_test(a_reader_parses_message_after_message_with_one_tokener),
		cmocka_unit_test(malformed_json_request_is_refused),
		cmocka_unit_test(non_object_request_is_refused),
		cmocka_unit_test(request_without_method_is_refused),
		cmocka_unit_test(request_with_non_object_parameters_is_refused),
		cmocka_unit_test(nul_inside_message_is_refused),
		cmocka_unit_test(escaped_nul_in_a_name_or_value_is_refused),
		cmocka_unit_test(empty_reply_reads_as_json_c_reads_it),
		cmocka_unit_test(empty_reply_is_shared_and_written_whole),
		cmocka_unit_test(a_freed_readers_tokener_serves_the_next_reader),
		cmocka_unit_test(parsing_leaves_the_callers_locale_in_place),
		cmocka_unit_test(reply_with_error_parses),
		cmocka_unit_test(reply_with_non_string_error_is_refused),
		cmocka_unit_test(built_error_reply_round_trips),
		cmocka_unit_test(string_with_nul_is_escaped_on_the_wire),
		cmocka_unit_test(call_more_writes_parameters_method_and_more_in_order),
		cmocka_unit_test(call_sends_request_and_reads_reply),
		cmocka_unit_test(call_reports_peer_closing_before_reply),
		cmocka_unit_test(a_silent_peer_times_out_after_wait_ms),
		cmocka_unit_test(waiting_for_a_reply_blocks_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
