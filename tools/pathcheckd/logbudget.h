/* SPDX-License-Identifier: MIT */
/*
 * The log budget (logbudget.c): per-path lines over the budget are
 * counted and named in one summary line a second.  Main-thread state.
 */
#ifndef PATHCHECKD_LOGBUDGET_H
#define PATHCHECKD_LOGBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "hotplug.h"	/* enum rm_cause */

struct daemon;

#define LOGB_FIRST	20		/* names shown in a summary */
#define LOGB_NAME	64

/* The per-path lines the budget covers, one summary line each a second. */
enum logb_kind {
	LOGB_UP, LOGB_TIMEOUT, LOGB_FAULTY,	/* transitions */
	LOGB_MARGINAL, LOGB_UNMARGINAL,		/* flap.c's */
	LOGB_ADDED, LOGB_OPENED,		/* hotplug */
	LOGB_HOLD_OTHER,			/* hold.c: another device */
	LOGB_REMOVED,				/* + enum rm_cause */
	LOGB_NKINDS = LOGB_REMOVED + RM_NCAUSES
};

struct logbudget {
	uint64_t window_ms;		/* start of the current second */
	unsigned int used;		/* lines logged in it */
	struct {
		uint64_t count;
		unsigned int nnames;
		char names[LOGB_FIRST][LOGB_NAME];
	} k[LOGB_NKINDS];
};

bool logbudget_take(struct daemon *d, const char *name, enum logb_kind k);
void logbudget_tick(struct daemon *d, uint64_t now);

#endif
