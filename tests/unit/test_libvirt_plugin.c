// SPDX-License-Identifier: LGPL-2.1-or-later
/* build/lockwarden.so loaded the way libvirt loads a lock driver (dlopen
 * RTLD_NOW|RTLD_LOCAL, then the symbol virLockDriverImpl), driven through
 * the calls that need no lockwardend: the ABI, what it exports, its
 * configuration, the resources it accepts or refuses, and the errors a
 * missing or silent daemon gives. This program defines
 * virReportErrorHelper as libvirt.so does (exported with -rdynamic), so it
 * sees every error the plugin reports. A small fake lockwardend records
 * the calls the plugin makes for a <lease>. The sequences against a real
 * lockwardend run in the VM (tests/vm/libvirt_plugin_calls.c). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libvirt/cgroup.h"
#include "libvirt/config.h"
#include "libvirt/lock_driver.h"

/* ---- libvirt's side ------------------------------------------------------ */

static char last_error[1024];
static int last_code, n_errors;

void virReportErrorHelper(int domcode, int errcode, const char *filename, const char *funcname,
			  size_t linenr, const char *fmt, ...);
void virReportErrorHelper(int domcode, int errcode, const char *filename, const char *funcname,
			  size_t linenr, const char *fmt, ...)
{
	va_list ap;

	(void)filename;
	(void)funcname;
	(void)linenr;
	assert_int_equal(domcode, VIR_FROM_LOCKING);
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_code = errcode;
	n_errors++;
}

static void reset_errors(void)
{
	last_error[0] = '\0';
	last_code = 0;
	n_errors = 0;
}

#define assert_error_contains(text)                                                          \
	do {                                                                                 \
		if (!strstr(last_error, (text)))                                             \
			fail_msg("expected an error containing \"%s\", got \"%s\"", (text), \
				 last_error);                                                \
	} while (0)

static char plugin_path[PATH_MAX];
static char tmpdir[] = "/tmp/lw-plugin-test.XXXXXX";

/* build/tests/unit/test_libvirt_plugin -> build/lockwarden.so */
static void find_plugin(void)
{
	char exe[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *cut;

	assert_true(n > 0);
	exe[n] = '\0';
	cut = strstr(exe, "/tests/unit/");
	assert_non_null(cut);
	*cut = '\0';
	snprintf(plugin_path, sizeof(plugin_path), "%s/lockwarden.so", exe);
}

struct plugin {
	void *handle;
	virLockDriver *drv;
};

static void plugin_open(struct plugin *p)
{
	p->handle = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle)
		fail_msg("dlopen %s: %s", plugin_path, dlerror());
	p->drv = dlsym(p->handle, "virLockDriverImpl");
	assert_non_null(p->drv);
}

static void plugin_close(struct plugin *p)
{
	dlclose(p->handle);
}

static char *write_config(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* A plugin initialized with config text (NULL: no file at all). */
static int setup_plugin(void **state, const char *config_text)
{
	struct plugin *p = calloc(1, sizeof(*p));
	const char *path = config_text ? write_config("qemu-lockwarden.conf", config_text)
				       : "/nonexistent/qemu-lockwarden.conf";

	plugin_open(p);
	reset_errors();
	if (p->drv->drvInit(VIR_LOCK_MANAGER_VERSION, path, 0) != 0)
		fail_msg("drvInit failed: %s", last_error);
	*state = p;
	return 0;
}

static int setup_no_daemon(void **state)
{
	return setup_plugin(state, "socket = \"/nonexistent/lockwarden.sock\"\n");
}

static int teardown_plugin(void **state)
{
	struct plugin *p = *state;

	p->drv->drvDeinit();
	plugin_close(p);
	free(p);
	return 0;
}

/* drvNew with the parameters domain_lock.c passes (uuid, name, id, pid, uri). */
static int new_domain(struct plugin *p, virLockManager *man, int pid, unsigned flags)
{
	virLockManagerParam params[5] = {
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID, .key = "uuid" },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "name", .value.str = (char *)"vm1" },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT, .key = "id", .value.iv = 3 },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT, .key = "pid", .value.iv = pid },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING, .key = "uri", .value.cstr = "qemu:///system" },
	};

	memset(params[0].value.uuid, 0xab, VIR_UUID_BUFLEN);
	man->driver = p->drv;
	man->privateData = NULL;
	return p->drv->drvNew(man, VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, params, flags);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* ---- the ABI and the exports --------------------------------------------- */

static void driver_has_abi_version_1_and_uses_state(void **state)
{
	struct plugin *p = *state;

	assert_int_equal(p->drv->version, 1000000);
	assert_int_equal(p->drv->flags, VIR_LOCK_MANAGER_USES_STATE);
	assert_non_null(p->drv->drvInit);
	assert_non_null(p->drv->drvDeinit);
	assert_non_null(p->drv->drvNew);
	assert_non_null(p->drv->drvFree);
	assert_non_null(p->drv->drvAddResource);
	assert_non_null(p->drv->drvAcquire);
	assert_non_null(p->drv->drvRelease);
	assert_non_null(p->drv->drvInquire);
}

/* Every defined global symbol in .dynsym: only virLockDriverImpl may be there,
 * so nothing of liblockwarden, varlink or the plugin reaches libvirtd. */
static void plugin_exports_only_virLockDriverImpl(void **state)
{
	int fd = open(plugin_path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t exported = 0;
	Elf *elf;

	(void)state;
	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNSYM)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			gelf_getsym(data, (int)i, &sym);
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (sym.st_shndx == SHN_UNDEF || GELF_ST_BIND(sym.st_info) == STB_LOCAL)
				continue;
			if (strcmp(name, "virLockDriverImpl") != 0)
				fail_msg("expected only virLockDriverImpl exported, also found %s", name);
			exported++;
		}
	}
	elf_end(elf);
	close(fd);
	assert_int_equal(exported, 1);
}

/* ---- drvInit and the configuration ---------------------------------------- */

static void init_without_a_config_file_uses_the_defaults(void **state)
{
	struct plugin p;

	(void)state;
	plugin_open(&p);
	reset_errors();
	assert_int_equal(p.drv->drvInit(VIR_LOCK_MANAGER_VERSION, "/nonexistent/qemu-lockwarden.conf", 0), 0);
	assert_int_equal(n_errors, 0);
	p.drv->drvDeinit();
	plugin_close(&p);
}

static void init_refuses_another_abi_major_version(void **state)
{
	struct plugin p;

	(void)state;
	plugin_open(&p);
	reset_errors();
	assert_int_equal(p.drv->drvInit(2000000, NULL, 0), -1);
	assert_error_contains("lock driver ABI 2.0 not supported");
	plugin_close(&p);
}

static void init_names_the_file_and_line_of_a_bad_value(void **state)
{
	const char *path = write_config("bad.conf", "# comment\nholder = \"both\"\n");
	char want[PATH_MAX + 16];
	struct plugin p;

	(void)state;
	plugin_open(&p);
	reset_errors();
	assert_int_equal(p.drv->drvInit(VIR_LOCK_MANAGER_VERSION, path, 0), -1);
	snprintf(want, sizeof(want), "%s:2: holder must be \"process\" or \"cgroup\"", path);
	assert_error_contains(want);
	assert_int_equal(last_code, VIR_ERR_CONF_SYNTAX);
	plugin_close(&p);
}

static void config_reads_libvirt_style_quoted_values(void **state)
{
	struct lw_plugin_config cfg;
	char err[512];
	const char *path = write_config("ok.conf",
					"# qemu-lockwarden.conf\n"
					"auto_disk_leases = 1\n"
					"socket = \"/run/lw test/lockwarden.sock\"\n"
					"holder='cgroup'\n"
					"timeout_ms = 2500\n");

	(void)state;
	assert_int_equal(lw_plugin_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_true(cfg.auto_disk_leases);
	assert_false(cfg.require_lease_for_disks);
	assert_string_equal(cfg.socket, "/run/lw test/lockwarden.sock");
	assert_int_equal(cfg.holder, LW_PLUGIN_HOLDER_CGROUP);
	assert_int_equal(cfg.timeout_ms, 2500);
}

static void config_defaults_require_leases_when_auto_leases_are_off(void **state)
{
	struct lw_plugin_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(lw_plugin_config_load(&cfg, write_config("auto0.conf", "auto_disk_leases = 0\n"),
					       err, sizeof(err)), 0);
	assert_false(cfg.auto_disk_leases);
	assert_true(cfg.require_lease_for_disks);
	assert_int_equal(lw_plugin_config_load(&cfg, write_config("auto0r0.conf",
			 "auto_disk_leases = 0\nrequire_lease_for_disks = 0\n"), err, sizeof(err)), 0);
	assert_false(cfg.require_lease_for_disks);
}

static void config_refuses_bad_input_with_a_reason(void **state)
{
	static const struct {
		const char *text, *reason;
	} cases[] = {
		{ "socket = /run/x.sock\n", ":1: socket must be a quoted absolute path" },
		{ "socket = \"relative.sock\"\n", ":1: socket must be a quoted absolute path" },
		{ "auto_disk_leases = yes\n", ":1: auto_disk_leases must be 0 or 1" },
		{ "timeout_ms = 0\n", ":1: timeout_ms must be a number of milliseconds" },
		{ "timeout_ms = -5\n", ":1: timeout_ms must be a number of milliseconds" },
		{ "\nlock_space_dir = \"/x\"\n", ":2: unknown key lock_space_dir" },
		{ "holder = \"process\nx\n", ":1: holder must be" },
		{ "[section]\nholder = \"process\"\n", ":2: no sections" },
		{ "just words\n", ":1: expected key = value" },
	};
	struct lw_plugin_config cfg;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = lw_plugin_config_load(&cfg, write_config("case.conf", cases[i].text), err,
					      sizeof(err));

		if (r != -1 || !strstr(err, cases[i].reason))
			fail_msg("config %zu: expected -1 and \"%s\", got %d and \"%s\"", i,
				 cases[i].reason, r, err);
	}
}

/* docs/qemu-lockwarden.conf, what `make install` puts in /etc/libvirt,
 * parses and states the defaults. */
static void shipped_example_config_loads_to_the_defaults(void **state)
{
	struct lw_plugin_config cfg, defaults;
	char path[PATH_MAX], err[512], *cut;

	(void)state;
	snprintf(path, sizeof(path), "%s", plugin_path);
	cut = strrchr(path, '/');
	*cut = '\0';			/* BUILD */
	cut = strrchr(path, '/');
	assert_non_null(cut);
	snprintf(cut, sizeof(path) - (size_t)(cut - path), "/docs/qemu-lockwarden.conf");
	if (lw_plugin_config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	assert_int_equal(access(path, R_OK), 0);
	lw_plugin_config_defaults(&defaults);
	assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

/* ---- drvNew and drvAddResource -------------------------------------------- */

static void new_refuses_an_unknown_object_type(void **state)
{
	struct plugin *p = *state;
	virLockManager man = { .driver = p->drv };

	reset_errors();
	assert_int_equal(p->drv->drvNew(&man, 7, 0, NULL, 0), -1);
	assert_error_contains("unknown object type 7");
	assert_null(man.privateData);
}

/* A monolithic libvirtd loads the plugin once for each hypervisor driver
 * that names it (qemu, libxl): drvInit on the one loaded copy with each
 * driver's file, drvDeinit at each driver's end. */
static void expect_new_domain(struct plugin *p, int want, const char *error)
{
	virLockManager man;

	reset_errors();
	assert_int_equal(new_domain(p, &man, getpid(), 0), want);
	if (error)
		assert_error_contains(error);
	p->drv->drvFree(&man);
}

static void drivers_with_the_same_settings_share_them_until_the_last_deinit(void **state)
{
	const char *text = "socket = \"/nonexistent/lockwarden.sock\"\nholder = \"cgroup\"\n";
	char qemu_conf[PATH_MAX], libxl_conf[PATH_MAX];
	struct plugin qemu, libxl;

	(void)state;
	snprintf(qemu_conf, sizeof(qemu_conf), "%s", write_config("qemu-lockwarden.conf", text));
	snprintf(libxl_conf, sizeof(libxl_conf), "%s", write_config("libxl-lockwarden.conf", text));
	plugin_open(&qemu);
	plugin_open(&libxl);
	assert_ptr_equal(qemu.drv, libxl.drv);
	reset_errors();
	assert_int_equal(qemu.drv->drvInit(VIR_LOCK_MANAGER_VERSION, qemu_conf, 0), 0);
	assert_int_equal(libxl.drv->drvInit(VIR_LOCK_MANAGER_VERSION, libxl_conf, 0), 0);
	assert_int_equal(n_errors, 0);

	qemu.drv->drvDeinit();
	expect_new_domain(&libxl, 0, NULL);
	libxl.drv->drvDeinit();
	expect_new_domain(&libxl, -1, "used before init");
	plugin_close(&qemu);
	plugin_close(&libxl);
}

static void a_second_driver_with_other_settings_is_refused_naming_both_files(void **state)
{
	char qemu_conf[PATH_MAX], libxl_conf[PATH_MAX], want[2 * PATH_MAX + 32];
	struct plugin qemu, libxl;

	(void)state;
	snprintf(qemu_conf, sizeof(qemu_conf), "%s",
		 write_config("qemu-lockwarden.conf", "socket = \"/run/a.sock\"\n"));
	snprintf(libxl_conf, sizeof(libxl_conf), "%s",
		 write_config("libxl-lockwarden.conf", "socket = \"/run/b.sock\"\n"));
	plugin_open(&qemu);
	plugin_open(&libxl);
	reset_errors();
	assert_int_equal(qemu.drv->drvInit(VIR_LOCK_MANAGER_VERSION, qemu_conf, 0), 0);
	assert_int_equal(libxl.drv->drvInit(VIR_LOCK_MANAGER_VERSION, libxl_conf, 0), -1);
	snprintf(want, sizeof(want), "%s differs from %s", libxl_conf, qemu_conf);
	assert_error_contains(want);
	assert_int_equal(last_code, VIR_ERR_CONFIG_UNSUPPORTED);
	plugin_close(&libxl); /* libvirt closes the handle of a failed init */

	/* the first driver keeps its settings, and one deinit ends them */
	expect_new_domain(&qemu, 0, NULL);
	qemu.drv->drvDeinit();
	expect_new_domain(&qemu, -1, "used before init");
	plugin_close(&qemu);
}

/* ---- <lease> resources ----------------------------------------------------- */

/* A lockwardend that answers every call at once (Inquire: not leased) and
 * records each as "Method {parameters}", a thread a connection (the
 * plugin keeps connections open between calls). hang_up: close each
 * connection after its first answer, as a daemon that restarts. */
#define FAKE_MAX_CALLS 16
static struct {
	char socket_path[108];
	int listen_fd;
	pthread_t thread;
	pthread_mutex_t lock;
	char calls[FAKE_MAX_CALLS][4096];
	size_t n_calls;
	unsigned int n_connections, n_open;
	bool hang_up;
} fake;

static void fake_serve_connection(int fd)
{
	char req[4096];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		const char *reply, *method;
		char *end = memchr(req, '\0', len);

		if (!end) {
			if (len == sizeof(req) || (n = read(fd, req + len, sizeof(req) - len)) <= 0)
				break;
			len += (size_t)n;
			continue;
		}
		method = strstr(req, "io.lockwarden.Manager.");
		pthread_mutex_lock(&fake.lock);
		if (fake.n_calls < FAKE_MAX_CALLS)
			snprintf(fake.calls[fake.n_calls++], sizeof(fake.calls[0]), "%s", req);
		pthread_mutex_unlock(&fake.lock);
		reply = method && strncmp(method + 22, "Inquire", 7) == 0 ? "{\"parameters\":{\"lease\":null}}"
									 : "{\"parameters\":{}}";
		if (write(fd, reply, strlen(reply) + 1) < 0 || fake.hang_up)
			break;
		len -= (size_t)(end + 1 - req);
		memmove(req, end + 1, len);
	}
	close(fd);
}

static void *fake_connection(void *arg)
{
	fake_serve_connection((int)(intptr_t)arg);
	pthread_mutex_lock(&fake.lock);
	fake.n_open--;
	pthread_mutex_unlock(&fake.lock);
	return NULL;
}

static void *fake_serve(void *arg)
{
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept4(fake.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		pthread_mutex_lock(&fake.lock);
		fake.n_connections++;
		fake.n_open++;
		pthread_mutex_unlock(&fake.lock);
		if (pthread_create(&t, NULL, fake_connection, (void *)(intptr_t)fd) != 0) {
			close(fd);
			fake_connection((void *)(intptr_t)-1);
		} else {
			pthread_detach(t);
		}
	}
	return NULL;
}

static void fake_start(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	fake.n_calls = 0;
	fake.n_connections = 0;	/* n_open counts on: a failed test may leave some open */
	fake.hang_up = false;
	snprintf(fake.socket_path, sizeof(fake.socket_path), "%s/fake.sock", tmpdir);
	unlink(fake.socket_path);
	memcpy(addr.sun_path, fake.socket_path, sizeof(addr.sun_path));
	fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fake.listen_fd >= 0);
	assert_int_equal(bind(fake.listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fake.listen_fd, 8), 0);
	pthread_mutex_init(&fake.lock, NULL);
	assert_int_equal(pthread_create(&fake.thread, NULL, fake_serve, NULL), 0);
}

/* Until the fake has closed its end of every connection (5 s at most);
 * how many are still open. */
static unsigned int fake_wait_closed(void)
{
	unsigned int open = 1;

	for (int i = 0; i < 500 && open; i++) {
		pthread_mutex_lock(&fake.lock);
		open = fake.n_open;
		pthread_mutex_unlock(&fake.lock);
		if (open)
			usleep(10000);
	}
	return open;
}

/* After the plugin's drvDeinit: every connection it kept is closed, so
 * every connection thread ends. */
static void fake_stop(void)
{
	unsigned int open;

	shutdown(fake.listen_fd, SHUT_RDWR);
	pthread_join(fake.thread, NULL);
	close(fake.listen_fd);
	open = fake_wait_closed();
	if (open)
		fail_msg("%u connection(s) to the fake lockwardend still open after drvDeinit", open);
	pthread_mutex_destroy(&fake.lock);
}

/* The recorded Acquire call for image, or fail. */
static const char *fake_acquire_of(const char *image)
{
	char want[PATH_MAX + 16];

	snprintf(want, sizeof(want), "\"image\":\"%s\"", image);
	for (size_t i = 0; i < fake.n_calls; i++)
		if (strstr(fake.calls[i], "Manager.Acquire") && strstr(fake.calls[i], want))
			return fake.calls[i];
	fail_msg("expected an Acquire of %s among %zu calls, got none", image, fake.n_calls);
	return NULL;
}

/* A plugin talking to the fake lockwardend, with extra config lines. */
static struct plugin *setup_with_fake(const char *extra)
{
	char conf[PATH_MAX + 256];
	struct plugin *p;

	fake_start();
	snprintf(conf, sizeof(conf), "socket = \"%s\"\n%s", fake.socket_path, extra);
	setup_plugin((void **)&p, conf);
	return p;
}

static void teardown_with_fake(struct plugin *p)
{
	teardown_plugin((void **)&p);
	fake_stop();
}

/* What domain_lock.c passes for <lease><lockspace>LS</lockspace><key>KEY</key>
 * <target path='PATH' offset='OFFSET'/></lease> (no lockspace: 2 params). */
static int add_lease(struct plugin *p, virLockManager *man, const char *key, const char *lockspace,
		     const char *path, unsigned long long offset)
{
	virLockManagerParam params[3] = {
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "path", .value.str = (char *)path },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_ULONG, .key = "offset", .value.ul = offset },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "lockspace", .value.str = (char *)lockspace },
	};

	return p->drv->drvAddResource(man, VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE, key, lockspace ? 3 : 2,
				      params, 0);
}

static int add_disk(struct plugin *p, virLockManager *man, const char *image, unsigned flags)
{
	return p->drv->drvAddResource(man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, image, 0, NULL, flags);
}

static void lease_is_taken_as_the_named_lease_of_the_one_writable_disk(void **state)
{
	struct plugin *p = setup_with_fake("");
	virLockManager man;
	const char *call;
	char *st = NULL;

	(void)state;
	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	/* libvirt adds the leases first, then the disks */
	assert_int_equal(add_lease(p, &man, "vm1-lease", "LS", "/dev/vg/leases", 1048576), 0);
	assert_int_equal(add_disk(p, &man, "/images/cdrom.iso", VIR_LOCK_MANAGER_RESOURCE_READONLY), 0);
	assert_int_equal(add_disk(p, &man, "/images/shared.raw", VIR_LOCK_MANAGER_RESOURCE_SHARED), 0);
	assert_int_equal(add_disk(p, &man, "/images/vm1.raw", 0), 0);
	reset_errors();
	if (p->drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0)
		fail_msg("expected the acquire to succeed, got: %s", last_error);
	call = fake_acquire_of("/images/vm1.raw");
	if (!strstr(call, "\"lease\":\"LS:vm1-lease:/dev/vg/leases:1048576\""))
		fail_msg("expected the disk's Acquire to name lease LS:vm1-lease:/dev/vg/leases:1048576, got: %s",
			 call);
	call = fake_acquire_of("/images/shared.raw");
	if (strstr(call, "\"lease\""))
		fail_msg("expected the shared disk's Acquire to name no lease, got: %s", call);
	/* Inquire binds the <lease> the same way: no error */
	reset_errors();
	assert_int_equal(p->drv->drvInquire(&man, &st, 0), 0);
	assert_int_equal(n_errors, 0);
	p->drv->drvFree(&man);
	free(st);
	teardown_with_fake(p);
}

static void lease_binds_to_the_writable_disk_also_without_auto_disk_leases(void **state)
{
	struct plugin *p = setup_with_fake("auto_disk_leases = 0\n");
	virLockManager man;
	const char *call;

	(void)state;
	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	assert_int_equal(add_lease(p, &man, "vm1-lease", "LS", "/dev/vg/leases", 0), 0);
	assert_int_equal(add_disk(p, &man, "/images/vm1.raw", 0), 0);
	reset_errors();
	/* require_lease_for_disks is on (auto off): the <lease> is the disk's lease */
	if (p->drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0)
		fail_msg("expected the acquire to succeed, got: %s", last_error);
	call = fake_acquire_of("/images/vm1.raw");
	if (!strstr(call, "\"lease\":\"LS:vm1-lease:/dev/vg/leases:0\""))
		fail_msg("expected the disk's Acquire to name lease LS:vm1-lease:/dev/vg/leases:0, got: %s", call);
	reset_errors();
	assert_int_equal(p->drv->drvRelease(&man, NULL, 0), 0);
	assert_int_equal(n_errors, 0);
	if (!strstr(fake.calls[fake.n_calls - 1], "Manager.Release") ||
	    !strstr(fake.calls[fake.n_calls - 1], "\"image\":\"/images/vm1.raw\""))
		fail_msg("expected the release to give up /images/vm1.raw, last call: %s", fake.calls[fake.n_calls - 1]);
	p->drv->drvFree(&man);
	teardown_with_fake(p);
}

/* Each case: a domain the <lease> cannot be bound in, refused before
 * lockwardend is asked anything, with the reason. */
static void lease_with_no_writable_disk_or_several_is_refused(void **state)
{
	static const struct {
		const char *disks[3];
		unsigned flags[3];
		const char *why;
	} cases[] = {
		{ { "/images/a.raw", "/images/b.raw" }, { 0, 0 }, "domain vm1 has 2 writable, non-shared disks" },
		{ { "/images/cdrom.iso", "/images/shared.raw" },
		  { VIR_LOCK_MANAGER_RESOURCE_READONLY, VIR_LOCK_MANAGER_RESOURCE_SHARED },
		  "domain vm1 has 0 writable, non-shared disks" },
		{ { NULL }, { 0 }, "domain vm1 has 0 writable, non-shared disks" },
	};
	struct plugin *p = setup_with_fake("");

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		virLockManager man;

		fake.n_calls = 0;
		assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
		assert_int_equal(add_lease(p, &man, "vm1-lease", "LS", "/dev/vg/leases", 0), 0);
		for (size_t i = 0; i < 3 && cases[c].disks[i]; i++)
			assert_int_equal(add_disk(p, &man, cases[c].disks[i], cases[c].flags[i]), 0);
		reset_errors();
		assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
		assert_error_contains(cases[c].why);
		assert_error_contains("<lease> vm1-lease");
		assert_int_equal(last_code, VIR_ERR_CONFIG_UNSUPPORTED);
		reset_errors();
		assert_int_equal(p->drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY, 0, NULL), -1);
		assert_error_contains(cases[c].why);
		if (fake.n_calls != 0)
			fail_msg("case %zu: expected no call to lockwardend, got %zu (first: %s)", c, fake.n_calls,
				 fake.calls[0]);
		p->drv->drvFree(&man);
	}
	teardown_with_fake(p);
}

static void second_lease_is_refused(void **state)
{
	struct plugin *p = *state;
	virLockManager man;

	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	assert_int_equal(add_lease(p, &man, "one", "LS", "/dev/vg/leases", 0), 0);
	reset_errors();
	assert_int_equal(add_lease(p, &man, "two", "LS", "/dev/vg/leases", 1048576), -1);
	assert_error_contains("domain vm1 has more than one <lease> (one, two)");
	assert_int_equal(last_code, VIR_ERR_CONFIG_UNSUPPORTED);
	p->drv->drvFree(&man);
}

static void malformed_leases_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *key, *lockspace, *path, *why;
	} cases[] = {
		{ "vm1-lease", NULL, "/dev/vg/leases", "<lease> vm1-lease has no lockspace" },
		{ "", "LS", "/dev/vg/leases", "has no key" },
		{ "a:b", "LS", "/dev/vg/leases", "key \"a:b\" must be at most 48 bytes without ':'" },
		{ "vm1-lease", "L:S", "/dev/vg/leases", "lockspace \"L:S\" must be at most 48 bytes" },
		{ "k123456789012345678901234567890123456789012345678", "LS", "/x", "must be at most 48 bytes" },
		{ "vm1-lease", "LS", "leases", "target path must be absolute" },
		{ "vm1-lease", "LS", "/dev/disk/by-path/pci-0000:00:1f.2", "without ':'" },
		{ "vm1-lease", "LS", NULL, "target path must be absolute" },
	};
	struct plugin *p = *state;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		virLockManager man;

		assert_int_equal(new_domain(p, &man, 0, 0), 0);
		reset_errors();
		if (add_lease(p, &man, cases[c].key, cases[c].lockspace, cases[c].path, 0) != -1)
			fail_msg("case %zu: expected the <lease> to be refused with \"%s\"", c, cases[c].why);
		assert_error_contains(cases[c].why);
		p->drv->drvFree(&man);
	}
}

static void shared_or_readonly_lease_is_refused(void **state)
{
	struct plugin *p = *state;
	virLockManagerParam params[2] = {
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "path", .value.str = (char *)"/dev/vg/leases" },
		{ .type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING, .key = "lockspace", .value.str = (char *)"LS" },
	};
	virLockManager man;

	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE, "k", 2, params,
						VIR_LOCK_MANAGER_RESOURCE_SHARED), -1);
	assert_error_contains("shared or read-only leases are not supported");
	p->drv->drvFree(&man);
}

static void lease_with_holder_cgroup_is_accepted(void **state)
{
	struct plugin *p;
	virLockManager man;

	(void)state;
	setup_plugin((void **)&p, "holder = \"cgroup\"\nsocket = \"/nonexistent/x.sock\"\n");
	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	reset_errors();
	if (add_lease(p, &man, "vm1-lease", "LS", "/dev/vg/leases", 0) != 0)
		fail_msg("expected a <lease> accepted with holder = cgroup, got: %s", last_error);
	p->drv->drvFree(&man);
	teardown_plugin((void **)&p);
}

static void relative_disk_path_is_refused(void **state)
{
	struct plugin *p = *state;
	virLockManager man;

	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "disk.img",
						0, NULL, 0), -1);
	assert_error_contains("disk image path must be absolute: disk.img");
	p->drv->drvFree(&man);
}

/* With only a read-only disk there is nothing to lease: acquire succeeds
 * without asking lockwardend (which is not running here). */
static void readonly_disk_is_not_leased(void **state)
{
	struct plugin *p = *state;
	virLockManager man;
	int fd = 42;

	assert_int_equal(new_domain(p, &man, 0, VIR_LOCK_MANAGER_NEW_STARTED), 0);
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/images/cdrom.iso",
						0, NULL, VIR_LOCK_MANAGER_RESOURCE_READONLY), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY |
					    VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, 0, &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
	assert_int_equal(n_errors, 0);
	p->drv->drvFree(&man);
}

/* ---- a missing or silent lockwardend -------------------------------------- */

static void acquire_without_lockwardend_is_a_clear_error(void **state)
{
	struct plugin *p = *state;
	virLockManager man;
	int fds_before = count_fds(), fd = 42;

	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/images/vm1.raw",
						0, NULL, 0), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, &fd), -1);
	assert_error_contains("cannot connect to lockwardend at /nonexistent/lockwarden.sock");
	assert_error_contains("(is lockwardend running?)");
	assert_int_equal(n_errors, 1);
	assert_int_equal(fd, -1);
	assert_int_equal(count_fds(), fds_before); /* nothing left open */
	reset_errors();
	assert_int_equal(p->drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY, 0, NULL), -1);
	assert_error_contains("is lockwardend running?");
	reset_errors();
	assert_int_equal(p->drv->drvRelease(&man, NULL, 0), -1);
	assert_error_contains("is lockwardend running?");
	p->drv->drvFree(&man);
}

static void writable_disks_without_leases_are_refused_when_required(void **state)
{
	struct plugin *p = *state;
	virLockManager man;

	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/images/vm1.raw",
						0, NULL, 0), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
	assert_error_contains("domain vm1 has writable disks but no leases");
	p->drv->drvFree(&man);
}

static int setup_require_leases(void **state)
{
	return setup_plugin(state, "auto_disk_leases = 0\nsocket = \"/nonexistent/x.sock\"\n");
}

static void foreign_lock_state_is_refused(void **state)
{
	struct plugin *p = *state;
	virLockManager man;

	assert_int_equal(new_domain(p, &man, 0, 0), 0);
	reset_errors();
	assert_int_equal(p->drv->drvAcquire(&man, "sanlock:v1:abcdef", 0, 0, NULL), -1);
	assert_error_contains("lock state not from this lock driver");
	p->drv->drvFree(&man);
}

/* A daemon that accepts connections but never answers must not hold
 * libvirtd: the call gives up after timeout_ms. */
static void silent_lockwardend_times_out(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char conf[PATH_MAX + 64];
	struct timespec t0, t1;
	virLockManager man;
	struct plugin *p;
	long ms;
	int srv;

	(void)state;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/silent.sock", tmpdir);
	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(srv, 8), 0); /* connect succeeds, nobody reads */
	snprintf(conf, sizeof(conf), "socket = \"%s\"\ntimeout_ms = 300\n", addr.sun_path);
	setup_plugin((void **)&p, conf);
	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	assert_int_equal(p->drv->drvAddResource(&man, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/images/vm1.raw",
						0, NULL, 0), 0);
	reset_errors();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, NULL), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_error_contains("did not answer");
	assert_int_equal(last_code, VIR_ERR_OPERATION_TIMEOUT);
	if (ms < 250 || ms > 5000)
		fail_msg("expected to give up after about 300 ms, took %ld ms", ms);
	p->drv->drvFree(&man);
	teardown_plugin((void **)&p);
	close(srv);
}

/* ---- connections kept between calls --------------------------------------- */

static unsigned int fake_connections(void)
{
	unsigned int n;

	pthread_mutex_lock(&fake.lock);
	n = fake.n_connections;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* One domain of one disk, its lease taken and given up rounds times. */
static void acquire_release(struct plugin *p, int rounds)
{
	virLockManager man;

	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	assert_int_equal(add_disk(p, &man, "/images/vm1.raw", 0), 0);
	for (int i = 0; i < rounds; i++) {
		reset_errors();
		if (p->drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0 || p->drv->drvRelease(&man, NULL, 0) != 0)
			fail_msg("round %d: expected the acquire and release to succeed, got: %s", i + 1, last_error);
	}
	p->drv->drvFree(&man);
}

/* libvirtd takes and gives up leases (CPUs started, paused, migrated) on
 * one connection kept open, closed by drvDeinit. */
static void calls_in_libvirtd_share_one_kept_connection(void **state)
{
	struct plugin *p = setup_with_fake("");
	int fds_before = count_fds();

	(void)state;
	acquire_release(p, 3);
	assert_int_equal(fake.n_calls, 6);
	assert_int_equal(fake_connections(), 1);
	/* the kept connection, and the fake's end of it */
	assert_int_equal(count_fds(), fds_before + 2);
	p->drv->drvDeinit();
	fake_wait_closed();
	assert_int_equal(count_fds(), fds_before);
	teardown_with_fake(p);
}

/* libvirtd's worker threads call at once: each call has a connection to
 * itself, and no more are opened than were in use together. */
#define CALLING_THREADS 4
static void *acquire_release_thread(void *arg)
{
	struct plugin *p = arg;
	virLockManager man;
	intptr_t failed = 0;

	if (new_domain(p, &man, getpid(), 0) != 0 || add_disk(p, &man, "/images/vm1.raw", 0) != 0)
		return (void *)1;
	for (int i = 0; i < 50; i++)
		failed += p->drv->drvAcquire(&man, NULL, 0, 0, NULL) != 0 || p->drv->drvRelease(&man, NULL, 0) != 0;
	p->drv->drvFree(&man);
	return (void *)failed;
}

static void threads_calling_at_once_share_the_kept_connections(void **state)
{
	struct plugin *p = setup_with_fake("");
	pthread_t threads[CALLING_THREADS];
	void *failed;

	(void)state;
	reset_errors();
	for (int i = 0; i < CALLING_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, acquire_release_thread, p), 0);
	for (int i = 0; i < CALLING_THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], &failed), 0);
		if (failed)
			fail_msg("thread %d: %ld of 50 round trips failed: %s", i, (long)(intptr_t)failed, last_error);
	}
	if (fake_connections() > CALLING_THREADS)
		fail_msg("expected at most %d connections, one a thread at a time, got %u", CALLING_THREADS,
			 fake_connections());
	teardown_with_fake(p);
}

/* A kept connection lockwardend has closed (it restarted) is dropped
 * before a call, not failed on: the call connects anew. */
static void connection_closed_by_a_restarted_lockwardend_is_replaced(void **state)
{
	struct plugin *p = setup_with_fake("");
	virLockManager man;

	(void)state;
	fake.hang_up = true;
	assert_int_equal(new_domain(p, &man, getpid(), 0), 0);
	assert_int_equal(add_disk(p, &man, "/images/vm1.raw", 0), 0);
	reset_errors();
	for (int i = 0; i < 2; i++) {
		fake_wait_closed();
		assert_int_equal(p->drv->drvAcquire(&man, NULL, 0, 0, NULL), 0);
		fake_wait_closed();
		assert_int_equal(p->drv->drvRelease(&man, NULL, 0), 0);
	}
	assert_int_equal(n_errors, 0);
	assert_int_equal(fake.n_calls, 4);
	assert_int_equal(fake_connections(), 4);
	p->drv->drvFree(&man);
	teardown_with_fake(p);
}

/* libvirt's child about to exec QEMU shares its parent's sockets: it must
 * never talk on the parent's kept connection, whose stream it would
 * corrupt. It connects for itself; the parent's connection still works. */
static void forked_child_never_uses_its_parents_connection(void **state)
{
	struct plugin *p = setup_with_fake("");
	int status;
	pid_t child;

	(void)state;
	acquire_release(p, 1);
	assert_int_equal(fake_connections(), 1);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		virLockManager man;
		int ok = new_domain(p, &man, getpid(), 0) == 0 && add_disk(p, &man, "/images/vm1.raw", 0) == 0 &&
			 p->drv->drvAcquire(&man, NULL, VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY |
							  VIR_LOCK_MANAGER_ACQUIRE_RESTRICT, 0, NULL) == 0;

		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fake_connections(), 2);
	acquire_release(p, 1);	/* the parent's stream is still in step */
	assert_int_equal(fake_connections(), 2);
	assert_int_equal(fake.n_calls, 5);
	teardown_with_fake(p);
}

/* ---- holder = cgroup ------------------------------------------------------ */

static void domain_cgroup_is_the_scope_above_libvirts_thread_groups(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator",
		  "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope" },
		{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/vcpu12",
		  "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope" },
		{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt",
		  "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope" },
		{ "/machine/qemu-2-vm2.libvirt-qemu/emulator", "/machine/qemu-2-vm2.libvirt-qemu" },
		{ "/machine/qemu-2-vm2.libvirt-qemu/iothread1", "/machine/qemu-2-vm2.libvirt-qemu" },
		{ "/machine/qemu-2-vm2.libvirt-qemu", "/machine/qemu-2-vm2.libvirt-qemu" },
		{ "/machine/vcpux", "/machine/vcpux" },	/* not a thread group name */
		{ "/emulator", "/emulator" },		/* never cut up to the root */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s", cases[i].in);
		lw_domain_cgroup_trim(path);
		if (strcmp(path, cases[i].out) != 0)
			fail_msg("%s: expected %s, got %s", cases[i].in, cases[i].out, path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(driver_has_abi_version_1_and_uses_state, setup_no_daemon, teardown_plugin),
		cmocka_unit_test(plugin_exports_only_virLockDriverImpl),
		cmocka_unit_test(init_without_a_config_file_uses_the_defaults),
		cmocka_unit_test(init_refuses_another_abi_major_version),
		cmocka_unit_test(init_names_the_file_and_line_of_a_bad_value),
		cmocka_unit_test(config_reads_libvirt_style_quoted_values),
		cmocka_unit_test(config_defaults_require_leases_when_auto_leases_are_off),
		cmocka_unit_test(config_refuses_bad_input_with_a_reason),
		cmocka_unit_test(shipped_example_config_loads_to_the_defaults),
		cmocka_unit_test_setup_teardown(new_refuses_an_unknown_object_type, setup_no_daemon, teardown_plugin),
		cmocka_unit_test(drivers_with_the_same_settings_share_them_until_the_last_deinit),
		cmocka_unit_test(a_second_driver_with_other_settings_is_refused_naming_both_files),
		cmocka_unit_test(lease_is_taken_as_the_named_lease_of_the_one_writable_disk),
		cmocka_unit_test(lease_binds_to_the_writable_disk_also_without_auto_disk_leases),
		cmocka_unit_test(lease_with_no_writable_disk_or_several_is_refused),
		cmocka_unit_test_setup_teardown(second_lease_is_refused, setup_no_daemon, teardown_plugin),
		cmocka_unit_test_setup_teardown(malformed_leases_are_refused_with_a_reason, setup_no_daemon, teardown_plugin),
		cmocka_unit_test_setup_teardown(shared_or_readonly_lease_is_refused, setup_no_daemon, teardown_plugin),
		cmocka_unit_test(lease_with_holder_cgroup_is_accepted),
		cmocka_unit_test_setup_teardown(relative_disk_path_is_refused, setup_no_daemon, teardown_plugin),
		cmocka_unit_test_setup_teardown(readonly_disk_is_not_leased, setup_no_daemon, teardown_plugin),
		cmocka_unit_test_setup_teardown(acquire_without_lockwardend_is_a_clear_error, setup_no_daemon, teardown_plugin),
		cmocka_unit_test_setup_teardown(writable_disks_without_leases_are_refused_when_required, setup_require_leases, teardown_plugin),
		cmocka_unit_test_setup_teardown(foreign_lock_state_is_refused, setup_no_daemon, teardown_plugin),
		cmocka_unit_test(silent_lockwardend_times_out),
		cmocka_unit_test(calls_in_libvirtd_share_one_kept_connection),
		cmocka_unit_test(threads_calling_at_once_share_the_kept_connections),
		cmocka_unit_test(connection_closed_by_a_restarted_lockwardend_is_replaced),
		cmocka_unit_test(forked_child_never_uses_its_parents_connection),
		cmocka_unit_test(domain_cgroup_is_the_scope_above_libvirts_thread_groups),
	};
	int r;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	find_plugin();
	r = cmocka_run_group_tests_name("libvirt_plugin", tests, NULL, NULL);
	/* best effort: the files written above */
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		r = r ? r : 1;
	return r;
}
