/* SPDX-License-Identifier: MIT */
/*
 * Checks: starting reads, and finishing them when the kernel answers, the
 * deadline passes or io_submit() refuses them.  Only a worker finishes a
 * check, so on_result always runs on a worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "internal.h"

static void __hand_out(struct pc_engine *e, struct pc_path *p, int state,
		       struct worker *w)
{
	struct sync_waiter *wt, *next;

	if (p->waiters)
		p->reported = p->finished;
	for (wt = p->waiters; wt; wt = next) {
		next = wt->next;	/* wt is gone once posted */
		atomic_store_explicit(&wt->state, state, memory_order_release);
		sem_post(&wt->done);
	}
	p->waiters = NULL;
	if (e->opts.on_result) {
		worker_queue_delivery(w, p, state);
		p->reported = p->finished;
	}
}

/* Records the result of the path's running check and hands it out. */
static void __path_finish(struct aio_group *g, struct pc_req *r, int reason,
			  int error, long bytes, uint64_t now,
			  struct worker *w)
{
	struct pc_engine *e = g->engine;
	struct pc_path *p = r->path;
	struct pc_result *res = &p->result;
	int state = reason == PC_REASON_OK ? PC_UP : PC_DOWN;

	lock_held(g);
	p->finished = p->started;
	res->state = state;
	res->reason = reason;
	res->error = error;
	res->bytes = bytes > 0 ? (unsigned int)bytes : 0;
	res->latency_us = now > r->submit_us ? now - r->submit_us : 0;
	res->finished_ms = now / 1000u;
	res->checks++;
	atomic_fetch_add_explicit(&e->stats.checks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(state == PC_UP ? &e->stats.up : &e->stats.down,
				  1, memory_order_relaxed);
	if (reason == PC_REASON_TIMEOUT)
		atomic_fetch_add_explicit(&e->stats.timeouts, 1,
					  memory_order_relaxed);
	__hand_out(e, p, state, w);
}

static int classify(const struct pc_req *r, long res, int *error)
{
	*error = 0;
	if (res == (long)r->path->blksize)
		return PC_REASON_OK;
	if (res < 0) {
		*error = (int)-res;
		return PC_REASON_IO_ERROR;
	}
	return PC_REASON_SHORT_READ;
}

static void __inflight_dec(struct aio_group *g)
{
	g->inflight--;
	atomic_fetch_sub_explicit(&g->engine->stats.inflight, 1,
				  memory_order_relaxed);
}

/* Returns true when r went to the reaper, which the caller wakes once it
 * has dropped the lock. */
static bool __req_orphan_answered(struct aio_group *g, struct pc_req *r)
{
	cds_list_del(&r->list);
	r->state = REQ_REAPED;
	if (g->state == GROUP_ACTIVE) {
		reaper_queue_req(g->engine, r);
		return true;
	}
	/* The group's destroyer frees it with the group. */
	cds_list_add(&r->list, &g->orphan_list);
	return false;
}

/*
 * The kernel answered r with res (or io_submit() refused it, res = -errno).
 * w is the worker that hands results out; it may be NULL only when r's
 * state cannot finish a check (TIMEDOUT, ORPHAN).  Returns true when the
 * caller must wake the reaper (reaper_wake) after dropping the lock.
 */
bool __req_complete(struct aio_group *g, struct pc_req *r, long res,
		    struct worker *w)
{
	uint64_t now = pc_now_us();
	int reason, error;

	lock_held(g);
	__req_give_buf(g, r, now);	/* the kernel is done with it */
	switch (r->state) {
	case REQ_INFLIGHT:
		heap_remove(&g->heap, r);
		__group_update_deadline(g);
		__inflight_dec(g);
		r->state = REQ_IDLE;
		reason = classify(r, res, &error);
		__path_finish(g, r, reason, error, res, now, w);
		break;
	case REQ_FAILED:
		r->state = REQ_IDLE;
		__path_finish(g, r, PC_REASON_SUBMIT_ERROR, (int)-r->res, 0,
			      now, w);
		break;
	case REQ_TIMEDOUT:
		__inflight_dec(g);
		atomic_fetch_add_explicit(&g->engine->stats.late_completions,
					  1, memory_order_relaxed);
		r->state = REQ_IDLE;
		break;
	case REQ_ORPHAN:
		__inflight_dec(g);
		return __req_orphan_answered(g, r);
	case REQ_IDLE:
	case REQ_REAPED:
		pc_log(g->engine, LOG_ERR, "group %u: answer for a request in state "
		       "%d dropped", g->id, (int)r->state);
		break;
	}
	return false;
}

/*
 * Tries io_cancel().  It fails on nearly everything (SCSI, FUSE: EINVAL);
 * since Linux 4.19 a successful cancel still answers through the ring.
 * Only a 0 return (older kernels) means the kernel let go of r now.
 */
bool __req_try_cancel(struct aio_group *g, struct pc_req *r)
{
	struct io_event ev;

	lock_held(g);
	return io_cancel(g->ctx, &r->iocb, &ev) == 0;
}

/* r's deadline passed: its check finishes DOWN now. */
void __req_timeout(struct aio_group *g, struct pc_req *r, struct worker *w)
{
	lock_held(g);
	heap_remove(&g->heap, r);
	__group_update_deadline(g);
	if (__req_try_cancel(g, r)) {
		__inflight_dec(g);
		__req_give_buf(g, r, r->deadline_us);
		r->state = REQ_IDLE;
	} else {
		r->state = REQ_TIMEDOUT;	/* keeps its buffer */
	}
	__path_finish(g, r, PC_REASON_TIMEOUT, 0, 0, r->deadline_us, w);
}

/* r's read never reached the kernel: the worker, once woken, finishes its
 * check DOWN with err. */
static void __req_fail(struct aio_group *g, struct pc_req *r, int err)
{
	r->state = REQ_FAILED;
	r->res = err;
	cds_list_add_tail(&r->list, &g->failed_list);
	atomic_store(&g->has_failed, true);
}

/*
 * Starts a check of p, whose request is idle: its read, with a buffer of
 * its own, for the caller to submit.  NULL when there is no memory for
 * the buffer: the check then fails like a refused submit (REQ_FAILED), and
 * the caller wakes the worker.
 */
static struct iocb *__start_read(struct aio_group *g, struct pc_path *p,
				 uint64_t now)
{
	struct pc_req *r = p->req;
	unsigned int timeout_ms = atomic_load_explicit(&p->timeout_ms,
						       memory_order_relaxed);

	lock_held(g);
	r->submit_us = now;
	r->deadline_us = now + (uint64_t)timeout_ms * 1000u;
	p->started++;
	if (__req_take_buf(g, r, now) < 0) {
		__req_fail(g, r, -ENOMEM);
		return NULL;
	}
	io_prep_pread(&r->iocb, p->fd, r->buf, p->blksize, 0);
	io_set_eventfd(&r->iocb, g->efd);
	r->iocb.data = r;
	r->state = REQ_INFLIGHT;
	heap_push(&g->heap, r);
	__group_update_deadline(g);
	g->inflight++;
	atomic_fetch_add_explicit(&g->engine->stats.inflight, 1,
				  memory_order_relaxed);
	return &r->iocb;
}

/* io_submit() refused r: the worker finishes its check DOWN. */
static void fail_submit(struct aio_group *g, struct pc_req *r, int err)
{
	bool wake = false, wake_reaper = false;

	lock_group(g);
	if (r->state == REQ_INFLIGHT) {
		heap_remove(&g->heap, r);
		__group_update_deadline(g);
		__inflight_dec(g);
		__req_give_buf(g, r, pc_now_us());	/* never the kernel's */
		__req_fail(g, r, err);
		wake = true;
	} else {
		/* Timed out or orphaned meanwhile: no answer will come. */
		wake_reaper = __req_complete(g, r, err, NULL);
	}
	unlock_group(g);
	if (wake)
		worker_wake(g->worker);
	if (wake_reaper)
		reaper_wake(g->engine);
}

static void submit(struct aio_group *g, struct iocb **iocbs, long n)
{
	long done = 0;

	while (done < n) {
		int k = io_submit(g->ctx, n - done, iocbs + done);

		if (k > 0) {
			done += k;
		} else if (k != -EINTR) {
			fail_submit(g, iocbs[done]->data, k ? k : -EIO);
			done++;
		}
	}
}

/* What pc_check() returns without starting anything; *start when it
 * should start a read.  Hands a finished result out at most once. */
static int __poll_state(struct pc_path *p, uint64_t now, bool *start)
{
	struct pc_req *r = p->req;

	*start = false;
	switch (r->state) {
	case REQ_INFLIGHT:
		if (now < r->deadline_us)
			return PC_PENDING;
		p->reported = p->started;	/* the worker is about to */
		return PC_DOWN;
	case REQ_FAILED:
		return PC_PENDING;
	case REQ_TIMEDOUT:
		p->reported = p->started;
		return PC_DOWN;
	default:
		break;
	}
	if (p->finished > p->reported) {
		p->reported = p->finished;
		return p->result.state;
	}
	*start = true;
	return PC_PENDING;
}

static int check_async(struct pc_path *p)
{
	struct aio_group *g = p->group;
	struct iocb *iocb = NULL;
	uint64_t now = pc_now_us(), deadline = 0;
	bool start;
	int state;

	lock_group(g);
	state = __poll_state(p, now, &start);
	if (start) {
		iocb = __start_read(g, p, now);
		deadline = p->req->deadline_us;
	}
	unlock_group(g);
	if (iocb) {
		worker_watch_deadline(g->worker, deadline);
		submit(g, &iocb, 1);
	} else if (start) {
		worker_wake(g->worker);		/* no buffer: REQ_FAILED */
	}
	return state;
}

static void __remove_waiter(struct pc_path *p, struct sync_waiter *wt,
			    bool *found)
{
	struct sync_waiter **pp;

	*found = false;
	for (pp = &p->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == wt) {
			*pp = wt->next;
			*found = true;
			return;
		}
	}
}

static int wait_result(struct pc_path *p, struct sync_waiter *wt,
		       uint64_t until_us)
{
	struct timespec ts = {
		.tv_sec = (time_t)(until_us / 1000000u),
		.tv_nsec = (long)(until_us % 1000000u) * 1000L,
	};
	bool queued;
	int err;

	do
		err = sem_clockwait(&wt->done, CLOCK_MONOTONIC, &ts);
	while (err && errno == EINTR);
	if (!err)
		return atomic_load_explicit(&wt->state, memory_order_acquire);
	/* The worker is late with the verdict; the deadline has passed. */
	lock_group(p->group);
	__remove_waiter(p, wt, &queued);
	if (queued)
		p->reported = p->started;
	unlock_group(p->group);
	if (queued)
		return PC_DOWN;
	while (sem_wait(&wt->done) && errno == EINTR)
		;	/* posted under the lock we just held: returns at once */
	return atomic_load_explicit(&wt->state, memory_order_acquire);
}

static int check_sync(struct pc_path *p)
{
	struct aio_group *g = p->group;
	struct sync_waiter wt = { .state = PC_UNCHECKED };
	struct iocb *iocb = NULL;
	uint64_t now = pc_now_us(), deadline;
	bool no_buf = false;
	int state;

	if (in_worker_thread())
		return -EDEADLK;	/* on_result would wait for a worker */
	lock_group(g);
	if (p->req->state == REQ_TIMEDOUT) {
		p->reported = p->started;
		unlock_group(g);
		return PC_DOWN;		/* no new read until the kernel answers */
	}
	if (p->req->state == REQ_IDLE) {
		iocb = __start_read(g, p, now);
		no_buf = !iocb;
	}
	deadline = p->req->deadline_us;
	sem_init(&wt.done, 0, 0);
	wt.next = p->waiters;
	p->waiters = &wt;
	unlock_group(g);
	if (iocb) {
		worker_watch_deadline(g->worker, deadline);
		submit(g, &iocb, 1);
	} else if (no_buf) {
		worker_wake(g->worker);		/* REQ_FAILED */
	}
	state = wait_result(p, &wt, deadline + PC_SYNC_GRACE_MS * 1000u);
	sem_destroy(&wt.done);
	return state;
}

int pc_check(struct pc_path *path, int flags)
{
	if (!path || (flags & ~(int)PC_SYNC))
		return -EINVAL;
	if (flags & PC_SYNC)
		return check_sync(path);
	return check_async(path);
}

static int by_group(const void *a, const void *b)
{
	const struct aio_group *ga = (*(struct pc_path *const *)a)->group;
	const struct aio_group *gb = (*(struct pc_path *const *)b)->group;

	return ga < gb ? -1 : ga > gb;
}

/* Starts reads on paths[0..n), all of group g: one io_submit(). */
static size_t start_group(struct aio_group *g, struct pc_path *const *paths,
			  size_t n, struct iocb **iocbs)
{
	uint64_t now = pc_now_us(), first = UINT64_MAX;
	size_t k = 0, failed = 0;

	lock_group(g);
	for (size_t i = 0; i < n; i++) {
		if (paths[i]->req->state != REQ_IDLE)
			continue;	/* one read in the kernel at most */
		iocbs[k] = __start_read(g, paths[i], now);
		if (!iocbs[k]) {
			failed++;	/* no buffer: REQ_FAILED */
			continue;
		}
		k++;
		if (paths[i]->req->deadline_us < first)
			first = paths[i]->req->deadline_us;
	}
	unlock_group(g);
	if (failed)
		worker_wake(g->worker);
	if (k) {
		worker_watch_deadline(g->worker, first);
		submit(g, iocbs, (long)k);
	}
	return k + failed;
}

static bool sorted_by_group(struct pc_path *const *paths, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (paths[i]->group < paths[i - 1]->group)
			return false;
	return true;
}

int pc_check_many(struct pc_path *const *paths, size_t n)
{
	struct pc_path **sorted = NULL;
	struct pc_path *const *run;
	struct iocb **iocbs;
	size_t i, j, started = 0;

	if (!n)
		return 0;
	if (!paths || n > (size_t)INT32_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!paths[i])
			return -EINVAL;
	iocbs = malloc(n * sizeof(*iocbs));
	if (!iocbs)
		return -ENOMEM;
	run = paths;
	if (!sorted_by_group(paths, n)) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted) {
			free(iocbs);
			return -ENOMEM;
		}
		memcpy(sorted, paths, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), by_group);
		run = sorted;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && run[j]->group == run[i]->group; j++)
			;
		started += start_group(run[i]->group, run + i, j - i, iocbs);
	}
	free(sorted);
	free(iocbs);
	return (int)started;
}

/*
 * The path owning r is being freed.  Returns true when r is no longer the
 * kernel's and can be freed now; false when it became an orphan, which the
 * worker hands to the reaper once the kernel answers.
 */
bool __req_detach(struct aio_group *g, struct pc_req *r)
{
	struct pc_engine *e = g->engine;

	lock_held(g);
	switch (r->state) {
	case REQ_IDLE:
		return true;
	case REQ_FAILED:
		cds_list_del(&r->list);	/* never reached the kernel */
		return true;
	case REQ_INFLIGHT:
		heap_remove(&g->heap, r);
		__group_update_deadline(g);
		/* fall through */
	case REQ_TIMEDOUT:
		if (__req_try_cancel(g, r)) {
			__inflight_dec(g);
			__req_give_buf(g, r, pc_now_us());
			return true;
		}
		break;	/* the orphan keeps its buffer until the answer */
	case REQ_ORPHAN:
	case REQ_REAPED:
		break;		/* not a live path's: cannot happen */
	}
	r->state = REQ_ORPHAN;
	r->path = NULL;
	cds_list_add(&r->list, &g->orphan_list);
	g->orphans++;
	atomic_fetch_add(&e->stats.orphans, 1);
	return false;
}
