/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* varlink wire codec: NUL-terminated JSON messages on a Unix stream socket.
 *
 * Shared by the daemon (server side) and liblockwarden (client side).
 * Framing is separate from parsing: a varlink_reader splits a byte stream
 * into messages with a hard size limit; varlink_request_parse() and
 * varlink_reply_parse() validate one message; the builders make replies,
 * errors and requests; varlink_serialize()/varlink_send() put them on the
 * wire; varlink_call() is the blocking round trip a client needs.
 *
 * Errors are negative errno values:
 *   -EMSGSIZE  a message grew beyond the reader's limit (drop the peer)
 *   -EBADMSG   a complete message is not valid varlink (see *why)
 *   -ECONNRESET / -EPIPE  the peer went away
 */
#ifndef LOCKWARDEN_VARLINK_H
#define LOCKWARDEN_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

/* Default hard limit on one message, terminating NUL included. */
#define VARLINK_MESSAGE_MAX (256u * 1024u)

/* Standard org.varlink.service errors. */
#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define VARLINK_ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"

/* ---- framing ---------------------------------------------------------- */

struct varlink_reader {
	char *buf;     /* pending bytes; [consumed, len) not yet returned */
	size_t len;
	size_t cap;    /* grows on demand, never beyond max */
	size_t max;    /* hard limit on one message incl. its NUL */
	size_t consumed; /* bytes already handed out by varlink_reader_next() */
	size_t scanned;  /* bytes after consumed known to hold no NUL */
	struct json_tokener *tok; /* kept for this stream's messages: a new one
				   * costs json-c a dozen allocations */
	unsigned wait_ms;         /* varlink_read_reply's wait for data: 0 for ever */
};

/* A reader's tokener, kept for the next reader to take (one is kept). */
void varlink_tokener_put(struct json_tokener *tok);

/* max == 0 means VARLINK_MESSAGE_MAX. Allocates nothing until data arrives. */
void varlink_reader_init(struct varlink_reader *r, size_t max);
void varlink_reader_free(struct varlink_reader *r);

/* Append bytes (tests, fuzzing, or a caller that reads itself).
 * Returns 0, or -EMSGSIZE when the pending bytes (after dropping what
 * varlink_reader_next() already returned) would exceed max: either a
 * message is too long, or the caller must drain with next() first. */
int varlink_reader_feed(struct varlink_reader *r, const void *data, size_t n);

/* One read(2) from fd into the reader, never more than fits under max.
 * Returns bytes read (> 0), 0 on end of stream, -EAGAIN on a non-blocking
 * fd with nothing to read, -EMSGSIZE when the buffer is full and holds no
 * complete message, or another -errno. EINTR is retried. */
ssize_t varlink_reader_fill(struct varlink_reader *r, int fd);

/* The next complete message, without its NUL. Returns 1 and sets *msg
 * (NUL-terminated, valid until the next feed/fill/free) and *len, or 0
 * when no complete message is pending. */
int varlink_reader_next(struct varlink_reader *r, const char **msg, size_t *len);

/* True when bytes of an unfinished message are pending (EOF then means a
 * truncated message). */
bool varlink_reader_has_partial(const struct varlink_reader *r);

/* ---- parsing ---------------------------------------------------------- */

struct varlink_request {
	struct json_object *root;       /* owns method and parameters */
	const char *method;             /* "io.lockwarden.Manager.Acquire" */
	struct json_object *parameters; /* always an object (empty if absent) */
	bool oneway;                    /* no reply wanted */
	bool more;                      /* client accepts several replies */
};

struct varlink_reply {
	struct json_object *root;       /* owns error and parameters */
	const char *error;              /* NULL on success, else the error name */
	struct json_object *parameters; /* always an object (empty if absent) */
	bool continues;                 /* more replies follow */
};

/* Parse text[0..len) (len excludes the NUL; text may contain no NUL).
 * Returns 0, or -EBADMSG with *why (static string, may be NULL) set to a
 * short reason: not JSON, not an object, method not a string, ... */
int varlink_request_parse(const char *text, size_t len,
			  struct varlink_request *req, const char **why);
int varlink_reply_parse(const char *text, size_t len,
			struct varlink_reply *reply, const char **why);
/* The same, for a message r returned, with r's kept tokener. */
int varlink_reader_parse_request(struct varlink_reader *r, const char *text, size_t len,
				 struct varlink_request *req, const char **why);
int varlink_reader_parse_reply(struct varlink_reader *r, const char *text, size_t len,
			       struct varlink_reply *reply, const char **why);
void varlink_request_release(struct varlink_request *req);
void varlink_reply_release(struct varlink_reply *reply);

/* ---- building --------------------------------------------------------- */
/* Each builder takes ownership of parameters (NULL means {}) and returns a
 * new object, or NULL on allocation failure (parameters freed then too). */

struct json_object *varlink_reply_new(struct json_object *parameters, bool continues);
/* {"parameters":{}}, the answer to most calls, as one object shared by
 * every caller (a reference each): never to be changed. Made once, by the
 * first call: the daemon's loop only, not for threads. */
struct json_object *varlink_reply_empty(void);
struct json_object *varlink_error_new(const char *error, struct json_object *parameters);

/* Convenience errors with their standard single parameter. */
struct json_object *varlink_error_invalid_parameter(const char *parameter);
/* The same with a reason a person can act on (NULL: none). */
struct json_object *varlink_error_invalid_parameter_why(const char *parameter, const char *reason);
struct json_object *varlink_error_method_not_found(const char *method);

/* ---- sending ---------------------------------------------------------- */

/* Serialize msg compactly and append the NUL. *out is malloc'd, *len
 * counts the NUL. For servers that queue output on a non-blocking fd. */
int varlink_serialize(struct json_object *msg, char **out, size_t *len);

/* Write all of msg + NUL to fd, waiting with poll() if the fd is
 * non-blocking. MSG_NOSIGNAL: a gone peer gives -EPIPE, not SIGPIPE. */
int varlink_send(int fd, struct json_object *msg);

/* ---- client ----------------------------------------------------------- */

/* Send method(parameters) and wait for its (first) reply on fd.
 * Takes ownership of parameters. Returns 0 with *reply filled (check
 * reply->error), or -errno for transport/format failures (-ECONNRESET if
 * the peer closed before replying, -EBADMSG for a malformed reply).
 * r buffers replies across calls on the same connection. */
int varlink_call(int fd, struct varlink_reader *r, const char *method,
		 struct json_object *parameters, struct varlink_reply *reply);

/* varlink_call with "more": the server may answer in several replies
 * (reply->continues); read the others with varlink_read_reply. */
int varlink_call_more(int fd, struct varlink_reader *r, const char *method,
		      struct json_object *parameters, struct varlink_reply *reply);

/* Read the next reply from fd (after a "more" call, while
 * reply->continues). Same returns as varlink_call(). */
int varlink_read_reply(int fd, struct varlink_reader *r, struct varlink_reply *reply);

#endif
