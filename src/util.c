/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#if defined(PC_TSAN) && PC_TSAN
char pc_rcu_tsan_token;
#endif

uint64_t pc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Returns the state to give back to pc_nocancel_end(). */
int pc_nocancel_begin(void)
{
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return old;
}

/* A cancel requested meanwhile acts at the caller's next cancellation
 * point, once the library is consistent again. */
void pc_nocancel_end(int old)
{
	pthread_setcancelstate(old, NULL);
}

void pc_log(struct pc_engine *e, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!e->opts.log && prio > LOG_WARNING)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->opts.log)
		e->opts.log(e->opts.log_arg, prio, msg);
	else
		fprintf(stderr, "pathcheck: %s\n", msg);
}

void pc_log_later(struct pending_log *l, int prio, const char *fmt, ...)
{
	va_list ap;

	l->prio = prio;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
}

/* Writes a kept line (if any) and forgets it; call with no lock held. */
void pc_log_flush(struct pc_engine *e, struct pending_log *l)
{
	if (l->msg[0])
		pc_log(e, l->prio, "%s", l->msg);
	l->msg[0] = '\0';
}

/*
 * Group locks record their holder, so that lock_held() can tell "held by
 * me" from "held by someone else" and the __name() convention is enforced
 * at run time rather than trusted.
 */
static __thread int my_tid;

static int self_tid(void)
{
	if (!my_tid)
		my_tid = gettid();
	return my_tid;
}

static void __attribute__((noreturn)) lock_bug(struct aio_group *g,
					       const char *what)
{
	fprintf(stderr, "pathcheck: group %u: %s\n", g->id, what);
	abort();
}

void lock_group(struct aio_group *g)
{
	int me = self_tid();

	if (atomic_load_explicit(&g->lock_owner, memory_order_relaxed) == me)
		lock_bug(g, "lock taken twice");
	pthread_mutex_lock(&g->lock);
	atomic_store_explicit(&g->lock_owner, me, memory_order_relaxed);
}

void unlock_group(struct aio_group *g)
{
	if (atomic_load_explicit(&g->lock_owner, memory_order_relaxed) !=
	    self_tid())
		lock_bug(g, "unlock by a thread not holding the lock");
	atomic_store_explicit(&g->lock_owner, 0, memory_order_relaxed);
	pthread_mutex_unlock(&g->lock);
}

void lock_held(struct aio_group *g)
{
	if (atomic_load_explicit(&g->lock_owner, memory_order_relaxed) !=
	    self_tid())
		lock_bug(g, "lock not held by the caller of a __function");
}
