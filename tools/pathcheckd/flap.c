/* SPDX-License-Identifier: MIT */
/* Marginal paths (flapping, slow) and backoff.  See flap.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ctl.h"
#include "clock.h"
#include "escape.h"
#include "log.h"
#include "sched.h"

bool rec_marginal(const struct rec *r)
{
	return r->fl.flapping || r->fl.slow;
}

const char *rec_marginal_reason(const struct rec *r)
{
	return r->fl.flapping ? "flapping" : r->fl.slow ? "slow" : NULL;
}

void flap_free(struct rec *r)
{
	free(r->fl.t);
	r->fl.t = NULL;
}

static void publish(struct daemon *d, const struct rec *r, bool on, const char *reason)
{
	struct sbuf ev = { 0 };
	char when[40];

	d->seq++;	/* every event is numbered, subscribed or not */
	if (!d->subscribers)
		return;
	fmt_wall(when, sizeof(when), now_ms());
	sb_printf(&ev, "{\"event\":\"marginal\",\"seq\":%llu,\"dev\":",
		  (unsigned long long)d->seq);
	sb_json_str(&ev, r->name);
	sb_printf(&ev, ",\"path\":");
	sb_json_str(&ev, r->dev);
	sb_printf(&ev, ",\"marginal\":%s,\"reason\":\"%s\",\"transitions\":%llu,\"time\":\"%s\"}\n",
		  on ? "true" : "false", reason, (unsigned long long)r->transitions, when);
	ctl_publish(d, &ev);
	sb_free(&ev);
}

static void become_marginal(struct daemon *d, struct rec *r, const char *reason,
			    const char *detail)
{
	char esc[256];
	bool was = rec_marginal(r);

	if (!strcmp(reason, "flapping"))
		r->fl.flapping = true;
	else
		r->fl.slow = true;
	if (!was) {
		r->fl.since_ms = now_ms();
		r->fl.hidden = 0;
	}
	/* Back to the base interval: a marginal path is watched closely. */
	r->fl.cur_interval_ms = 0;
	logmsg(LOG_WARNING, "%s: path is marginal (%s: %s)", text_esc(r->name, esc, sizeof(esc)),
	       reason, detail);
	publish(d, r, true, reason);
}

static void end_marginal(struct daemon *d, struct rec *r, const char *reason)
{
	char esc[256];

	if (!strcmp(reason, "flapping"))
		r->fl.flapping = false;
	else
		r->fl.slow = false;
	logmsg(LOG_NOTICE, "%s: path is no longer marginal (%s), %llu transitions not logged "
	       "one by one while it was, now %s", text_esc(r->name, esc, sizeof(esc)), reason,
	       (unsigned long long)r->fl.hidden, r->st == CHK_READY ? "up" : "down");
	if (!rec_marginal(r))
		r->fl.hidden = 0;
	publish(d, r, false, reason);
}

bool flap_transition(struct daemon *d, struct rec *r)
{
	const struct config *c = &d->cfg;
	unsigned int cap = c->flap_threshold + 1;
	uint64_t now = now_ms(), oldest;
	char detail[96];

	if (r->transitions <= 1)	/* the first result is no flap */
		return false;
	if (r->fl.cap != cap) {		/* first flap, or a new threshold */
		uint64_t *t = realloc(r->fl.t, cap * sizeof(*t));

		if (!t)
			return rec_marginal(r);
		r->fl.t = t;
		r->fl.cap = cap;
		r->fl.n = r->fl.head = 0;
	}
	r->fl.t[r->fl.head] = now;
	r->fl.head = (r->fl.head + 1) % cap;
	if (r->fl.n < cap)
		r->fl.n++;
	if (rec_marginal(r)) {
		r->fl.hidden++;
		return true;
	}
	/* more than flap_threshold: cap transitions, the oldest within the window */
	oldest = r->fl.t[r->fl.head % cap];
	if (r->fl.n == cap && now - oldest <= c->flap_window_ms) {
		snprintf(detail, sizeof(detail), "%u transitions in %llu ms", cap,
			 (unsigned long long)(now - oldest));
		become_marginal(d, r, "flapping", detail);
		return false;	/* this one is logged: it tipped the balance */
	}
	return false;
}

static void slow_account(struct daemon *d, struct rec *r, uint64_t latency_us, uint64_t now)
{
	const struct config *c = &d->cfg;
	char detail[128];

	if (!c->slow_threshold_ms)
		return;
	if (!r->fl.slow_start_ms)
		r->fl.slow_start_ms = now;
	r->fl.slow_total++;
	r->fl.slow_above += latency_us > (uint64_t)c->slow_threshold_ms * 1000;
	if (now - r->fl.slow_start_ms < c->slow_window_ms)
		return;
	/* A whole window: its median is above the threshold iff most are. */
	bool slow = 2 * r->fl.slow_above > r->fl.slow_total;

	if (slow && !r->fl.slow) {
		snprintf(detail, sizeof(detail), "%u of %u checks in %llu ms above %u ms",
			 r->fl.slow_above, r->fl.slow_total,
			 (unsigned long long)(now - r->fl.slow_start_ms), c->slow_threshold_ms);
		become_marginal(d, r, "slow", detail);
	} else if (!slow && r->fl.slow) {
		end_marginal(d, r, "slow");
	}
	r->fl.slow_start_ms = now;
	r->fl.slow_above = r->fl.slow_total = 0;
}

void flap_result(struct daemon *d, struct rec *r, bool up, bool transitioned,
		 uint64_t latency_us)
{
	uint64_t now = now_ms();
	unsigned int max = d->cfg.max_interval_ms;

	slow_account(d, r, latency_us, now);
	if (!up || transitioned || rec_marginal(r) || max <= r->interval_ms) {
		bool was_backed_off = r->fl.cur_interval_ms > r->interval_ms;

		r->fl.cur_interval_ms = 0;
		/* A backed-off path that went bad: its next check at the base interval. */
		if (was_backed_off && r->due_ms > now + r->interval_ms && r->heap_idx != SIZE_MAX) {
			sched_remove(d, r);
			sched_insert(d, r, now + r->interval_ms);
		}
		return;
	}
	unsigned int cur = r->fl.cur_interval_ms ? r->fl.cur_interval_ms : r->interval_ms;

	r->fl.cur_interval_ms = cur >= max / 2 ? max : cur * 2;
}

unsigned int flap_interval(const struct rec *r)
{
	return r->fl.cur_interval_ms > r->interval_ms ? r->fl.cur_interval_ms : r->interval_ms;
}

void flap_housekeeping(struct daemon *d, uint64_t now)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *r = d->recs[i];

		if (r->fl.flapping && now - r->last_change_ms >= d->cfg.flap_recovery_ms)
			end_marginal(d, r, "flapping");
	}
}
