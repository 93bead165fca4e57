/* SPDX-License-Identifier: MIT */
/*
 * Marginal paths and backoff (flap.c).  Main thread only.
 *
 * Flapping: a path with more than flap_threshold transitions within
 * flap_window is marginal (reason "flapping") until it has had no
 * transition for flap_recovery.  Slow: a path whose check latency has a
 * median above slow_threshold over a slow_window (counted in whole
 * windows) is marginal (reason "slow") until a window's median is at or
 * below it.  Marginal is no checker state: the path shows and counts as
 * its checks say, marginal beside it.  While marginal, its transitions are
 * not logged one by one; one summary line is logged when it recovers.
 * Backoff: each check of a path that is up, not marginal and did not just
 * change doubles its interval, up to max_interval; anything else returns
 * it to interval.
 *
 * flap.c only derives: it changes the record's marginal and backoff state
 * and says what changed in a struct rec_change; the observers
 * (pipeline.c) log, publish, count and reschedule.
 */
#ifndef PATHCHECKD_FLAP_H
#define PATHCHECKD_FLAP_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct rec;
struct rec_change;

/* The reasons a path is marginal, as bits of rec_change.on/off. */
enum { MARG_FLAPPING = 1u << 0, MARG_SLOW = 1u << 1 };
#define MARG_NREASONS 2
/* A reason bit's index in rec_change.detail. */
static inline unsigned int marg_idx(unsigned int bit)
{
	return bit == MARG_FLAPPING ? 0 : 1;
}

struct rec_flap {
	uint64_t *t;		/* latest transition times, a ring; NULL: none yet */
	unsigned int cap, n, head;
	bool flapping, slow;
	uint64_t since_ms;	/* marginal since (monotonic) */
	uint64_t hidden;	/* transitions not logged while marginal */
	uint64_t slow_start_ms;	/* the slow window's start; 0: none */
	uint32_t slow_above, slow_total;
	unsigned int cur_interval_ms;	/* backoff; 0: interval */
};

/* Step 2 of a result: marginal and backoff from the recorded check. */
void flap_derive(struct daemon *d, struct rec *r, struct rec_change *c);
/* Once a second: recoveries, handed to the observers. */
void flap_housekeeping(struct daemon *d, uint64_t now);
/* The event of a marginal reason that began (on) or ended. */
void flap_publish(struct daemon *d, const struct rec *r, bool on, unsigned int bit);
const char *flap_reason_word(unsigned int bit);	/* MARG_FLAPPING: "flapping" */
/* The interval of r's next check. */
unsigned int flap_interval(const struct rec *r);
bool rec_marginal(const struct rec *r);
const char *rec_marginal_reason(const struct rec *r);	/* NULL: not marginal */
void flap_free(struct rec *r);

#endif
