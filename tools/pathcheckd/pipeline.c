/* SPDX-License-Identifier: MIT */
/*
 * A result's way through the daemon, in one place (docs/design.md):
 *
 *   1. record   the checker state and the check's details (rec_record)
 *   2. derive   marginal and backoff from the record (flap_derive)
 *   3. log      the transition and marginal lines, through the log budget
 *   4. events   to subscribers: state, then marginal
 *   5. metrics  the counters and the latency histogram
 *   6. schedule a backed-off path that went bad is due at its base interval
 *   7. waiters  clients waiting on a `check` of the path are answered
 *
 * Steps 1 and 2 change the record; 3 to 7 (rec_observe) only read it and
 * the struct rec_change that says what is news.  Flapping's recovery in
 * housekeeping (flap.c) has no result: it enters at step 3.  The order is
 * the one the records promise: a client that reads an event, then asks,
 * sees the state the event named.
 */
#include <syslog.h>

#include "clock.h"
#include "hist.h"

#include "ctl.h"
#include "daemon.h"
#include "escape.h"
#include "log.h"
#include "pipeline.h"
#include "sched.h"
#include "logbudget.h"

static enum chk_st chk_of(int state, int reason)
{
	if (state == PC_UP)
		return CHK_READY;
	if (state == PC_DOWN)
		return reason == PC_REASON_TIMEOUT ? CHK_TIMEOUT : CHK_FAULTY;
	return CHK_UNDEF;
}

static bool is_up(enum chk_st st)
{
	return st == CHK_READY;
}

/*
 * Step 1.  A transition is a change between up and down, or the first
 * result.  A down path whose reason changes (io error, then timeout)
 * updates its record but is not a transition: nothing an operator acts on
 * changed.  False: no finished state (nothing to do).
 */
static bool rec_record(struct rec *r, int state, const struct pc_result *res,
		       struct rec_change *c)
{
	enum chk_st to = chk_of(state, res->reason);

	if (to == CHK_UNDEF)
		return false;
	c->from = r->st;
	c->result = true;
	c->transition = r->st == CHK_UNDEF || is_up(r->st) != is_up(to);
	r->reason = res->reason;
	r->error = res->error;
	r->latency_us = res->latency_us;
	r->checks = res->checks;	/* the engine counts them per path */
	r->st = to;
	if (c->transition) {
		r->transitions++;
		r->last_change_ms = now_ms();
	}
	return true;
}

static void log_transition(struct daemon *d, const struct rec *r, const struct rec_change *c)
{
	char why[128];

	if (is_up(r->st)) {
		if (c->from == CHK_UNDEF)
			logmsg(LOG_DEBUG, "%s: directio checker reports path is up", r->name);
		else if (logbudget_take(d, r->name, LOGB_UP))
			logmsg(LOG_NOTICE, "%s: directio checker reports path is up", r->name);
		return;
	}
	if (logbudget_take(d, r->name, r->st == CHK_TIMEOUT ? LOGB_TIMEOUT : LOGB_FAULTY))
		logmsg(LOG_WARNING, "%s: directio checker reports path is down (%s)",
		       r->name, rec_reason_text(r, why, sizeof(why)));
}

static void log_marginal(struct daemon *d, const struct rec *r, const struct rec_change *c)
{
	char esc[256];

	for (unsigned int bit = 1; bit < 1u << MARG_NREASONS; bit <<= 1) {
		const char *word = flap_reason_word(bit);

		if ((c->on & bit) && logbudget_take(d, r->name, LOGB_MARGINAL))
			logmsg(LOG_WARNING, "%s: path is marginal (%s: %s)",
			       text_esc(r->name, esc, sizeof(esc)), word,
			       c->detail[marg_idx(bit)]);
		if ((c->off & bit) && logbudget_take(d, r->name, LOGB_UNMARGINAL))
			logmsg(LOG_NOTICE, "%s: path is no longer marginal (%s), %llu transitions "
			       "not logged one by one while it was, now %s",
			       text_esc(r->name, esc, sizeof(esc)), word,
			       (unsigned long long)c->hidden, is_up(r->st) ? "up" : "down");
	}
}

static void publish(struct daemon *d, const struct rec *r, const struct rec_change *c)
{
	if (c->transition)
		ctl_publish_transition(d, r, c->from);
	for (unsigned int bit = 1; bit < 1u << MARG_NREASONS; bit <<= 1) {
		if (c->on & bit)
			flap_publish(d, r, true, bit);
		if (c->off & bit)
			flap_publish(d, r, false, bit);
	}
}

static void count(struct daemon *d, const struct rec *r, const struct rec_change *c)
{
	if (!c->result)
		return;
	d->ctr.results++;
	d->ctr.transitions += c->transition;
	hist_add(&d->latency, r->latency_us);
}

static void reschedule(struct daemon *d, struct rec *r, const struct rec_change *c)
{
	if (!c->rebase || r->heap_idx == SIZE_MAX)
		return;
	sched_remove(d, r);
	sched_insert(d, r, now_ms() + r->interval_ms);
}

void rec_observe(struct daemon *d, struct rec *r, const struct rec_change *c)
{
	if (c->transition && !c->quiet)
		log_transition(d, r, c);
	log_marginal(d, r, c);
	publish(d, r, c);
	count(d, r, c);
	reschedule(d, r, c);
	if (c->result && r->nwaiters)
		ctl_check_done(d, r);
}

void rec_finish_check(struct daemon *d, struct rec *r, int state,
		      const struct pc_result *res)
{
	struct rec_change c = { 0 };

	if (!rec_record(r, state, res, &c))
		return;
	flap_derive(d, r, &c);
	rec_observe(d, r, &c);
}
