# SPDX-License-Identifier: LGPL-2.1-or-later
# lockwarden: the one entry point (build, check, demo, bench, install).
# Out-of-tree build in $(BUILD); `make V=1` prints full commands.
#
# Packagers: CPPFLAGS, CFLAGS and LDFLAGS from the environment or the
# command line are honoured (dpkg-buildflags' hardening flags reach every
# compile and link); ours are added to them, never replaced by them.
# -Werror is off for a plain `make` (a newer compiler's new warning must not
# break a package build) and on for `make check`, `demo` and `bench`
# (WERROR=1). Objects are rebuilt when CC, CPPFLAGS, CFLAGS or LDFLAGS
# change; WERROR is left out of that so `make check` reuses a build.

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    ?= x86
WERROR  ?= 0

# Install locations; LIBDIR is multiarch like Debian's (/usr/local/lib/x86_64-linux-gnu).
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MULTIARCH  ?= $(or $(DEB_HOST_MULTIARCH),$(shell $(CC) -print-multiarch 2>/dev/null))
LIBDIR     ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/lockwarden
UNITDIR    ?= $(PREFIX)/lib/systemd/system

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra $(if $(filter 1 yes,$(WERROR)),-Werror)
INCLUDES := -I$(BUILD)/bpf -Ibpf -Iuserspace -Iuserspace/client -Ibackends -Itools
CFLAGS   ?= -O2 -g
# Ours first, the packager's after: their -O or -f flags win.
COMPILE   = $(CC) -D_GNU_SOURCE $(INCLUDES) $(CPPFLAGS) $(WARN) -std=gnu11 -fPIC -MMD -MP $(CFLAGS)
LINK      = $(CC) $(CFLAGS) $(LDFLAGS)
LDLIBS   := -lbpf -lelf -lz -ljson-c -linih -lsystemd -laudit -lgcrypt -lsanlock
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function \
	-I. -Ibpf -I$(BUILD)/bpf

FLAGS_STAMP := $(BUILD)/.build-flags
FLAGS_NOW   := $(CC) | $(CPPFLAGS) | $(CFLAGS) | $(LDFLAGS)
ifneq ($(file < $(FLAGS_STAMP)),$(FLAGS_NOW))
$(shell mkdir -p $(BUILD))
$(file > $(FLAGS_STAMP),$(FLAGS_NOW))
endif

# BPF programs: bpf/x.bpf.c -> x.bpf.o -> x.skel.h (libbpf-tools shape);
# bench/ keeps its bench-only programs, built the same way.
BPF_SRCS  := $(wildcard bpf/*.bpf.c bench/*.bpf.c)
BPF_OBJS  := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_SKELS := $(BPF_OBJS:.bpf.o=.skel.h)

# Everything that is not a program's main goes into one internal archive;
# programs and tests link against it and take only what they use.
CORE_SRCS   := $(wildcard userspace/*/*.c backends/*.c)
CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_LIB    := $(BUILD)/liblockwarden-core.a
CORE_LIB_SAN := $(BUILD)/liblockwarden-core-san.a
# liblockwarden: the real file carries the version, the soname the major;
# a version script exports lockwarden_* and nothing else (it is loaded into
# libvirtd, where our internal names must not meet anyone else's).
CLIENT_SRCS := $(wildcard userspace/client/*.c userspace/common/*.c)
LIB_VERSION := $(shell sed -n 's/^\#define LOCKWARDEN_VERSION "\(.*\)"/\1/p' userspace/common/version.h)
LIB_SONAME  := liblockwarden.so.$(firstword $(subst ., ,$(LIB_VERSION)))
CLIENT_LIB_FILE := $(BUILD)/liblockwarden.so.$(LIB_VERSION)
CLIENT_LIB  := $(BUILD)/liblockwarden.so
CLIENT_MAP  := userspace/client/liblockwarden.map

DAEMON    := $(BUILD)/lockwardend
CLI       := $(BUILD)/lockwarden
CLI_SRCS  := $(wildcard tools/lockwarden/*.c)
PLUGIN_SRCS := $(wildcard tools/libvirt/*.c)
PROGRAMS  := $(if $(wildcard userspace/daemon/main.c),$(DAEMON)) $(if $(CLI_SRCS),$(CLI))

# Unit tests (host, sanitizers on), VM test programs and benchmarks:
# one file, one executable.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:%.c=$(BUILD)/%)
VM_SRCS    := $(wildcard tests/vm/*.c)
VM_BINS    := $(VM_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
# what the benchmarks share
BENCH_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/lib/*.c))

.PHONY: all deps check test-bins demo bench install vmlinux clean fuzz
.DELETE_ON_ERROR:
# Keep objects that pattern chains would otherwise delete as intermediates.
.SECONDARY:

all: $(BPF_SKELS) $(PROGRAMS) $(CLIENT_LIB) $(BUILD)/$(LIB_SONAME)

deps:
	$(Q)tools/install-deps

# deps first (a fresh machine has nothing), then build, then every test.
check:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all test-bins
	$(Q)WERROR=1 tests/check

test-bins: $(UNIT_BINS) $(VM_BINS) $(BENCH_BINS)

# libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each after the regression
# inputs; `make check` runs a short pass of the same (tests/host/fuzz.sh).
FUZZ_SECONDS ?= 60
fuzz:
	$(Q)tests/fuzz/run --seconds $(FUZZ_SECONDS)

demo:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all test-bins
	$(Q)tools/demo $(if $(filter 1 yes,$(VM)),--vm)

bench:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all test-bins
	$(Q)bench/run

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

vpath %.bpf.c bpf bench
$(BUILD)/bpf/%.bpf.o: %.bpf.c vmlinux.h $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)$(BPFTOOL) gen skeleton $< > $@

# Skeletons exist before any C file that may include them is compiled;
# -MMD records which ones really do.
$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP) | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(COMPILE) -c $< -o $@

$(BUILD)/san/%.o: %.c $(FLAGS_STAMP) | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,CC-SAN,$@)$(COMPILE) $(SANITIZE) -c $< -o $@

# interface.c embeds the protocol contract with .incbin, which -MMD cannot see.
$(BUILD)/obj/userspace/daemon/interface.o $(BUILD)/san/userspace/daemon/interface.o: \
	userspace/common/io.lockwarden.Manager.varlink

$(CORE_LIB): $(filter-out %/main.o,$(CORE_OBJS))
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(CORE_LIB_SAN): $(filter-out %/main.o,$(CORE_SRCS:%.c=$(BUILD)/san/%.o))
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(CLIENT_LIB_FILE): $(CLIENT_SRCS:%.c=$(BUILD)/obj/%.o) $(CLIENT_MAP)
	$(call msg,LD,$@)$(LINK) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=$(CLIENT_MAP) -Wl,--no-undefined -o $@ $(filter %.o,$^) -ljson-c

$(CLIENT_LIB) $(BUILD)/$(LIB_SONAME): $(CLIENT_LIB_FILE)
	$(Q)ln -sf $(notdir $<) $@

$(DAEMON): $(BUILD)/obj/userspace/daemon/main.o $(CORE_LIB)
	$(call msg,LD,$@)$(LINK) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(CORE_LIB)
	$(call msg,LD,$@)$(LINK) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/san/tests/unit/%.o $(CORE_LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) $(SANITIZE) -o $@ $^ $(LDLIBS) -lcmocka

# CLI tests (test_cli*) also link the CLI's own files, all but its main. A
# static pattern rule, so a CLI file not yet compiled cannot make make fall
# back to the rule above.
$(filter $(BUILD)/tests/unit/test_cli%,$(UNIT_BINS)): $(BUILD)/tests/unit/%: \
		$(BUILD)/san/tests/unit/%.o \
		$(filter-out %/main.o,$(CLI_SRCS:%.c=$(BUILD)/san/%.o)) $(CORE_LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) $(SANITIZE) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/vm/%: $(BUILD)/obj/tests/vm/%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) -o $@ $^ $(LDLIBS) -lcmocka -luring

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_LIB_OBJS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) -o $@ $^ $(LDLIBS)

# ---- libvirt lock-driver plugin (tools/libvirt, docs/libvirt.md) ------------
# lockwarden.so links liblockwarden's objects in and exports only
# virLockDriverImpl (version script): nothing of ours, varlink or the client
# API, reaches libvirtd's symbol space. json-c and inih stay its own
# dependencies (libvirt dlopens plugins RTLD_LOCAL).
LIBVIRT_LOCK_DRIVER_DIR ?= $(or $(patsubst %,%/libvirt/lock-driver,$(shell pkg-config --variable=libdir libvirt 2>/dev/null)),/usr/lib/x86_64-linux-gnu/libvirt/lock-driver)
LIBVIRT_CONF_DIR ?= /etc/libvirt
PLUGIN      := $(BUILD)/lockwarden.so
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(BUILD)/plugin/%.o)
PLUGIN_MAP  := tools/libvirt/lockwarden.map

.PHONY: install-libvirt-plugin clean-libvirt-plugin
all: $(if $(PLUGIN_SRCS),$(PLUGIN))
install: $(if $(PLUGIN_SRCS),install-libvirt-plugin)
clean: clean-libvirt-plugin

$(BUILD)/plugin/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(COMPILE) -fvisibility=hidden -c $< -o $@

$(PLUGIN): $(PLUGIN_OBJS) $(CLIENT_SRCS:%.c=$(BUILD)/obj/%.o) $(PLUGIN_MAP)
	$(call msg,LD,$@)$(LINK) -shared -o $@ $(filter %.o,$^) -Wl,--version-script=$(PLUGIN_MAP) \
		-Wl,-z,defs -Wl,-z,now -ljson-c -linih

# The config file is the admin's once installed: never overwritten.
install-libvirt-plugin: $(PLUGIN)
	install -D -m 0755 $(PLUGIN) $(DESTDIR)$(LIBVIRT_LOCK_DRIVER_DIR)/lockwarden.so
	[ -e $(DESTDIR)$(LIBVIRT_CONF_DIR)/qemu-lockwarden.conf ] || \
		install -D -m 0644 docs/qemu-lockwarden.conf $(DESTDIR)$(LIBVIRT_CONF_DIR)/qemu-lockwarden.conf

clean-libvirt-plugin:
	rm -rf $(BUILD)/plugin

# Tests of the plugin dlopen the built .so as libvirt does, and export
# virReportErrorHelper (-rdynamic) to catch what it reports; the unit test
# also links the plugin's pure parts (config, cgroup) to test them directly.
$(BUILD)/tests/unit/test_libvirt_plugin: $(BUILD)/san/tests/unit/test_libvirt_plugin.o \
		$(BUILD)/san/tools/libvirt/config.o $(BUILD)/san/tools/libvirt/cgroup.o \
		$(CORE_LIB_SAN) | $(PLUGIN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) $(SANITIZE) -rdynamic -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/vm/libvirt_plugin_calls: $(BUILD)/obj/tests/vm/libvirt_plugin_calls.o $(CORE_LIB) | $(PLUGIN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(LINK) -rdynamic -o $@ $^ $(LDLIBS) -lcmocka
# ---- end of the libvirt plugin ----------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	$(if $(wildcard $(DAEMON)),install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/)
	$(if $(wildcard $(CLI)),install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/)
	install -m 0755 $(CLIENT_LIB_FILE) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(CLIENT_LIB_FILE)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/liblockwarden.so
	install -D -m 0644 userspace/client/lockwarden/client.h $(DESTDIR)$(INCLUDEDIR)/lockwarden/client.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(LIB_VERSION)|' userspace/client/lockwarden.pc.in \
		> $(DESTDIR)$(PKGCONFIGDIR)/lockwarden.pc
	install -m 0644 LICENSE COPYING.LGPL-2.1 COPYING.GPL-2 $(DESTDIR)$(DOCDIR)/
	$(if $(wildcard docs/*.1 docs/*.5 docs/*.8),tools/install-man "$(DESTDIR)$(MANDIR)" docs/*.[158])
	$(if $(wildcard docs/lockwardend.service),install -d $(DESTDIR)$(UNITDIR) && \
		sed 's|/usr/local/sbin/|$(SBINDIR)/|' docs/lockwardend.service > $(DESTDIR)$(UNITDIR)/lockwardend.service)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/san $(BUILD)/bpf $(BUILD)/tests $(BUILD)/bench $(BUILD)/*.a $(BUILD)/liblockwarden.so* $(PROGRAMS)

-include $(shell find $(BUILD)/obj $(BUILD)/san -name '*.d' 2>/dev/null)
