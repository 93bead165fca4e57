/* SPDX-License-Identifier: MIT */
/*
 * Workers.  Worker i polls the groups whose id % W == i: it sleeps in
 * epoll_wait() on their eventfds until an answer or the earliest deadline,
 * reaps the answers from the aio ring in user space, fires deadlines, and
 * hands results to on_result with no lock held.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
/* Valgrind maps a smaller aio ring than the kernel does and would flag
 * reads of the rest: reap with io_getevents() under it. */
#define RING_READABLE()	(!RUNNING_ON_VALGRIND)
#else
#define RING_READABLE()	1
#endif

/* Most answers or deadlines handled under one hold of a group lock. */
#define BATCH		256
#define WAKE_ID		UINT64_MAX
#define AIO_RING_MAGIC	0xa10a10a1u

/* initial-exec: read at a fixed offset from the thread pointer, not
 * through __tls_get_addr() (a call on every PC_SYNC check); a pointer fits
 * the room glibc keeps for the static TLS of dlopen()ed libraries, as the
 * multipathd plugin loads us. */
static __thread struct worker *current_worker
	__attribute__((tls_model("initial-exec")));

/* Any engine's worker: a callback must not block on any engine. */
bool in_worker_thread(void)
{
	return current_worker != NULL;
}

/*
 * Whether w waits, directly or through other workers, for a callback that
 * me is running.  A link "x waits for q" counts only while q's worker is
 * delivering q; the last link is to me, who is delivering it for as long as
 * this runs, so a chain found here is a true cycle: nobody in it can return
 * before the others.  waiting_for is published only once its worker knows
 * it must wait (it saw delivering == q), so a worker that merely passes
 * through pc_path_free() is never taken for a cycle.
 *
 * The paths and groups looked at stay allocated for the read section: a
 * path is freed (path_put()) only after its freer stopped waiting and
 * unpublished it.  The section is short and never waits, so a grace
 * period never waits for a callback through it.
 */
static bool waits_on_locked(struct worker *w, struct worker *me)
{
	for (unsigned int i = 0; w && i <= PC_MAX_WORKERS; i++) {
		/* Acquire: pairs with the release store in
		 * worker_wait_delivery(), so q's fields are readable. */
		struct pc_path *q = atomic_load_explicit(&w->waiting_for,
							 memory_order_acquire);
		struct worker *x;

		if (!q)
			return false;
		x = q->group->worker;
		if (atomic_load_explicit(&x->delivering,
					 memory_order_seq_cst) != q)
			return false;	/* w is about to stop waiting */
		if (x == me)
			return true;
		w = x;
	}
	return false;
}

static bool waits_on(struct worker *w, struct worker *me)
{
	bool cycle;

	pc_rcu_read_lock();
	cycle = waits_on_locked(w, me);
	pc_rcu_read_unlock();
	return cycle;
}

static bool delivering(struct worker *w, struct pc_path *p)
{
	/* seq_cst: the Dekker pair with path->life, see deliver(). */
	return atomic_load_explicit(&w->delivering, memory_order_seq_cst) == p;
}

/*
 * pc_path_free(p) has marked p FREED; waits until w is not running p's
 * on_result (see deliver()).  A callback freeing its own path does not
 * wait for itself.  A callback freeing a path whose callback runs on
 * another worker waits, unless that worker waits, directly or not, for
 * this one's callback (callbacks freeing each other's paths): waiting
 * would deadlock, and this call returns with the other callback still
 * running.  That true cycle is the only case.
 */
void worker_wait_delivery(struct worker *w, struct pc_path *p)
{
	struct worker *me = current_worker;

	if (me == w || !delivering(w, p))
		return;
	if (me)
		/* Release: p's fields before a cycle check reads them. */
		atomic_store_explicit(&me->waiting_for, p,
				      memory_order_release);
	while (delivering(w, p)) {
		if (me && waits_on(w, me))
			break;
		sched_yield();
	}
	if (me)
		atomic_store_explicit(&me->waiting_for, NULL,
				      memory_order_relaxed);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	/* Edge-triggered: every write wakes epoll_wait, nobody reads. */
	if (write(w->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pc_log(w->engine, LOG_ERR, "worker %u: wake: %s", w->id,
		       strerror(errno));
}

/* worker_wake() for a caller holding a group lock: no log line (a write to
 * a non-blocking eventfd fails only when its counter is full, and then the
 * worker is awake anyway). */
void worker_kick(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wakefd, &one, sizeof(one)) < 0)
		return;
}

/*
 * A submitter calls this after publishing a deadline in its group
 * (group_update_deadline_locked).  Either it sees the time the worker sleeps
 * until and wakes it when the new deadline is earlier, or the worker's
 * second scan (arm()) sees the new deadline: both sides store, then load,
 * sequentially consistent.
 */
void worker_watch_deadline(struct worker *w, uint64_t deadline_us)
{
	if (deadline_us < atomic_load_explicit(&w->sleep_until_us,
					       memory_order_seq_cst))
		worker_wake(w);
}

int worker_add_group(struct worker *w, struct aio_group *g)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET,
		.data.u64 = g->id,
	};

	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, g->efd, &ev) < 0)
		return -errno;
	return 0;
}

void worker_del_group(struct worker *w, struct aio_group *g)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, g->efd, NULL);
}

void worker_queue_delivery(struct worker *w, struct pc_path *p, int state)
{
	if (w->batch_n == w->batch_cap) {
		/* BATCH checks, each with its owed results (at most
		 * PC_OWED_MAX) before it: grown only when owed pile up. */
		size_t cap = 2 * w->batch_cap;
		struct delivery *b = realloc(w->batch, cap * sizeof(*b));

		if (!b) {
			fprintf(stderr, "pathcheck: no memory for on_result\n");
			abort();
		}
		w->batch = b;
		w->batch_cap = cap;
	}
	/* Relaxed: p is live and linked (we hold its group lock), so its
	 * own hold is there until we drop ours, in deliver(). */
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	w->batch[w->batch_n].path = p;
	w->batch[w->batch_n].state = state;
	w->batch_n++;
}

/*
 * Runs on_result for the batch, no lock held and outside any RCU read
 * section: a grace period, and so fork() (urcu_bp_before_fork() waits for
 * one in progress) and pc-rcu, never wait for a callback, which may be
 * blocked on a lock the forking thread holds.  pc_path_free() of a path
 * in the batch and this loop meet Dekker-style: the worker stores
 * delivering then loads life; pc_path_free stores life then loads
 * delivering.  Either the callback is skipped, or pc_path_free waits for
 * it to end (or hands on_free over, or breaks a cycle of callbacks).  In
 * every case the path's memory stays until we drop the entry's hold on it
 * (path_put()), after our last touch; nothing else from the batch's read
 * section (group, table) is used here.
 */
static void deliver(struct worker *w)
{
	struct pc_engine *e = w->engine;

	for (size_t i = 0; i < w->batch_n; i++) {
		struct pc_path *p = w->batch[i].path;

		/* seq_cst store then load; pc_path_free stores life, then
		 * loads delivering (path_unlink_locked, worker_wait_delivery). */
		atomic_store_explicit(&w->delivering, p, memory_order_seq_cst);
		if (atomic_load_explicit(&p->life, memory_order_seq_cst) ==
		    PATH_LIVE)
			e->opts.on_result(p, w->batch[i].state, p->arg);
		if (!e->opts.on_free) {
			/* Release: the callback's work before pc_path_free
			 * returns. */
			atomic_store_explicit(&w->delivering, NULL,
					      memory_order_release);
			path_put(p);
			continue;
		}
		/* seq_cst store then load: the Dekker pair with
		 * free_or_hand_over() (path.c). */
		atomic_store_explicit(&w->delivering, NULL,
				      memory_order_seq_cst);
		if (atomic_load_explicit(&p->free_owed, memory_order_seq_cst))
			free_owed_pay(p);
		path_put(p);
	}
	w->batch_n = 0;
}

struct aio_ring {
	unsigned int id, nr, head, tail;
	unsigned int magic, compat_features, incompat_features;
	unsigned int header_length;
	struct io_event events[];
};

/*
 * Takes up to max answers off the group's completion ring.  Only the
 * group's worker consumes it, so the ring can be read in user space, as
 * the kernel allows, without a system call per batch.
 */
static int take_events(struct aio_group *g, struct io_event *evs, int max)
{
	struct aio_ring *ring = (struct aio_ring *)g->ctx;
	struct timespec zero = { 0, 0 };
	unsigned int head, tail;
	int n = 0;

	if (!RING_READABLE() || ring->magic != AIO_RING_MAGIC ||
	    ring->incompat_features)
		return io_getevents(g->ctx, 0, max, evs, &zero);
	head = ring->head;
	/* Orders the kernel's writes of the events before our reads. */
	tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	while (head != tail && n < max) {
		evs[n++] = ring->events[head];
		head = (head + 1) % ring->nr;
	}
	/* Orders our reads of the events before the kernel reuses them. */
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
	return n;
}

static bool ring_empty(struct aio_group *g)
{
	struct aio_ring *ring = (struct aio_ring *)g->ctx;

	if (!RING_READABLE() || ring->magic != AIO_RING_MAGIC ||
	    ring->incompat_features)
		return false;	/* cannot tell: say there may be answers */
	/* Relaxed: a hint; whoever reaps reads the tail with acquire. */
	return __atomic_load_n(&ring->head, __ATOMIC_RELAXED) ==
	       __atomic_load_n(&ring->tail, __ATOMIC_RELAXED);
}

/* Takes the right to consume g's completion ring, or says it is taken.
 * seq_cst: see group_reap_end(). */
static bool reap_trylock(struct aio_group *g)
{
	return !atomic_exchange_explicit(&g->reaping, true,
					 memory_order_seq_cst);
}

/* For a PC_SYNC caller: the ring is its to read with io_getevents(). */
bool group_reap_begin(struct aio_group *g)
{
	return reap_trylock(g);
}

/*
 * Gives the ring back.  A worker that found it taken meanwhile stored
 * reap_missed and tried again (both seq_cst); we store reaping, then load
 * reap_missed: either it got the ring, or we see that it left, and make
 * its eventfd fire again if answers wait.
 */
static bool reap_release(struct aio_group *g)
{
	atomic_store_explicit(&g->reaping, false, memory_order_seq_cst);
	if (!atomic_load_explicit(&g->reap_missed, memory_order_seq_cst) ||
	    !atomic_exchange_explicit(&g->reap_missed, false,
				      memory_order_seq_cst))
		return false;
	return !ring_empty(g);
}

void group_reap_end(struct aio_group *g)
{
	uint64_t one = 1;

	if (reap_release(g) && write(g->efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		pc_log(g->engine, LOG_ERR, "group %u: wake: %s", g->id,
		       strerror(errno));
}

/* group_reap_end() for a caller holding g's lock: no log line, as in
 * worker_kick() (the eventfd's counter is full only when the worker has
 * a wake-up coming anyway). */
void group_reap_end_locked(struct aio_group *g)
{
	uint64_t one = 1;

	lock_held(g);
	if (reap_release(g) && write(g->efd, &one, sizeof(one)) < 0)
		return;
}

/*
 * Wakes g's ring holder from an untimed io_getevents() (untimed_begin(),
 * check.c): the holder put a poll of kick_efd in the kernel before it
 * slept (kick_arm()), and a write answers it, so an event is on the ring
 * when this returns.  A write of 1 to an eventfd cannot fail short of a
 * counter at 2^64 - 2; a second kick before the first is taken changes
 * nothing.  Called only after a load of g->untimed found it set, which
 * the holder stores after kick_arm(): kick_efd is made by then.
 */
void group_kick(struct aio_group *g)
{
	uint64_t one = 1;

	if (write(g->kick_efd, &one, sizeof(one)) < 0)
		return;		/* EAGAIN: a kick is pending anyway */
}

/*
 * For the ring holder about to sleep untimed: a poll of kick_efd in the
 * kernel, so that group_kick() can wake it; false when there is none (the
 * holder sleeps with a timeout).  The first makes kick_efd.  A kick
 * written before the poll (for an earlier sleep, or while we re-arm) is
 * read off first; one that comes between that read and the poll answers
 * the poll at once, and the holder wakes for nothing once.
 */
bool kick_arm(struct aio_group *g)
{
	struct iocb *iocb = &g->kick_iocb;
	uint64_t stale;
	int err;

	switch (g->kick) {
	case KICK_ARMED:
		return true;
	case KICK_BROKEN:
		return false;
	case KICK_NONE:
		g->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (g->kick_efd < 0) {
			g->kick = KICK_BROKEN;
			return false;
		}
		g->kick = KICK_UNARMED;
		break;
	case KICK_UNARMED:
		/* Reads off a kick written since the last poll, if any
		 * (EAGAIN when none). */
		while (read(g->kick_efd, &stale, sizeof(stale)) < 0 &&
		       errno == EINTR)
			;
		break;
	}
	io_prep_poll(iocb, g->kick_efd, POLLIN);
	iocb->data = iocb;
	err = io_submit(g->ctx, 1, &iocb);
	if (err == 1) {
		g->kick = KICK_ARMED;
		return true;
	}
	if (err == -EINVAL)
		g->kick = KICK_BROKEN;	/* no IOCB_CMD_POLL (Linux < 4.18) */
	return false;			/* no memory now: a timeout this once */
}

/* Whether ev is a kick (group_kick()), not an answer: it is then taken,
 * and the next untimed sleep arms another (kick_arm()). */
bool group_take_kick(struct aio_group *g, const struct io_event *ev)
{
	if (ev->data != &g->kick_iocb)
		return false;
	g->kick = KICK_UNARMED;
	return true;
}

/* w goes away into application code, or stops: it kicks the ring holders
 * of its groups who sleep untimed trusting it to watch their deadline;
 * they sleep again with a timeout (untimed_begin() sees w->away).  In an
 * RCU read section. */
static void leave_untimed(struct worker *w)
{
	struct group_table *t;
	struct aio_group *g;
	unsigned int id;

	/* seq_cst store then loads: the Dekker pair with untimed_begin(),
	 * which stores g->untimed, then loads away. */
	atomic_store_explicit(&w->away, true, memory_order_seq_cst);
	t = engine_groups(w->engine);
	for (id = w->id; t && id < t->n; id += w->engine->nworkers) {
		g = t->groups[id];
		if (g && atomic_load_explicit(&g->untimed,
					      memory_order_seq_cst))
			group_kick(g);
	}
}

/*
 * Around the application's log callback: a worker calling it goes away
 * as into on_result (pc_log(), which no lock is held across).  true when
 * this call made it so, for worker_log_end().
 */
bool worker_log_begin(void)
{
	struct worker *w = current_worker;

	if (!w || atomic_load_explicit(&w->away, memory_order_relaxed))
		return false;
	pc_rcu_read_lock();
	leave_untimed(w);
	pc_rcu_read_unlock();
	return true;
}

void worker_log_end(bool began)
{
	if (began)	/* relaxed: as in pause_for_delivery() */
		atomic_store_explicit(&current_worker->away, false,
				      memory_order_relaxed);
}

/* The worker's turn at g's ring; false when a PC_SYNC caller holds it
 * (it then finishes what comes, or wakes us again, group_reap_end()). */
static bool worker_reap_begin(struct aio_group *g)
{
	if (reap_trylock(g))
		return true;
	atomic_store_explicit(&g->reap_missed, true, memory_order_seq_cst);
	return reap_trylock(g);
}

/*
 * In the loop's read section: delivers what is queued, and logs the
 * answers of g dropped, outside it (see deliver(); the log callback is
 * the application's too), then finds g again by its id.  Nothing read in
 * the section before may be used after: g may have been retired and freed
 * meanwhile (NULL then), and the table replaced.  The id stays this
 * worker's.
 */
static struct aio_group *pause_for_delivery(struct worker *w,
					    struct aio_group *g,
					    unsigned int dropped)
{
	unsigned int id = g->id;

	if (!w->batch_n && !dropped)
		return g;
	leave_untimed(w);
	pc_rcu_read_unlock();
	if (dropped)
		pc_log(w->engine, LOG_ERR, "group %u: %u answers for requests "
		       "in a wrong state dropped", id, dropped);
	deliver(w);
	/* Relaxed: a sleeper that still sees away sleeps with a timeout,
	 * which is safe; one that sees it cleared finds us back. */
	atomic_store_explicit(&w->away, false, memory_order_relaxed);
	pc_rcu_read_lock();
	return engine_group(w->engine, id);
}

static unsigned int take_dropped(struct aio_group *g)
{
	/* Relaxed: a count for the log, no data with it. */
	if (!atomic_load_explicit(&g->dropped, memory_order_relaxed))
		return 0;
	return atomic_exchange_explicit(&g->dropped, 0, memory_order_relaxed);
}

/* The functions below take g in the loop's read section and return it,
 * or NULL when it went while they delivered (pause_for_delivery()). */
static struct aio_group *reap_group(struct worker *w, struct aio_group *g)
{
	struct io_event evs[BATCH];
	bool orphans = false;
	int n;

	/* The ring until the answers taken are finished, not while
	 * on_result runs: a PC_SYNC caller that takes it next finds its own
	 * answer either finished or still in the ring (reap_own()). */
	while (worker_reap_begin(g)) {
		n = take_events(g, evs, BATCH);
		/* The lock for one answer at a time, not for the batch: a
		 * caller starting a check meanwhile (the plugin's loop, from
		 * the other CPU) spins for one answer instead of sleeping
		 * through them all. */
		for (int i = 0; i < n; i++) {
			if (group_take_kick(g, &evs[i]))
				continue;
			lock_group(g);
			orphans |= req_complete_locked(g, evs[i].data,
						       (long)evs[i].res, w);
			unlock_group(g);
		}
		group_reap_end(g);
		if (n <= 0)
			break;
		g = pause_for_delivery(w, g, take_dropped(g));
		if (!g || n < BATCH)
			break;
	}
	if (orphans)
		reaper_wake(w->engine);
	if (g)
		g = pause_for_delivery(w, g, take_dropped(g));
	return g;
}

/* Delivers the on_result calls owed for checks that a caller finished
 * because it saw the deadline pass before this worker did. */
static struct aio_group *pay_owed(struct worker *w, struct aio_group *g)
{
	bool more;

	do {
		unsigned int k = 0;

		/* Relaxed: a hint; the list is read under the lock. */
		if (!atomic_load_explicit(&g->has_owed, memory_order_relaxed))
			return g;
		lock_group(g);
		while (k < BATCH && !cds_list_empty(&g->owed_list)) {
			struct pc_path *p = cds_list_first_entry(
				&g->owed_list, struct pc_path, owed_node);

			path_pay_owed_locked(w, p);
			k++;
		}
		more = !cds_list_empty(&g->owed_list);
		atomic_store_explicit(&g->has_owed, more, memory_order_relaxed);
		unlock_group(g);
		g = pause_for_delivery(w, g, 0);
	} while (more && g);
	return g;
}

static struct aio_group *finish_failed(struct worker *w,
				       struct aio_group *g)
{
	bool more;

	do {
		unsigned int k = 0;

		/* Relaxed: a hint; the list is read under the lock. */
		if (!atomic_load_explicit(&g->has_failed,
					  memory_order_relaxed))
			return g;
		lock_group(g);
		while (k < BATCH && !cds_list_empty(&g->failed_list)) {
			struct pc_req *r = cds_list_first_entry(
				&g->failed_list, struct pc_req, list);

			cds_list_del(&r->list);
			req_complete_locked(g, r, r->res, w); /* FAILED: no orphan */
			k++;
		}
		more = !cds_list_empty(&g->failed_list);
		atomic_store_explicit(&g->has_failed, more,
				      memory_order_relaxed);
		unlock_group(g);
		g = pause_for_delivery(w, g, 0);
	} while (more && g);
	return g;
}

static struct aio_group *expire_group(struct worker *w, struct aio_group *g,
				      uint64_t now)
{
	unsigned int k;

	do {
		struct pc_req *r;

		k = 0;
		lock_group(g);
		while (k < BATCH && (r = heap_top(&g->heap)) &&
		       r->deadline_us <= now) {
			req_timeout_locked(g, r, w);
			k++;
		}
		unlock_group(g);
		g = pause_for_delivery(w, g, 0);
	} while (k == BATCH && g);
	return g;
}

/* Calls fn on every group of this worker.  In an RCU read section. */
#define for_each_my_group(w, t, g, id)					\
	for (id = (w)->id; t && id < t->n; id += (w)->engine->nworkers)	\
		if (((g) = t->groups[id]) != NULL)

static void service_group(struct worker *w, struct aio_group *g,
			  uint64_t now)
{
	/* Relaxed: a hint; reap_group() looks at the ring itself. */
	if (atomic_load_explicit(&g->polled, memory_order_relaxed))
		g = reap_group(w, g);	/* silent reads nobody waits for */
	if (g)
		g = finish_failed(w, g);
	if (g)
		g = pay_owed(w, g);
	if (g && atomic_load_explicit(&g->next_deadline_us,
				      memory_order_seq_cst) <= now)
		g = expire_group(w, g, now);
	if (g && atomic_load_explicit(&g->bufs.trim_at_us,
				      memory_order_relaxed) <= now)
		bufpool_trim(g, now);
}

/* In a read section that service_group() leaves to deliver: the table is
 * looked up again for every group. */
static void service_groups(struct worker *w, uint64_t now)
{
	struct pc_engine *e = w->engine;

	for (unsigned int id = w->id;; id += e->nworkers) {
		struct group_table *t = engine_groups(e);

		if (!t || id >= t->n)
			break;
		if (t->groups[id])
			service_group(w, t->groups[id], now);
	}
}

/* The earliest read deadline of w's groups; *trimp: the earliest trim,
 * or the next poll of a ring holding silent reads nobody waits for. */
static uint64_t earliest_deadline(struct worker *w, uint64_t *trimp)
{
	struct group_table *t = engine_groups(w->engine);
	uint64_t next = UINT64_MAX, trim_next = UINT64_MAX;
	struct aio_group *g;
	unsigned int id;

	for_each_my_group(w, t, g, id) {
		/* Relaxed: hints, as in service_groups(). */
		if (atomic_load_explicit(&g->polled, memory_order_relaxed)) {
			uint64_t poll = pc_now_us() + PC_POLL_MS * 1000u;

			if (poll < trim_next)
				trim_next = poll;
		}
		/* seq_cst: see worker_watch_deadline(). */
		uint64_t d = atomic_load_explicit(&g->next_deadline_us,
						  memory_order_seq_cst);
		/* seq_cst: as the deadline; pairs with req_give_buf_locked(). */
		uint64_t trim = atomic_load_explicit(&g->bufs.trim_at_us,
						     memory_order_seq_cst);

		if (d < next)
			next = d;
		if (trim < trim_next)
			trim_next = trim;
	}
	*trimp = trim_next;
	return next;
}

/*
 * How long epoll_wait() may sleep: until the earliest read deadline or
 * buffer trim.  Only the read deadline is published in sleep_until_us:
 * a submitter whose read is due before it wakes the worker, which is then
 * awake when the answer comes.  Were the trim (a second away) published,
 * no submitter would wake it, and each answer would have to wake a
 * halted CPU: on our VMs that took the sync p50 from 22 to 41 us.  A
 * trim armed by another thread compares against the same value, so it
 * wakes a worker that sleeps with no read deadline.
 */
static int arm(struct worker *w)
{
	uint64_t trim, trim_again;
	uint64_t next = earliest_deadline(w, &trim), again, now;

	for (;;) {
		atomic_store_explicit(&w->sleep_until_us, next,
				      memory_order_seq_cst);
		again = earliest_deadline(w, &trim_again);
		if (trim_again < trim)
			trim = trim_again;
		if (again >= next)
			break;
		next = again;
	}
	if (trim < next)
		next = trim;
	if (next == UINT64_MAX)
		return -1;
	now = pc_now_us();
	if (next <= now)
		return 0;
	next = (next - now + 999) / 1000;
	return next > INT_MAX ? INT_MAX : (int)next;
}

static void handle_events(struct worker *w, struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		struct aio_group *g;

		if (evs[i].data.u64 == WAKE_ID)
			continue;
		g = engine_group(w->engine, evs[i].data.u64);
		if (g)
			reap_group(w, g);
	}
}

static bool has_answer(const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++)
		if (evs[i].data.u64 != WAKE_ID)
			return true;
	return false;
}

/*
 * pc_options.coalesce_us: woken by an answer, wait for the rest of its
 * burst, then take every group that signalled meanwhile too.  Outside any
 * RCU read section: this sleeps.  Bounded, so deadlines and stop requests
 * are seen at most coalesce_us late.
 */
static int coalesce(struct worker *w, struct epoll_event *evs, int n)
{
	unsigned int us = w->engine->opts.coalesce_us;
	struct timespec ts = { .tv_sec = us / 1000000,
			       .tv_nsec = (long)(us % 1000000) * 1000 };
	int more;

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (n >= 64)
		return n;
	more = epoll_wait(w->epfd, evs + n, 64 - n, 0);
	return more > 0 ? n + more : n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	int timeout;

	current_worker = w;
	/* Acquire: pairs with workers_stop()'s release store of STOP. */
	while (atomic_load_explicit(&w->run, memory_order_acquire) ==
	       THREAD_RUNNING) {
		pc_rcu_read_lock();
		timeout = arm(w);
		pc_rcu_read_unlock();
		int n = epoll_wait(w->epfd, evs, 64, timeout);

		if (n > 0 && w->engine->opts.coalesce_us && has_answer(evs, n))
			n = coalesce(w, evs, n);
		if (n < 0 && errno != EINTR)
			pc_log(w->engine, LOG_ERR, "worker %u: epoll_wait: %s",
			       w->id, strerror(errno));
		pc_rcu_read_lock();
		if (n > 0)
			handle_events(w, evs, n);
		service_groups(w, pc_now_us());
		pc_rcu_read_unlock();
	}
	pc_rcu_read_lock();
	leave_untimed(w);	/* for good: nobody watches deadlines now */
	pc_rcu_read_unlock();
	atomic_store_explicit(&w->run, THREAD_STOPPED, memory_order_release);
	return NULL;
}

static int worker_init(struct pc_engine *e, struct worker *w, unsigned int id)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.u64 = WAKE_ID };

	w->engine = e;
	w->id = id;
	w->wakefd = -1;
	atomic_init(&w->run, THREAD_RUNNING);
	atomic_init(&w->sleep_until_us, UINT64_MAX);
	atomic_init(&w->delivering, NULL);
	atomic_init(&w->away, false);
	atomic_init(&w->waiting_for, NULL);
	w->batch = calloc(2 * BATCH, sizeof(*w->batch));
	if (!w->batch)
		return -ENOMEM;
	w->batch_cap = 2 * BATCH;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wakefd < 0)
		return -errno;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0)
		return -errno;
	return 0;
}

static void worker_fini(struct worker *w)
{
	if (w->wakefd >= 0)
		close(w->wakefd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->batch);
}

int workers_start(struct pc_engine *e)
{
	unsigned int i;
	int err = 0;

	e->workers = calloc(e->opts.workers, sizeof(*e->workers));
	if (!e->workers)
		return -ENOMEM;
	for (i = 0; i < e->opts.workers; i++) {
		struct worker *w = &e->workers[i];
		char name[16];

		w->epfd = -1;
		err = worker_init(e, w, i);
		if (!err)
			err = spawn_quiet(e, &w->thread, 0, worker_main, w);
		if (err) {
			worker_fini(w);
			break;
		}
		snprintf(name, sizeof(name), "pc-worker-%u", i % 10000u);
		pthread_setname_np(w->thread, name);
		e->nworkers++;
	}
	if (e->nworkers == e->opts.workers)
		return 0;
	workers_stop(e);
	workers_free(e);
	return err;
}

/* The stop/stopped handshake: ask, wake, and join a thread that has
 * acknowledged.  The workers' epoll sets stay until workers_free(). */
void workers_stop(struct pc_engine *e)
{
	unsigned int i;

	for (i = 0; i < e->nworkers; i++) {
		atomic_store_explicit(&e->workers[i].run, THREAD_STOP,
				      memory_order_release);
		worker_wake(&e->workers[i]);
	}
	/* The join orders the rest; relaxed is enough for our own marks. */
	for (i = 0; i < e->nworkers; i++)
		if (atomic_load_explicit(&e->workers[i].run,
					 memory_order_relaxed) != THREAD_JOINED) {
			pthread_join(e->workers[i].thread, NULL);
			atomic_store_explicit(&e->workers[i].run,
					      THREAD_JOINED,
					      memory_order_relaxed);
		}
}

void workers_free(struct pc_engine *e)
{
	for (unsigned int i = 0; i < e->nworkers; i++)
		worker_fini(&e->workers[i]);
	e->nworkers = 0;
	free(e->workers);
	e->workers = NULL;
}
