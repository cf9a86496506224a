/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which sanlock lease stands for an image.
 *
 * Automatic mode: one lease file per image in the lease folder, named from
 * what is the same on every host: for a block device its storage identity
 * (the dm uuid of an LV, the WWN or serial of a LUN), else the image's path
 * on the shared storage. Manual mode: the caller names the lease as
 * LOCKSPACE:RESOURCE:PATH:OFFSET (libvirt's <lease> element), on storage a
 * management application initialised. */
#ifndef LW_PAXOS_LEASE_H
#define LW_PAXOS_LEASE_H

#include <stdbool.h>

#include "common/err.h"

struct sanlk_resource;

/* Automatic mode: the resource for the image open at image_fd (path image)
 * in lockspace, its lease file LEASE_DIR/NAME.lease. Caller frees *res. */
int lw_paxos_lease_auto(const char *lockspace, const char *lease_dir, int image_fd, const char *image,
			bool shared, struct sanlk_resource **res, struct lw_err *err);

/* Manual mode: parse LOCKSPACE:RESOURCE:PATH:OFFSET; the lockspace must be
 * the one given, or one sanlock on this host joined already. Caller frees
 * *res. */
int lw_paxos_lease_manual(const char *text, const char *lockspace, bool shared, struct sanlk_resource **res,
			  struct lw_err *err);

/* The resource as LOCKSPACE:RESOURCE:PATH:OFFSET (sanlock's own escaping of
 * ':' in paths), into out. */
int lw_paxos_lease_text(const struct sanlk_resource *res, char *out, size_t size, struct lw_err *err);

#endif /* LW_PAXOS_LEASE_H */
