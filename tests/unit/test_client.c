// SPDX-License-Identifier: LGPL-2.1-or-later
/* liblockwarden against a scripted in-process server on a socketpair.
 * The server thread speaks the wire protocol (via the codec) and answers
 * each request with the next canned reply; it records what it received.
 * This isolates the client logic: it is not the daemon. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lockwarden/client.h"
#include "common/varlink.h"

#define MAX_EXCHANGES 4

struct fake_server {
	int fd;
	const char *replies[MAX_EXCHANGES]; /* raw wire text, one message a line; NULL: hang up instead */
	bool more[MAX_EXCHANGES];           /* the client asked for several replies */
	size_t n_replies;
	char methods[MAX_EXCHANGES][128];   /* what the client called */
	char parameters[MAX_EXCHANGES][512]; /* and with which parameters (JSON) */
	size_t n_received;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct fake_server *s = arg;
	struct varlink_reader r;
	struct varlink_request req;
	const char *text;
	size_t len, i;

	varlink_reader_init(&r, 0);
	for (i = 0; i < s->n_replies; i++) {
		while (varlink_reader_next(&r, &text, &len) == 0)
			if (varlink_reader_fill(&r, s->fd) <= 0)
				goto done;
		if (varlink_request_parse(text, len, &req, NULL) < 0)
			goto done;
		snprintf(s->methods[i], sizeof(s->methods[i]), "%s", req.method);
		snprintf(s->parameters[i], sizeof(s->parameters[i]), "%s",
			 json_object_to_json_string_ext(req.parameters, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
		s->more[i] = req.more;
		s->n_received++;
		varlink_request_release(&req);
		if (!s->replies[i])
			goto done;
		/* each line a message: the NUL ends it on the wire */
		for (const char *m = s->replies[i], *end; *m; m = *end ? end + 1 : end) {
			end = strchrnul(m, '\n');
			if (write(s->fd, m, (size_t)(end - m)) < 0 || write(s->fd, "", 1) < 0)
				goto done;
		}
	}
done:
	varlink_reader_free(&r);
	shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

/* Start a server answering with the given replies; connect a client to it. */
static struct lockwarden *start(struct fake_server *s, size_t n, ...)
{
	struct lockwarden *lw = NULL;
	va_list ap;
	size_t i;
	int sv[2];

	memset(s, 0, sizeof(*s));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		s->replies[i] = va_arg(ap, const char *);
	va_end(ap);
	s->n_replies = n;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->fd = sv[1];
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	assert_int_equal(lockwarden_connect_fd(sv[0], &lw, NULL), 0);
	return lw;
}

static void stop(struct fake_server *s, struct lockwarden *lw)
{
	lockwarden_disconnect(lw);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

#define LEASE_JSON                                                                         \
	"{\"image\":\"/img/a.qcow2\",\"mode\":\"exclusive\",\"dev\":2049,\"ino\":12,"       \
	"\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\",\"pid\":1234,"             \
	"\"start_time\":99,\"comm\":\"qemu-system-x86\"}],\"acquired_usec\":5}"

static void acquire_sends_image_pid_and_flags_and_decodes_lease(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 1, "{\"parameters\":{\"lease\":" LEASE_JSON "}}");
	struct lockwarden_lease *lease = NULL;
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234,
					    LOCKWARDEN_SHARED | LOCKWARDEN_FORCE, &lease, &err),
			 0);
	assert_int_equal(err.code, 0);
	assert_non_null(lease);
	assert_string_equal(lease->image, "/img/a.qcow2");
	assert_false(lease->shared);
	assert_int_equal(lease->dev, 2049);
	assert_int_equal(lease->ino, 12);
	assert_string_equal(lease->backend, "fcntl");
	assert_int_equal(lease->n_holders, 1);
	assert_int_equal(lease->holders[0].kind, LOCKWARDEN_HOLDER_PROCESS);
	assert_int_equal(lease->holders[0].pid, 1234);
	assert_int_equal(lease->holders[0].start_time, 99);
	assert_string_equal(lease->holders[0].comm, "qemu-system-x86");
	lockwarden_lease_free(lease);
	stop(&s, lw);
	assert_string_equal(s.methods[0], "io.lockwarden.Manager.Acquire");
	assert_string_equal(s.parameters[0], "{\"image\":\"/img/a.qcow2\",\"pid\":1234,"
					     "\"shared\":true,\"force\":true}");
}

static void acquire_for_a_cgroup_names_the_lease(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 1, "{\"parameters\":{\"lease\":" LEASE_JSON "}}");
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire_cgroup_named(lw, "/img/a.qcow2", "/sys/fs/cgroup/machine.slice/vm1",
							 0, "LS:vm1:/dev/sdb:1048576", NULL, &err), 0);
	stop(&s, lw);
	assert_string_equal(s.parameters[0], "{\"image\":\"/img/a.qcow2\",\"cgroup\":\"/sys/fs/cgroup/machine.slice/vm1\","
					     "\"lease\":\"LS:vm1:/dev/sdb:1048576\"}");
}

/* BRIEF: "brief" sent, the daemon's empty answer taken; asked for the
 * lease anyway, the flag is not sent. */
static void brief_acquire_asks_for_no_lease_unless_one_is_wanted(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 2, "{\"parameters\":{}}", "{\"parameters\":{\"lease\":" LEASE_JSON "}}");
	struct lockwarden_lease *lease = NULL;
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234, LOCKWARDEN_BRIEF, NULL, &err), 0);
	assert_string_equal(lockwarden_last_reply_json(lw, false), "{}");
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234, LOCKWARDEN_BRIEF, &lease, &err), 0);
	assert_non_null(lease);
	assert_string_equal(lease->image, "/img/a.qcow2");
	lockwarden_lease_free(lease);
	stop(&s, lw);
	assert_string_equal(s.parameters[0], "{\"image\":\"/img/a.qcow2\",\"pid\":1234,\"brief\":true}");
	assert_string_equal(s.parameters[1], "{\"image\":\"/img/a.qcow2\",\"pid\":1234}");
}

/* A daemon older than "brief" refuses it: the same acquire is sent again
 * without it, and later ones on the connection go without it at once. Any
 * other parameter refused stays an error. */
static void brief_acquire_refused_by_an_older_daemon_is_asked_again(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 4, "{\"error\":\"io.lockwarden.InvalidParameter\",\"parameters\":{\"parameter\":\"brief\"}}",
		"{\"parameters\":{\"lease\":" LEASE_JSON "}}", "{\"parameters\":{\"lease\":" LEASE_JSON "}}",
		"{\"error\":\"io.lockwarden.InvalidParameter\",\"parameters\":{\"parameter\":\"image\"}}");
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234, LOCKWARDEN_SHARED | LOCKWARDEN_BRIEF, NULL,
					    &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234, LOCKWARDEN_BRIEF, NULL, &err), 0);
	assert_int_equal(lockwarden_acquire(lw, "/img/a.qcow2", 1234, LOCKWARDEN_BRIEF, NULL, &err), -EINVAL);
	assert_string_equal(err.message, "invalid parameter: image");
	stop(&s, lw);
	assert_int_equal(s.n_received, 4);
	assert_string_equal(s.parameters[0], "{\"image\":\"/img/a.qcow2\",\"pid\":1234,\"shared\":true,\"brief\":true}");
	assert_string_equal(s.parameters[1], "{\"image\":\"/img/a.qcow2\",\"pid\":1234,\"shared\":true}");
	assert_string_equal(s.parameters[2], "{\"image\":\"/img/a.qcow2\",\"pid\":1234}");
	assert_string_equal(s.parameters[3], "{\"image\":\"/img/a.qcow2\",\"pid\":1234}");
}

static void acquire_of_held_lease_reports_holder(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 1,
		"{\"error\":\"io.lockwarden.LeaseHeld\",\"parameters\":{\"image\":\"/img/a\","
		"\"holders\":[{\"kind\":\"process\",\"pid\":1234,\"comm\":\"qemu-system-x86\"}]}}");
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/img/a", 77, 0, NULL, &err), -EBUSY);
	assert_int_equal(err.code, -EBUSY);
	assert_string_equal(err.name, "io.lockwarden.LeaseHeld");
	assert_string_equal(err.message, "lease held by pid 1234 (qemu-system-x86)");
	stop(&s, lw);
}

static void named_errors_map_to_errno_and_message(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 4,
		"{\"error\":\"io.lockwarden.ImageBusy\",\"parameters\":{\"image\":\"/i\","
		"\"pid\":99,\"comm\":\"dd\"}}",
		"{\"error\":\"io.lockwarden.NotHolder\",\"parameters\":{\"image\":\"/i\"}}",
		"{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"x\"}}",
		"{\"error\":\"com.example.Weird\"}");
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/i", 1, 0, NULL, &err), -ETXTBSY);
	assert_string_equal(err.message, "image open for write by pid 99 (dd)");
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -ENOLCK);
	assert_string_equal(err.message, "not a holder of the lease");
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -EOPNOTSUPP);
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -EPROTO);
	assert_string_equal(err.name, "com.example.Weird");
	stop(&s, lw);
	assert_string_equal(s.methods[1], "io.lockwarden.Manager.Release");
	assert_string_equal(s.parameters[1], "{\"image\":\"/i\",\"pid\":1}");
}

static void list_decodes_every_lease_and_keeps_reply_json(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 1,
		"{\"parameters\":{\"leases\":[" LEASE_JSON ",{\"image\":\"/img/b\","
		"\"mode\":\"shared\",\"pending\":true,\"holders\":[{\"kind\":\"cgroup\",\"cgroup\":\"/vm.slice\"}]}]}}");
	struct lockwarden_lease **leases = NULL;
	char who[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(lockwarden_list(lw, &leases, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_false(leases[0]->pending);
	assert_string_equal(leases[1]->image, "/img/b");
	assert_true(leases[1]->shared);
	assert_true(leases[1]->pending);
	lockwarden_holders_format(leases[1]->holders, leases[1]->n_holders, who, sizeof(who));
	assert_string_equal(who, "cgroup /vm.slice");
	assert_non_null(strstr(lockwarden_last_reply_json(lw, false), "\"/img/b\""));
	lockwarden_lease_list_free(leases, n);
	stop(&s, lw);
	assert_string_equal(s.methods[0], "io.lockwarden.Manager.List");
}

static void list_in_several_replies_asks_for_more_and_joins_them(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 2,
		"{\"parameters\":{\"leases\":[" LEASE_JSON "]},\"continues\":true}\n"
		"{\"parameters\":{\"leases\":[{\"image\":\"/img/b\",\"mode\":\"shared\",\"holders\":[]}]},"
		"\"continues\":true}\n"
		"{\"parameters\":{\"leases\":[]}}",
		"{\"parameters\":{\"version\":\"0.1.0\"}}");
	struct lockwarden_lease **leases = NULL;
	struct lockwarden_status st;
	size_t n = 0;

	(void)state;
	assert_int_equal(lockwarden_list(lw, &leases, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(leases[0]->image, "/img/a.qcow2");
	assert_string_equal(leases[1]->image, "/img/b");
	/* --json prints the whole list, not the last part */
	assert_non_null(strstr(lockwarden_last_reply_json(lw, false), "/img/a.qcow2"));
	assert_non_null(strstr(lockwarden_last_reply_json(lw, false), "/img/b"));
	lockwarden_lease_list_free(leases, n);
	/* the connection is in step: the next call gets its own reply */
	assert_int_equal(lockwarden_status(lw, &st, NULL), 0);
	lockwarden_status_clear(&st);
	stop(&s, lw);
	assert_true(s.more[0]);
	assert_false(s.more[1]);
}

static void list_reply_larger_than_the_request_limit_is_read(void **state)
{
	const size_t count = 3000; /* about 500 KiB, twice VARLINK_MESSAGE_MAX */
	struct lockwarden_lease **leases = NULL;
	struct fake_server s;
	struct lockwarden *lw;
	size_t i, n = 0, off;
	char *big;

	(void)state;
	big = malloc(count * (sizeof(LEASE_JSON) + 1) + 64);
	assert_non_null(big);
	off = (size_t)sprintf(big, "{\"parameters\":{\"leases\":[");
	for (i = 0; i < count; i++)
		off += (size_t)sprintf(big + off, "%s" LEASE_JSON, i ? "," : "");
	strcpy(big + off, "]}}");
	assert_true(strlen(big) > 2 * VARLINK_MESSAGE_MAX);
	lw = start(&s, 1, big);
	assert_int_equal(lockwarden_list(lw, &leases, &n, NULL), 0);
	assert_int_equal(n, count);
	lockwarden_lease_list_free(leases, n);
	stop(&s, lw);
	free(big);
}

static void inquire_of_unleased_image_gives_no_lease(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 1, "{\"parameters\":{}}");
	struct lockwarden_lease *lease = (void *)1;

	(void)state;
	assert_int_equal(lockwarden_inquire(lw, "/img/c", &lease, NULL), 0);
	assert_null(lease);
	stop(&s, lw);
}

static void status_decodes_counters(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(
		&s, 1,
		"{\"parameters\":{\"version\":\"0.1\",\"backend\":\"nop\",\"pin_dir\":\"/p\","
		"\"leases\":3,\"max_images\":1024,\"denials\":7,\"suppressed\":1,"
		"\"ringbuf_dropped\":0,\"uptime_usec\":1000000}}");
	struct lockwarden_status st;

	(void)state;
	assert_int_equal(lockwarden_status(lw, &st, NULL), 0);
	assert_string_equal(st.backend, "nop");
	assert_int_equal(st.leases, 3);
	assert_int_equal(st.denials, 7);
	assert_int_equal(st.uptime_usec, 1000000);
	lockwarden_status_clear(&st);
	stop(&s, lw);
}

static void daemon_hanging_up_is_a_clear_error(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 1, NULL);
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -ECONNRESET);
	assert_string_equal(err.name, "");
	assert_non_null(strstr(err.message, "lost connection to lockwardend"));
	stop(&s, lw);
}

/* No server at all: the peer end stays open and silent. */
static void silent_daemon_times_out_and_connection_is_retired(void **state)
{
	struct lockwarden_error err;
	struct lockwarden *lw;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(lockwarden_connect_fd(sv[0], &lw, NULL), 0);
	assert_int_equal(lockwarden_set_timeout(lw, 100, &err), 0);
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -ETIMEDOUT);
	if (!strstr(err.message, "did not answer Release within 100 ms"))
		fail_msg("expected a timeout message, got \"%s\"", err.message);
	/* A late reply must not be taken for the next call's. */
	assert_int_equal(write(sv[1], "{}", 3), 3);
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -ENOTCONN);
	lockwarden_disconnect(lw);
	close(sv[1]);
}

/* Kept between calls only while the daemon's end is idle and open: bytes
 * nobody asked for, a hangup, or a failed call retire the connection. */
static void connection_is_reusable_only_while_idle_and_open(void **state)
{
	struct lockwarden_error err;
	struct lockwarden *lw;
	int sv[2];

	(void)state;
	assert_false(lockwarden_reusable(NULL));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(lockwarden_connect_fd(sv[0], &lw, NULL), 0);
	assert_true(lockwarden_reusable(lw));
	assert_int_equal(write(sv[1], "{}", 3), 3);	/* unasked */
	assert_false(lockwarden_reusable(lw));
	lockwarden_disconnect(lw);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(lockwarden_connect_fd(sv[0], &lw, NULL), 0);
	shutdown(sv[1], SHUT_WR);	/* the daemon stopped */
	assert_false(lockwarden_reusable(lw));
	lockwarden_disconnect(lw);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(lockwarden_connect_fd(sv[0], &lw, NULL), 0);
	assert_int_equal(lockwarden_set_timeout(lw, 50, &err), 0);
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), -ETIMEDOUT);
	assert_false(lockwarden_reusable(lw));	/* a late reply would be the next call's */
	lockwarden_disconnect(lw);
	close(sv[1]);
}

static void reused_connection_carries_call_after_call(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 2, "{\"parameters\":{}}", "{\"parameters\":{}}");
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_acquire(lw, "/i", 1, LOCKWARDEN_BRIEF, NULL, &err), 0);
	assert_true(lockwarden_reusable(lw));
	assert_int_equal(lockwarden_release(lw, "/i", 1, &err), 0);
	pthread_join(s.thread, NULL);	/* the server has answered both and hung up */
	assert_false(lockwarden_reusable(lw));
	lockwarden_disconnect(lw);
	close(s.fd);
}

static void malformed_reply_is_refused(void **state)
{
	struct fake_server s;
	struct lockwarden *lw = start(&s, 1, "{\"parameters\":{\"leases\":7}}");
	struct lockwarden_lease **leases;
	struct lockwarden_error err;
	size_t n;

	(void)state;
	assert_int_equal(lockwarden_list(lw, &leases, &n, &err), -EBADMSG);
	assert_null(leases);
	assert_non_null(strstr(err.message, "malformed"));
	stop(&s, lw);
}

static void connect_to_missing_socket_names_path(void **state)
{
	struct lockwarden *lw = (void *)1;
	struct lockwarden_error err;

	(void)state;
	assert_int_equal(lockwarden_connect("/nonexistent/lockwarden.sock", &lw, &err), -ENOENT);
	assert_null(lw);
	if (!strstr(err.message, "/nonexistent/lockwarden.sock") ||
	    !strstr(err.message, "is lockwardend running"))
		fail_msg("expected the path and a hint in the message, got \"%s\"", err.message);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acquire_sends_image_pid_and_flags_and_decodes_lease),
		cmocka_unit_test(acquire_for_a_cgroup_names_the_lease),
		cmocka_unit_test(brief_acquire_asks_for_no_lease_unless_one_is_wanted),
		cmocka_unit_test(brief_acquire_refused_by_an_older_daemon_is_asked_again),
		cmocka_unit_test(acquire_of_held_lease_reports_holder),
		cmocka_unit_test(named_errors_map_to_errno_and_message),
		cmocka_unit_test(list_decodes_every_lease_and_keeps_reply_json),
		cmocka_unit_test(list_reply_larger_than_the_request_limit_is_read),
		cmocka_unit_test(list_in_several_replies_asks_for_more_and_joins_them),
		cmocka_unit_test(inquire_of_unleased_image_gives_no_lease),
		cmocka_unit_test(status_decodes_counters),
		cmocka_unit_test(daemon_hanging_up_is_a_clear_error),
		cmocka_unit_test(silent_daemon_times_out_and_connection_is_retired),
		cmocka_unit_test(connection_is_reusable_only_while_idle_and_open),
		cmocka_unit_test(reused_connection_carries_call_after_call),
		cmocka_unit_test(malformed_reply_is_refused),
		cmocka_unit_test(connect_to_missing_socket_names_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
