// SPDX-License-Identifier: MIT
/*
 * pathcheck checker: the directio check (an O_DIRECT read of the first
 * block) done by libpathcheck, which keeps every path's read in a few
 * shared aio contexts, reaps answers in its own worker threads and enforces
 * each check's deadline itself, so a hung device never holds up the
 * checker loop and a reset never waits on it for longer than shutdown_ms.
 *
 * Built against "checkers.h" of one checker interface family:
 *  - 0.9 (multipath-tools 0.9.0 to 0.10.x): libcheck_check() answers; an
 *    async check it starts is waited for a short, bounded time
 *    (FIRST_WAIT_MS), so a fast device answers in the same call, and is
 *    otherwise collected by the call of a later tick (which waits at most
 *    RECHECK_WAIT_US more).
 *  - 0.11 (0.11.0 to 0.14.x): libcheck_check() starts, libcheck_need_wait()
 *    and libcheck_pending() collect, without waiting in the plugin.
 *
 * One libpathcheck engine per process, created by the first libcheck_init()
 * and freed by the libcheck_free() of the last path.  Logs through syslog.
 * Needs nothing from libmultipath at link time: checker_is_sync() is looked
 * up at run time, as its symbol version changes from release to release.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <pathcheck.h>

#include "checkers.h"

#ifdef LIBCHECK_HAS_PENDING
#define HAS_PENDING 1
#else
#define HAS_PENDING 0
#endif

/* checker_timeout 0: multipath-tools' own default for async checks. */
#define DEFAULT_TIMEOUT_S	30
/* Largest timeout in seconds that fits pc_path_set_timeout's ms. */
#define MAX_TIMEOUT_S		(UINT32_MAX / 1000)
/* 0.9 family: the longest a call that started a check waits for its
 * answer before it returns PATH_PENDING. */
#define FIRST_WAIT_MS		2
/* ... but only when the path's previous call was at least this long ago,
 * as in multipathd's ticks: calls that come back to back collect the
 * answer on the next call anyway, and waiting would serialise them. */
#define FIRST_WAIT_GAP_MS	250
/* A later call that finds the check still in flight waits this long, as
 * directio's io_getevents() does: enough for a fast device when calls come
 * back to back. */
#define RECHECK_WAIT_US		100
/* ... and all such waits together take at most this many microseconds in
 * any second: a tick over thousands of paths, or over a whole array gone
 * dead, grows by that much at most. */
#define FIRST_WAIT_BUDGET_US	20000

enum {
	MSG_PATHCHECK_PENDING = CHECKER_FIRST_MSGID,
	MSG_PATHCHECK_TIMEOUT,
	MSG_PATHCHECK_IO_ERROR,
	MSG_PATHCHECK_SHORT_READ,
	MSG_PATHCHECK_SUBMIT_ERROR,
	MSG_PATHCHECK_NO_ENGINE,
};

#define IDX(x) ((x) - CHECKER_FIRST_MSGID)
const char *libcheck_msgtable[] = {
	[IDX(MSG_PATHCHECK_PENDING)] = " is waiting on a read",
	[IDX(MSG_PATHCHECK_TIMEOUT)] = " reports path is down: no answer in time",
	[IDX(MSG_PATHCHECK_IO_ERROR)] = " reports path is down: read error",
	[IDX(MSG_PATHCHECK_SHORT_READ)] = " reports path is down: short read",
	[IDX(MSG_PATHCHECK_SUBMIT_ERROR)] = " reports path is down: read not started",
	[IDX(MSG_PATHCHECK_NO_ENGINE)] = " could not start libpathcheck",
	NULL,
};

/*
 * Per path.  Everything but the answer fields is the checker loop's:
 * libmultipath calls a path's checker from one thread at a time.  The
 * answer fields are written by on_result in a libpathcheck worker.
 */
struct pc_checker {
	struct pc_path *path;
	unsigned int timeout_s;		/* applied to path, 0: none yet */
	bool running;			/* a check was started, not returned */
	uint64_t taken;			/* number of the last check returned */
	uint64_t last_call_us;		/* the previous check call */
	/* on_result's: the state of the path's latest result, then the
	 * path's count of finished checks as it saw it (pc_result.checks),
	 * published in that order.  An answer is new when that count is past
	 * taken: sync checks (PC_NOCALLBACK) count without calling back. */
	atomic_int answer;
	atomic_uint_fast64_t answers;
	atomic_bool waiting;		/* the loop waits on cond */
	pthread_mutex_t lock;		/* only makes cond's wake-up safe */
	pthread_cond_t cond;
};

/*
 * The process's engine.  engine_lock protects engine, npaths, is_sync and
 * the wait budget; it is a leaf lock, never held across a call into
 * libpathcheck that waits.
 */
static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pc_engine *engine;
static unsigned int npaths;
static checker_is_sync_fn is_sync;
#if !HAS_PENDING
static uint64_t budget_us = FIRST_WAIT_BUDGET_US;
static uint64_t budget_at_us;
#endif

#if !HAS_PENDING
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
#endif

static void pc_log(void *arg, int priority, const char *msg)
{
	if (priority < LOG_DEBUG)
		syslog(priority, "pathcheck checker: %s", msg);
}

static void on_result(struct pc_path *path, int state, void *arg)
{
	struct pc_checker *ct = arg;
	struct pc_result res;

	/* The path's latest result, state and count from one snapshot: a
	 * callback paid late may see a newer check's result, which is then
	 * the answer.  One worker runs a path's callbacks in order, so the
	 * counts stored here only grow. */
	(void)state;
	if (pc_path_result(path, &res))
		return;		/* being freed: the loop waits for no answer */
	atomic_store_explicit(&ct->answer, res.state, memory_order_relaxed);
	/* Orders answer before answers for the loop's load, and (seq_cst)
	 * answers before the load of waiting below, against wait_answer's
	 * store of waiting before its load of answers: one of the two sides
	 * sees the other, so a waiting loop is woken, not left to time out. */
	atomic_store(&ct->answers, res.checks);
	if (atomic_load(&ct->waiting)) {
		pthread_mutex_lock(&ct->lock);
		pthread_cond_signal(&ct->cond);
		pthread_mutex_unlock(&ct->lock);
	}
}

/* Takes a path's hold on the engine, making it if needed. */
static int engine_get(struct pc_engine **ep)
{
	struct pc_options opts = {
		.workers = 1,
		.shutdown_ms = PC_DEFAULT_SHUTDOWN_MS,
		.log = pc_log,
		.on_result = on_result,
	};
	int ret = 0;
	void *sym;

	pthread_mutex_lock(&engine_lock);
	if (!engine)
		ret = pc_engine_new(&opts, &engine);
	if (!ret) {
		npaths++;
		*ep = engine;
		if (!is_sync) {
			sym = dlsym(RTLD_DEFAULT, "checker_is_sync");
			memcpy(&is_sync, &sym, sizeof(is_sync));
		}
	}
	pthread_mutex_unlock(&engine_lock);
	return ret;
}

/* Drops a path's hold; the last one frees the engine (which waits at most
 * shutdown_ms for reads the kernel still holds). */
static void engine_put(void)
{
	struct pc_engine *e = NULL;

	pthread_mutex_lock(&engine_lock);
	if (--npaths == 0) {
		e = engine;
		engine = NULL;
	}
	pthread_mutex_unlock(&engine_lock);
	if (e)
		pc_engine_free(e);
}

int libcheck_init(struct checker *c)
{
	struct pc_checker *ct;
	pthread_condattr_t attr;
	struct pc_engine *e;
	int ret;

	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return 1;
	pthread_mutex_init(&ct->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = engine_get(&e);
	if (ret) {
		syslog(LOG_ERR, "pathcheck checker: no engine: %s", strerror(-ret));
		goto fail;
	}
	ret = pc_path_new(e, c->fd, ct, &ct->path);
	if (ret) {
		syslog(LOG_ERR, "pathcheck checker: fd %d: %s", c->fd,
		       strerror(-ret));
		engine_put();
		goto fail;
	}
	c->context = ct;
	return 0;
fail:
	pthread_cond_destroy(&ct->cond);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
	return 1;
}

void libcheck_free(struct checker *c)
{
	struct pc_checker *ct = c->context;

	if (!ct)
		return;
	c->context = NULL;
	/* After this no on_result for the path runs: ct is ours again.  A
	 * read still in the kernel stays with the engine as an orphan. */
	pc_path_free(ct->path);
	pthread_cond_destroy(&ct->cond);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
	engine_put();
}

/* Hands back the aio contexts nobody uses any more. */
void libcheck_reset(void)
{
	pthread_mutex_lock(&engine_lock);
	if (engine)
		pc_engine_reset(engine);
	pthread_mutex_unlock(&engine_lock);
}

static void apply_timeout(struct checker *c, struct pc_checker *ct)
{
	unsigned int s = c->timeout ? c->timeout : DEFAULT_TIMEOUT_S;

	if (s > MAX_TIMEOUT_S)
		s = MAX_TIMEOUT_S;
	if (s != ct->timeout_s && !pc_path_set_timeout(ct->path, s * 1000))
		ct->timeout_s = s;
}

/* The state multipathd gets for a finished check, and its message. */
static int finished(struct checker *c, struct pc_checker *ct, int state)
{
	struct pc_result res;

	ct->running = false;
	if (state == PC_UP) {
		c->msgid = CHECKER_MSGID_UP;
		return PATH_UP;
	}
	c->msgid = CHECKER_MSGID_DOWN;
	if (pc_path_result(ct->path, &res))
		return PATH_DOWN;
	switch (res.reason) {
	case PC_REASON_TIMEOUT:
		c->msgid = MSG_PATHCHECK_TIMEOUT;
		break;
	case PC_REASON_IO_ERROR:
		c->msgid = MSG_PATHCHECK_IO_ERROR;
		break;
	case PC_REASON_SHORT_READ:
		c->msgid = MSG_PATHCHECK_SHORT_READ;
		break;
	case PC_REASON_SUBMIT_ERROR:
		c->msgid = MSG_PATHCHECK_SUBMIT_ERROR;
		break;
	}
	return PATH_DOWN;
}

/* An answer on_result gave since the last one returned, if any. */
static bool take_answer(struct pc_checker *ct, int *state)
{
	/* seq_cst: in wait_answer this load follows the store of waiting,
	 * and must not pass it (see on_result) */
	uint64_t n = atomic_load(&ct->answers);

	if (n <= ct->taken)
		return false;
	ct->taken = n;
	*state = atomic_load_explicit(&ct->answer, memory_order_relaxed);
	return true;
}

#if !HAS_PENDING
/* Whether this second's wait budget has room (now: microseconds). */
static bool budget_has_room(uint64_t now)
{
	bool room;

	pthread_mutex_lock(&engine_lock);
	if (now - budget_at_us >= 1000000) {
		budget_us = FIRST_WAIT_BUDGET_US;
		budget_at_us = now;
	}
	room = budget_us > 0;
	pthread_mutex_unlock(&engine_lock);
	return room;
}

static void budget_spend(uint64_t us)
{
	pthread_mutex_lock(&engine_lock);
	budget_us = budget_us > us ? budget_us - us : 0;
	pthread_mutex_unlock(&engine_lock);
}

/*
 * Waits at most wait_ns (under a second) for the answer of the check in
 * flight.  Cancellation is held off for that long: a thread cancelled in
 * pthread_cond_timedwait would leave ct->lock held for on_result.
 */
static bool wait_answer(struct pc_checker *ct, long wait_ns, int *state)
{
	struct timespec end;
	int old, ret = 0;
	bool got;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += wait_ns;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&ct->lock);
	/* seq_cst store before the load in take_answer: see on_result. */
	atomic_store(&ct->waiting, true);
	while (!(got = take_answer(ct, state)) && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&ct->cond, &ct->lock, &end);
	atomic_store(&ct->waiting, false);
	pthread_mutex_unlock(&ct->lock);
	pthread_setcancelstate(old, NULL);
	return got;
}

/* Whether a check just started is worth waiting for in this call. */
static bool should_wait(struct pc_checker *ct, uint64_t now)
{
	uint64_t gap = now - ct->last_call_us;

	return (!ct->last_call_us || gap >= FIRST_WAIT_GAP_MS * 1000) &&
		budget_has_room(now);
}
#endif

/*
 * A synchronous check (multipathd's force_sync, or multipath(8)): waits
 * for the answer, at most the timeout.  PC_NOCALLBACK: the answer is ours
 * alone, so no worker wakes for it (a check already in flight, which this
 * joins, still calls back; its answer is then not new).  Cancellation is
 * held off for that bounded time, so that a checker thread cancelled
 * meanwhile never leaves a waiter behind in the library.
 */
static int check_sync(struct checker *c, struct pc_checker *ct)
{
	struct pc_result res;
	int old, state;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	state = pc_check(ct->path, PC_SYNC | PC_NOCALLBACK);
	if (!pc_path_result(ct->path, &res))
		ct->taken = res.checks;	/* on_result's copies are not new */
	pthread_setcancelstate(old, NULL);
	if (state < 0) {
		c->msgid = MSG_PATHCHECK_NO_ENGINE;
		ct->running = false;
		return PATH_UNCHECKED;
	}
	return finished(c, ct, state);
}

static int check_async(struct checker *c, struct pc_checker *ct)
{
	int state;
#if !HAS_PENDING
	uint64_t now = now_us();
	bool wait = should_wait(ct, now), got;

	ct->last_call_us = now;
#endif

	if (take_answer(ct, &state) && ct->running)
		return finished(c, ct, state);
	state = pc_check(ct->path, 0);
	if (state < 0) {
		c->msgid = MSG_PATHCHECK_NO_ENGINE;
		return PATH_UNCHECKED;
	}
	if (state != PC_PENDING)	/* a deadline passed, or a hung read */
		return finished(c, ct, state);
#if !HAS_PENDING
	if (!ct->running && wait) {
		ct->running = true;
		got = wait_answer(ct, FIRST_WAIT_MS * 1000000L, &state);
		budget_spend(now_us() - now);
		if (got)
			return finished(c, ct, state);
	} else if (ct->running &&
		   wait_answer(ct, RECHECK_WAIT_US * 1000L, &state)) {
		return finished(c, ct, state);
	}
#endif
	ct->running = true;
	c->msgid = MSG_PATHCHECK_PENDING;
	return PATH_PENDING;
}

int libcheck_check(struct checker *c)
{
	struct pc_checker *ct = c->context;

	if (!ct)
		return PATH_UNCHECKED;
	apply_timeout(c, ct);
	if (is_sync && is_sync(c))
		return check_sync(c, ct);
	return check_async(c, ct);
}

#if HAS_PENDING
bool libcheck_need_wait(struct checker *c)
{
	struct pc_checker *ct = c->context;

	return ct && ct->running &&
		atomic_load_explicit(&ct->answers, memory_order_relaxed) <=
		ct->taken;
}

int libcheck_pending(struct checker *c)
{
	struct pc_checker *ct = c->context;
	int state;

	if (!ct || !ct->running)
		return c->path_state;
	if (take_answer(ct, &state))
		return finished(c, ct, state);
	c->msgid = MSG_PATHCHECK_PENDING;
	return PATH_PENDING;
}
#endif
