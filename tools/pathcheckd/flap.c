/* SPDX-License-Identifier: MIT */
/* Marginal paths (flapping, slow) and backoff.  See flap.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "clock.h"
#include "daemon.h"
#include "pipeline.h"

bool rec_marginal(const struct rec *r)
{
	return r->fl.flapping || r->fl.slow;
}

const char *rec_marginal_reason(const struct rec *r)
{
	return r->fl.flapping ? "flapping" : r->fl.slow ? "slow" : NULL;
}

const char *flap_reason_word(unsigned int bit)
{
	return bit == MARG_FLAPPING ? "flapping" : "slow";
}

void flap_free(struct rec *r)
{
	free(r->fl.t);
	r->fl.t = NULL;
}

void flap_publish(struct daemon *d, const struct rec *r, bool on, unsigned int bit)
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
		  on ? "true" : "false", flap_reason_word(bit),
		  (unsigned long long)r->transitions, when);
	ctl_publish(d, &ev);
	sb_free(&ev);
}

static bool *flag(struct rec *r, unsigned int bit)
{
	return bit == MARG_FLAPPING ? &r->fl.flapping : &r->fl.slow;
}

static void begin(struct rec *r, struct rec_change *c, unsigned int bit)
{
	if (!rec_marginal(r)) {
		r->fl.since_ms = now_ms();
		r->fl.hidden = 0;
	}
	*flag(r, bit) = true;
	c->on |= bit;
	/* Back to the base interval: a marginal path is watched closely. */
	r->fl.cur_interval_ms = 0;
}

static void end(struct rec *r, struct rec_change *c, unsigned int bit)
{
	*flag(r, bit) = false;
	c->off |= bit;
	c->hidden = r->fl.hidden;
	if (!rec_marginal(r))
		r->fl.hidden = 0;
}

/* A transition of r: into the ring; flapping when the ring is full within
 * the window.  The line of the transition that tips it is logged. */
static void flap_transition(struct daemon *d, struct rec *r, struct rec_change *c)
{
	const struct config *cfg = &d->cfg;
	unsigned int cap = cfg->flap_threshold + 1;
	uint64_t now = now_ms(), oldest;

	if (r->transitions <= 1)	/* the first result is no flap */
		return;
	if (r->fl.cap != cap) {		/* first flap, or a new threshold */
		uint64_t *t = realloc(r->fl.t, cap * sizeof(*t));

		if (!t) {
			c->quiet = rec_marginal(r);
			return;
		}
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
		c->quiet = true;
		return;
	}
	/* more than flap_threshold: cap transitions, the oldest within the window */
	oldest = r->fl.t[r->fl.head % cap];
	if (r->fl.n == cap && now - oldest <= cfg->flap_window_ms) {
		snprintf(c->detail[marg_idx(MARG_FLAPPING)], sizeof(c->detail[0]),
			 "%u transitions in %llu ms", cap, (unsigned long long)(now - oldest));
		begin(r, c, MARG_FLAPPING);
	}
}

static void slow_account(struct daemon *d, struct rec *r, struct rec_change *c, uint64_t now)
{
	const struct config *cfg = &d->cfg;

	if (!cfg->slow_threshold_ms)
		return;
	if (!r->fl.slow_start_ms)
		r->fl.slow_start_ms = now;
	r->fl.slow_total++;
	r->fl.slow_above += r->latency_us > (uint64_t)cfg->slow_threshold_ms * 1000;
	if (now - r->fl.slow_start_ms < cfg->slow_window_ms)
		return;
	/* A whole window: its median is above the threshold iff most are. */
	bool slow = 2 * r->fl.slow_above > r->fl.slow_total;

	if (slow && !r->fl.slow) {
		snprintf(c->detail[marg_idx(MARG_SLOW)], sizeof(c->detail[0]),
			 "%u of %u checks in %llu ms above %u ms", r->fl.slow_above,
			 r->fl.slow_total, (unsigned long long)(now - r->fl.slow_start_ms),
			 cfg->slow_threshold_ms);
		begin(r, c, MARG_SLOW);
	} else if (!slow && r->fl.slow) {
		end(r, c, MARG_SLOW);
	}
	r->fl.slow_start_ms = now;
	r->fl.slow_above = r->fl.slow_total = 0;
}

static void backoff(struct daemon *d, struct rec *r, struct rec_change *c, uint64_t now)
{
	unsigned int max = d->cfg.max_interval_ms;

	if (r->st != CHK_READY || c->transition || rec_marginal(r) || max <= r->interval_ms) {
		bool was_backed_off = r->fl.cur_interval_ms > r->interval_ms;

		r->fl.cur_interval_ms = 0;
		/* A backed-off path that went bad: its next check at the base interval. */
		c->rebase = was_backed_off && r->due_ms > now + r->interval_ms;
		return;
	}
	unsigned int cur = r->fl.cur_interval_ms ? r->fl.cur_interval_ms : r->interval_ms;

	r->fl.cur_interval_ms = cur >= max / 2 ? max : cur * 2;
}

void flap_derive(struct daemon *d, struct rec *r, struct rec_change *c)
{
	uint64_t now = now_ms();

	if (c->transition)
		flap_transition(d, r, c);
	slow_account(d, r, c, now);
	backoff(d, r, c, now);
}

unsigned int flap_interval(const struct rec *r)
{
	return r->fl.cur_interval_ms > r->interval_ms ? r->fl.cur_interval_ms : r->interval_ms;
}

void flap_housekeeping(struct daemon *d, uint64_t now)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *r = d->recs[i];
		struct rec_change c = { .from = r->st };

		if (!r->fl.flapping || now - r->last_change_ms < d->cfg.flap_recovery_ms)
			continue;
		end(r, &c, MARG_FLAPPING);
		rec_observe(d, r, &c);
	}
}
