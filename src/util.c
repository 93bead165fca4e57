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
	if (e->opts.log) {
		bool away = worker_log_begin();	/* application code */

		e->opts.log(e->opts.log_arg, prio, msg);
		worker_log_end(away);
	} else
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
 * The library's mutexes record their holder, so that "held by me" can be
 * told from "held by someone else" and the `_locked` convention is
 * enforced at run time rather than trusted.  A thread is known by its
 * owner_mark() (internal.h).  The owner word is relaxed: only its own
 * thread compares it with its own mark, and the mutex orders everything
 * else.
 */
void owned_lock_bug(const char *lock, const char *what)
{
	fprintf(stderr, "pathcheck: %s: %s\n", lock, what);
	abort();
}

void owned_lock(pthread_mutex_t *m, _Atomic(const void *) *owner, const char *name)
{
	if (atomic_load_explicit(owner, memory_order_relaxed) == owner_mark())
		owned_lock_bug(name, "lock taken twice");
	pthread_mutex_lock(m);
	atomic_store_explicit(owner, owner_mark(), memory_order_relaxed);
}

void owned_unlock(pthread_mutex_t *m, _Atomic(const void *) *owner, const char *name)
{
	if (atomic_load_explicit(owner, memory_order_relaxed) != owner_mark())
		owned_lock_bug(name, "unlock by a thread not holding the lock");
	atomic_store_explicit(owner, NULL, memory_order_relaxed);
	pthread_mutex_unlock(m);
}

void lock_group(struct aio_group *g)
{
	owned_lock(&g->lock, &g->lock_owner, "a group lock");
}

void unlock_group(struct aio_group *g)
{
	owned_unlock(&g->lock, &g->lock_owner, "a group lock");
}
