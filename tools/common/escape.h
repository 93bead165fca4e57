/* SPDX-License-Identifier: MIT */
/* Names in text and JSON output: see escape.c for the rules. */
#ifndef PC_TOOLS_ESCAPE_H
#define PC_TOOLS_ESCAPE_H

#include <stddef.h>

struct sbuf;

void sb_text_str(struct sbuf *b, const char *s);	/* \xHH for what is not printable UTF-8 */
const char *text_esc(const char *s, char *buf, size_t len);	/* the same into buf */
size_t text_esc_len(const char *s);	/* columns the escaped text takes */

#endif
