/* SPDX-License-Identifier: MIT */
/*
 * Names come from the file system and may hold any byte but '/' and NUL:
 * newlines, escape sequences, bytes that are not UTF-8.  Every name the
 * daemon prints goes through here, so that a name can neither cut a reply
 * short (a reply ends at an empty line) nor make invalid JSON.
 *
 * Text: a byte below 0x20, 0x7f, a backslash, and each byte of an invalid
 * UTF-8 sequence is written \xHH (a backslash as \x5c); valid UTF-8 is kept.
 * JSON: '"' and '\' are escaped, control characters become \u00HH, valid
 * UTF-8 is kept, and each byte of an invalid sequence becomes U+FFFD (the
 * replacement character, written \ufffd), as pathcheckd(8) documents.
 * Every tool's JSON goes through sb_json_str().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "sbuf.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static bool text_plain(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '\\';
}

void sb_text_str(struct sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n = utf8_len(s);

		if (n > 1 || (n == 1 && text_plain(*s))) {
			sb_append(b, (const char *)s, n);
			s += n;
		} else {
			sb_printf(b, "\\x%02x", *s++);
		}
	}
}

const char *text_esc(const char *s, char *buf, size_t len)
{
	struct sbuf b = { 0 };

	sb_text_str(&b, s);
	snprintf(buf, len, "%s", b.oom || !b.p ? "" : b.p);
	sb_free(&b);
	return buf;
}

size_t text_esc_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t w = 0;

	while (*s) {
		size_t n = utf8_len(s);

		if (n > 1 || (n == 1 && text_plain(*s))) {
			s += n;
			w++;		/* one column per character, near enough */
		} else {
			s++;
			w += 4;
		}
	}
	return w;
}

void sb_json_str(struct sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	sb_append(b, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			sb_append(b, "\\ufffd", 6);
			s++;
		} else if (*s == '"' || *s == '\\') {
			sb_printf(b, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			sb_printf(b, "\\u%04x", *s++);
		} else {
			sb_append(b, (const char *)s, n);
			s += n;
		}
	}
	sb_append(b, "\"", 1);
}
