/* SPDX-License-Identifier: MIT */
/*
 * The modes of a pathsim path, as words: up | eio | short | hung | slow:MS |
 * flaky:P.  One vocabulary for pathsim's control file and table and for
 * pathcheck-stress, which writes them there.  docs/pathsim.md describes
 * what each mode does with a read.
 */
#ifndef TOOLS_SIMMODE_H
#define TOOLS_SIMMODE_H

#include <stddef.h>

#define SIM_MAX_SLOW_MS	86400000u	/* one day */

enum sim_mode_kind {
	SIM_MODE_UP,		/* full reads of zeros */
	SIM_MODE_EIO,		/* every read fails with EIO */
	SIM_MODE_SHORT,		/* half of what was asked */
	SIM_MODE_SLOW,		/* full reads, answered slow_ms later */
	SIM_MODE_HUNG,		/* held until released */
	SIM_MODE_FLAKY,		/* EIO with probability flaky_p, else full */
};

struct sim_mode {
	enum sim_mode_kind kind;
	unsigned int slow_ms;	/* slow: 0 to SIM_MAX_SLOW_MS */
	double flaky_p;		/* flaky: 0 to 1 */
};

/* A mode word into m; -EINVAL if it is not one. */
int sim_mode_parse(const char *s, struct sim_mode *m);
/* m as the word that sets it (flaky:P with %g); its length or -ENOSPC. */
int sim_mode_format(const struct sim_mode *m, char *buf, size_t len);

/* Decimal digits only, no sign, no leading zero, at most max: 0, -EINVAL
 * or -ERANGE. */
int sim_parse_uint(const char *s, unsigned long long max, unsigned long long *val);
/* "D[.D]" (up to 3 integer and 10 fraction digits) as the exact fraction
 * num / den, so that a share of paths never depends on binary floating
 * point; 0 or -EINVAL. */
int sim_parse_decimal(const char *s, size_t len, unsigned long long *num,
		      unsigned long long *den);

#endif
