// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state: a snapshot plus a journal of changes. See state.h. This file
 * keeps the journal open and appends to it; state_snapshot.c writes and
 * reads snapshots, state_replay.c replays the journal at start. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_write.h"
#include "lease_json.h"
#include "state.h"
#include "state_internal.h"

/* Compact once the journal passes twice the snapshot, and not before it
 * holds this much: a small table is not rewritten every few changes. */
#define COMPACT_MIN_BYTES (1 << 20)

/* The journal's size runs ahead of its records by up to this much: a
 * write inside the file's size leaves its inode as it is, where one past
 * it must update the size (ext4: about 5,000 instructions of journalling a
 * write). The room is a hole, read as zeros, which replay takes for the
 * end (a tail with no good record after it). */
#define JOURNAL_ROOM (64 * 1024)

struct lw_state {
	char dir[PATH_MAX];
	char id[ID_LEN + 1];	/* the snapshot the journal follows */
	int journal_fd;
	off_t durable;		/* journal bytes written */
	off_t size;		/* the journal file's: durable and the room after it */
	uint64_t durable_seq;	/* the last durable record's sequence number */
	uint64_t seq;		/* the last queued record's */
	off_t snapshot_bytes;
	char *queue;		/* records queued, not yet written */
	size_t queued, queue_size;
	struct lw_json_buf record;	/* the record being queued, its room reused */
	bool broken;		/* the journal's tail is unknown: compact at the next commit */
};

int lw_state_open(const char *state_dir, struct lw_lease_table *t, struct lw_state **out,
		  struct lw_err *err)
{
	struct lw_state *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		return lw_err_set(err, ENOMEM, "state: out of memory");
	}
	snprintf(s->dir, sizeof(s->dir), "%s", state_dir);
	s->journal_fd = -1;
	r = lw_state_compact(state_dir, t, s->id, &s->snapshot_bytes, &s->journal_fd, &s->durable, err);
	if (r < 0) {
		free(s);
		return r;
	}
	s->size = s->durable;
	*out = s;
	return 0;
}

void lw_state_close(struct lw_state *s)
{
	if (!s)
		return;
	if (s->journal_fd >= 0) {
		/* a stopped daemon's journal ends at its last record (if
		 * this fails, the room stays: replay reads it as the end) */
		if (s->size > s->durable)
			(void)!ftruncate(s->journal_fd, s->durable);
		close(s->journal_fd);
	}
	free(s->queue);
	lw_json_buf_free(&s->record);
	free(s);
}

int lw_state_append(struct lw_state *s, const struct lw_lease_entry *e, bool ended,
		    struct lw_err *err)
{
	struct lw_json_buf *b = &s->record;
	int r;

	b->len = 0;
	lw_json_open(b, '{');
	lw_json_key(b, "seq");
	lw_json_uint(b, s->seq + 1);
	if (ended) {
		lw_json_key(b, "end");
		lw_json_open(b, '{');
		lw_json_key(b, "image");
		lw_json_text(b, e->image);
		lw_json_key(b, "dev");
		lw_json_uint(b, e->key.dev);
		lw_json_key(b, "ino");
		lw_json_uint(b, e->key.ino);
		lw_json_close(b, '}');
	} else {
		lw_json_key(b, "lease");
		lw_lease_json_put(b, e, true, false);
	}
	lw_json_close(b, '}');
	r = lw_json_end(b, 0);
	if (!r)
		r = lw_state_frame(b->text, b->len, &s->queue, &s->queued, &s->queue_size);
	if (r < 0) {
		return lw_err_set(err, -r, "state: out of memory");
	}
	s->seq++;
	return 0;
}

bool lw_state_pending(const struct lw_state *s)
{
	return s->queued > 0;
}

static void drop_queue(struct lw_state *s)
{
	s->queued = 0;
	s->seq = s->durable_seq;
}

static int compact_state(struct lw_state *s, struct lw_lease_table *t, struct lw_err *err)
{
	int fd = -1, r;
	off_t bytes;

	r = lw_state_compact(s->dir, t, s->id, &s->snapshot_bytes, &fd, &bytes, err);
	if (r < 0) {
		/* the old snapshot may have been replaced: only a whole new pair is trusted */
		s->broken = true;
		return r;
	}
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	s->journal_fd = fd;
	s->durable = s->size = bytes;
	s->seq = s->durable_seq = 0;
	s->broken = false;
	return 0;
}

int lw_state_commit(struct lw_state *s, struct lw_lease_table *t, struct lw_err *err)
{
	size_t done = 0;
	int r = 0;

	if (!s->queued)
		return 0;
	if (s->broken || s->durable + (off_t)s->queued > 2 * s->snapshot_bytes + COMPACT_MIN_BYTES) {
		/* the new snapshot holds the queued changes */
		drop_queue(s);
		return compact_state(s, t, err);
	}
	if (s->durable + (off_t)s->queued > s->size) {
		off_t size = (s->durable + (off_t)s->queued + JOURNAL_ROOM - 1) / JOURNAL_ROOM * JOURNAL_ROOM;

		if (ftruncate(s->journal_fd, size) == 0)	/* else the writes grow it */
			s->size = size;
	}
	while (done < s->queued) {
		ssize_t n = pwrite(s->journal_fd, s->queue + done, s->queued - done, s->durable + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (r < 0) {
		lw_err_set(err, -r, "state: cannot write %s/%s: %s", s->dir, LW_STATE_JOURNAL, strerror(-r));
		/* a cut record must not stay before the next good one: cut it
		 * off, or compact next time if that fails too */
		if (ftruncate(s->journal_fd, s->durable) < 0)
			s->broken = true;
		s->size = s->durable;
		drop_queue(s);
		return r;
	}
	s->durable += (off_t)s->queued;
	if (s->durable > s->size)
		s->size = s->durable;
	s->durable_seq = s->seq;
	s->queued = 0;
	return 0;
}
