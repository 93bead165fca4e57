/* SPDX-License-Identifier: MIT */
/* A growable text buffer, and the JSON string escaper that writes into one. */
#ifndef TOOLS_SBUF_H
#define TOOLS_SBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;		/* an append failed: the content is truncated */
};

void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void sb_append(struct sbuf *b, const char *s, size_t n);
void sb_json_str(struct sbuf *b, const char *s);	/* quoted, escaped: escape.c */
void sb_consume(struct sbuf *b, size_t n);		/* drop n from front */
void sb_free(struct sbuf *b);

#endif
