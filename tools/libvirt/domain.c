// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/domain.h"
#include "libvirt/report.h"

int lw_domain_init(struct lw_domain *dom, size_t nparams, const virLockManagerParam *params,
		   unsigned flags)
{
	memset(dom, 0, sizeof(*dom));
	dom->flags = flags;
	for (size_t i = 0; i < nparams; i++) {
		const virLockManagerParam *p = &params[i];

		if (!p->key)
			continue;
		if (strcmp(p->key, "uuid") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_UUID)
			memcpy(dom->uuid, p->value.uuid, sizeof(dom->uuid));
		else if (strcmp(p->key, "name") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_STRING)
			snprintf(dom->name, sizeof(dom->name), "%s", p->value.str ? p->value.str : "");
		else if (strcmp(p->key, "id") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_UINT)
			dom->id = p->value.iv;
		else if (strcmp(p->key, "pid") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_UINT)
			dom->pid = (pid_t)p->value.iv;
		else if (strcmp(p->key, "uri") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING)
			snprintf(dom->uri, sizeof(dom->uri), "%s", p->value.cstr ? p->value.cstr : "");
		/* unknown parameters: a newer libvirt may add some, none changes what we do */
	}
	if (!dom->name[0])
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: the domain has no name parameter");
	if (dom->pid < 0)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: invalid pid %d for domain %s",
				 (int)dom->pid, dom->name);
	return 0;
}

void lw_domain_clear(struct lw_domain *dom)
{
	for (size_t i = 0; i < dom->n_disks; i++)
		free(dom->disks[i].image);
	free(dom->disks);
	dom->disks = NULL;
	dom->n_disks = 0;
}

int lw_domain_add_disk(struct lw_domain *dom, const char *image, bool shared)
{
	struct lw_disk *grown;

	if (!image || image[0] != '/')
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: disk image path must be absolute: %s",
				 image ? image : "(null)");
	for (size_t i = 0; i < dom->n_disks; i++)
		if (strcmp(dom->disks[i].image, image) == 0) {
			dom->disks[i].shared &= shared;
			return 0;
		}
	grown = realloc(dom->disks, (dom->n_disks + 1) * sizeof(*grown));
	if (!grown)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	dom->disks = grown;
	dom->disks[dom->n_disks].image = strdup(image);
	if (!dom->disks[dom->n_disks].image)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	dom->disks[dom->n_disks++].shared = shared;
	return 0;
}
