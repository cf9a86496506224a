// SPDX-License-Identifier: LGPL-2.1-or-later
/* Escaping text for a terminal (see terminal.h for what and why). */
#include "common/terminal.h"

#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool terminal_utf8 = true;

void lw_terminal_set_utf8(bool utf8)
{
	terminal_utf8 = utf8;
}

bool lw_terminal_utf8(void)
{
	return terminal_utf8;
}

void lw_terminal_use_locale(void)
{
	const char *codeset;

	if (!setlocale(LC_CTYPE, ""))
		return; /* a broken locale setting: keep the default */
	codeset = nl_langinfo(CODESET);
	terminal_utf8 = codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "utf8"));
}

/* The length of the valid UTF-8 sequence of a non-ASCII character at s,
 * with its code point in *cp; 0 when s does not start one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		*cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		*cp = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		*cp = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	/* The string's NUL fails this test, so we never read past it. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return n;
}

/* Characters that are valid but steer the terminal or hide what the text
 * says: C1 controls, soft hyphen, bidi marks and overrides, zero-width and
 * invisible characters, line and paragraph separators, interlinear
 * annotations, tags. */
static bool is_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x61c || cp == 0x180e ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
	       (cp >= 0xe0000 && cp <= 0xe007f);
}

/* Append piece (n bytes) if it fits whole with room for the NUL. */
static bool put(char *buf, size_t len, size_t *off, const char *piece, size_t n)
{
	if (*off + n >= len)
		return false;
	memcpy(buf + *off, piece, n);
	*off += n;
	return true;
}

/* Escape into buf; returns the length the whole escape needs (without the
 * NUL), which is more than was written when buf was too short. */
static size_t escape(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "?");
	size_t off = 0, need = 0, n, seq;
	bool fits = len > 0;
	char piece[16];
	uint32_t cp;

	while (*p) {
		n = 0;
		if (*p == '\\') {
			n = (size_t)snprintf(piece, sizeof(piece), "\\\\");
			p++;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			n = (size_t)snprintf(piece, sizeof(piece), "\\%c",
					     *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
			p++;
		} else if (*p < 0x80) {
			piece[n++] = (char)*p++;
		} else if (!(seq = utf8_decode(p, &cp))) {
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
			p++;
		} else if (is_hidden(cp) || !terminal_utf8) {
			n = (size_t)snprintf(piece, sizeof(piece),
					     cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
			p += seq;
		} else {
			memcpy(piece, p, seq);
			n = seq;
			p += seq;
		}
		need += n;
		if (fits)
			fits = put(buf, len, &off, piece, n);
	}
	if (len > 0)
		buf[off] = '\0';
	return need;
}

char *lw_terminal_escape(const char *s, char *buf, size_t len)
{
	escape(s, buf, len);
	return buf;
}

char *lw_terminal_escape_dup(const char *s)
{
	size_t len = escape(s, NULL, 0) + 1;
	char *buf = malloc(len);

	if (buf)
		escape(s, buf, len);
	return buf;
}

size_t lw_utf8_char_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	if (!*p)
		return 0;
	return *p < 0x80 ? 1 : utf8_decode(p, &cp);
}

bool lw_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (!p)
		return true;
	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = utf8_decode(p, &cp);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* Append one code point as JSON's \uXXXX (a surrogate pair above U+FFFF). */
static size_t json_u_escape(uint32_t cp, char *out)
{
	if (cp <= 0xffff)
		return (size_t)sprintf(out, "\\u%04x", (unsigned)cp);
	cp -= 0x10000;
	return (size_t)sprintf(out, "\\u%04x\\u%04x", (unsigned)(0xd800 + (cp >> 10)),
			       (unsigned)(0xdc00 + (cp & 0x3ff)));
}

char *lw_terminal_json_dup(const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t len = strlen(json), off = 0, seq;
	char *out = malloc(len * 6 + 1);
	uint32_t cp;

	if (!out)
		return NULL;
	while (*p) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || (*p >= 0x20 && *p < 0x7f)) {
			out[off++] = (char)*p++;
		} else if (*p < 0x80) {
			off += json_u_escape(*p++, out + off);
		} else if (!(seq = utf8_decode(p, &cp))) {
			off += json_u_escape(0xfffd, out + off); /* JSON cannot carry the byte */
			p++;
		} else if (is_hidden(cp) || !terminal_utf8) {
			off += json_u_escape(cp, out + off);
			p += seq;
		} else {
			memcpy(out + off, p, seq);
			off += seq;
			p += seq;
		}
	}
	out[off] = '\0';
	return out;
}
