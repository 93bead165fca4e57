/* SPDX-License-Identifier: MIT */
/* pathsim's mode words: one table read by the parser and the formatter. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "simmode.h"

#define MAX_FRACTION_DIGITS	10

enum mode_arg { ARG_NONE, ARG_MS, ARG_PROBABILITY };

static const struct {
	const char *word;
	enum sim_mode_kind kind;
	enum mode_arg arg;	/* after "word:" */
} modes[] = {
	{ "up", SIM_MODE_UP, ARG_NONE },
	{ "eio", SIM_MODE_EIO, ARG_NONE },
	{ "short", SIM_MODE_SHORT, ARG_NONE },
	{ "slow", SIM_MODE_SLOW, ARG_MS },
	{ "hung", SIM_MODE_HUNG, ARG_NONE },
	{ "flaky", SIM_MODE_FLAKY, ARG_PROBABILITY },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

int sim_parse_uint(const char *s, unsigned long long max, unsigned long long *val)
{
	unsigned long long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (v > (max - (unsigned long long)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long long)(*c - '0');
	}
	*val = v;
	return 0;
}

int sim_parse_decimal(const char *s, size_t len, unsigned long long *num,
		      unsigned long long *den)
{
	unsigned long long n = 0, d = 1;
	size_t int_digits = 0, frac_digits = 0;
	int in_frac = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.' && !in_frac && int_digits) {
			in_frac = 1;
			continue;
		}
		if (c < '0' || c > '9')
			return -EINVAL;
		if (in_frac) {
			if (++frac_digits > MAX_FRACTION_DIGITS)
				return -EINVAL;
			d *= 10;
		} else if (++int_digits > 3) {
			return -EINVAL;	/* nothing here is over 100 */
		}
		n = n * 10 + (unsigned long long)(c - '0');
	}
	if (!int_digits || (in_frac && !frac_digits))
		return -EINVAL;
	*num = n;
	*den = d;
	return 0;
}

static int parse_arg(enum mode_arg arg, const char *s, struct sim_mode *m)
{
	unsigned long long v, num, den;

	switch (arg) {
	case ARG_MS:
		if (sim_parse_uint(s, SIM_MAX_SLOW_MS, &v))
			return -EINVAL;
		m->slow_ms = (unsigned int)v;
		return 0;
	case ARG_PROBABILITY:
		if (sim_parse_decimal(s, strlen(s), &num, &den) || num > den)
			return -EINVAL;
		m->flaky_p = (double)num / (double)den;
		return 0;
	case ARG_NONE:
		break;
	}
	return -EINVAL;
}

int sim_mode_parse(const char *s, struct sim_mode *m)
{
	size_t len = strcspn(s, ":");

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < NMODES; i++) {
		if (strlen(modes[i].word) != len || strncmp(s, modes[i].word, len))
			continue;
		m->kind = modes[i].kind;
		if (modes[i].arg == ARG_NONE)
			return s[len] ? -EINVAL : 0;
		return s[len] == ':' ? parse_arg(modes[i].arg, s + len + 1, m) : -EINVAL;
	}
	return -EINVAL;
}

int sim_mode_format(const struct sim_mode *m, char *buf, size_t len)
{
	int n = -1;

	for (size_t i = 0; i < NMODES; i++) {
		if (modes[i].kind != m->kind)
			continue;
		if (modes[i].arg == ARG_MS)
			n = snprintf(buf, len, "%s:%u", modes[i].word, m->slow_ms);
		else if (modes[i].arg == ARG_PROBABILITY)
			n = snprintf(buf, len, "%s:%g", modes[i].word, m->flaky_p);
		else
			n = snprintf(buf, len, "%s", modes[i].word);
		break;
	}
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : n;
}
