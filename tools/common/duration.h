/* SPDX-License-Identifier: MIT */
/*
 * Durations, one rule for every tool and pathcheckd.conf:
 * DIGITS[.DIGITS][ms|s|m|h], a bare number is seconds, 1 ms .. 24 h, and a
 * whole number of milliseconds ("1.5s" yes, "0.5ms" no).
 */
#ifndef TOOLS_DURATION_H
#define TOOLS_DURATION_H

#include <stdbool.h>

enum dur_err { DUR_OK = 0, DUR_SYNTAX, DUR_UNIT, DUR_RANGE, DUR_FRACTION };

#define DUR_MAX_MS	86400000u	/* 24 h */

enum dur_err dur_parse(const char *s, unsigned int *ms);
/* What is wrong, for a message: "bad unit (use ms, s, m or h)"... */
const char *dur_strerror(enum dur_err err);
/* True when s is digits only, perhaps with a fraction: no unit written. */
bool dur_is_bare(const char *s);

#endif
