/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text from outside (image paths, process names, cgroups, reasons) made
 * safe to print on a terminal: the one place that decides what a person
 * sees, used by every human-readable output of the CLI, the client
 * library's error messages and the audit trail's summaries.
 *
 * What is escaped, and how (everything else is copied unchanged):
 *   \\                          a backslash, so the output is unambiguous
 *   \n \r \t                    those three controls
 *   \xHH                        other C0 controls, DEL, and every byte that
 *                               is not part of valid UTF-8 (a lone 0x9b,
 *                               overlong forms, surrogates)
 *   \u0080 .. \u009f            C1 controls written as valid UTF-8
 *   \uXXXX / \UXXXXXXXX         invisible format characters that can make
 *                               text look other than it is (bidi overrides,
 *                               zero-width characters, line separators),
 *                               and, when the terminal is not UTF-8, every
 *                               non-ASCII character
 * Valid UTF-8 text (e.g. "Bild-ä.qcow2") stays readable on a UTF-8
 * terminal. The result never contains a control character.
 */
#ifndef LOCKWARDEN_TERMINAL_H
#define LOCKWARDEN_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the terminal shows UTF-8 (the default). The CLI sets it from the
 * locale once (lw_terminal_use_locale); tests set it directly. */
void lw_terminal_set_utf8(bool utf8);
bool lw_terminal_utf8(void);
/* setlocale(LC_CTYPE, "") and take its codeset: UTF-8 or not. */
void lw_terminal_use_locale(void);

/* Escape s (NULL prints as "?") into buf of len bytes, always
 * NUL-terminated when len > 0. A result that does not fit is cut between
 * whole characters and escapes, never inside one. Returns buf. */
char *lw_terminal_escape(const char *s, char *buf, size_t len);

/* The same into a malloc'd string; NULL when out of memory. */
char *lw_terminal_escape_dup(const char *s);

/* JSON text made as safe for a terminal, with the same meaning: DEL, C1,
 * the invisible format characters (and, on a terminal that is not UTF-8,
 * all non-ASCII) become \uXXXX escapes, a byte that is not UTF-8 becomes
 * \ufffd (JSON cannot carry it), and a raw C0 control other than the
 * whitespace between tokens becomes \u00XX. json-c escapes C0 in strings
 * but lets the rest through. malloc'd; NULL when out of memory. */
char *lw_terminal_json_dup(const char *json);

/* Whether s is valid UTF-8 (RFC 3629), as JSON text on the wire must be;
 * NULL is (there is no text). */
bool lw_utf8_valid(const char *s);
/* Bytes of the valid UTF-8 character s starts with (ASCII: 1); 0 for
 * none: the end of s, or a byte that does not start a valid one. */
size_t lw_utf8_char_len(const char *s);

#endif
