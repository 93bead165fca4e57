/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "duration.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t unit_ms(const char *u)
{
	if (!*u || !strcmp(u, "s"))
		return 1000;
	if (!strcmp(u, "ms"))
		return 1;
	if (!strcmp(u, "m"))
		return 60000;
	if (!strcmp(u, "h"))
		return 3600000;
	return 0;
}

/*
 * The integer part saturates just above a day; the fraction keeps 9
 * digits, since a non-zero digit past the eighth decimal can never make
 * whole milliseconds, even of hours.
 */
enum dur_err dur_parse(const char *s, unsigned int *ms)
{
	uint64_t whole = 0, frac = 0, scale = 1, unit, total;
	bool sub_ms = false;
	const char *c = s;

	if (!s || !is_digit(*c))
		return DUR_SYNTAX;
	for (; is_digit(*c); c++)
		if (whole <= DUR_MAX_MS)
			whole = whole * 10 + (uint64_t)(*c - '0');
	if (*c == '.') {
		if (!is_digit(*++c))
			return DUR_SYNTAX;
		for (; is_digit(*c); c++) {
			if (scale < 1000000000) {
				frac = frac * 10 + (uint64_t)(*c - '0');
				scale *= 10;
			} else if (*c != '0') {
				sub_ms = true;
			}
		}
	}
	unit = unit_ms(c);
	if (!unit)
		return *c == '.' ? DUR_SYNTAX : DUR_UNIT;
	if (whole * unit > DUR_MAX_MS)
		return DUR_RANGE;
	total = whole * unit * scale + frac * unit;	/* < 2^57 */
	if (total > (uint64_t)DUR_MAX_MS * scale || total < scale)
		return DUR_RANGE;
	if (sub_ms || total % scale)
		return DUR_FRACTION;
	*ms = (unsigned int)(total / scale);
	return DUR_OK;
}

const char *dur_strerror(enum dur_err err)
{
	switch (err) {
	case DUR_OK:
		return "ok";
	case DUR_UNIT:
		return "bad unit (use ms, s, m or h)";
	case DUR_RANGE:
		return "out of range (1ms..24h)";
	case DUR_FRACTION:
		return "not a whole number of milliseconds";
	case DUR_SYNTAX:
		break;
	}
	return "not a duration (e.g. 250ms, 5s, 1.5s, 2m; a bare number is seconds)";
}

bool dur_is_bare(const char *s)
{
	size_t n = strspn(s, "0123456789.");

	return n && !s[n];
}
