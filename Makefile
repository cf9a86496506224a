# lockwarden: the one entry point (build, check, demo, bench, install).
# Out-of-tree build in $(BUILD); `make V=1` prints full commands.

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
PREFIX  ?= /usr/local
DESTDIR ?=
ARCH    ?= x86

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Werror
INCLUDES := -I$(BUILD)/bpf -Ibpf -Iuserspace -Ibackends -Itools
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -fPIC $(INCLUDES) -MMD -MP
LDLIBS   := -lbpf -lelf -lz -ljson-c -linih -lsystemd -laudit -lcrypto
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function \
	-I. -Ibpf -I$(BUILD)/bpf

# BPF programs: bpf/x.bpf.c -> x.bpf.o -> x.skel.h (libbpf-tools shape).
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)

# Everything that is not a program's main goes into one internal archive;
# programs and tests link against it and take only what they use.
CORE_SRCS   := $(wildcard userspace/*/*.c backends/*.c)
CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_LIB    := $(BUILD)/liblockwarden-core.a
CORE_LIB_SAN := $(BUILD)/liblockwarden-core-san.a
CLIENT_SRCS := $(wildcard userspace/client/*.c userspace/common/*.c)
CLIENT_LIB  := $(BUILD)/liblockwarden.so

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
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)

.PHONY: all deps check test-bins demo bench install vmlinux clean
.DELETE_ON_ERROR:
# Keep objects that pattern chains would otherwise delete as intermediates.
.SECONDARY:

all: $(BPF_SKELS) $(PROGRAMS) $(CLIENT_LIB)

deps:
	$(Q)tools/install-deps

# deps first (a fresh machine has nothing), then build, then every test.
check:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)tests/check

test-bins: $(UNIT_BINS) $(VM_BINS) $(BENCH_BINS)

demo:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)tools/demo

bench:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)bench/run

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux.h $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)$(BPFTOOL) gen skeleton $< > $@

# Skeletons exist before any C file that may include them is compiled;
# -MMD records which ones really do.
$(BUILD)/obj/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,CC-SAN,$@)$(CC) $(CFLAGS) $(SANITIZE) -c $< -o $@

# interface.c embeds the protocol contract with .incbin, which -MMD cannot see.
$(BUILD)/obj/userspace/daemon/interface.o $(BUILD)/san/userspace/daemon/interface.o: \
	userspace/common/io.lockwarden.Manager.varlink

$(CORE_LIB): $(filter-out %/main.o,$(CORE_OBJS))
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(CORE_LIB_SAN): $(filter-out %/main.o,$(CORE_SRCS:%.c=$(BUILD)/san/%.o))
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(CLIENT_LIB): $(CLIENT_SRCS:%.c=$(BUILD)/obj/%.o)
	$(call msg,LD,$@)$(CC) -shared -Wl,-soname,liblockwarden.so.0 -o $@ $^ -ljson-c

$(DAEMON): $(BUILD)/obj/userspace/daemon/main.o $(CORE_LIB)
	$(call msg,LD,$@)$(CC) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(CORE_LIB)
	$(call msg,LD,$@)$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/san/tests/unit/%.o $(CORE_LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(CC) $(SANITIZE) -o $@ $^ $(LDLIBS) -lcmocka

# CLI tests (test_cli*) also link the CLI's own files, all but its main.
$(BUILD)/tests/unit/test_cli%: $(BUILD)/san/tests/unit/test_cli%.o \
		$(filter-out %/main.o,$(CLI_SRCS:%.c=$(BUILD)/san/%.o)) $(CORE_LIB_SAN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(CC) $(SANITIZE) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/vm/%: $(BUILD)/obj/tests/vm/%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(CC) -o $@ $^ $(LDLIBS) -lcmocka -luring

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(CC) -o $@ $^ $(LDLIBS)

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
	$(call msg,CC,$@)$(CC) $(CFLAGS) -fvisibility=hidden -c $< -o $@

$(PLUGIN): $(PLUGIN_OBJS) $(CLIENT_SRCS:%.c=$(BUILD)/obj/%.o) $(PLUGIN_MAP)
	$(call msg,LD,$@)$(CC) -shared -o $@ $(filter %.o,$^) -Wl,--version-script=$(PLUGIN_MAP) \
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
	$(call msg,LD,$@)$(CC) $(SANITIZE) -rdynamic -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/vm/libvirt_plugin_calls: $(BUILD)/obj/tests/vm/libvirt_plugin_calls.o $(CORE_LIB) | $(PLUGIN)
	@mkdir -p $(@D)
	$(call msg,LD,$@)$(CC) -rdynamic -o $@ $^ $(LDLIBS) -lcmocka
# ---- end of the libvirt plugin ----------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib
	$(if $(wildcard $(DAEMON)),install -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/sbin/)
	$(if $(wildcard $(CLI)),install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/)
	install -m 0755 $(CLIENT_LIB) $(DESTDIR)$(PREFIX)/lib/liblockwarden.so.0
	ln -sf liblockwarden.so.0 $(DESTDIR)$(PREFIX)/lib/liblockwarden.so
	install -D -m 0644 userspace/client/lockwarden.h $(DESTDIR)$(PREFIX)/include/lockwarden.h
	$(if $(wildcard docs/*.1 docs/*.5 docs/*.8),tools/install-man "$(DESTDIR)$(PREFIX)/share/man" docs/*.[158])
	$(if $(wildcard docs/lockwardend.service),install -d $(DESTDIR)$(PREFIX)/lib/systemd/system && \
		sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|' docs/lockwardend.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/lockwardend.service)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/san $(BUILD)/bpf $(BUILD)/tests $(BUILD)/bench $(BUILD)/*.a $(BUILD)/*.so $(PROGRAMS)

-include $(shell find $(BUILD)/obj $(BUILD)/san -name '*.d' 2>/dev/null)
