// SPDX-License-Identifier: LGPL-2.1-or-later
/* The audit trail end to end, inside the VM: a real lockwardend (nop
 * backend, its own socket, pins, state and log) enforces leases taken with
 * the lockwarden CLI, and its audit log, journal and Linux audit output are
 * checked against what the test processes really did. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <json-c/json.h>

#include "audit/audit.h"
#include "enforcer/enforcer.h"
#include "audit_common.h"
#include "shell.h"

#define FLOOD_ATTEMPTS 100000
#define FLOOD_MAX (20 * FLOOD_ATTEMPTS)
#define FLOOD_ANSWERS 3
#define CMD_MAX SH_CMD_MAX

struct daemon {
	char build[PATH_MAX];	/* where lockwardend and lockwarden are */
	char dir[64];		/* everything of this run */
	char socket[128], pin_dir[128], state_dir[128], log[128], conf[128], stderr_log[128];
	pid_t pid;
};

static struct daemon daemon_under_test;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* lockwarden ARGS against the daemon under test. */
#define cli(fmt, ...) sh("%s/lockwarden --socket %s " fmt, daemon_under_test.build, \
			 daemon_under_test.socket, __VA_ARGS__)

static bool socket_exists(void)
{
	return access(daemon_under_test.socket, F_OK) == 0;
}

static void show_daemon_log(void)
{
	sh("sed 's/^/# lockwardend: /' %s >&2", daemon_under_test.stderr_log);
}

static int start_daemon(void **state)
{
	struct daemon *d = &daemon_under_test;
	char exe[PATH_MAX];
	ssize_t n;
	FILE *conf;

	(void)state;
	if (start_journald() < 0 || start_auditd() < 0)
		return -1;
	/* BUILD/tests/vm/audit_daemon -> BUILD */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	snprintf(d->build, sizeof(d->build), "%s", dirname(dirname(dirname(exe))));
	snprintf(d->dir, sizeof(d->dir), "/tmp/lw-audit-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->socket, sizeof(d->socket), "%.63s/lockwarden.sock", d->dir);
	snprintf(d->pin_dir, sizeof(d->pin_dir), "/sys/fs/bpf/lw-test-audit-%d", getpid());
	snprintf(d->state_dir, sizeof(d->state_dir), "%.63s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%.63s/log/audit.log", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%.63s/lockwarden.conf", d->dir);
	snprintf(d->stderr_log, sizeof(d->stderr_log), "%.63s/lockwardend.stderr", d->dir);
	conf = fopen(d->conf, "w");
	if (!conf)
		return -1;
	fprintf(conf, "[audit]\nfile = yes\njournal = yes\nlinux_audit = yes\n");
	fclose(conf);

	d->pid = fork();
	if (d->pid == 0) {
		int fd = open(d->stderr_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char daemon_path[PATH_MAX + 16];

		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(daemon_path, sizeof(daemon_path), "%.4000s/lockwardend", d->build);
		execl(daemon_path, "lockwardend", "--config", d->conf, "--socket", d->socket,
		      "--pin-dir", d->pin_dir, "--state-dir", d->state_dir, "--audit-log", d->log,
		      "--backend", "nop", (char *)NULL);
		_exit(127);
	}
	if (!wait_for(socket_exists, 60)) {
		fprintf(stderr, "# expected lockwardend to create %s within 60 s; it did not\n",
			d->socket);
		show_daemon_log();
		return -1;
	}
	return 0;
}

static int stop_daemon(void **state)
{
	struct daemon *d = &daemon_under_test;
	struct lw_enforcer_opts opts = { .pin_dir = d->pin_dir };
	struct lw_enforcement *enf = NULL;

	(void)state;
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
	}
	/* leases outlive the daemon by design: take this run's pins away */
	if (lw_enforcer_open(&opts, &enf, NULL) == 0) {
		lw_enforcer_unpin(enf);
		lw_enforcer_close(enf);
	}
	sh("rm -rf %s", d->dir);
	return 0;
}

/* A process that only waits, named comm: the holder of a lease. */
static pid_t spawn_idle(const char *comm)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_NAME, comm);
		for (;;)
			pause();
	}
	return pid;
}

static void end_process(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void make_image(char *path, size_t len, const char *name)
{
	int fd;

	snprintf(path, len, "%s/%s.raw", daemon_under_test.dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		fail_msg("cannot create image %s: %s", path, strerror(errno));
	close(fd);
}

static void acquire(const char *image, pid_t holder)
{
	if (cli("acquire %s --pid %d", image, (int)holder) != 0)
		fail_msg("expected lockwarden acquire %s --pid %d to succeed", image, (int)holder);
}

/* A holder that opens the image for write (it may) and waits; its
 * descriptor number in *fd. */
static pid_t spawn_writing_holder(const char *comm, const char *image, int *fd)
{
	int go[2], opened[2];
	pid_t pid;

	if (pipe(go) < 0 || pipe(opened) < 0)
		fail_msg("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		int image_fd;
		char c;

		prctl(PR_SET_NAME, comm);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		image_fd = open(image, O_RDWR);
		if (write(opened[1], &image_fd, sizeof(image_fd)) != sizeof(image_fd))
			_exit(1);
		for (;;)
			pause();
	}
	/* hold the lease first, then open */
	acquire(image, pid);
	if (write(go[1], "o", 1) != 1 || read(opened[0], fd, sizeof(*fd)) != sizeof(*fd) ||
	    *fd < 0)
		fail_msg("expected the holder to open %s for write", image);
	close(go[0]);
	close(go[1]);
	close(opened[0]);
	close(opened[1]);
	return pid;
}

/* Every record of the log for which keep() says yes, in order. */
typedef bool (*record_filter)(struct json_object *rec, const void *arg);

static struct json_object *read_log(const char *log, record_filter keep, const void *arg)
{
	struct json_object *recs = json_object_new_array();
	char *line = NULL;
	size_t cap = 0;
	FILE *in = fopen(log, "r");

	if (!in)
		return recs;
	while (getline(&line, &cap, in) > 0) {
		struct json_object *rec = json_tokener_parse(line);

		if (!rec)
			fail_msg("expected every line of %s to be JSON, got %s", log, line);
		if (keep(rec, arg))
			json_object_array_add(recs, rec);
		else
			json_object_put(rec);
	}
	free(line);
	fclose(in);
	return recs;
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(obj, key, &v);
	return v;
}

static const char *text(struct json_object *obj, const char *key)
{
	struct json_object *v = get(obj, key);

	return v ? json_object_get_string(v) : "(null)";
}

static int64_t number(struct json_object *obj, const char *key)
{
	return json_object_get_int64(get(obj, key));
}

static bool denial_by_tgid(struct json_object *rec, const void *arg)
{
	return !strcmp(text(rec, "type"), "denial") && number(rec, "tgid") == *(const pid_t *)arg;
}

static bool lease_of_image(struct json_object *rec, const void *arg)
{
	return !strcmp(text(rec, "type"), "lease") && !strcmp(text(rec, "image"), arg);
}

/* A forked writer: does its action on the image when told, reports errno,
 * and stays alive (so the daemon can still read its /proc/PID/exe) until
 * told to go. */
enum action {
	ACT_OPEN,		/* open(image, flags) */
	ACT_TRUNCATE,		/* truncate(image, 0) */
	ACT_UNLINK,
	ACT_RENAME,		/* rename(image, image + ".moved") */
	ACT_GETFD,		/* pidfd_getfd of the holder's write descriptor */
};

struct writer {
	pid_t pid;
	int go[2], done[2];
};

/* For ACT_GETFD: flags is the holder's pid; this is its write descriptor. */
static int holder_write_fd;

static int act(enum action action, const char *image, int flags)
{
	char moved[PATH_MAX + 8];
	int fd, pidfd;

	switch (action) {
	case ACT_OPEN:
		fd = open(image, flags);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? errno : 0;
	case ACT_TRUNCATE:
		return truncate(image, 0) < 0 ? errno : 0;
	case ACT_UNLINK:
		return unlink(image) < 0 ? errno : 0;
	case ACT_RENAME:
		snprintf(moved, sizeof(moved), "%s.moved", image);
		return rename(image, moved) < 0 ? errno : 0;
	case ACT_GETFD:
		pidfd = (int)syscall(SYS_pidfd_open, flags, 0);
		if (pidfd < 0)
			return errno == EACCES || errno == EPERM ? EIO : errno;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, holder_write_fd, 0);
		close(pidfd);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? errno : 0;
	}
	return EINVAL;
}

static void start_actor(struct writer *w, const char *comm, const char *image,
			enum action action, int flags)
{
	char c;

	if (pipe(w->go) < 0 || pipe(w->done) < 0)
		fail_msg("pipe: %s", strerror(errno));
	w->pid = fork();
	if (w->pid == 0) {
		int err;

		prctl(PR_SET_NAME, comm);
		if (read(w->go[0], &c, 1) != 1)
			_exit(1);
		err = act(action, image, flags);
		if (write(w->done[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		if (read(w->go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
}

static void start_writer(struct writer *w, const char *comm, const char *image, int flags)
{
	start_actor(w, comm, image, ACT_OPEN, flags);
}

static int writer_open(struct writer *w)
{
	int err = -1;

	if (write(w->go[1], "o", 1) != 1 || read(w->done[0], &err, sizeof(err)) != sizeof(err))
		fail_msg("the writer process did not answer");
	return err;
}

static void end_writer(struct writer *w)
{
	/* a byte, not EOF: writers forked later hold copies of this pipe */
	if (write(w->go[1], "x", 1) != 1)
		kill(w->pid, SIGKILL);
	close(w->go[1]);
	waitpid(w->pid, NULL, 0);
	close(w->go[0]);
	close(w->done[0]);
	close(w->done[1]);
}

/* The first denial record of tgid, waiting up to timeout_ms; NULL if none. */
static struct json_object *wait_denial(pid_t tgid, int timeout_ms, int64_t *waited_ms)
{
	int64_t start = monotonic_ms();

	for (;;) {
		struct json_object *recs = read_log(daemon_under_test.log, denial_by_tgid, &tgid);

		if (json_object_array_length(recs) > 0) {
			struct json_object *rec = json_object_get(json_object_array_get_idx(recs, 0));

			*waited_ms = monotonic_ms() - start;
			json_object_put(recs);
			return rec;
		}
		json_object_put(recs);
		if (monotonic_ms() - start > timeout_ms)
			return NULL;
		usleep(10000);
	}
}

static void expect_text(struct json_object *rec, const char *key, const char *want)
{
	if (strcmp(text(rec, key), want))
		fail_msg("expected \"%s\": \"%s\", got \"%s\" in %s", key, want, text(rec, key),
			 json_object_to_json_string(rec));
}

static void expect_number(struct json_object *rec, const char *key, int64_t want)
{
	if (!get(rec, key) || number(rec, key) != want)
		fail_msg("expected \"%s\": %lld, got %s in %s", key, (long long)want, text(rec, key),
			 json_object_to_json_string(rec));
}

static void denied_open_appears_in_the_log_within_a_second_with_every_field_right(void **state)
{
	char image[PATH_MAX], exe[PATH_MAX], want[128], loginuid[32] = "";
	struct json_object *rec, *key, *holder_rec;
	struct writer w;
	struct stat st;
	int64_t before, after, waited_ms;
	pid_t holder;
	int err, fd;
	ssize_t n;
	sd_journal *j;
	char *found;

	(void)state;
	make_image(image, sizeof(image), "denied");
	holder = spawn_idle("qemu-holder");
	acquire(image, holder);
	start_writer(&w, "rogue-writer", image, O_WRONLY | O_TRUNC);
	before = now_ns();
	err = writer_open(&w);
	if (err != EACCES && err != EPERM)
		fail_msg("expected the non-holder's open for write to be denied, got %s",
			 err ? strerror(err) : "success");
	rec = wait_denial(w.pid, 1000, &waited_ms);
	after = now_ns();
	if (!rec) {
		show_daemon_log();
		fail_msg("expected a denial record for pid %d in %s within 1 s; none came",
			 (int)w.pid, daemon_under_test.log);
	}
	fprintf(stderr, "# denial record in the file %lld ms after the open returned\n",
		(long long)waited_ms);

	expect_number(rec, "pid", w.pid);
	expect_number(rec, "tgid", w.pid);
	expect_number(rec, "uid", getuid());
	expect_number(rec, "gid", getgid());
	fd = open("/proc/self/loginuid", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, loginuid, sizeof(loginuid) - 1);
		loginuid[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (!strcmp(loginuid, "4294967295") ? get(rec, "loginuid") != NULL
					     : number(rec, "loginuid") != atoll(loginuid))
		fail_msg("expected loginuid %s (null when unset), got %s", loginuid,
			 text(rec, "loginuid"));
	expect_text(rec, "comm", "rogue-writer");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	expect_text(rec, "exe", exe);
	expect_text(rec, "path", image);
	expect_text(rec, "image", image);
	expect_text(rec, "op", "open-write");
	expect_number(rec, "open_flags", number(rec, "open_flags") | O_WRONLY | O_TRUNC);
	if (!strstr(text(rec, "open_flags_names"), "O_WRONLY") ||
	    !strstr(text(rec, "open_flags_names"), "O_TRUNC"))
		fail_msg("expected open_flags_names with O_WRONLY and O_TRUNC, got %s",
			 text(rec, "open_flags_names"));
	expect_text(rec, "lease_mode", "exclusive");
	expect_number(rec, "suppressed", 0);
	if (number(rec, "time_ns") < before - 1000000 || number(rec, "time_ns") > after)
		fail_msg("expected time_ns between %lld and %lld, got %lld", (long long)before,
			 (long long)after, (long long)number(rec, "time_ns"));
	/* tmpfs: stat's st_dev and the kernel's s_dev name the same device */
	stat(image, &st);
	key = get(rec, "key");
	expect_number(key, "major", major(st.st_dev));
	expect_number(key, "minor", minor(st.st_dev));
	expect_number(key, "ino", (int64_t)st.st_ino);
	holder_rec = get(rec, "holder");
	expect_text(holder_rec, "kind", "process");
	expect_number(holder_rec, "pid", holder);
	expect_text(holder_rec, "comm", "qemu-holder");

	/* the same denial in the journal ... */
	snprintf(want, sizeof(want), "%d", (int)w.pid);
	j = journal_find(LW_AUDIT_DENIAL_MESSAGE_ID, "LOCKWARDEN_TGID", want);
	assert_journal_value(j, "LOCKWARDEN_PATH", image);
	assert_journal_value(j, "LOCKWARDEN_OP", "open-write");
	assert_journal_value(j, "LOCKWARDEN_COMM", "rogue-writer");
	assert_journal_value(j, "LOCKWARDEN_EXE", exe);
	assert_journal_value(j, "LOCKWARDEN_HOLDER_COMM", "qemu-holder");
	assert_journal_value(j, "LOCKWARDEN_TIME_NS", text(rec, "time_ns"));
	sd_journal_close(j);
	/* ... and in the Linux audit log */
	snprintf(want, sizeof(want), "proc_tgid=%d ", (int)w.pid);
	found = ausearch_find(want);
	if (!found)
		fail_msg("expected `ausearch -m USER_AVC` to find %s within 10 s", want);
	fprintf(stderr, "# %s", found);
	if (!strstr(found, "op=open-write") || !strstr(found, "proc_comm=\"rogue-writer\"") ||
	    !strstr(found, image))
		fail_msg("expected the USER_AVC record to name op=open-write, proc_comm=\"rogue-writer\" "
			 "and %s, got %s", image, found);
	free(found);

	json_object_put(rec);
	end_writer(&w);
	end_process(holder);
}

/* Whether the record of a denial names op and, as its path, want_path. */
static void expect_denial_of(struct writer *w, const char *op, const char *want_path)
{
	struct json_object *rec;
	int64_t waited_ms;
	int err = writer_open(w);

	if (err != EACCES && err != EPERM)
		fail_msg("expected %s by a non-holder to be denied, got %s", op,
			 err ? strerror(err) : "success");
	rec = wait_denial(w->pid, 5000, &waited_ms);
	if (!rec)
		fail_msg("expected a %s denial record for pid %d within 5 s", op, (int)w->pid);
	expect_text(rec, "op", op);
	expect_text(rec, "path", want_path);
	json_object_put(rec);
	end_writer(w);
}

static void each_denied_operation_is_recorded_with_its_op(void **state)
{
	char image[PATH_MAX], *name;
	struct writer w;
	pid_t holder;

	(void)state;
	make_image(image, sizeof(image), "ops");
	name = strrchr(image, '/') + 1;
	holder = spawn_writing_holder("qemu-holder", image, &holder_write_fd);
	/* the kernel gives the full path for opens, the name for the others;
	 * taking the holder's descriptor is refused as ptrace-class access to
	 * the holder (protect_holders), recorded with the holder's name */
	start_actor(&w, "fd-thief", image, ACT_GETFD, holder);
	expect_denial_of(&w, "ptrace", "qemu-holder");
	start_actor(&w, "truncator", image, ACT_TRUNCATE, 0);
	expect_denial_of(&w, "truncate", name);
	start_actor(&w, "unlinker", image, ACT_UNLINK, 0);
	expect_denial_of(&w, "unlink", name);
	start_actor(&w, "renamer", image, ACT_RENAME, 0);
	expect_denial_of(&w, "rename", name);
	start_writer(&w, "opener", image, O_RDWR);
	expect_denial_of(&w, "open-write", image);
	end_process(holder);
}

static void lease_history_reconstructs_acquires_releases_and_holder_death(void **state)
{
	static const char *const want[][2] = {
		{ "acquire", "first" }, { "release", "first" },
		{ "acquire", "second" }, { "holder-death", "second" },
	};
	char image[PATH_MAX], cmd[CMD_MAX], *out = NULL;
	struct json_object *recs;
	pid_t first, second;
	size_t i, len = 0, lines = 0;
	int64_t start;
	FILE *p;

	(void)state;
	make_image(image, sizeof(image), "history");
	first = spawn_idle("first");
	acquire(image, first);
	if (cli("release %s --pid %d", image, (int)first) != 0)
		fail_msg("expected lockwarden release to succeed");
	second = spawn_idle("second");
	acquire(image, second);
	end_process(second);	/* dies holding the lease */

	start = monotonic_ms();
	do {
		recs = read_log(daemon_under_test.log, lease_of_image, image);
		if (json_object_array_length(recs) >= 4 || monotonic_ms() - start > 10000)
			break;
		json_object_put(recs);
		usleep(50000);
	} while (1);
	if (json_object_array_length(recs) != 4)
		fail_msg("expected 4 lease records for %s, got %zu: %s", image,
			 json_object_array_length(recs), json_object_to_json_string(recs));
	for (i = 0; i < 4; i++) {
		struct json_object *rec = json_object_array_get_idx(recs, i);
		struct json_object *holder = get(rec, "holder");

		if (strcmp(text(rec, "event"), want[i][0]) || strcmp(text(holder, "comm"), want[i][1]))
			fail_msg("expected lease record %zu to be %s by %s, got %s", i, want[i][0],
				 want[i][1], json_object_to_json_string(rec));
		expect_number(holder, "pid", !strcmp(want[i][1], "first") ? first : second);
		expect_text(rec, "lease_mode", "exclusive");
		if (i > 0 && number(rec, "time_ns") <
			     number(json_object_array_get_idx(recs, i - 1), "time_ns"))
			fail_msg("expected lease records in time order");
	}
	json_object_put(recs);

	/* the CLI lists the same four, and only them */
	snprintf(cmd, sizeof(cmd), "%s/lockwarden audit --json --log %s --image %s",
		 daemon_under_test.build, daemon_under_test.log, image);
	p = popen(cmd, "r");
	while (p && getline(&out, &len, p) > 0)
		lines++;
	if (p)
		pclose(p);
	free(out);
	if (lines != 4)
		fail_msg("expected `lockwarden audit --json --image %s` to print 4 lines, got %zu",
			 image, lines);
	end_process(first);
}

/* lockwarden status, answered or not, and how long it took. */
static bool status_answers(int64_t *ms, struct json_object **reply)
{
	char cmd[CMD_MAX], *out = NULL;
	size_t len = 0;
	int64_t start = monotonic_ms();
	ssize_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s/lockwarden --socket %s status --json",
		 daemon_under_test.build, daemon_under_test.socket);
	p = popen(cmd, "r");
	if (!p)
		return false;
	n = getdelim(&out, &len, '\0', p);
	*ms = monotonic_ms() - start;
	if (pclose(p) != 0 || n <= 0) {
		free(out);
		return false;
	}
	if (reply)
		*reply = json_tokener_parse(out);
	free(out);
	return true;
}

static int64_t status_counter(const char *name)
{
	struct json_object *reply = NULL;
	int64_t ms, v;

	if (!status_answers(&ms, &reply) || !reply)
		fail_msg("expected lockwarden status --json to answer with JSON");
	v = number(reply, name);
	json_object_put(reply);
	return v;
}

static volatile sig_atomic_t flood_stop;

static void on_flood_stop(int sig)
{
	(void)sig;
	flood_stop = 1;
}

/* The flooder: attempts denied opens as fast as it can, at least
 * FLOOD_ATTEMPTS and until told to stop (SIGUSR1) or FLOOD_MAX, then one
 * more after the rate-limit window so its last suppressed count is
 * reported. */
static void flood(const char *image, int report_fd)
{
	long long counts[3] = { 0 };	/* attempts, denied, not denied */
	sigset_t usr1;
	int i, fd;

	prctl(PR_SET_NAME, "flooder");
	signal(SIGUSR1, on_flood_stop);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	for (i = 0; i < FLOOD_MAX && (i < FLOOD_ATTEMPTS || !flood_stop); i++) {
		fd = open(image, O_WRONLY);
		counts[0]++;
		if (fd < 0 && (errno == EACCES || errno == EPERM)) {
			counts[1]++;
		} else {
			counts[2]++;
			if (fd >= 0)
				close(fd);
		}
	}
	sigprocmask(SIG_BLOCK, &usr1, NULL);	/* the window must pass whole */
	usleep(1500000);
	fd = open(image, O_WRONLY);
	counts[0]++;
	counts[fd < 0 && (errno == EACCES || errno == EPERM) ? 1 : 2]++;
	if (fd >= 0)
		close(fd);
	if (write(report_fd, counts, sizeof(counts)) != sizeof(counts))
		_exit(1);
	_exit(0);
}

static void flood_of_denied_opens_keeps_daemon_answering_log_bounded_and_counts_exact(void **state)
{
	char image[PATH_MAX];
	long long counts[3] = { 0 };
	struct json_object *recs = NULL;
	int64_t start, elapsed_ms, ms, slowest = 0, logged = 0, suppressed = 0, denials_before;
	int report[2], answered = 0, unanswered = 0;
	bool stopped = false;
	struct pollfd pfd;
	struct stat before_st, after_st;
	pid_t holder, flooder;
	size_t records = 0, limit;

	(void)state;
	make_image(image, sizeof(image), "flood");
	holder = spawn_idle("qemu-holder");
	acquire(image, holder);
	denials_before = status_counter("denials");
	if (stat(daemon_under_test.log, &before_st) < 0)
		fail_msg("expected the audit log %s to exist", daemon_under_test.log);
	if (pipe(report) < 0)
		fail_msg("pipe: %s", strerror(errno));

	start = monotonic_ms();
	flooder = fork();
	if (flooder == 0)
		flood(image, report[1]);
	/* meanwhile the daemon must go on answering other requests: the flood
	 * lasts until it answered FLOOD_ANSWERS times (no time limit: under
	 * TCG on a loaded host one status can take tens of seconds), and a
	 * daemon stalled by the flood never gets there before FLOOD_MAX */
	pfd = (struct pollfd){ .fd = report[0], .events = POLLIN };
	while (poll(&pfd, 1, 200) == 0) {
		if (status_answers(&ms, NULL)) {
			answered++;
			if (ms > slowest)
				slowest = ms;
		} else {
			unanswered++;
		}
		if (answered >= FLOOD_ANSWERS && !stopped && poll(&pfd, 1, 0) == 0) {
			kill(flooder, SIGUSR1);
			stopped = true;
		}
	}
	if (read(report[0], counts, sizeof(counts)) != sizeof(counts))
		fail_msg("the flooder did not report its counts");
	elapsed_ms = monotonic_ms() - start;
	waitpid(flooder, NULL, 0);
	fprintf(stderr, "# %lld attempts in %lld ms; status answered %d times during the flood, "
		"slowest %lld ms, %d unanswered\n", counts[0], (long long)elapsed_ms, answered,
		(long long)slowest, unanswered);
	if (counts[1] != counts[0])
		fail_msg("expected all %lld opens to be denied, %lld were not", counts[0], counts[2]);
	if (unanswered || !stopped)
		fail_msg("expected the daemon to answer status %d times during a flood of up to %d denied "
			 "opens; answered %d, unanswered %d, slowest %lld ms", FLOOD_ANSWERS, FLOOD_MAX, answered,
			 unanswered, (long long)slowest);

	/* logged + suppressed == attempts, once the last record is in */
	start = monotonic_ms();
	do {
		json_object_put(recs);
		recs = read_log(daemon_under_test.log, denial_by_tgid, &flooder);
		records = json_object_array_length(recs);
		logged = (int64_t)records;
		suppressed = 0;
		for (size_t i = 0; i < records; i++)
			suppressed += number(json_object_array_get_idx(recs, i), "suppressed");
		if (logged + suppressed >= counts[0])
			break;
		usleep(100000);
	} while (monotonic_ms() - start < 15000);
	json_object_put(recs);
	stat(daemon_under_test.log, &after_st);
	fprintf(stderr, "# %lld records + %lld suppressed for %lld attempts; log grew %lld bytes\n",
		(long long)logged, (long long)suppressed, counts[0],
		(long long)(after_st.st_size - before_st.st_size));
	if (logged + suppressed != counts[0])
		fail_msg("expected records + suppressed == attempts: %lld + %lld != %lld",
			 (long long)logged, (long long)suppressed, counts[0]);
	/* the kernel sends 10 events a second per (process, image): bounded */
	limit = (size_t)(10 * (elapsed_ms / 1000 + 2) + 1);
	if (records > limit)
		fail_msg("expected at most %zu records for a %lld ms flood, got %zu", limit,
			 (long long)elapsed_ms, records);
	if (after_st.st_size - before_st.st_size > (off_t)(limit * 1024))
		fail_msg("expected the log to grow by at most %zu bytes, it grew %lld", limit * 1024,
			 (long long)(after_st.st_size - before_st.st_size));
	if (status_counter("denials") - denials_before != counts[0])
		fail_msg("expected lockwarden status to count %lld more denials, it counts %lld",
			 counts[0], (long long)(status_counter("denials") - denials_before));
	end_process(holder);
}

/* logrotate in create mode with a postrotate SIGHUP, as docs/audit.md
 * recommends; meanwhile `lockwarden audit --follow` keeps printing. */
static void sighup_reopen_under_logrotate_create_mode_keeps_every_record(void **state)
{
	struct daemon *d = &daemon_under_test;
	char image[PATH_MAX], rotated[PATH_MAX], conf[PATH_MAX], cmd[CMD_MAX], line[8192];
	struct json_object *recs;
	struct writer w1, w2;
	int64_t waited_ms, start;
	bool follower_saw_second = false;
	pid_t holder, follower;
	int out[2], flags;
	FILE *f, *follow_out;

	(void)state;
	make_image(image, sizeof(image), "rotate");
	holder = spawn_idle("qemu-holder");
	acquire(image, holder);

	/* the follower starts before the rotation */
	if (pipe(out) < 0)
		fail_msg("pipe: %s", strerror(errno));
	follower = fork();
	if (follower == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl("/bin/sh", "sh", "-c", "exec \"$0\"/lockwarden audit --follow --json --log \"$1\"",
		      d->build, d->log, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	follow_out = fdopen(out[0], "r");
	flags = fcntl(out[0], F_GETFL);
	fcntl(out[0], F_SETFL, flags | O_NONBLOCK);

	start_writer(&w1, "before-rotate", image, O_RDWR);
	writer_open(&w1);
	if (!wait_denial(w1.pid, 5000, &waited_ms))
		fail_msg("expected a denial record before the rotation");

	snprintf(conf, sizeof(conf), "%.63s/logrotate.conf", d->dir);
	f = fopen(conf, "w");
	fprintf(f, "%s {\n\trotate 2\n\tcreate 0640 root root\n\tnocompress\n\tpostrotate\n"
		"\t\tkill -HUP %d\n\tendscript\n}\n", d->log, (int)d->pid);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "logrotate -f -s %.63s/logrotate.state %s", d->dir, conf);
	if (sh("%s", cmd) != 0)
		fail_msg("expected `%s` to succeed", cmd);
	snprintf(rotated, sizeof(rotated), "%s.1", d->log);

	start_writer(&w2, "after-rotate", image, O_RDWR);
	writer_open(&w2);
	if (!wait_denial(w2.pid, 5000, &waited_ms)) {
		show_daemon_log();
		fail_msg("expected the denial after the rotation in the new %s within 5 s", d->log);
	}
	/* the old record is in the rotated file, the new one only in the new file */
	recs = read_log(rotated, denial_by_tgid, &w1.pid);
	if (json_object_array_length(recs) != 1)
		fail_msg("expected the record before the rotation in %s", rotated);
	json_object_put(recs);
	recs = read_log(rotated, denial_by_tgid, &w2.pid);
	if (json_object_array_length(recs) != 0)
		fail_msg("expected no record after the rotation in %s", rotated);
	json_object_put(recs);

	start = monotonic_ms();
	while (!follower_saw_second && monotonic_ms() - start < 5000) {
		if (fgets(line, sizeof(line), follow_out)) {
			if (strstr(line, "\"comm\":\"after-rotate\""))
				follower_saw_second = true;
		} else {
			clearerr(follow_out);
			usleep(50000);
		}
	}
	kill(follower, SIGTERM);
	waitpid(follower, NULL, 0);
	fclose(follow_out);
	if (!follower_saw_second)
		fail_msg("expected `lockwarden audit --follow` to print the record written after "
			 "the rotation within 5 s");
	end_writer(&w1);
	end_writer(&w2);
	end_process(holder);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(denied_open_appears_in_the_log_within_a_second_with_every_field_right),
		cmocka_unit_test(each_denied_operation_is_recorded_with_its_op),
		cmocka_unit_test(lease_history_reconstructs_acquires_releases_and_holder_death),
		cmocka_unit_test(flood_of_denied_opens_keeps_daemon_answering_log_bounded_and_counts_exact),
		cmocka_unit_test(sighup_reopen_under_logrotate_create_mode_keeps_every_record),
	};

	/* LW_TEST_FILTER=pattern runs only the matching tests (debugging) */
	if (getenv("LW_TEST_FILTER"))
		cmocka_set_test_filter(getenv("LW_TEST_FILTER"));
	return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}
