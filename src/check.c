/* SPDX-License-Identifier: MIT */
/*
 * Checks: starting reads, and finishing them when the kernel answers, the
 * deadline passes or io_submit() refuses them.  A worker finishes a check,
 * except one whose deadline a caller sees pass first (finish_overdue_locked):
 * either way on_result runs on a worker, and a check has one result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "internal.h"

/* Wakes every PC_SYNC waiter of p with state. */
void post_waiters_locked(struct pc_path *p, int state)
{
	struct sync_waiter *wt, *next;

	lock_held(p->group);
	if (!p->waiters)
		return;
	for (wt = p->waiters; wt; wt = next) {
		next = wt->next;	/* wt is gone once posted */
		/* Pairs with the acquire load in wait_result(). */
		atomic_store_explicit(&wt->state, state, memory_order_release);
		sem_post(&wt->done);
	}
	p->waiters = NULL;
	/* A waiter may be the ring holder, asleep in io_getevents() with no
	 * timeout: the sem does not wake it, a kick does.  The fence orders
	 * our stores of state before the load of untimed: the Dekker pair
	 * with untimed_begin(), which stores untimed, then loads state. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->group->untimed, memory_order_seq_cst))
		group_kick(p->group);
}

/* Written under the group lock only: a plain add, published relaxed. */
static void owed_total_add(struct aio_group *g, int n)
{
	lock_held(g);
	atomic_store_explicit(&g->owed_total,
			      atomic_load_explicit(&g->owed_total,
						   memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* r's answer will signal nobody: a silent read timed out or orphaned.
 * The worker reaps the ring for it every PC_POLL_MS until it comes. */
static void req_poll_locked(struct aio_group *g, struct pc_req *r)
{
	lock_held(g);
	if (!r->silent || r->polled)
		return;
	r->polled = true;
	atomic_store_explicit(&g->polled,
			      atomic_load_explicit(&g->polled,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (!in_worker_thread())
		worker_kick(g->worker);	/* it may sleep with no deadline */
}

/* The kernel answered r: no more need to poll for it. */
static void req_unpoll_locked(struct aio_group *g, struct pc_req *r)
{
	lock_held(g);
	r->silent = false;
	if (!r->polled)
		return;
	r->polled = false;
	atomic_store_explicit(&g->polled,
			      atomic_load_explicit(&g->polled,
						   memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

/* p's check finished with state outside a worker: a worker owes its
 * on_result.  The owed results of a path wait in order, behind any older
 * ones, until the worker pays them (pay_owed(), or the path's next result
 * it hands out itself). */
void path_owe_locked(struct aio_group *g, struct pc_path *p, int state)
{
	lock_held(g);
	if (p->owed_n == PC_OWED_MAX) {
		/* The worker paid none of this path's last 64 results: a
		 * callback of its blocks, against the contract.  Keep the
		 * newest rather than grow without bound. */
		p->owed_bits >>= 1;
		p->owed_n--;
		owed_total_add(g, -1);
	}
	owed_total_add(g, 1);
	if (state == PC_UP)
		p->owed_bits |= UINT64_C(1) << p->owed_n;
	else
		p->owed_bits &= ~(UINT64_C(1) << p->owed_n);
	if (!p->owed_n++) {
		cds_list_add_tail(&p->owed_node, &g->owed_list);
		/* Relaxed: the worker reads the list under the lock. */
		atomic_store_explicit(&g->has_owed, true, memory_order_relaxed);
	}
}

/* Queues every on_result owed to p, oldest first, on w. */
void path_pay_owed_locked(struct worker *w, struct pc_path *p)
{
	lock_held(p->group);
	if (!p->owed_n)
		return;
	for (unsigned int i = 0; i < p->owed_n; i++)
		worker_queue_delivery(w, p, (p->owed_bits >> i) & 1 ?
					    PC_UP : PC_DOWN);
	path_forget_owed_locked(p->group, p);
}

/* Drops what p is owed: paid, or p is being freed. */
void path_forget_owed_locked(struct aio_group *g, struct pc_path *p)
{
	lock_held(g);
	if (!p->owed_n)
		return;
	cds_list_del(&p->owed_node);
	owed_total_add(g, -(int)p->owed_n);
	p->owed_n = 0;
	p->owed_bits = 0;
}

/* Whether r's check, once finished, is owed an on_result. */
static bool calls_back_locked(struct aio_group *g, const struct pc_req *r)
{
	lock_held(g);
	return g->engine->opts.on_result && !r->nocallback;
}

/*
 * A finished check's one result goes to everyone who waits for it.  w is
 * the worker finishing it; NULL when another thread finished it (a caller
 * that saw the deadline pass first, finish_overdue_locked, or a PC_SYNC caller
 * that reaped the answer): then on_result is owed, and the group's worker
 * delivers it (that thread wakes it once it has dropped the lock).
 */
static void hand_out_locked(struct aio_group *g, struct pc_path *p, int state,
		       struct worker *w)
{
	lock_held(g);
	if (p->waiters)
		p->reported = p->finished;
	post_waiters_locked(p, state);
	if (!calls_back_locked(g, p->req))
		return;
	p->reported = p->finished;
	if (w) {
		path_pay_owed_locked(w, p);	/* older results first */
		worker_queue_delivery(w, p, state);
	} else {
		path_owe_locked(g, p, state);
	}
}

/* Records the result of the path's running check and hands it out. */
static void path_finish_locked(struct aio_group *g, struct pc_req *r, int reason,
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
	stat_add(e, checks, 1);
	if (state == PC_UP)
		stat_add(e, up, 1);
	else
		stat_add(e, down, 1);
	if (reason == PC_REASON_TIMEOUT)
		stat_add(e, timeouts, 1);
	hand_out_locked(g, p, state, w);
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

static void inflight_dec_locked(struct aio_group *g)
{
	lock_held(g);
	g->inflight--;
	stat_sub(g->engine, inflight, 1);
}

/* Returns true when r went to the reaper, which the caller wakes once it
 * has dropped the lock. */
static bool req_orphan_answered_locked(struct aio_group *g, struct pc_req *r)
{
	lock_held(g);
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
bool req_complete_locked(struct aio_group *g, struct pc_req *r, long res,
		    struct worker *w)
{
	uint64_t now = pc_now_us();
	int reason, error;

	lock_held(g);
	req_give_buf_locked(g, r, now);	/* the kernel is done with it */
	if (r->state != REQ_FAILED)	/* FAILED: io_submit never took it */
		req_unpoll_locked(g, r);
	switch (r->state) {
	case REQ_INFLIGHT:
		heap_remove(&g->heap, r);
		group_update_deadline_locked(g);
		inflight_dec_locked(g);
		r->state = REQ_IDLE;
		reason = classify(r, res, &error);
		path_finish_locked(g, r, reason, error, res, now, w);
		break;
	case REQ_FAILED:
		r->state = REQ_IDLE;
		path_finish_locked(g, r, PC_REASON_SUBMIT_ERROR, (int)-r->res, 0,
			      now, w);
		break;
	case REQ_TIMEDOUT:
		inflight_dec_locked(g);
		stat_add(g->engine, late_completions, 1);
		r->state = REQ_IDLE;
		break;
	case REQ_ORPHAN:
		inflight_dec_locked(g);
		return req_orphan_answered_locked(g, r);
	case REQ_IDLE:
	case REQ_REAPED:
		/* A bug; the worker says so once it has dropped the lock. */
		atomic_fetch_add_explicit(&g->dropped, 1, memory_order_relaxed);
		break;
	}
	return false;
}

/*
 * Tries io_cancel().  It fails on nearly everything (SCSI, FUSE: EINVAL);
 * since Linux 4.19 a successful cancel still answers through the ring.
 * Only a 0 return (older kernels) means the kernel let go of r now.
 */
bool req_try_cancel_locked(struct aio_group *g, struct pc_req *r)
{
	struct io_event ev;

	lock_held(g);
	return io_cancel(g->ctx, &r->iocb, &ev) == 0;
}

/* r's deadline passed: its check finishes DOWN now. */
void req_timeout_locked(struct aio_group *g, struct pc_req *r, struct worker *w)
{
	lock_held(g);
	heap_remove(&g->heap, r);
	group_update_deadline_locked(g);
	if (req_try_cancel_locked(g, r)) {
		inflight_dec_locked(g);
		req_give_buf_locked(g, r, r->deadline_us);
		req_unpoll_locked(g, r);
		r->state = REQ_IDLE;
	} else {
		r->state = REQ_TIMEDOUT;	/* keeps its buffer */
		req_poll_locked(g, r);
	}
	path_finish_locked(g, r, PC_REASON_TIMEOUT, 0, 0, r->deadline_us, w);
}

/* r's read never reached the kernel: the worker, once woken, finishes its
 * check DOWN with err. */
static void req_fail_locked(struct aio_group *g, struct pc_req *r, int err)
{
	lock_held(g);
	r->state = REQ_FAILED;
	r->res = err;
	cds_list_add_tail(&r->list, &g->failed_list);
	/* Relaxed: the worker reads the list under the lock. */
	atomic_store_explicit(&g->has_failed, true, memory_order_relaxed);
}

/*
 * Starts a check of p, whose request is idle: its read, with a buffer of
 * its own, for the caller to submit.  NULL when there is no memory for
 * the buffer: the check then fails like a refused submit (REQ_FAILED), and
 * the caller wakes the worker.
 */
static struct iocb *start_read_locked(struct aio_group *g, struct pc_path *p,
				 uint64_t now, bool silent, bool nocallback)
{
	struct pc_req *r = p->req;
	unsigned int timeout_ms = atomic_load_explicit(&p->timeout_ms,
						       memory_order_relaxed);

	lock_held(g);
	r->submit_us = now;
	r->deadline_us = now + (uint64_t)timeout_ms * 1000u;
	p->started++;
	r->nocallback = nocallback;	/* before it can fail: FAILED finishes */
	if (req_take_buf_locked(g, r, p->blksize, now) < 0) {
		req_fail_locked(g, r, -ENOMEM);
		return NULL;
	}
	io_prep_pread(&r->iocb, p->fd, r->buf, p->blksize, 0);
	if (!silent)
		io_set_eventfd(&r->iocb, g->efd);
	r->silent = silent;
	r->iocb.data = r;
	r->state = REQ_INFLIGHT;
	heap_push(&g->heap, r);
	group_update_deadline_locked(g);
	g->inflight++;
	stat_add(g->engine, inflight, 1);
	return &r->iocb;
}

/* io_submit() refused r: the worker finishes its check DOWN. */
static void fail_submit(struct aio_group *g, struct pc_req *r, int err)
{
	bool wake = false, wake_reaper = false;

	lock_group(g);
	if (r->state == REQ_INFLIGHT) {
		heap_remove(&g->heap, r);
		group_update_deadline_locked(g);
		inflight_dec_locked(g);
		req_give_buf_locked(g, r, pc_now_us());	/* never the kernel's */
		req_fail_locked(g, r, err);
		wake = true;
	} else {
		/* Timed out or orphaned meanwhile: no answer will come. */
		wake_reaper = req_complete_locked(g, r, err, NULL);
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

/*
 * The deadline of r's check has passed (now >= deadline) and its worker has
 * not acted yet (it is late, e.g. busy in a callback): the caller finishes
 * the check DOWN here, so that the first verdict handed out is the only
 * one; a late answer is then a late completion, never a second result.
 * A FAILED request whose worker is late is finished as the worker would.
 * Returns true when on_result became owed: the caller wakes g's worker
 * once it has dropped the lock.
 */
bool finish_overdue_locked(struct aio_group *g, struct pc_req *r, uint64_t now)
{
	lock_held(g);
	switch (r->state) {
	case REQ_INFLIGHT:
		if (now < r->deadline_us)
			return false;
		req_timeout_locked(g, r, NULL);
		break;
	case REQ_FAILED:
		if (now < r->deadline_us)
			return false;
		cds_list_del(&r->list);
		req_complete_locked(g, r, r->res, NULL);
		break;
	default:
		return false;
	}
	return calls_back_locked(g, r);
}

/* What pc_check() returns without starting anything; *start when it
 * should start a read.  Hands a finished result out at most once. */
static int poll_state_locked(struct aio_group *g, struct pc_path *p, uint64_t now,
			bool *start, bool *owed)
{
	struct pc_req *r = p->req;

	lock_held(g);
	*start = false;
	*owed = false;
	switch (r->state) {
	case REQ_INFLIGHT:
		if (now < r->deadline_us)
			return PC_PENDING;
		*owed = finish_overdue_locked(g, r, now);
		p->reported = p->finished;
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
	bool start = false, owed = false;
	int state = -ENODEV;

	lock_group(g);
	if (atomic_load_explicit(&p->life, memory_order_relaxed) == PATH_LIVE) {
		state = poll_state_locked(g, p, now, &start, &owed);
		if (start) {
			iocb = start_read_locked(g, p, now, false, false);
			deadline = p->req->deadline_us;
		}
	}
	unlock_group(g);
	if (owed)
		worker_wake(g->worker);
	if (iocb) {
		worker_watch_deadline(g->worker, deadline);
		submit(g, &iocb, 1);
	} else if (start) {
		worker_wake(g->worker);		/* no buffer: REQ_FAILED */
	}
	return state;
}

static void remove_waiter_locked(struct pc_path *p, struct sync_waiter *wt)
{
	lock_held(p->group);
	for (struct sync_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next)
		if (*pp == wt) {
			*pp = wt->next;
			return;
		}
}

static bool waiter_queued_locked(struct pc_path *p, struct sync_waiter *wt)
{
	lock_held(p->group);
	for (struct sync_waiter *it = p->waiters; it; it = it->next)
		if (it == wt)
			return true;
	return false;
}

/*
 * Waits for the check's one result.  Past the deadline (and the grace for
 * the worker's verdict) the waiter stops waiting for a late worker and
 * finishes the check DOWN itself (finish_overdue_locked), under the lock, so
 * that the path's result, this return and on_result all say the same.
 * p stays allocated while we wait: pc_path_free() waits for sync_users.
 */
static int wait_result(struct pc_path *p, struct sync_waiter *wt,
		       uint64_t until_us)
{
	struct aio_group *g = p->group;
	struct timespec ts = {
		.tv_sec = (time_t)(until_us / 1000000u),
		.tv_nsec = (long)(until_us % 1000000u) * 1000L,
	};
	bool owed = false;
	int err;

	do
		err = sem_clockwait(&wt->done, CLOCK_MONOTONIC, &ts);
	while (err && errno == EINTR);
	if (!err)
		goto posted;
	lock_group(g);
	if (waiter_queued_locked(p, wt))
		owed = finish_overdue_locked(g, p->req, pc_now_us());
	if (waiter_queued_locked(p, wt)) {
		/* Cannot happen: a queued waiter's check is INFLIGHT or
		 * FAILED.  Never hang on it. */
		remove_waiter_locked(p, wt);
		atomic_store_explicit(&wt->state, PC_DOWN,
				      memory_order_relaxed);
		sem_post(&wt->done);
	}
	unlock_group(g);
	if (owed)
		worker_wake(g->worker);
	while (sem_wait(&wt->done) && errno == EINTR)
		;	/* posted under the lock we just held: returns at once */
posted:
	/* Pairs with the release store in post_waiters_locked(). */
	return atomic_load_explicit(&wt->state, memory_order_acquire);
}

/* Most answers a PC_SYNC caller takes off the ring at once. */
#define SYNC_REAP_MAX	16
/* Longest a PC_SYNC caller that sleeps with a timeout (untimed_begin()
 * said no) sleeps in io_getevents() before it looks again whether its
 * check ended otherwise (a deadline fired by the worker, its path freed:
 * pc_path_free() waits for it to leave). */
#define SYNC_SLICE_US	10000u
/* How long a PC_SYNC caller waits for a ring another thread holds before
 * it looks again. */
#define SYNC_RING_WAIT_US	200u

/* Whether wt has its result.  Acquire: pairs with the release store in
 * post_waiters_locked(). */
static bool posted(struct sync_waiter *wt)
{
	return atomic_load_explicit(&wt->state, memory_order_acquire) !=
	       PC_UNCHECKED;
}

/*
 * Finishes the answers a PC_SYNC caller took off g's ring, its own and
 * any other path's: on_result of each is owed to g's worker.  Once wt is
 * posted the caller is done with g: under the same hold of the lock it
 * gives the ring back and drops its pin (group_unpin_locked()), and true says
 * so; g may be gone once this returns.  Seen under the lock, a post by
 * another thread is whole, sem_post() included: the caller need not wait
 * on the semaphore.
 */
static bool sync_complete(struct aio_group *g, struct io_event *evs, int n,
			  struct sync_waiter *wt)
{
	struct pc_engine *e = g->engine;
	struct worker *w = g->worker;
	bool wake_reaper = false, owed, done, retire = false;

	lock_group(g);
	for (int i = 0; i < n; i++)
		if (!group_take_kick(g, &evs[i]))
			wake_reaper |= req_complete_locked(g, evs[i].data,
							   (long)evs[i].res,
							   NULL);
	/* Relaxed: set under the lock we hold. */
	owed = atomic_load_explicit(&g->has_owed, memory_order_relaxed);
	done = posted(wt);
	if (done) {
		group_reap_end_locked(g);
		retire = group_unpin_locked(g);
	}
	unlock_group(g);
	if (retire)
		reaper_take_group(e, g);
	if (wake_reaper)
		reaper_wake(e);
	if (owed)
		worker_wake(w);
	return done;
}

/* Another thread holds g's ring: it finishes our answer should it come
 * meanwhile.  Waits a moment for that, or for the ring to be free. */
static void wait_ring(struct sync_waiter *wt)
{
	uint64_t until = pc_now_us() + SYNC_RING_WAIT_US;
	struct timespec ts = {
		.tv_sec = (time_t)(until / 1000000u),
		.tv_nsec = (long)(until % 1000000u) * 1000L,
	};

	if (sem_clockwait(&wt->done, CLOCK_MONOTONIC, &ts) == 0)
		sem_post(&wt->done);	/* for wait_result() */
}

/* Our silent read's deadline passed with no answer: we finish the check
 * DOWN, as the worker would (it was not asked to wake for it).  Not once
 * the path is being freed: its request is an orphan's then, maybe gone. */
static void finish_own_overdue(struct aio_group *g, struct pc_path *p,
			       uint64_t now)
{
	bool owed = false;

	lock_group(g);
	if (atomic_load_explicit(&p->life, memory_order_relaxed) == PATH_LIVE)
		owed = finish_overdue_locked(g, p->req, now);
	unlock_group(g);
	if (owed)
		worker_wake(g->worker);
}

/*
 * Whether the ring holder may sleep in io_getevents() with no timeout, as
 * fio does (a timeout arms and cancels a kernel timer on every check:
 * docs/performance.md): when g's worker is sure to look at our deadline in
 * time, since it sleeps until no later (sleep_until_us; our read is in its
 * heap) and is not away in application code.  It, or whoever else posts
 * our waiter first (the worker at the deadline, pc_path_free(), a caller
 * finding the check overdue), then kicks the ring (post_waiters_locked()).
 * A worker that sleeps past our deadline is woken to look again, and we
 * sleep with a timeout this once.
 *
 * Dekker-style, all seq_cst: we store untimed, then load the waiter's
 * state, away and sleep_until_us; a poster stores state, then loads
 * untimed; the worker stores away (leave_untimed()) or sleep_until_us
 * (arm()), then loads each of its groups' untimed or rescans the
 * deadlines.  Either side sees the other.
 */
static bool untimed_begin(struct aio_group *g, struct sync_waiter *wt,
			  uint64_t deadline_us)
{
	struct worker *w = g->worker;

	if (!kick_arm(g))
		return false;
	atomic_store_explicit(&g->untimed, true, memory_order_seq_cst);
	if (atomic_load_explicit(&wt->state, memory_order_seq_cst) ==
	    PC_UNCHECKED &&
	    !atomic_load_explicit(&w->away, memory_order_seq_cst)) {
		if (deadline_us >= atomic_load_explicit(&w->sleep_until_us,
							memory_order_seq_cst))
			return true;
		worker_wake(w);
	}
	atomic_store_explicit(&g->untimed, false, memory_order_relaxed);
	return false;
}

/* Awake again: posters need not kick any more.  Relaxed: a kick that
 * comes anyway is taken off the ring as any kick. */
static void untimed_end(struct aio_group *g)
{
	atomic_store_explicit(&g->untimed, false, memory_order_relaxed);
}

/*
 * Our read is silent (no eventfd): we wait for its answer in io_getevents()
 * on the group's context, as fio does, and no other thread wakes for it.
 * Answers of other paths that come meanwhile are finished here too.  When
 * another thread holds the ring, it finishes our answer if it takes it, and
 * we take the ring over when it lets go.  Returns once wt is posted: by an
 * answer, by pc_path_free, or at the deadline (by the worker, or by
 * ourselves when we sleep with a timeout); the worker then polls the ring
 * for the late answer (req_poll_locked).  True when we dropped our pin on
 * g meanwhile (sync_complete()).
 */
static bool reap_own(struct aio_group *g, struct pc_path *p,
		     struct sync_waiter *wt, uint64_t now, uint64_t deadline_us)
{
	struct io_event evs[SYNC_REAP_MAX];

	/* now: the check's start at first (a few us old, one clock read
	 * less), then each time round. */
	for (; !posted(wt); now = pc_now_us()) {
		uint64_t until;
		struct timespec ts;
		int n;

		if (now >= deadline_us) {
			finish_own_overdue(g, p, now);
			return false;
		}
		if (!group_reap_begin(g)) {
			wait_ring(wt);
			continue;
		}
		/* With the ring ours, an answer to our read that another
		 * thread took is finished. */
		if (posted(wt)) {
			group_reap_end(g);
			return false;
		}
		if (untimed_begin(g, wt, deadline_us)) {
			n = io_getevents(g->ctx, 1, SYNC_REAP_MAX, evs, NULL);
			untimed_end(g);
		} else {
			until = deadline_us - now;
			if (until > SYNC_SLICE_US)
				until = SYNC_SLICE_US;
			ts.tv_sec = (time_t)(until / 1000000u);
			ts.tv_nsec = (long)(until % 1000000u) * 1000L;
			n = io_getevents(g->ctx, 1, SYNC_REAP_MAX, evs, &ts);
		}
		if (n > 0 && sync_complete(g, evs, n, wt))
			return true;
		group_reap_end(g);
		if (n < 0 && n != -EINTR)
			return false;	/* the deadline will come for it */
	}
	return false;
}

static int check_sync(struct pc_path *p, bool nocallback)
{
	struct aio_group *g;
	struct sync_waiter wt = { .state = PC_UNCHECKED };
	struct iocb *iocb = NULL;
	uint64_t now = pc_now_us(), deadline;
	bool owed = false, no_buf = false, silent = false, unpinned = false;
	int state;

	if (in_worker_thread())
		return -EDEADLK;	/* on_result would wait for a worker */
	/* Until sync_users and the group's pins count us, the read section
	 * keeps p and its group allocated should an on_result free p (and
	 * with it the group's last path) meanwhile. */
	pc_rcu_read_lock();
	g = p->group;		/* inside the read section, as every look */
	lock_group(g);
	if (atomic_load_explicit(&p->life, memory_order_relaxed) != PATH_LIVE) {
		unlock_group(g);
		pc_rcu_read_unlock();
		return -ENODEV;
	}
	owed = finish_overdue_locked(g, p->req, now);
	if (p->req->state == REQ_TIMEDOUT) {
		p->reported = p->started;
		unlock_group(g);
		if (owed)
			worker_wake(g->worker);
		pc_rcu_read_unlock();
		return PC_DOWN;		/* no new read until the kernel answers */
	}
	if (p->req->state == REQ_IDLE) {
		/* Silent: we reap it ourselves.  Not with coalesce_us (the
		 * worker reaps, as documented), nor while the worker's
		 * callbacks are behind (it reaps, and so paces us). */
		silent = !g->engine->opts.coalesce_us &&
			 atomic_load_explicit(&g->owed_total,
					      memory_order_relaxed) <
			 PC_OWED_BACKOFF;
		iocb = start_read_locked(g, p, now, silent, nocallback);
		no_buf = !iocb;
	}
	deadline = p->req->deadline_us;
	sem_init(&wt.done, 0, 0);
	wt.next = p->waiters;
	p->waiters = &wt;
	/* Relaxed: ordered by the group lock before pc_path_free sees it. */
	atomic_fetch_add_explicit(&p->sync_users, 1, memory_order_relaxed);
	g->pins++;	/* g lives until group_unpin(), read section or not */
	unlock_group(g);
	pc_rcu_read_unlock();
	if (owed)
		worker_wake(g->worker);
	if (iocb) {
		/* A silent read's deadline is watched in reap_own(), by us
		 * or by the worker (untimed_begin()). */
		if (!silent)
			worker_watch_deadline(g->worker, deadline);
		submit(g, &iocb, 1);
		if (silent)
			unpinned = reap_own(g, p, &wt, now, deadline);
	} else if (no_buf) {
		worker_wake(g->worker);		/* REQ_FAILED */
	}
	if (unpinned) {
		/* Posted, and seen under the lock: sem_post() is done. */
		state = atomic_load_explicit(&wt.state, memory_order_acquire);
	} else {
		state = wait_result(p, &wt,
				    deadline + PC_SYNC_GRACE_MS * 1000u);
		group_unpin(g);		/* our last touch of g */
	}
	sem_destroy(&wt.done);
	/* Our last touch of p.  Release: pairs with pc_path_free's acquire,
	 * which may free p right after. */
	atomic_fetch_sub_explicit(&p->sync_users, 1, memory_order_release);
	return state;
}

int pc_check(struct pc_path *path, int flags)
{
	int ret, cs;

	if (!path || (flags & ~(int)(PC_SYNC | PC_NOCALLBACK)))
		return -EINVAL;
	/* Without PC_SYNC the result has no other taker than on_result. */
	if ((flags & PC_NOCALLBACK) && !(flags & PC_SYNC))
		return -EINVAL;
	cs = pc_nocancel_begin();
	if (flags & PC_SYNC) {
		ret = check_sync(path, flags & PC_NOCALLBACK);
	} else {
		/* The read section keeps path allocated should another
		 * thread (an on_result) free it meanwhile: the call then
		 * answers -ENODEV. */
		pc_rcu_read_lock();
		ret = check_async(path);
		pc_rcu_read_unlock();
	}
	pc_nocancel_end(cs);
	return ret;
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
		if (atomic_load_explicit(&paths[i]->life,
					 memory_order_relaxed) != PATH_LIVE ||
		    paths[i]->req->state != REQ_IDLE)
			continue;	/* one read in the kernel at most */
		iocbs[k] = start_read_locked(g, paths[i], now, false,
					 false);
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

static int check_many(struct pc_path *const *paths, size_t n);

int pc_check_many(struct pc_path *const *paths, size_t n)
{
	int cs = pc_nocancel_begin(), ret = check_many(paths, n);

	pc_nocancel_end(cs);
	return ret;
}

static int check_many(struct pc_path *const *paths, size_t n)
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
	/* Before the first look at a path: paths freed meanwhile stay
	 * allocated until we are done. */
	pc_rcu_read_lock();
	iocbs = malloc(n * sizeof(*iocbs));
	run = paths;
	if (iocbs && !sorted_by_group(paths, n)) {
		sorted = malloc(n * sizeof(*sorted));
		if (sorted) {
			memcpy(sorted, paths, n * sizeof(*sorted));
			qsort(sorted, n, sizeof(*sorted), by_group);
		}
		run = sorted;
	}
	if (!iocbs || !run) {
		pc_rcu_read_unlock();
		free(iocbs);
		return -ENOMEM;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && run[j]->group == run[i]->group; j++)
			;
		started += start_group(run[i]->group, run + i, j - i, iocbs);
	}
	pc_rcu_read_unlock();
	free(sorted);
	free(iocbs);
	return (int)started;
}

/*
 * The path owning r is being freed.  Returns true when r is no longer the
 * kernel's and can be freed now; false when it became an orphan, which the
 * worker hands to the reaper once the kernel answers.
 */
bool req_detach_locked(struct aio_group *g, struct pc_req *r)
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
		group_update_deadline_locked(g);
		/* fall through */
	case REQ_TIMEDOUT:
		if (req_try_cancel_locked(g, r)) {
			inflight_dec_locked(g);
			req_give_buf_locked(g, r, pc_now_us());
			req_unpoll_locked(g, r);
			return true;
		}
		req_poll_locked(g, r);	/* its caller leaves: nobody reaps */
		break;	/* the orphan keeps its buffer until the answer */
	case REQ_ORPHAN:
	case REQ_REAPED:
		break;		/* not a live path's: cannot happen */
	}
	r->state = REQ_ORPHAN;
	r->path = NULL;
	cds_list_add(&r->list, &g->orphan_list);
	g->orphans++;
	stat_add(e, orphans, 1);
	return false;
}
