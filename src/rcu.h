/* SPDX-License-Identifier: MIT */
/*
 * RCU for libpathcheck: liburcu's bp flavour, because the library runs in
 * threads it does not own (bp registers a reader on first use).
 *
 * Pointers are published and read with C11 atomics (release/acquire) rather
 * than liburcu's rcu_assign_pointer()/rcu_dereference() macros: on the
 * architectures we build for they order the same, and ThreadSanitizer
 * understands them.  ThreadSanitizer cannot see that a grace period orders
 * every read-side section before the free that follows it, so in TSan builds
 * each section end "releases" and each deferred free "acquires" one token.
 */
#ifndef PC_RCU_H
#define PC_RCU_H

#include <urcu-bp.h>
#include <urcu/compiler.h>

#if defined(PC_TSAN) && PC_TSAN
#include <sanitizer/tsan_interface.h>
extern char pc_rcu_tsan_token;
#define pc_tsan_release(a)	__tsan_release(a)
#define pc_tsan_acquire(a)	__tsan_acquire(a)
#else
#define pc_tsan_release(a)	((void)(a))
#define pc_tsan_acquire(a)	((void)(a))
#endif

#define pc_rcu_read_lock()	urcu_bp_read_lock()

static inline void pc_rcu_read_unlock(void)
{
#if defined(PC_TSAN) && PC_TSAN
	pc_tsan_release(&pc_rcu_tsan_token);
#endif
	urcu_bp_read_unlock();
}

/* Waits until every read-side section begun before the call has ended. */
static inline void pc_rcu_synchronize(void)
{
	urcu_bp_synchronize_rcu();
#if defined(PC_TSAN) && PC_TSAN
	pc_tsan_acquire(&pc_rcu_tsan_token);
#endif
}

/* First thing a call_rcu() callback does. */
static inline void pc_rcu_callback_begin(void)
{
#if defined(PC_TSAN) && PC_TSAN
	pc_tsan_acquire(&pc_rcu_tsan_token);
#endif
}

#define pc_rcu_publish(p, v)	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define pc_rcu_deref(p)		__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
/* thread.c: pc-rcu, the library's own call_rcu thread. */
void pc_defer_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head));
void pc_defer_start(void);

/* The caller's accesses before call_rcu() come before the callback. */
static inline void pc_call_rcu(struct rcu_head *head,
			       void (*fn)(struct rcu_head *head))
{
#if defined(PC_TSAN) && PC_TSAN
	pc_tsan_release(&pc_rcu_tsan_token);
#endif
	pc_defer_rcu(head, fn);
}

#endif
