/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockwardend's configuration: defaults, the INI file (libinih), then
 * command-line options, each overriding the one before. */
#ifndef LW_DAEMON_CONFIG_H
#define LW_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "audit/audit.h"
#include "common/err.h"
#include "client/lockwarden/client.h"	/* the socket path: the protocol's, defined once */
#include "backend.h"

#define LW_DEFAULT_CONFIG "/etc/lockwarden/lockwarden.conf"
#define LW_DEFAULT_SOCKET LOCKWARDEN_SOCKET_DEFAULT
#define LW_DEFAULT_STATE_DIR "/var/lib/lockwarden"

#define LW_CONFIG_BACKEND_OPTIONS_MAX 32

struct lw_config_backend_option {
	char section[32];	/* the backend's name */
	char key[64];
	char value[PATH_MAX];
};

struct lw_config {
	char socket[PATH_MAX];		/* [daemon] socket */
	char pin_dir[PATH_MAX];		/* [daemon] pin_dir */
	char state_dir[PATH_MAX];	/* [daemon] state_dir */
	char admin_group[64];		/* [daemon] admin_group: may act for any process; "" none */
	unsigned int max_clients;	/* [daemon] max_clients: connections at once */
	unsigned int max_images;	/* [daemon] max_images: kernel table size when created */
	char enforcer[16];		/* [daemon] enforcer: auto | bpf-lsm | fanotify */
	bool hardened;			/* [daemon] hardened: only the daemon may touch its BPF objects and pins */
	unsigned int max_leases_per_uid;	/* [daemon] max_leases_per_uid: holds per unprivileged uid */
	/* limits an unprivileged user cannot turn against root (lockwardend(8)) */
	unsigned int max_clients_per_uid;	/* [daemon] max_clients_per_uid: an unprivileged uid's connections */
	unsigned int reserved_clients;	/* [daemon] reserved_clients: last slots of max_clients, root/admin only */
	unsigned int idle_timeout_sec;	/* [daemon] idle_timeout_sec: unprivileged connection with no request; 0 never */
	unsigned int lookup_timeout_sec;	/* [daemon] lookup_timeout_sec: an unprivileged caller's path lookup */
	unsigned int socket_mode;	/* [daemon] socket_mode: octal permission bits of the socket */
	char socket_group[64];		/* [daemon] socket_group: the socket's group; "" the admin group (else root) */
	bool protect_holders;		/* [daemon] protect_holders: no ptrace-class access to holders */
	bool protect_fs_devices;	/* [daemon] protect_fs_devices: no write opens of the device under leased files */
	char backend[32];		/* [backend] name: a backend this build has (backend.h) */
	/* the key/values of the backends' own sections ([fcntl], ...), each
	 * checked by its backend and handed to it at open */
	struct lw_config_backend_option backend_options[LW_CONFIG_BACKEND_OPTIONS_MAX];
	unsigned int nr_backend_options;
	struct lw_audit_config audit;	/* [audit] keys, see audit/audit.h */
};

void lw_config_defaults(struct lw_config *cfg);

/* Read an INI file over cfg. A missing file is fine when !required (the
 * defaults stand). Returns 0, or -errno with err saying which line and why.
 * Unknown sections or keys are errors: a typo must not pass silently. */
int lw_config_load(struct lw_config *cfg, const char *path, bool required, struct lw_err *err);

/* Set one key ("section", "key", "value"), as the file or an option does:
 * 0, or -ESRCH unknown section, -ENOENT unknown key, -E2BIG too many
 * backend keys, another -errno for a bad value; err (if not NULL) says which. */
int lw_config_set(struct lw_config *cfg, const char *section, const char *key, const char *value,
		  struct lw_err *err);

/* The options of backend name's section, in order, into out (at most
 * max): their count. Valid while cfg is. */
size_t lw_config_backend_options(const struct lw_config *cfg, const char *name,
				 struct lw_backend_option *out, size_t max);

/* Checks across keys, after everything is set: 0, or -EINVAL with err. */
int lw_config_check(const struct lw_config *cfg, struct lw_err *err);

#endif /* LW_DAEMON_CONFIG_H */
