/* SPDX-License-Identifier: MIT */
/*
 * The log budget: at most log_budget per-path lines a second (transitions,
 * marginal and no longer marginal, paths added, opened and removed).  Past
 * it, lines are counted by kind (enum logb_kind) with the first LOGB_FIRST
 * names, and each second one summary line a kind says how many more there
 * were:
 *
 *	19,890 more paths went down (i/o timeout): p10 p11 ... p29 (first 20)
 *
 * Only the log is budgeted: subscribers and metrics get every change.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "clock.h"

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "hotplug.h"
#include "logbudget.h"

#define WINDOW_MS	1000
_Static_assert(LOGB_FIRST == 20, "the summary says \"(first 20)\"");

/* 19890 as "19,890" */
static void thousands(char *buf, size_t len, uint64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

static void flush(struct daemon *d)
{
	static const char *const what[LOGB_NKINDS] = {
		[LOGB_UP] = "came up",
		[LOGB_TIMEOUT] = "went down (i/o timeout)",
		[LOGB_FAULTY] = "went down (faulty)",
		[LOGB_MARGINAL] = "are marginal",
		[LOGB_UNMARGINAL] = "are no longer marginal",
		[LOGB_ADDED] = "added",
		[LOGB_OPENED] = "opened",
		[LOGB_HOLD_OTHER] = "lead to another device than their hold's",
		[LOGB_REMOVED + RM_DEVICE_GONE] = "removed (device gone)",
		[LOGB_REMOVED + RM_CONFIG] = "removed (config)",
		[LOGB_REMOVED + RM_COMMAND] = "removed (command)",
	};
	struct logbudget *lb = &d->host.lb;

	for (int k = 0; k < LOGB_NKINDS; k++) {
		struct sbuf names = { 0 };
		char count[40];

		if (!lb->k[k].count)
			continue;
		for (unsigned int i = 0; i < lb->k[k].nnames; i++)
			sb_printf(&names, " %s", lb->k[k].names[i]);
		thousands(count, sizeof(count), lb->k[k].count);
		logmsg(k == LOGB_TIMEOUT || k == LOGB_FAULTY || k == LOGB_MARGINAL ?
		       LOG_WARNING : LOG_NOTICE, "%s more paths %s:%s%s", count,
		       what[k], names.p ? names.p : "",
		       lb->k[k].count > lb->k[k].nnames ? " (first 20)" : "");
		sb_free(&names);
		lb->k[k].count = 0;
		lb->k[k].nnames = 0;
	}
}

/* True: log this line about path NAME.  False: it is counted in a summary. */
bool logbudget_take(struct daemon *d, const char *name, enum logb_kind k)
{
	struct logbudget *lb = &d->host.lb;
	uint64_t now = now_ms();

	if (!d->cfg.log_budget)
		return true;
	if (now - lb->window_ms >= WINDOW_MS) {
		flush(d);
		lb->window_ms = now;
		lb->used = 0;
	}
	if (lb->used < d->cfg.log_budget) {
		lb->used++;
		return true;
	}
	if (lb->k[k].nnames < LOGB_FIRST)
		snprintf(lb->k[k].names[lb->k[k].nnames++], LOGB_NAME, "%s", name);
	lb->k[k].count++;
	d->ctr.host.log_suppressed++;
	return false;
}

/* Each second: the summaries of the second that ended. */
void logbudget_tick(struct daemon *d, uint64_t now)
{
	struct logbudget *lb = &d->host.lb;

	if (now - lb->window_ms < WINDOW_MS)
		return;
	flush(d);
	lb->window_ms = now;
	lb->used = 0;
}
