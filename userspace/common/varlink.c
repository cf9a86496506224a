// SPDX-License-Identifier: LGPL-2.1-or-later
/* varlink messages: parse and validate requests and replies, build
 * replies, errors and requests. */
#include "common/varlink.h"
#include "common/json_tree.h"

#include <errno.h>
#include <locale.h>
#include <string.h>

/* Does the JSON text escape a NUL (\u0000)? json-c keeps it inside string
 * values but cuts member names at it ("image\u0000x" would read "image"),
 * and C code cuts every string at it: no message may carry one. A backslash
 * outside a string is malformed JSON anyway, so a plain scan suffices. */
static bool escapes_nul(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
			return true;
		i++;	/* the escaped character: "\\\\u0000" is a backslash and text */
	}
	return false;
}

/* One tokener a freed reader left, for the next reader: the daemon serves
 * a connection per libvirt call, and a new tokener costs json-c a dozen
 * allocations, its string buffer grown again by realloc. Taken and put
 * back atomically: readers may live in several threads of a client. */
static struct json_tokener *spare_tokener;

static struct json_tokener *tokener_new(void)
{
	struct json_tokener *tok = __atomic_exchange_n(&spare_tokener, NULL, __ATOMIC_ACQUIRE);

	if (!tok && (tok = json_tokener_new()))
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

void varlink_tokener_put(struct json_tokener *tok)
{
	if (tok)
		tok = __atomic_exchange_n(&spare_tokener, tok, __ATOMIC_RELEASE);
	if (tok)
		json_tokener_free(tok);
}

/* At exit, or when a plugin carrying this code is unloaded. */
__attribute__((destructor)) static void spare_tokener_free(void)
{
	struct json_tokener *tok = __atomic_exchange_n(&spare_tokener, NULL, __ATOMIC_ACQUIRE);

	if (tok)
		json_tokener_free(tok);
}

/* Parse exactly text[0..len) as one JSON object. Strict mode refuses
 * anything but whitespace after it, and invalid UTF-8. keep: where a
 * tokener is kept between messages (NULL: one for this message). */
static struct json_object *parse_json(struct json_tokener **keep, const char *text, size_t len,
				      const char **why)
{
	struct json_tokener *tok = keep ? *keep : NULL;
	struct json_object *root = NULL;
	locale_t old_locale;

	if (memchr(text, '\0', len)) {
		*why = "NUL byte inside message";
		return NULL;
	}
	if (escapes_nul(text, len)) {
		*why = "NUL character (\\u0000) inside a string";
		return NULL;
	}
	if (len > (size_t)INT32_MAX) {
		*why = "message too long";
		return NULL;
	}
	if (!tok && !(tok = tokener_new())) {
		*why = "out of memory";
		return NULL;
	}
	json_tokener_reset(tok);	/* the last message may have left it mid-value */
	/* json-c parses under a copy of the thread's locale with LC_NUMERIC
	 * "C", made and freed at each call (about 1,800 instructions); from
	 * glibc's own C locale that copy is the C locale itself, made of
	 * nothing. The parse is the same; the caller's locale comes back. */
	old_locale = uselocale(newlocale(LC_ALL_MASK, "C", (locale_t)0));
	root = json_tokener_parse_ex(tok, text, (int)len);
	uselocale(old_locale);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		/* json_tokener_continue: the text ended inside a value. */
		*why = "malformed JSON";
		json_object_put(root);
		root = NULL;
	} else if (!json_object_is_type(root, json_type_object)) {
		*why = "message is not a JSON object";	/* every varlink message is one */
		json_object_put(root);
		root = NULL;
	}
	if (keep)
		*keep = tok;
	else
		varlink_tokener_put(tok);
	return root;
}

/* A string member that must be a non-empty string without NUL. */
static int get_name(struct json_object *root, const char *key, bool required,
		    const char **out, const char **why, const char *bad)
{
	struct json_object *v;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			*why = bad;
			return -EBADMSG;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*why = bad;
		return -EBADMSG;
	}
	s = json_object_get_string(v);
	if (s[0] == '\0' || strlen(s) != (size_t)json_object_get_string_len(v)) {
		*why = bad;
		return -EBADMSG;
	}
	*out = s;
	return 0;
}

static int get_flag(struct json_object *root, const char *key, bool *out,
		    const char **why, const char *bad)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		*why = bad;
		return -EBADMSG;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* "parameters" is an object; absent or null becomes {} owned by root, so
 * callers never check for NULL. */
static int get_parameters(struct json_object *root, struct json_object **out, const char **why)
{
	struct json_object *v;

	if (json_object_object_get_ex(root, "parameters", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_object)) {
			*why = "parameters is not an object";
			return -EBADMSG;
		}
		*out = v;
		return 0;
	}
	v = json_object_new_object();
	if (!v || json_object_object_add(root, "parameters", v) < 0) {
		json_object_put(v);
		*why = "out of memory";
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

/* interface.Method: at least one dot, nothing empty around the last one. */
static bool valid_method_name(const char *method)
{
	const char *dot = strrchr(method, '.');

	return dot && dot != method && dot[1] != '\0';
}

static int request_parse(struct json_tokener **keep, const char *text, size_t len,
			 struct varlink_request *req, const char **why)
{
	const char *unused;
	int ret = -EBADMSG;

	if (!why)
		why = &unused;
	memset(req, 0, sizeof(*req));
	req->root = parse_json(keep, text, len, why);
	if (!req->root)
		return -EBADMSG;
	ret = get_name(req->root, "method", true, &req->method, why,
		       "method missing or not a non-empty string");
	if (ret < 0)
		goto fail;
	if (!valid_method_name(req->method)) {
		*why = "method is not interface.Method";
		ret = -EBADMSG;
		goto fail;
	}
	ret = get_flag(req->root, "oneway", &req->oneway, why, "oneway is not a boolean");
	if (ret < 0)
		goto fail;
	ret = get_flag(req->root, "more", &req->more, why, "more is not a boolean");
	if (ret < 0)
		goto fail;
	ret = get_parameters(req->root, &req->parameters, why);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	varlink_request_release(req);
	return ret;
}

/* The answer to most calls (a release, a brief acquire), read without
 * json-c, which spends about 5,000 instructions on these 17 bytes (half of
 * them switching its locale). */
static const char empty_reply[] = "{\"parameters\":{}}";

static int reply_parse(struct json_tokener **keep, const char *text, size_t len,
		       struct varlink_reply *reply, const char **why)
{
	const char *unused;
	int ret = -EBADMSG;

	if (!why)
		why = &unused;
	memset(reply, 0, sizeof(*reply));
	if (len == sizeof(empty_reply) - 1 && !memcmp(text, empty_reply, len)) {
		reply->root = reply->parameters = json_object_new_object();
		return reply->root ? 0 : -ENOMEM;
	}
	reply->root = parse_json(keep, text, len, why);
	if (!reply->root)
		return -EBADMSG;
	ret = get_name(reply->root, "error", false, &reply->error, why,
		       "error is not a non-empty string");
	if (ret < 0)
		goto fail;
	ret = get_flag(reply->root, "continues", &reply->continues, why,
		       "continues is not a boolean");
	if (ret < 0)
		goto fail;
	ret = get_parameters(reply->root, &reply->parameters, why);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	varlink_reply_release(reply);
	return ret;
}

int varlink_request_parse(const char *text, size_t len, struct varlink_request *req, const char **why)
{
	return request_parse(NULL, text, len, req, why);
}

int varlink_reply_parse(const char *text, size_t len, struct varlink_reply *reply, const char **why)
{
	return reply_parse(NULL, text, len, reply, why);
}

int varlink_reader_parse_request(struct varlink_reader *r, const char *text, size_t len,
				 struct varlink_request *req, const char **why)
{
	return request_parse(&r->tok, text, len, req, why);
}

int varlink_reader_parse_reply(struct varlink_reader *r, const char *text, size_t len,
			       struct varlink_reply *reply, const char **why)
{
	return reply_parse(&r->tok, text, len, reply, why);
}

void varlink_request_release(struct varlink_request *req)
{
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

void varlink_reply_release(struct varlink_reply *reply)
{
	json_object_put(reply->root);
	memset(reply, 0, sizeof(*reply));
}

/* A message object holding parameters (taken over; NULL means {}). */
static struct json_object *message_new(struct json_object *parameters)
{
	struct json_object *msg = json_object_new_object();

	if (!parameters)
		parameters = json_object_new_object();
	if (!msg || !parameters)
		goto fail;
	if (lw_json_add(msg, "parameters", parameters) < 0)
		goto fail;
	return msg;
fail:
	json_object_put(parameters);
	json_object_put(msg);
	return NULL;
}

/* Members of a message being built: keys are literals, each added once. */
static int add_string(struct json_object *obj, const char *literal_key, const char *value)
{
	struct json_object *v = json_object_new_string(value);

	if (!v || lw_json_add(obj, literal_key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_true(struct json_object *obj, const char *literal_key)
{
	struct json_object *v = json_object_new_boolean(1);

	if (!v || lw_json_add(obj, literal_key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *varlink_reply_new(struct json_object *parameters, bool continues)
{
	struct json_object *msg = message_new(parameters);

	if (msg && continues && add_true(msg, "continues") < 0) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

/* Built afresh, the empty reply costs two objects and their hash tables,
 * about 3,000 instructions a call with their freeing. */
struct json_object *varlink_reply_empty(void)
{
	static struct json_object *empty;

	if (!empty)
		empty = varlink_reply_new(NULL, false);
	return json_object_get(empty);
}

struct json_object *varlink_error_new(const char *error, struct json_object *parameters)
{
	struct json_object *msg = message_new(parameters);

	if (msg && add_string(msg, "error", error) < 0) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

/* The standard errors carry one string parameter naming the culprit. */
static struct json_object *error_with_string(const char *error, const char *key,
					     const char *value)
{
	struct json_object *parameters = json_object_new_object();

	if (!parameters || add_string(parameters, key, value) < 0) {
		json_object_put(parameters);
		return NULL;
	}
	return varlink_error_new(error, parameters);
}

struct json_object *varlink_error_invalid_parameter(const char *parameter)
{
	return error_with_string(VARLINK_ERROR_INVALID_PARAMETER, "parameter", parameter);
}

struct json_object *varlink_error_invalid_parameter_why(const char *parameter, const char *reason)
{
	struct json_object *e = varlink_error_invalid_parameter(parameter), *p;

	if (e && reason && json_object_object_get_ex(e, "parameters", &p))
		add_string(p, "reason", reason);
	return e;
}

struct json_object *varlink_error_method_not_found(const char *method)
{
	return error_with_string(VARLINK_ERROR_METHOD_NOT_FOUND, "method", method);
}
