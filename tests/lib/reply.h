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
/* How many times needle occurs in s. */
unsigned int reply_count(const char *s, const char *needle);
/* "key   value" lines (`show stats`): true if the key has a number. */
bool reply_kv_u64(const char *text, const char *key, uint64_t *v);

#endif
