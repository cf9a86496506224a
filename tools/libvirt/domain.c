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
	free(dom->lease);
	dom->lease = NULL;
	free(dom->exclusive_disk);
	dom->exclusive_disk = NULL;
	dom->n_exclusive_disks = 0;
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
	dom->disks[dom->n_disks] = (struct lw_disk){ .image = strdup(image), .shared = shared };
	if (!dom->disks[dom->n_disks].image)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	dom->n_disks++;
	return 0;
}

int lw_domain_note_exclusive_disk(struct lw_domain *dom, const char *image)
{
	if (!image || image[0] != '/')
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: disk image path must be absolute: %s",
				 image ? image : "(null)");
	if (dom->exclusive_disk && strcmp(dom->exclusive_disk, image) == 0)
		return 0;
	if (!dom->exclusive_disk && !(dom->exclusive_disk = strdup(image)))
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	dom->n_exclusive_disks++;
	return 0;
}

/* sanlock's names: at most 48 bytes (SANLK_NAME_LEN), and no ':', which
 * separates the parts of LOCKSPACE:KEY:PATH:OFFSET. */
#define LEASE_NAME_MAX 48

static int check_name(const char *key, const char *what, const char *value)
{
	if (!value || !value[0])
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: <lease> %s has no %s (lockwarden needs <lockspace>, <key> and <target path=...>)",
				 key, what);
	if (strlen(value) > LEASE_NAME_MAX || strchr(value, ':'))
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: <lease> %s: %s \"%.64s\" must be at most %d bytes without ':'", key,
				 what, value, LEASE_NAME_MAX);
	return 0;
}

int lw_domain_add_lease(struct lw_domain *dom, const char *key, size_t nparams,
			const virLockManagerParam *params, unsigned flags)
{
	const char *lockspace = NULL, *path = NULL;
	unsigned long long offset = 0;
	char *text;

	key = key ? key : "";
	if (flags)
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: <lease> %.64s: shared or read-only leases are not supported", key);
	for (size_t i = 0; i < nparams; i++) {
		const virLockManagerParam *p = &params[i];

		if (!p->key)
			continue;
		if (strcmp(p->key, "lockspace") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_STRING)
			lockspace = p->value.str;
		else if (strcmp(p->key, "path") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_STRING)
			path = p->value.str;
		else if (strcmp(p->key, "offset") == 0 && p->type == VIR_LOCK_MANAGER_PARAM_TYPE_ULONG)
			offset = p->value.ul;
		/* unknown parameters: a newer libvirt may add some */
	}
	if (check_name(key, "key", key) < 0 || check_name(key, "lockspace", lockspace) < 0)
		return -1;
	if (!path || path[0] != '/' || strpbrk(path, ":\\"))
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: <lease> %s: target path must be absolute, without ':' or '\\', got \"%.200s\"",
				 key, path ? path : "");
	if (dom->lease)
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: domain %s has more than one <lease> (%s, %s): lockwarden binds one <lease> to the domain's one writable disk",
				 dom->name, dom->lease_key, key);
	if (asprintf(&text, "%s:%s:%s:%llu", lockspace, key, path, offset) < 0)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	dom->lease = text;
	snprintf(dom->lease_key, sizeof(dom->lease_key), "%s", key);
	return 0;
}

int lw_domain_bind_lease(struct lw_domain *dom)
{
	size_t i;

	if (!dom->lease)
		return 0;
	if (dom->n_exclusive_disks != 1)
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: <lease> %s: domain %s has %zu writable, non-shared disks; a <lease> needs exactly one to protect",
				 dom->lease_key, dom->name, dom->n_exclusive_disks);
	if (lw_domain_add_disk(dom, dom->exclusive_disk, false) < 0)
		return -1;
	for (i = 0; strcmp(dom->disks[i].image, dom->exclusive_disk) != 0; i++)
		;
	dom->disks[i].lease = dom->lease;
	dom->unleased_rw_disks = false;	/* its one writable disk has the <lease> */
	return 0;
}
