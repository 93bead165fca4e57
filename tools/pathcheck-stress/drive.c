/* SPDX-License-Identifier: MIT */
/* The load: checker threads, churn, resets, mode flips, and the drain. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pathcheck.h"
#include "clock.h"

#include "stress.h"

void sleep_us(uint64_t us)
{
	struct timespec ts = ts_from_us(us);

	nanosleep(&ts, NULL);
}

static int budget_left(struct stress *s)
{
	if (atomic_load(&s->stopping))
		return 0;
	return !s->cfg.max_checks || atomic_load(&s->ctr.started) < s->cfg.max_checks;
}

static int open_path(struct stress *s, struct spath *sp)
{
	int ret = stress_path_open(s->engine, sp->dev, sp, &sp->p);

	if (ret < 0) {
		sp->p = NULL;
	} else if (s->cfg.timeout_ms) {
		pc_path_set_timeout(sp->p, s->cfg.timeout_ms);
	}
	return ret;
}

/* sync: PC_SYNC; 2: PC_SYNC | PC_NOCALLBACK, whose return is the result. */
static void check_one(struct stress *s, struct spath *sp, int sync)
{
	int ret, flags = !sync ? 0 : sync == 2 ? PC_SYNC | PC_NOCALLBACK : PC_SYNC;

	pthread_mutex_lock(&sp->lock);
	if (!sp->p || atomic_load(&sp->pending)) {
		pthread_mutex_unlock(&sp->lock);
		return;
	}
	mark_started(s, sp);
	ret = pc_check(sp->p, flags);
	if (sync && (ret == PC_UP || ret == PC_DOWN)) {
		atomic_fetch_add(&s->ctr.started, 1);
		atomic_fetch_add(&sp->started, 1);
		if (sync == 2)
			account_result(s, sp, ret);
	} else {
		account_check(s, sp, ret);
	}
	pthread_mutex_unlock(&sp->lock);
}

static void run_batch(struct stress *s, unsigned int t)
{
	struct pc_path *batch[256];
	struct spath *owners[256];
	unsigned int i, n = 0;
	int ret;

	for (i = t; i < s->cfg.npaths && budget_left(s); i += s->cfg.threads) {
		struct spath *sp = &s->paths[i];

		if (pthread_mutex_trylock(&sp->lock))
			continue;
		/* hung paths go singly: pc_check_many skips held reads silently */
		if (!sp->p || atomic_load(&sp->pending) ||
		    atomic_load(&sp->mode) == SIM_MODE_HUNG) {
			pthread_mutex_unlock(&sp->lock);
			if (sp->p && atomic_load(&sp->mode) == SIM_MODE_HUNG)
				check_one(s, sp, 0);
			continue;
		}
		mark_started(s, sp);
		batch[n] = sp->p;
		owners[n++] = sp;
		if (n == 256 || i + s->cfg.threads >= s->cfg.npaths) {
			unsigned int k;

			ret = pc_check_many(batch, n);
			if (ret >= 0) {
				atomic_fetch_add(&s->ctr.started, (unsigned int)ret);
				for (k = 0; k < n; k++)
					atomic_fetch_add(&owners[k]->started, 1);
				if ((unsigned int)ret < n)
					atomic_fetch_add(&s->ctr.blocked, n - (unsigned int)ret);
			} else {
				atomic_fetch_add(&s->ctr.errors, 1);
				for (k = 0; k < n; k++)
					atomic_store(&owners[k]->pending, 0);
			}
			for (k = 0; k < n; k++)
				pthread_mutex_unlock(&owners[k]->lock);
			n = 0;
		}
	}
	for (i = 0; i < n; i++) {	/* budget ran out mid-batch */
		atomic_store(&owners[i]->pending, 0);
		pthread_mutex_unlock(&owners[i]->lock);
	}
}

void *checker(void *arg)
{
	struct checker *ck = arg;
	struct stress *s = ck->s;
	unsigned int t = ck->index, i;

	while (budget_left(s)) {
		if (s->cfg.mode == RUN_BATCH) {
			run_batch(s, t);
		} else {
			for (i = t; i < s->cfg.npaths && budget_left(s); i += s->cfg.threads)
				check_one(s, &s->paths[i],
					  s->cfg.mode == RUN_SYNC ? 2 :
					  s->cfg.mode == RUN_SYNC_CB);
		}
		if (s->cfg.mode != RUN_SYNC && s->cfg.mode != RUN_SYNC_CB)
			sched_yield();
	}
	return NULL;
}

static void churn_one(struct stress *s, unsigned int i)
{
	struct spath *sp = &s->paths[i];

	if (pthread_mutex_trylock(&sp->lock))
		return;
	if (sp->p) {
		pc_path_free(sp->p);
		sp->p = NULL;
		/* a check in flight is cancelled, not lost */
		atomic_store(&sp->pending, 0);
		open_path(s, sp);
		atomic_fetch_add(&s->ctr.churned, 1);
	}
	pthread_mutex_unlock(&sp->lock);
}

static void progress(struct stress *s, uint64_t t_start, uint64_t *last_checks)
{
	struct pc_stats st = { 0 };
	uint64_t d = atomic_load(&s->ctr.delivered);

	pc_engine_stats(s->engine, &st);
	if (!s->cfg.quiet)
		fprintf(stderr, "%6.1fs %8" PRIu64 " checks/s  inflight %" PRIu64
			"  orphans %" PRIu64 "  groups %" PRIu64 "  lost %" PRIu64
			"  wrong %" PRIu64 "\n",
			(double)(now_us() - t_start) / 1e6, d - *last_checks,
			st.inflight, st.orphans, st.groups,
			(uint64_t)atomic_load(&s->ctr.lost), (uint64_t)atomic_load(&s->ctr.wrong));
	*last_checks = d;
}

void drive(struct stress *s, uint64_t t_start)
{
	uint64_t end = t_start + (uint64_t)(s->cfg.duration * 1e6);
	uint64_t next_sec = t_start + 1000000, next_reset = 0, next_flip = 0;
	uint64_t next_churn = t_start, churn_gap = 0, last = 0;
	uint64_t margin = (uint64_t)s->cfg.timeout_ms * 1000 + 2000000;

	if (s->cfg.reset_every > 0)
		next_reset = t_start + (uint64_t)(s->cfg.reset_every * 1e6);
	if (s->cfg.flip > 0 && s->cfg.mount)
		next_flip = t_start + (uint64_t)(s->cfg.flip * 1e6);
	if (s->cfg.churn > 0)
		churn_gap = (uint64_t)(1e6 / s->cfg.churn);
	for (;;) {
		uint64_t now = now_us();

		if (s->cfg.max_checks ? !budget_left(s) : now >= end)
			break;
		if (churn_gap) {
			while (now >= next_churn) {
				churn_one(s, (unsigned int)((uint64_t)rand() % s->cfg.npaths));
				next_churn += churn_gap;
			}
		}
		if (next_reset && now >= next_reset) {
			if (pc_engine_reset(s->engine) == 0)
				atomic_fetch_add(&s->ctr.resets, 1);
			next_reset += (uint64_t)(s->cfg.reset_every * 1e6);
		}
		if (next_flip && now >= next_flip) {
			flip_modes(s);
			next_flip += (uint64_t)(s->cfg.flip * 1e6);
		}
		if (now >= next_sec) {
			scan_lost(s, margin);
			progress(s, t_start, &last);
			next_sec += 1000000;
		}
		sleep_us(churn_gap && churn_gap < 10000 ? churn_gap : 10000);
	}
}

/* After the load: release hung reads, wait for what is in flight. */
void drain(struct stress *s)
{
	uint64_t deadline = now_us() + (uint64_t)s->cfg.timeout_ms * 1000 + 2000000;

	while (outstanding(s) && now_us() < deadline)
		sleep_us(10000);
	scan_lost(s, 0);
}

int setup_paths(struct stress *s)
{
	unsigned int i;

	if (!s->cfg.npaths)
		s->cfg.npaths = s->cfg.ndevs;
	s->paths = calloc(s->cfg.npaths, sizeof(*s->paths));
	if (!s->paths)
		return -ENOMEM;
	for (i = 0; i < s->cfg.npaths; i++) {
		s->paths[i].s = s;
		pthread_mutex_init(&s->paths[i].lock, NULL);
		s->paths[i].dev = s->cfg.devs[i % s->cfg.ndevs];
		if (open_path(s, &s->paths[i]) < 0)
			return -EIO;
	}
	if (s->cfg.mount) {
		s->sim_mode = calloc(s->cfg.nsim, sizeof(*s->sim_mode));
		if (!s->sim_mode)
			return -ENOMEM;
		return apply_modes(s);
	}
	return 0;
}

void teardown_paths(struct stress *s)
{
	unsigned int i;

	for (i = 0; s->paths && i < s->cfg.npaths; i++) {
		if (s->paths[i].p)
			pc_path_free(s->paths[i].p);
		pthread_mutex_destroy(&s->paths[i].lock);
	}
}
