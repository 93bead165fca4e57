/* SPDX-License-Identifier: MIT */
/* Reading the text of the daemon's replies: flat JSON objects and "key value" lines. */
#ifndef PC_REPLY_H
#define PC_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The string value of "key" in a flat JSON object (unescaped): true if found. */
bool reply_json_str(const char *obj, const char *key, char *out, size_t len);
/* The integer value of "key": true if found and an integer. */
bool reply_json_int(const char *obj, const char *key, long long *v);
/* The object {"dev":"DEV",...} of a `show paths json` reply, copied. */
bool reply_json_path(const char *paths, const char *dev, char *obj, size_t len);
/* s begins with prefix. */
bool reply_starts_with(const char *s, const char *prefix);
/* A line of text containing all of a, b (and c if not NULL); printed if none. */
bool reply_has_line(const char *text, const char *a, const char *b, const char *c);
/* How many times needle occurs in s. */
unsigned int reply_count(const char *s, const char *needle);
/* "key   value" lines (`show stats`): true if the key has a number. */
bool reply_kv_u64(const char *text, const char *key, uint64_t *v);

/* s is an ISO 8601 UTC time as the daemon writes it: 2026-11-25T07:00:00Z. */
bool reply_is_iso_time(const char *s);
/* In a table, the text of row at the column of the header's title, up to
 * the next double space. */
void reply_column(const char *header, const char *row, const char *title,
		  char *out, size_t len);

/*
 * Checks Prometheus text (cut into lines in place): every sample of a
 * family declared by "# TYPE" before it, names pathcheck_*, counters
 * *_total, histogram buckets cumulative with +Inf equal to _count.  Fails
 * the running test on anything else.  Returns the number of families, 0
 * on a malformed text.
 */
size_t reply_check_metrics(char *text);

#endif
