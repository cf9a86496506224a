// SPDX-License-Identifier: LGPL-2.1-or-later
/* The CLI's commands against a scripted daemon on a real Unix socket: what
 * they send, what they print, and `run`'s all-or-none and exec. The fake
 * daemon answers from a per-test function; it is not lockwardend. */
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
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/varlink.h"
#include "lockwarden/commands.h"

#define MAX_LOG 16

/* Returns the reply's wire text for one request. */
typedef const char *answer_fn(const char *method, struct json_object *parameters);

struct fake_daemon {
	char dir[64];
	char socket_path[108];
	int listen_fd;
	answer_fn *answer;
	pthread_t thread;
	pthread_mutex_t lock;
	char log[MAX_LOG][600]; /* "Method {parameters}" per request */
	char holder_comm[32];   /* /proc/PID/comm of the last Acquire's pid */
	size_t n_log;
};

static struct fake_daemon daemon_;

/* What the real daemon sees of the holder at acquire time. */
static void record_holder_comm(struct json_object *parameters)
{
	struct json_object *pid;
	char path[64];
	FILE *f;

	if (!json_object_object_get_ex(parameters, "pid", &pid))
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", json_object_get_int(pid));
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(daemon_.holder_comm, sizeof(daemon_.holder_comm), f))
		daemon_.holder_comm[strcspn(daemon_.holder_comm, "\n")] = '\0';
	fclose(f);
}

static void serve_connection(int fd)
{
	struct varlink_reader r;
	struct varlink_request req;
	const char *text, *reply;
	size_t len;

	varlink_reader_init(&r, 0);
	for (;;) {
		while (varlink_reader_next(&r, &text, &len) == 0)
			if (varlink_reader_fill(&r, fd) <= 0)
				goto done;
		if (varlink_request_parse(text, len, &req, NULL) < 0)
			goto done;
		pthread_mutex_lock(&daemon_.lock);
		if (daemon_.n_log < MAX_LOG)
			snprintf(daemon_.log[daemon_.n_log++], sizeof(daemon_.log[0]), "%s %s",
				 strrchr(req.method, '.') + 1,
				 json_object_to_json_string_ext(req.parameters,
								JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE));
		pthread_mutex_unlock(&daemon_.lock);
		record_holder_comm(req.parameters);
		reply = daemon_.answer(req.method, req.parameters);
		varlink_request_release(&req);
		if (write(fd, reply, strlen(reply) + 1) < 0)
			goto done;
	}
done:
	varlink_reader_free(&r);
	close(fd);
}

static void *serve(void *arg)
{
	int fd;

	(void)arg;
	/* shutdown() of the listening socket ends accept() at teardown. */
	while ((fd = accept4(daemon_.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		serve_connection(fd);
	return NULL;
}

static void daemon_start(answer_fn *answer)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(daemon_.log, 0, sizeof(daemon_.log));
	memset(daemon_.holder_comm, 0, sizeof(daemon_.holder_comm));
	daemon_.n_log = 0;
	daemon_.answer = answer;
	strcpy(daemon_.dir, "/tmp/lockwarden-cli-XXXXXX");
	assert_non_null(mkdtemp(daemon_.dir));
	snprintf(daemon_.socket_path, sizeof(daemon_.socket_path), "%s/s.sock", daemon_.dir);
	strcpy(addr.sun_path, daemon_.socket_path);
	daemon_.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(daemon_.listen_fd >= 0);
	assert_int_equal(bind(daemon_.listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(daemon_.listen_fd, 8), 0);
	pthread_mutex_init(&daemon_.lock, NULL);
	assert_int_equal(pthread_create(&daemon_.thread, NULL, serve, NULL), 0);
}

static int daemon_stop(void **state)
{
	char cmd[128];

	(void)state;
	shutdown(daemon_.listen_fd, SHUT_RDWR);
	pthread_join(daemon_.thread, NULL);
	close(daemon_.listen_fd);
	pthread_mutex_destroy(&daemon_.lock);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", daemon_.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file under the test's folder (images must exist: the CLI realpaths). */
static void make_file(const char *name, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", daemon_.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

/* Run fn(args) with stdout and stderr captured into out/errbuf. */
static int capture(int (*fn)(const struct cli_args *), const struct cli_args *args,
		   char *out, size_t outlen, char *errbuf, size_t errlen)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int saved_out = dup(1), saved_err = dup(2), status;
	size_t n;

	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	status = fn(args);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(o);
	rewind(e);
	n = fread(out, 1, outlen - 1, o);
	out[n] = '\0';
	n = fread(errbuf, 1, errlen - 1, e);
	errbuf[n] = '\0';
	fclose(o);
	fclose(e);
	return status;
}

#define LEASE_A                                                                          \
	"{\"image\":\"/img/a.qcow2\",\"mode\":\"exclusive\",\"dev\":1,\"ino\":2,"         \
	"\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\",\"pid\":1234,"           \
	"\"start_time\":5,\"comm\":\"qemu-system-x86\"}],\"acquired_usec\":1}"

static const char *lease_held_answer(const char *method, struct json_object *parameters)
{
	(void)method;
	(void)parameters;
	return "{\"error\":\"io.lockwarden.LeaseHeld\",\"parameters\":{\"image\":\"/x\","
	       "\"holders\":[{\"kind\":\"process\",\"pid\":1234,\"comm\":\"qemu-system-x86\"}]}}";
}

static void acquire_conflict_prints_one_line_naming_the_holder(void **state)
{
	const char *images[1];
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 42, .n_images = 1 };
	char image[128], out[512], err[512], want[512];

	(void)state;
	daemon_start(lease_held_answer);
	make_file("a.qcow2", image, sizeof(image));
	images[0] = image;
	args.images = images;
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 1);
	snprintf(want, sizeof(want),
		 "lockwarden: acquire %s: lease held by pid 1234 (qemu-system-x86)\n", image);
	assert_string_equal(err, want);
	assert_string_equal(out, "");
}

static const char *lease_answer(const char *method, struct json_object *parameters)
{
	(void)parameters;
	if (strstr(method, ".List"))
		return "{\"parameters\":{\"leases\":[" LEASE_A "]}}";
	if (strstr(method, ".Acquire"))
		return "{\"parameters\":{\"lease\":" LEASE_A "}}";
	return "{\"parameters\":{}}";
}

static void acquire_sends_the_absolute_image_path(void **state)
{
	char image[128], out[1024], err[512], want[300], cwd[256];
	const char *images[1] = { "a.img" };
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 42, .n_images = 1,
				 .shared = true, .images = images };

	(void)state;
	daemon_start(lease_answer);
	make_file("a.img", image, sizeof(image));
	args.socket_path = daemon_.socket_path;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(daemon_.dir), 0);
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(err, "");
	assert_int_equal(daemon_.n_log, 1);
	snprintf(want, sizeof(want), "Acquire {\"image\":\"%s\",\"pid\":42,\"shared\":true,\"brief\":true}",
		 image);
	assert_string_equal(daemon_.log[0], want);
}

/* --json prints the lease, so the acquire asks for it (no "brief"). */
static void acquire_json_asks_for_the_lease_and_prints_it(void **state)
{
	char image[128], out[1024], err[512], want[300];
	const char *images[1] = { image };
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 42, .n_images = 1, .json = true,
				 .images = images };

	(void)state;
	daemon_start(lease_answer);
	make_file("a.img", image, sizeof(image));
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	snprintf(want, sizeof(want), "Acquire {\"image\":\"%s\",\"pid\":42}", image);
	assert_string_equal(daemon_.log[0], want);
	if (!strstr(out, "\"lease\": {") || !strstr(out, "\"/img/a.qcow2\""))
		fail_msg("expected the lease in the printed reply, got \"%s\"", out);
}

static void list_prints_a_table_of_leases(void **state)
{
	struct cli_args args = { .command = CLI_LIST };
	char out[1024], err[512];

	(void)state;
	daemon_start(lease_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_list, &args, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(out,
			    "IMAGE         MODE       BACKEND   HOLDERS\n"
			    "/img/a.qcow2  exclusive  fcntl     pid 1234 (qemu-system-x86)\n");
}

static void list_json_prints_the_reply_parameters(void **state)
{
	struct cli_args args = { .command = CLI_LIST, .json = true };
	struct json_object *parsed, *leases;
	char out[2048], err[512];

	(void)state;
	daemon_start(lease_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_list, &args, out, sizeof(out), err, sizeof(err)), 0);
	parsed = json_tokener_parse(out);
	if (!parsed)
		fail_msg("expected JSON on stdout, got \"%s\"", out);
	assert_true(json_object_object_get_ex(parsed, "leases", &leases));
	assert_int_equal(json_object_array_length(leases), 1);
	json_object_put(parsed);
}

/* Second image's lease is held: the first must be given back. */
static const char *second_image_held_answer(const char *method, struct json_object *parameters)
{
	struct json_object *image;

	if (strstr(method, ".Acquire") && json_object_object_get_ex(parameters, "image", &image) &&
	    strstr(json_object_get_string(image), "b.img"))
		return lease_held_answer(method, parameters);
	return lease_answer(method, parameters);
}

/* Fork, run `cmd_run` in the child (it execs), return its exit status. */
static int run_in_child(struct cli_args *args)
{
	int status;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2);
		_exit(cmd_run(args));
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void run_is_all_or_none_and_does_not_start_the_command(void **state)
{
	char a[128], b[128], marker[160], want[300];
	const char *images[2] = { a, b };
	char *cmd[] = { "touch", marker, NULL };
	struct cli_args args = { .command = CLI_RUN, .n_images = 2, .images = images,
				 .exec_argv = cmd };

	(void)state;
	daemon_start(second_image_held_answer);
	make_file("a.img", a, sizeof(a));
	make_file("b.img", b, sizeof(b));
	snprintf(marker, sizeof(marker), "%s/ran", daemon_.dir);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(run_in_child(&args), 1);
	if (access(marker, F_OK) == 0)
		fail_msg("expected CMD not to run after a failed acquire, but it ran");
	pthread_mutex_lock(&daemon_.lock);
	assert_int_equal(daemon_.n_log, 3);
	assert_non_null(strstr(daemon_.log[0], "Acquire"));
	assert_non_null(strstr(daemon_.log[1], "Acquire"));
	snprintf(want, sizeof(want), "Release {\"image\":\"%s\",", a);
	if (strncmp(daemon_.log[2], want, strlen(want)) != 0)
		fail_msg("expected the taken lease released (%s...), got \"%s\"", want,
			 daemon_.log[2]);
	pthread_mutex_unlock(&daemon_.lock);
}

static void run_holder_is_the_commands_own_pid(void **state)
{
	char a[128], pidfile[160], script[300], want[300], got[32] = "";
	const char *images[1] = { a };
	char *cmd[] = { "sh", "-c", script, NULL };
	struct cli_args args = { .command = CLI_RUN, .n_images = 1, .images = images,
				 .shared = true, .exec_argv = cmd };
	FILE *f;

	(void)state;
	daemon_start(lease_answer);
	make_file("a.img", a, sizeof(a));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", daemon_.dir);
	/* exec keeps the pid: the shell's $$ is the pid the lease was taken for. */
	snprintf(script, sizeof(script), "echo $$ > %s; exit 7", pidfile);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(run_in_child(&args), 7);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	got[strcspn(got, "\n")] = '\0';
	snprintf(want, sizeof(want), "Acquire {\"image\":\"%s\",\"pid\":%s,\"shared\":true,\"brief\":true}", a,
		 got);
	pthread_mutex_lock(&daemon_.lock);
	assert_int_equal(daemon_.n_log, 1);
	assert_string_equal(daemon_.log[0], want);
	pthread_mutex_unlock(&daemon_.lock);
}

static void run_holder_already_carries_the_commands_name(void **state)
{
	char a[128];
	const char *images[1] = { a };
	char *cmd[] = { "/bin/true", NULL };
	struct cli_args args = { .command = CLI_RUN, .n_images = 1, .images = images,
				 .exec_argv = cmd };

	(void)state;
	daemon_start(lease_answer);
	make_file("a.img", a, sizeof(a));
	args.socket_path = daemon_.socket_path;
	assert_int_equal(run_in_child(&args), 0);
	/* Conflict messages then name "true", not "lockwarden". */
	assert_string_equal(daemon_.holder_comm, "true");
}

static void run_of_missing_command_releases_and_exits_127(void **state)
{
	char a[128];
	const char *images[1] = { a };
	char *cmd[] = { "/nonexistent/cmd", NULL };
	struct cli_args args = { .command = CLI_RUN, .n_images = 1, .images = images,
				 .exec_argv = cmd };

	(void)state;
	daemon_start(lease_answer);
	make_file("a.img", a, sizeof(a));
	args.socket_path = daemon_.socket_path;
	assert_int_equal(run_in_child(&args), 127);
	pthread_mutex_lock(&daemon_.lock);
	assert_int_equal(daemon_.n_log, 2);
	assert_non_null(strstr(daemon_.log[1], "Release"));
	pthread_mutex_unlock(&daemon_.lock);
}

static void missing_image_fails_before_contacting_the_daemon(void **state)
{
	const char *images[1] = { "/nonexistent/x.img" };
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 1, .n_images = 1,
				 .images = images };
	char out[256], err[512];

	(void)state;
	daemon_start(lease_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 1);
	assert_string_equal(err, "lockwarden: acquire: /nonexistent/x.img: No such file or directory\n");
	assert_int_equal(daemon_.n_log, 0);
}

/* A lease whose image and holder name carry escape sequences, a newline
 * and a C1 CSI: what a hostile user can name a file and a process. */
#define LEASE_HOSTILE                                                                    \
	"{\"image\":\"/img/\\u001b[2Jx\\nFORGED\\u009b\",\"mode\":\"shared\",\"dev\":1,"    \
	"\"ino\":2,\"backend\":\"fcntl\",\"holders\":[{\"kind\":\"process\",\"pid\":9,"    \
	"\"start_time\":5,\"comm\":\"\\u001b]0;t\\u0007\"},{\"kind\":\"cgroup\","          \
	"\"cgroup\":\"/c\\r\"}],\"acquired_usec\":1}"

static const char *hostile_answer(const char *method, struct json_object *parameters)
{
	(void)parameters;
	if (strstr(method, ".List"))
		return "{\"parameters\":{\"leases\":[" LEASE_HOSTILE "]}}";
	if (strstr(method, ".Inquire"))
		return "{\"parameters\":{\"lease\":" LEASE_HOSTILE "}}";
	if (strstr(method, ".Status"))
		return "{\"parameters\":{\"version\":\"0.1\",\"backend\":\"x\\u001b[2J\","
		       "\"pin_dir\":\"/sys/fs/bpf/\\n\"}}";
	return "{\"error\":\"io.lockwarden.LeaseHeld\",\"parameters\":{\"image\":\"/x\","
	       "\"holders\":[{\"kind\":\"process\",\"pid\":1234,\"comm\":\"\\u001b[31mred\"}]}}";
}

static void expect_no_control_bytes(const char *what, const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || *p == 0x9b ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			fail_msg("expected no control byte in %s, found 0x%02x at %td: \"%s\"", what,
				 *p, (const char *)p - text, text);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void list_escapes_hostile_image_and_holder_names(void **state)
{
	struct cli_args args = { .command = CLI_LIST };
	char out[2048], err[512];

	(void)state;
	daemon_start(hostile_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_list, &args, out, sizeof(out), err, sizeof(err)), 0);
	expect_no_control_bytes("list output", out);
	if (count_lines(out) != 2 || !strstr(out, "/img/\\x1b[2Jx\\nFORGED\\u009b  shared") ||
	    !strstr(out, "pid 9 (\\x1b]0;t\\x07), cgroup /c\\r\n"))
		fail_msg("expected a header and one row with escaped names, got:\n%s", out);
}

static void list_json_is_the_same_json_with_c1_escaped(void **state)
{
	struct cli_args args = { .command = CLI_LIST, .json = true };
	struct json_object *parsed, *leases, *image;
	char out[4096], err[512];

	(void)state;
	daemon_start(hostile_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_list, &args, out, sizeof(out), err, sizeof(err)), 0);
	expect_no_control_bytes("list --json output", out);
	parsed = json_tokener_parse(out);
	if (!parsed)
		fail_msg("expected JSON on stdout, got \"%s\"", out);
	assert_true(json_object_object_get_ex(parsed, "leases", &leases));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(leases, 0), "image", &image));
	assert_string_equal(json_object_get_string(image), "/img/\x1b[2Jx\nFORGED\xc2\x9b");
	json_object_put(parsed);
}

static void status_escapes_the_daemons_strings(void **state)
{
	struct cli_args args = { .command = CLI_STATUS };
	char out[2048], err[512];

	(void)state;
	daemon_start(hostile_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_status, &args, out, sizeof(out), err, sizeof(err)), 0);
	expect_no_control_bytes("status output", out);
	if (!strstr(out, "backend:          x\\x1b[2J\n") ||
	    !strstr(out, "pin dir:          /sys/fs/bpf/\\n\n"))
		fail_msg("expected backend and pin dir escaped, got:\n%s", out);
}

/* A paxos daemon's Status: one lockspace in each state, the failed one's
 * reason carrying an escape sequence and a newline. */
static const char *lockspaces_answer(const char *method, struct json_object *parameters)
{
	(void)parameters;
	if (strstr(method, ".Status"))
		return "{\"parameters\":{\"version\":\"0.1\",\"backend\":\"paxos\","
		       "\"backend_status\":{\"lockspaces\":["
		       "{\"name\":\"LS\",\"host_id\":1,\"state\":\"joined\",\"join_seconds\":21.26},"
		       "{\"name\":\"LS2\",\"host_id\":2,\"state\":\"joining\",\"joining_seconds\":4.04},"
		       "{\"name\":\"LS3\",\"host_id\":3,\"state\":\"failed\","
		       "\"reason\":\"sanlock daemon not reachable\\u001b[2J\\nFORGED\"}],"
		       "\"leases\":[]}}}";
	return "{\"error\":\"io.lockwarden.BackendFailure\",\"parameters\":{\"reason\":\"unexpected\"}}";
}

static void status_shows_one_line_per_lockspace_with_state_host_id_and_seconds(void **state)
{
	struct cli_args args = { .command = CLI_STATUS };
	char out[4096], err[512];

	(void)state;
	daemon_start(lockspaces_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_status, &args, out, sizeof(out), err, sizeof(err)), 0);
	expect_no_control_bytes("status output", out);
	if (!strstr(out, "backend:          paxos\n"
			 "lockspace:        LS joined in 21.3 s (host_id 1)\n"
			 "lockspace:        LS2 joining for 4.0 s (host_id 2)\n"
			 "lockspace:        LS3 failed: sanlock daemon not reachable\\x1b[2J\\nFORGED (host_id 3)\n"))
		fail_msg("expected one line per lockspace under backend:, got:\n%s", out);
}

static void status_of_a_backend_without_lockspaces_has_no_lockspace_line(void **state)
{
	struct cli_args args = { .command = CLI_STATUS };
	char out[2048], err[512];

	(void)state;
	daemon_start(hostile_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_status, &args, out, sizeof(out), err, sizeof(err)), 0);
	if (strstr(out, "lockspace"))
		fail_msg("expected no lockspace line without backend_status.lockspaces, got:\n%s", out);
}

static void conflict_message_escapes_the_holder_name(void **state)
{
	const char *images[1];
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 42, .n_images = 1 };
	char image[128], out[512], err[512], want[512];

	(void)state;
	daemon_start(hostile_answer);
	make_file("a.img", image, sizeof(image));
	images[0] = image;
	args.images = images;
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "lockwarden: acquire %s: lease held by pid 1234 (\\x1b[31mred)\n",
		 image);
	assert_string_equal(err, want);
}

static void error_quoting_a_hostile_path_is_one_escaped_line(void **state)
{
	const char *images[1] = { "/nonexistent/\x1b[2J\nFORGED\x9b" };
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 1, .n_images = 1,
				 .images = images };
	char out[256], err[512];

	(void)state;
	daemon_start(lease_answer);
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 1);
	assert_string_equal(err, "lockwarden: acquire: /nonexistent/\\x1b[2J\\nFORGED\\x9b: "
				 "No such file or directory\n");
}

static void inquire_prints_the_lease_escaped(void **state)
{
	struct cli_args args = { .command = CLI_INQUIRE, .n_images = 1 };
	const char *images[1];
	char image[128], out[2048], err[512], want[300];

	(void)state;
	daemon_start(hostile_answer);
	make_file("a.img", image, sizeof(image));
	images[0] = image;
	args.images = images;
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_inquire, &args, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	expect_no_control_bytes("inquire output", out);
	if (count_lines(out) != 2 || !strstr(out, "/img/\\x1b[2Jx\\nFORGED\\u009b  shared"))
		fail_msg("expected a header and the lease's row, got:\n%s", out);
	snprintf(want, sizeof(want), "Inquire {\"image\":\"%s\"}", image);
	assert_string_equal(daemon_.log[0], want);
}

static void image_path_that_is_not_utf8_is_refused_before_the_daemon_sees_it(void **state)
{
	struct cli_args args = { .command = CLI_ACQUIRE, .pid = 42, .n_images = 1 };
	char image[128], out[512], err[1024], want[1024], shown[256];
	const char *images[1];

	(void)state;
	daemon_start(lease_answer);
	make_file("bad\x9b.img", image, sizeof(image));
	images[0] = image;
	args.images = images;
	args.socket_path = daemon_.socket_path;
	assert_int_equal(capture(cmd_acquire, &args, out, sizeof(out), err, sizeof(err)), 1);
	snprintf(shown, sizeof(shown), "%s/bad\\x9b.img", daemon_.dir);
	snprintf(want, sizeof(want),
		 "lockwarden: acquire %s: image path is not valid UTF-8, which lockwardend's "
		 "protocol needs: %s\n", shown, shown);
	assert_string_equal(err, want);
	assert_int_equal(daemon_.n_log, 0);
}

static const char *not_leased_answer(const char *method, struct json_object *parameters)
{
	(void)method;
	(void)parameters;
	return "{\"parameters\":{\"lease\":null}}";
}

static void inquire_of_a_free_image_says_not_leased_and_exits_0(void **state)
{
	struct cli_args args = { .command = CLI_INQUIRE, .n_images = 1 };
	const char *images[1] = { "/nonexistent/gone.img" };
	char out[512], err[512];

	(void)state;
	daemon_start(not_leased_answer);
	args.images = images;
	args.socket_path = daemon_.socket_path;
	/* a deleted image may still be leased: asked by name, not refused */
	assert_int_equal(capture(cmd_inquire, &args, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "not leased\n");
	assert_string_equal(err, "");
	assert_string_equal(daemon_.log[0], "Inquire {\"image\":\"/nonexistent/gone.img\"}");
	args.json = true;
	assert_int_equal(capture(cmd_inquire, &args, out, sizeof(out), err, sizeof(err)), 0);
	if (!strstr(out, "\"lease\": null"))
		fail_msg("expected the reply's JSON with \"lease\": null, got \"%s\"", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(acquire_conflict_prints_one_line_naming_the_holder,
					  daemon_stop),
		cmocka_unit_test_teardown(acquire_sends_the_absolute_image_path, daemon_stop),
		cmocka_unit_test_teardown(acquire_json_asks_for_the_lease_and_prints_it, daemon_stop),
		cmocka_unit_test_teardown(list_prints_a_table_of_leases, daemon_stop),
		cmocka_unit_test_teardown(list_json_prints_the_reply_parameters, daemon_stop),
		cmocka_unit_test_teardown(run_is_all_or_none_and_does_not_start_the_command,
					  daemon_stop),
		cmocka_unit_test_teardown(run_holder_is_the_commands_own_pid, daemon_stop),
		cmocka_unit_test_teardown(run_holder_already_carries_the_commands_name,
					  daemon_stop),
		cmocka_unit_test_teardown(run_of_missing_command_releases_and_exits_127,
					  daemon_stop),
		cmocka_unit_test_teardown(missing_image_fails_before_contacting_the_daemon,
					  daemon_stop),
		cmocka_unit_test_teardown(list_escapes_hostile_image_and_holder_names, daemon_stop),
		cmocka_unit_test_teardown(list_json_is_the_same_json_with_c1_escaped, daemon_stop),
		cmocka_unit_test_teardown(status_escapes_the_daemons_strings, daemon_stop),
		cmocka_unit_test_teardown(status_shows_one_line_per_lockspace_with_state_host_id_and_seconds,
					  daemon_stop),
		cmocka_unit_test_teardown(status_of_a_backend_without_lockspaces_has_no_lockspace_line, daemon_stop),
		cmocka_unit_test_teardown(conflict_message_escapes_the_holder_name, daemon_stop),
		cmocka_unit_test_teardown(error_quoting_a_hostile_path_is_one_escaped_line,
					  daemon_stop),
		cmocka_unit_test_teardown(inquire_prints_the_lease_escaped, daemon_stop),
		cmocka_unit_test_teardown(
			image_path_that_is_not_utf8_is_refused_before_the_daemon_sees_it,
			daemon_stop),
		cmocka_unit_test_teardown(inquire_of_a_free_image_says_not_leased_and_exits_0,
					  daemon_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
