// SPDX-License-Identifier: LGPL-2.1-or-later
/* varlink framing: split a byte stream into NUL-terminated messages,
 * holding at most r->max bytes so a peer can never make us grow without
 * bound. */
#include "common/varlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READER_INITIAL_CAP 4096u

void varlink_reader_init(struct varlink_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max ? max : VARLINK_MESSAGE_MAX;
}

void varlink_reader_free(struct varlink_reader *r)
{
	free(r->buf);
	varlink_tokener_put(r->tok);
	varlink_reader_init(r, r->max);
}

/* Drop what next() already handed out; invalidates those pointers. */
static void reader_compact(struct varlink_reader *r)
{
	if (r->consumed == 0)
		return;
	memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
	r->len -= r->consumed;
	r->consumed = 0;
}

/* Make room for at least need bytes in total, never beyond max. */
static int reader_reserve(struct varlink_reader *r, size_t need)
{
	size_t cap;
	char *buf;

	if (need > r->max)
		return -EMSGSIZE;
	if (need <= r->cap)
		return 0;
	cap = r->cap ? r->cap : READER_INITIAL_CAP;
	while (cap < need)
		cap *= 2;
	if (cap > r->max)
		cap = r->max;
	buf = realloc(r->buf, cap);
	if (!buf)
		return -ENOMEM;
	r->buf = buf;
	r->cap = cap;
	return 0;
}

int varlink_reader_feed(struct varlink_reader *r, const void *data, size_t n)
{
	int ret;

	reader_compact(r);
	if (n > r->max - r->len)
		return -EMSGSIZE;
	ret = reader_reserve(r, r->len + n);
	if (ret < 0)
		return ret;
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

ssize_t varlink_reader_fill(struct varlink_reader *r, int fd)
{
	size_t want;
	ssize_t n;
	int ret;

	reader_compact(r);
	if (r->len >= r->max)
		return -EMSGSIZE; /* full, and the caller found no NUL in it */
	/* Grow geometrically, but read at most what still fits under max. */
	want = r->len < r->cap ? r->cap : r->cap * 2;
	if (want < READER_INITIAL_CAP)
		want = READER_INITIAL_CAP;
	if (want > r->max)
		want = r->max;
	ret = reader_reserve(r, want);
	if (ret < 0)
		return ret;
	do
		n = read(fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	r->len += (size_t)n;
	return n;
}

int varlink_reader_next(struct varlink_reader *r, const char **msg, size_t *len)
{
	char *start = r->buf + r->consumed;
	size_t pending = r->len - r->consumed;
	char *nul;

	if (pending == 0)
		return 0;
	/* Only look at bytes not searched before: linear in the stream. */
	nul = memchr(start + r->scanned, '\0', pending - r->scanned);
	if (!nul) {
		r->scanned = pending;
		return 0;
	}
	*msg = start;
	*len = (size_t)(nul - start);
	r->consumed += *len + 1;
	r->scanned = 0;
	return 1;
}

bool varlink_reader_has_partial(const struct varlink_reader *r)
{
	return r->len > r->consumed;
}
