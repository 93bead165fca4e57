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

#include "pathcheck.h"

struct daemon;
struct rec;

struct result_msg {
	struct rec *rec;
	int state;
	struct pc_result res;
};

struct results {
	/*
	 * Protects q/n/cap.  Leaf lock: taken by workers in on_result and by the
	 * main thread to swap the queue out; nothing is called under it.
	 */
	pthread_mutex_t lock;
	struct result_msg *q;
	size_t n, cap;
	bool dropped;		/* out of memory: a result was lost */
	int efd;		/* eventfd, written when q turns non-empty */
};

int  results_init(struct results *rq);
void results_fini(struct results *rq);
void results_on_result(struct pc_path *path, int state, void *arg);
void results_drain(struct daemon *d);
void rec_finish_check(struct daemon *d, struct rec *r, int state,
		      const struct pc_result *res);

#endif
