/* SPDX-License-Identifier: MIT */
/*
 * The result queue: engine workers hand finished checks to the main thread.
 * The only daemon state that workers touch.
 */
#ifndef PATHCHECKD_RESULTS_H
#define PATHCHECKD_RESULTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pathcheck.h"

struct daemon;
struct rec;

struct result_msg {
	struct rec *rec;
	int state;
	struct pc_result res;
};

/*
 * A result waits at most RESULTS_MAX_DELAY_MS before the main thread takes
 * it: when the main thread is to wake that soon anyway (its timer ticks
 * every 10 ms while checks are due), on_result does not wake it.
 */
#define RESULTS_MAX_DELAY_MS	10

struct results {
	/*
	 * Protects q/n/cap/dropped/wake_at_ms/woken/delay_wake_ms.  Leaf lock: taken by
	 * workers in on_result and by the main thread to swap the queue out
	 * or before it sleeps; nothing is called under it.
	 */
	pthread_mutex_t lock;
	struct result_msg *q;
	size_t n, cap;
	bool dropped;		/* out of memory: a result was lost */
	bool woken;		/* efd was written since the last drain */
	uint64_t wake_at_ms;	/* the main thread drains by then unasked */
	unsigned int delay_wake_ms; /* debug wake-delay: the next wake's write waits */
	int efd;		/* eventfd, written when q turns non-empty and
				 * wake_at_ms is too far */
};

int  results_init(struct results *rq);
void results_fini(struct results *rq);
void results_on_result(struct pc_path *path, int state, void *arg);
void results_drain(struct daemon *d);
bool results_before_sleep(struct results *rq, uint64_t wake_at_ms);
void results_delay_wake(struct results *rq, unsigned int ms);	/* a test aid */

#endif
