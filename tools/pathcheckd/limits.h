/* SPDX-License-Identifier: MIT */
/*
 * The machine's limits (limits.c): paths that could not be opened for
 * want of descriptors or memory are kept, retried with backoff and
 * reported once a second.  Main-thread state.
 */
#ifndef PATHCHECKD_LIMITS_H
#define PATHCHECKD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct rec;
struct sbuf;

#define LIMITS_FD_RESERVE	64	/* descriptors paths never take */
#define LIMITS_BACKOFF_MIN_MS	1000
#define LIMITS_BACKOFF_MAX_MS	8000

struct limits {
	unsigned long long nofile_start;	/* soft limit we were started with */
	bool report_due;		/* a path newly failed on a limit */
	bool retry_more;		/* a retry pass ran out of its slice */
};

void limits_init(struct daemon *d);
int  limits_open(struct daemon *d, struct rec *r);
void limits_retry(struct daemon *d, uint64_t now);
void limits_report(struct daemon *d);
void limits_metrics(struct daemon *d, struct sbuf *b);
size_t limits_unopened(struct daemon *d);

#endif
