// SPDX-License-Identifier: LGPL-2.1-or-later
/* Which sanlock lease stands for an image (paxos_lease.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sanlock.h>
#include <sanlock_resource.h>

#include "common/sha256.h"
#include "paxos_lease.h"
#include "paxos_lockspace.h"

#define NAME_PREFIX "lw-"
#define NAME_HEX 40	/* 160 bits of SHA-256: "lw-" + 40 < SANLK_NAME_LEN */

static struct sanlk_resource *resource_new(void)
{
	return calloc(1, sizeof(struct sanlk_resource) + sizeof(struct sanlk_disk));
}

/* A block device's identity that every host sees alike, from sysfs: an LV's
 * dm uuid, a LUN's WWN, a disk's serial. Empty if it has none. */
static void block_identity(dev_t rdev, char *out, size_t size)
{
	static const char *const attrs[] = { "dm/uuid", "device/wwid", "wwid", "device/serial", "serial" };
	char path[128];

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(rdev), minor(rdev), attrs[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
		if (out[0])
			return;
	}
}

int lw_paxos_lease_auto(const char *lockspace, const char *lease_dir, int image_fd, const char *image,
			bool shared, struct sanlk_resource **res, struct lw_err *err)
{
	char identity[PATH_MAX + 16], id[256], name[SANLK_NAME_LEN + 1], hex[LW_SHA256_HEX_LEN + 1];
	struct sanlk_resource *r;
	struct stat st;
	int len;

	if (!lease_dir || !lease_dir[0])
		return lw_err_set(err, EINVAL,
				  "paxos: no lease_dir is configured for automatic leases: name the lease (--lease LOCKSPACE:RESOURCE:PATH:OFFSET)");
	if (image_fd >= 0 ? fstat(image_fd, &st) : stat(image, &st))
		return lw_err_set(err, errno, "paxos: %s: %s", image, strerror(errno));
	id[0] = '\0';
	if (S_ISBLK(st.st_mode))
		block_identity(st.st_rdev, id, sizeof(id));
	if (id[0])
		len = snprintf(identity, sizeof(identity), "block:%s", id);
	else
		len = snprintf(identity, sizeof(identity), "path:%s", image);
	if (len < 0 || (size_t)len >= sizeof(identity))
		return lw_err_set(err, ENAMETOOLONG, "paxos: image name too long");
	if (lw_sha256_hex(identity, (size_t)len, hex) < 0)
		return lw_err_set(err, EIO, "paxos: SHA-256 of %s failed", image);
	snprintf(name, sizeof(name), NAME_PREFIX "%.*s", NAME_HEX, hex);

	r = resource_new();
	if (!r)
		return lw_err_set(err, ENOMEM, "out of memory");
	snprintf(r->lockspace_name, sizeof(r->lockspace_name), "%s", lockspace);
	memcpy(r->name, name, strlen(name));
	r->num_disks = 1;
	if ((size_t)snprintf(r->disks[0].path, sizeof(r->disks[0].path), "%s/%s.lease", lease_dir, name) >=
	    sizeof(r->disks[0].path)) {
		free(r);
		return lw_err_set(err, ENAMETOOLONG, "paxos: lease_dir path too long");
	}
	if (shared)
		r->flags |= SANLK_RES_SHARED;
	*res = r;
	return 0;
}

int lw_paxos_lease_manual(const char *text, const char *lockspace, bool shared, struct sanlk_resource **res,
			  struct lw_err *err)
{
	char copy[SANLK_MAX_RES_STR + 1], ls[SANLK_NAME_LEN + 1];
	struct sanlk_resource *r = NULL;

	if (strlen(text) >= sizeof(copy))
		return lw_err_set(err, EINVAL, "lease name too long");
	snprintf(copy, sizeof(copy), "%s", text);
	if (sanlock_str_to_res(copy, &r) < 0 || !r)
		return lw_err_set(err, EINVAL, "lease \"%s\" is not LOCKSPACE:RESOURCE:PATH:OFFSET", text);
	snprintf(ls, sizeof(ls), "%.*s", SANLK_NAME_LEN, r->lockspace_name);
	if (r->num_disks != 1 || (r->flags & (SANLK_RES_LVER | SANLK_RES_SHARED)) || !r->name[0] ||
	    r->disks[0].path[0] != '/') {
		free(r);
		return lw_err_set(err, EINVAL,
				  "lease \"%s\" is not LOCKSPACE:RESOURCE:PATH:OFFSET (one absolute path, no version)",
				  text);
	}
	/* another lockspace than the daemon's own: one sanlock joined already */
	if (strcmp(ls, lockspace) && !lw_paxos_lockspace_joined_here(ls)) {
		free(r);
		return lw_err_set(err, ENOENT, "lease \"%s\": lockspace %s is not joined on this host (this "
				  "daemon joins %s)", text, ls, lockspace);
	}
	if (shared)
		r->flags |= SANLK_RES_SHARED;
	*res = r;
	return 0;
}

int lw_paxos_lease_text(const struct sanlk_resource *res, char *out, size_t size, struct lw_err *err)
{
	char path[SANLK_PATH_LEN + 1];

	memset(path, 0, sizeof(path));
	sanlock_path_export(path, res->disks[0].path, sizeof(path));
	if ((size_t)snprintf(out, size, "%.*s:%.*s:%s:%" PRIu64, SANLK_NAME_LEN, res->lockspace_name,
			     SANLK_NAME_LEN, res->name, path, (uint64_t)res->disks[0].offset) >= size)
		return lw_err_set(err, ENAMETOOLONG, "lease name too long");
	return 0;
}
