/* The writers check with the daemon's own lock descriptions exempt. See busy.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busy.h"
#include "enforcer/enforcer_internal.h"

static bool own_file(const struct lw_file_record *records, size_t count, __u64 file_id)
{
	for (size_t i = 0; i < count; i++)
		if (records[i].tgid == (__u32)getpid() && records[i].file_id == file_id)
			return true;
	return false;
}

int lw_busy_check(struct lw_enforcer *enf, int fd, const struct lw_image_key *key,
		  const struct lw_holder *holder, bool regular_file, struct lw_writer *writer)
{
	struct lw_file_record *records;
	size_t count, distinct = 0;
	__s32 writecount = 0;
	int r;

	memset(writer, 0, sizeof(*writer));
	r = lw_files_query(enf, LW_FILES_WRITERS, getpid(), fd, key, &records, &count);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		const struct lw_file_record *rec = &records[i];
		bool seen = false;

		writecount = rec->writecount;
		if (!(rec->f_mode & LW_FMODE_WRITE))
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= records[j].file_id == rec->file_id;
		distinct += !seen;
		if (rec->tgid == (__u32)getpid() || own_file(records, count, rec->file_id) ||
		    lw_holder_covers_pid(holder, (int)rec->tgid))
			continue;
		writer->pid = rec->tgid;
		writer->fd = rec->fd;
		memcpy(writer->comm, rec->comm, sizeof(writer->comm));
		r = -EBUSY;
		goto cleanup;
	}
	/* i_writecount also counts write openers in no descriptor table */
	if (regular_file && writecount > (__s32)distinct)
		r = -EBUSY;
cleanup:
	free(records);
	return r;
}
