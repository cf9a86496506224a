// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target for the varlink codec: the bytes a peer may send.
 * The first byte picks how the stream is cut into reads, so framing across
 * partial reads is fuzzed too; every message is parsed as a request and as
 * a reply (with the reader's kept tokener, checked against a fresh one),
 * and what parses is serialized and parsed again; the text
 * serialized must be json-c's own, byte for byte (json_write.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/varlink.h"

/* Small limit: the oversized path is reached often. */
#define FUZZ_MESSAGE_MAX 4096

static void round_trip(struct json_object *msg)
{
	struct varlink_reply again;
	char *wire = NULL;
	size_t len;

	if (!msg || varlink_serialize(msg, &wire, &len) < 0)
		goto cleanup;
	if (memchr(wire, '\0', len - 1))
		abort(); /* a raw NUL inside a serialized message breaks framing */
	if (strcmp(wire, json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE)))
		abort(); /* our writer must say what json-c says */
	if (varlink_reply_parse(wire, len - 1, &again, NULL) < 0)
		abort(); /* what we build, we must be able to read */
	varlink_reply_release(&again);
cleanup:
	free(wire);
	json_object_put(msg);
}

/* The reader's kept tokener must read each message as a fresh one does,
 * whatever the messages before it left behind. */
static void same_as_fresh(struct varlink_request *kept, int kept_ret, const char *text, size_t len)
{
	struct varlink_request fresh;
	int ret = varlink_request_parse(text, len, &fresh, NULL);

	if (ret != kept_ret)
		abort();
	if (ret == 0 && strcmp(json_object_to_json_string(kept->root), json_object_to_json_string(fresh.root)))
		abort();
	if (ret == 0)
		varlink_request_release(&fresh);
}

static void parse_message(struct varlink_reader *r, const char *text, size_t len)
{
	struct varlink_request req;
	struct varlink_reply reply;
	int ret = varlink_reader_parse_request(r, text, len, &req, NULL);

	same_as_fresh(&req, ret, text, len);
	if (ret == 0) {
		round_trip(varlink_reply_new(json_object_get(req.parameters), req.more));
		varlink_request_release(&req);
	}
	if (varlink_reader_parse_reply(r, text, len, &reply, NULL) == 0) {
		if (reply.error)
			round_trip(varlink_error_new(reply.error, json_object_get(reply.parameters)));
		varlink_reply_release(&reply);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct varlink_reader r;
	size_t chunk, off = 0, len;
	const char *text;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	varlink_reader_init(&r, FUZZ_MESSAGE_MAX);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (varlink_reader_feed(&r, data + off, n) < 0)
			break; /* oversized: a server drops this peer */
		off += n;
		while (varlink_reader_next(&r, &text, &len) == 1) {
			if (len >= FUZZ_MESSAGE_MAX)
				abort(); /* the limit counts the NUL */
			parse_message(&r, text, len);
		}
		if (r.cap > FUZZ_MESSAGE_MAX)
			abort(); /* the reader must never grow past its limit */
	}
	varlink_reader_free(&r);
	return 0;
}
