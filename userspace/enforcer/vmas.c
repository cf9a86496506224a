// SPDX-License-Identifier: LGPL-2.1-or-later
/* The busy check of a block device lease, for mappings: a shared mapping
 * writable through its file, made before the lease of any node of the
 * device, writes it with no descriptor left open (devices keep no write
 * count). The mappings iterator (bpf/enforcer_vmas.bpf.c) finds them;
 * loaded for each check, never pinned (acquires of devices are rare). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/self_pid.h"
#include "enforcer/enforcer_internal.h"
#include "enforcer_vmas.skel.h"	/* after the map layouts: it uses their structs */

/* Read every record of one run of the iterator; *out is malloc'd. */
static int read_records(struct lw_enforcer *enf, int link_fd, struct lw_file_record **out, size_t *count)
{
	struct lw_file_record *records = NULL, *grown;
	size_t capacity = 0, used = 0;	/* bytes */
	int iter_fd = bpf_iter_create(link_fd), err = 0;
	ssize_t n;

	if (iter_fd < 0)
		return lw_fail(enf, -errno, "cannot start the mappings iterator: %s", strerror(errno));
	for (;;) {
		if (capacity - used < 4096) {
			capacity = capacity ? 2 * capacity : 16384;
			if (!(grown = realloc(records, capacity))) {
				err = lw_fail(enf, -ENOMEM, "out of memory reading the mappings iterator");
				break;
			}
			records = grown;
		}
		n = read(iter_fd, (char *)records + used, capacity - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = lw_fail(enf, -errno, "cannot read the mappings iterator: %s", strerror(errno));
		if (n <= 0)
			break;
		used += n;
	}
	close(iter_fd);
	if (err) {
		free(records);
		return err;
	}
	*out = records;
	*count = used / sizeof(*records);
	return 0;
}

static bool holds(const struct lw_map_lease *lease, __u32 pid)
{
	for (__u32 i = 0; i < lease->nr_holders && i < LW_MAP_MAX_HOLDERS; i++) {
		struct lw_holder holder = lw_from_map_holder(&lease->holders[i]);

		if (lw_holder_covers_pid(&holder, (int)pid))
			return true;
	}
	return false;
}

int lw_vmas_check(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n,
		  const struct lw_map_lease *lease)
{
	struct enforcer_vmas_bpf *skel;
	struct lw_file_record *records = NULL;
	struct bpf_link *link;
	size_t count = 0;
	int err;

	if (n > LW_VMAS_MAX_KEYS)
		return lw_fail(enf, -E2BIG, "%zu device nodes to check for mappings, at most %d", n,
			       LW_VMAS_MAX_KEYS);
	if (!(skel = enforcer_vmas_bpf__open_and_load()))
		return lw_fail(enf, -errno, "cannot load the mappings iterator: %s", strerror(errno));
	memcpy(skel->bss->query_keys, keys, n * sizeof(*keys));
	skel->bss->nr_query_keys = (__u32)n;
	if (!(link = bpf_program__attach_iter(skel->progs.lw_vmas, NULL))) {
		err = lw_fail(enf, -errno, "cannot attach the mappings iterator: %s", strerror(errno));
		goto out;
	}
	skel->links.lw_vmas = link;	/* destroyed with the skeleton */
	if ((err = read_records(enf, bpf_link__fd(link), &records, &count)))
		goto out;
	for (size_t i = 0; i < count; i++) {
		const struct lw_file_record *r = &records[i];

		if (r->tgid == (__u32)lw_self_pid() || holds(lease, r->tgid))
			continue;
		err = lw_fail(enf, -EBUSY, "device has a shared writable mapping in pid %u (%.*s)", r->tgid,
			      LW_MAP_COMM_LEN, r->comm);
		break;
	}
out:
	free(records);
	enforcer_vmas_bpf__destroy(skel);
	return err;
}
