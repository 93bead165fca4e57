/* SPDX-License-Identifier: MIT */
/*
 * Results travel from the engine's workers to the main thread through one
 * queue: on_result copies the result and returns at once (it must not
 * block), the main thread drains the queue on each timer tick and when the
 * eventfd fires.  The eventfd is written only when the queue turns
 * non-empty while the main thread's next wake-up is more than
 * RESULTS_MAX_DELAY_MS away: at a high check rate the timer ticks every
 * 10 ms anyway, and a wake-up per answer would cost more CPU than the
 * check itself (docs/performance.md, row 7).  A path
 * belongs to one aio group and so to one worker, so its results enter the
 * queue in the order its checks finished, and transitions are seen in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"

#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "pipeline.h"
#include "records.h"
#include "results.h"

int results_init(struct results *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->wake_at_ms = UINT64_MAX;
	rq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rq->efd < 0)
		return -errno;
	pthread_mutex_init(&rq->lock, NULL);
	return 0;
}

void results_fini(struct results *rq)
{
	free(rq->q);
	if (rq->efd >= 0)
		close(rq->efd);
	pthread_mutex_destroy(&rq->lock);
	memset(rq, 0, sizeof(*rq));
	rq->efd = -1;
}

/* Engine worker context: copy, and wake the main thread unless it drains
 * soon enough by itself. */
void results_on_result(struct pc_path *path, int state, void *arg)
{
	struct rec *r = arg;
	struct results *rq = &r->d->results;
	struct result_msg m = { .rec = r, .state = state };
	uint64_t now = now_ms();
	unsigned int delay = 0;
	bool wake;

	pc_path_result(path, &m.res);
	pthread_mutex_lock(&rq->lock);
	if (array_reserve(&rq->q, &rq->cap, rq->n + 1, sizeof(*rq->q))) {
		rq->dropped = true;
		pthread_mutex_unlock(&rq->lock);
		return;
	}
	rq->q[rq->n++] = m;
	wake = !rq->woken && rq->wake_at_ms > now + RESULTS_MAX_DELAY_MS;
	rq->woken |= wake;
	if (wake) {
		delay = rq->delay_wake_ms;
		rq->delay_wake_ms = 0;
	}
	pthread_mutex_unlock(&rq->lock);
	if (wake) {
		uint64_t one = 1;
		struct timespec ts = { .tv_sec = delay / 1000,
				       .tv_nsec = (long)(delay % 1000) * 1000000 };

		/* A drain may come between the unlock and the write (made
		 * likely by debug wake-delay): results_drain copes. */
		while (delay && nanosleep(&ts, &ts) && errno == EINTR)
			;
		if (write(rq->efd, &one, sizeof(one)) < 0)
			return;	/* EAGAIN: the counter is already non-zero */
	}
}

void results_drain(struct daemon *d)
{
	struct results *rq = &d->results;
	struct result_msg *q;
	size_t n;
	uint64_t v, gen;
	bool dropped;

	gen = ++d->drain_gen;
	pthread_mutex_lock(&rq->lock);
	q = rq->q;
	n = rq->n;
	dropped = rq->dropped;
	rq->q = NULL;
	rq->n = rq->cap = 0;
	rq->dropped = false;
	rq->woken = false;
	pthread_mutex_unlock(&rq->lock);
	/*
	 * Read on every drain, whatever woken says: a worker sets woken under
	 * the lock but writes after it, so this drain may take its result
	 * before its write.  That write then leaves the eventfd readable with
	 * woken clear; epoll_wait returns at once for it and the drain it
	 * brings reads it here.  Never left readable, so never a spin.
	 */
	if (read(rq->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		logmsg(LOG_ERR, "result eventfd: %m");
	if (dropped) {
		d->ctr.results_lost++;
		logmsg(LOG_ERR, "out of memory: check results were lost");
	}
	for (size_t i = 0; i < n; i++)
		if (q[i].rec->rstate == REC_ACTIVE)
			rec_finish_check(d, q[i].rec, q[i].state, &q[i].res);
	free(q);
	recs_reap_removed(d, gen);
}

/*
 * Main thread, about to sleep until wake_at_ms (UINT64_MAX: no timer).
 * Results queued from now on wake it only if that is more than
 * RESULTS_MAX_DELAY_MS away.  Returns true if results already wait: the
 * caller drains them instead of sleeping, since they may have been queued
 * unannounced against an earlier wake_at_ms.
 */
bool results_before_sleep(struct results *rq, uint64_t wake_at_ms)
{
	bool waiting;

	pthread_mutex_lock(&rq->lock);
	rq->wake_at_ms = wake_at_ms;
	waiting = rq->n > 0 || rq->dropped;
	pthread_mutex_unlock(&rq->lock);
	return waiting;
}

void results_delay_wake(struct results *rq, unsigned int ms)
{
	pthread_mutex_lock(&rq->lock);
	rq->delay_wake_ms = ms;
	pthread_mutex_unlock(&rq->lock);
}
