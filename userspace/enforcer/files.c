// SPDX-License-Identifier: LGPL-2.1-or-later
/* Questions about open files, answered by the kernel through the files
 * iterator (bpf/enforcer_files.bpf.c): the key of a descriptor, and who has
 * an image open for write. Loaded on first use, never pinned. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/self_pid.h"
#include "enforcer/enforcer_internal.h"
#include "enforcer_files.skel.h"	/* after enforcer_maps.h: it uses its structs */

static int files_load(struct lw_enforcer *enf)
{
	struct enforcer_files_bpf *skel;
	struct bpf_link *link;
	int err;

	skel = enforcer_files_bpf__open_and_load();
	if (!skel)
		return lw_fail(enf, -errno, "cannot load the files iterator: %s", strerror(errno));
	link = bpf_program__attach_iter(skel->progs.lw_files, NULL);
	if (!link) {
		err = lw_fail(enf, -errno, "cannot attach the files iterator: %s", strerror(errno));
		enforcer_files_bpf__destroy(skel);
		return err;
	}
	skel->links.lw_files = link;	/* destroyed with the skeleton */
	enf->files = skel;
	enf->files_link_fd = bpf_link__fd(link);
	return 0;
}

void lw_files_close(struct lw_enforcer *enf)
{
	enforcer_files_bpf__destroy(enf->files);
	enf->files = NULL;
	enf->files_link_fd = -1;
}

int lw_files_query(struct lw_enforcer *enf, enum lw_files_query query, __u32 tgid, __u32 fd,
		   const struct lw_map_key *key, struct lw_file_record **out, size_t *count)
{
	struct lw_file_record *records = NULL, *grown;
	size_t capacity = 0, used = 0;	/* bytes */
	ssize_t n;
	int iter_fd = -1, err = 0;

	*out = NULL;
	*count = 0;
	if (!enf->files && (err = files_load(enf)))
		return err;
	enf->files->bss->query = query;
	enf->files->bss->query_tgid = tgid;
	enf->files->bss->query_fd = fd;
	if (key)
		enf->files->bss->query_key = *key;

	iter_fd = bpf_iter_create(enf->files_link_fd);
	if (iter_fd < 0)
		return lw_fail(enf, -errno, "cannot start the files iterator: %s", strerror(errno));
	for (;;) {
		if (capacity - used < 4096) {
			capacity = capacity ? 2 * capacity : 16384;
			grown = realloc(records, capacity);
			if (!grown) {
				err = lw_fail(enf, -ENOMEM, "out of memory reading the files iterator");
				goto cleanup;
			}
			records = grown;
		}
		n = read(iter_fd, (char *)records + used, capacity - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = lw_fail(enf, -errno, "cannot read the files iterator: %s", strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		used += n;
	}
	*count = used / sizeof(*records);
	*out = records;
	records = NULL;
cleanup:
	free(records);
	close(iter_fd);
	return err;
}

int lw_map_key_of_fd(struct lw_enforcer *enf, int fd, struct lw_map_key *key)
{
	struct lw_file_record *records;
	struct lw_key_probe answer;
	size_t count;
	int err;

	if (fd < 0)
		return lw_fail(enf, -EBADF, "bad descriptor %d", fd);
	if (!lw_key_probe(enf, fd, &answer)) {
		*key = answer.key;
		return 0;
	}
	err = lw_files_query(enf, LW_FILES_KEY_OF_FD, lw_self_pid(), fd, NULL, &records, &count);
	if (err)
		return err;
	if (count != 1)
		err = lw_fail(enf, -EBADF, "descriptor %d is not open in this process", fd);
	else
		*key = records[0].key;
	free(records);
	return err;
}

int lw_enforcer_key_of_fd(struct lw_enforcement *handle, int fd, struct lw_image_key *key)
{
	struct lw_enforcer *enf = lw_bpf_of(handle);
	struct lw_map_key k;
	int err = lw_map_key_of_fd(enf, fd, &k);

	if (!err)
		*key = lw_from_map_key(&k);
	return err;
}
