/* SPDX-License-Identifier: MIT */
/*
 * A result's way through the daemon (pipeline.c; docs/design.md draws it).
 * Main thread only.
 */
#ifndef PATHCHECKD_PIPELINE_H
#define PATHCHECKD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "records.h"

struct daemon;

/*
 * What one finished check, or one pass of housekeeping, changed in a
 * record.  The record is already updated when the observers get it: this
 * says only what is news.
 */
struct rec_change {
	enum chk_st from;		/* the checker state before */
	bool result;			/* a check finished (false: housekeeping) */
	bool transition;		/* up <-> down, or the first result */
	bool quiet;			/* marginal: the transition's line is not logged */
	unsigned int on, off;		/* MARG_* bits that began, that ended */
	char detail[MARG_NREASONS][96];	/* why each in `on` began */
	uint64_t hidden;		/* `off` to none: transitions not logged meanwhile */
	bool rebase;			/* a backed-off path went bad: due at the base interval */
};

/* The whole way of one finished check (results_drain). */
void rec_finish_check(struct daemon *d, struct rec *r, int state,
		      const struct pc_result *res);
/* Steps 3 to 7: the observers, in their one order. */
void rec_observe(struct daemon *d, struct rec *r, const struct rec_change *c);

#endif
