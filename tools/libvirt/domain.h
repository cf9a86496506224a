/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What libvirt tells the plugin about one domain operation: the domain
 * (drvNew) and its resources (drvAddResource). */
#ifndef LW_LIBVIRT_DOMAIN_H
#define LW_LIBVIRT_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "libvirt/lock_driver.h"

struct lw_disk {
	char *image;  /* absolute path: a file or a block device */
	bool shared;  /* <shareable/>: a shared lease */
	const char *lease; /* the domain's <lease> bound to it (LOCKSPACE:KEY:PATH:OFFSET), or NULL */
};

struct lw_domain {
	unsigned char uuid[VIR_UUID_BUFLEN];
	char name[256];
	int id;
	pid_t pid;       /* the domain's QEMU; 0 until it exists */
	char uri[256];
	unsigned flags;  /* drvNew flags */
	struct lw_disk *disks;
	size_t n_disks;
	bool unleased_rw_disks; /* writable, exclusive disks left without a lease */
	/* A <lease> names the paxos lease of the domain's one writable,
	 * exclusive disk (lw_domain_bind_lease): what it needs to know. */
	char *lease;            /* LOCKSPACE:KEY:PATH:OFFSET, or NULL: no <lease> */
	char lease_key[64];
	char *exclusive_disk;   /* the first writable, exclusive disk */
	size_t n_exclusive_disks;
};

/* Fill dom from drvNew's parameters. Returns 0 or -1 (reported). */
int lw_domain_init(struct lw_domain *dom, size_t nparams, const virLockManagerParam *params,
		   unsigned flags);
void lw_domain_clear(struct lw_domain *dom);

/* Add one disk; the same image twice is kept once, exclusive winning.
 * Returns 0 or -1 (reported). */
int lw_domain_add_disk(struct lw_domain *dom, const char *image, bool shared);

/* Note a writable, exclusive disk (leased automatically or not): a
 * <lease> binds to it. Returns 0 or -1 (reported). */
int lw_domain_note_exclusive_disk(struct lw_domain *dom, const char *image);

/* Add the <lease> key with libvirt's params "lockspace", "path" (strings)
 * and "offset" (ULONG). One a domain. Returns 0 or -1 (reported). */
int lw_domain_add_lease(struct lw_domain *dom, const char *key, size_t nparams,
			const virLockManagerParam *params, unsigned flags);

/* Bind the <lease> (if any) to the domain's one writable, exclusive disk,
 * which joins dom->disks if it was not there; refuse what does not fit (no
 * such disk, several). Idempotent. Returns 0 or -1 (reported). */
int lw_domain_bind_lease(struct lw_domain *dom);

#endif
