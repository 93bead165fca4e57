/* SPDX-License-Identifier: MIT */
/*
 * The threads the library causes to exist, and fork().
 *
 * Every one of them blocks every signal: signals belong to the caller's
 * threads.  That includes liburcu's call_rcu thread, which the library's
 * call_rcu() would otherwise start lazily with whatever mask the freeing
 * thread has: pc_threads_init() starts it first, signals blocked.  (An
 * application that uses liburcu-bp's call_rcu itself, and started it
 * before, keeps its own thread.)
 *
 * Their stacks are small and explicit (pc_options.stack_size), and their
 * scheduling is explicit (pc_options.sched_policy), never inherited: a
 * caller running SCHED_RR 99 under mlockall() would otherwise lend each
 * of them 8 MiB of locked stack and its real-time priority.
 *
 * fork(): liburcu-bp's locks and reader registry, and its call_rcu
 * threads, must be quiesced around fork() for a child to use RCU again
 * (liburcu's README); the handlers below do it, once for the process.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "internal.h"

/* The handlers' order: call_rcu threads pause first (they take
 * rcu_gp_lock in synchronize_rcu), then the grace-period and registry
 * locks, then our own; released in reverse. */
static void before_fork(void)
{
	urcu_bp_call_rcu_before_fork();
	urcu_bp_before_fork();
	destroy_before_fork();
}

static void after_fork_parent(void)
{
	destroy_after_fork();
	urcu_bp_after_fork_parent();
	urcu_bp_call_rcu_after_fork_parent();
}

/* The child has only the forking thread: the registry is pruned to it,
 * and a new call_rcu thread replaces the parent's, signals blocked. */
static void after_fork_child(void)
{
	sigset_t all, old;

	destroy_after_fork();
	urcu_bp_after_fork_child();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	urcu_bp_call_rcu_after_fork_child();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int init_err;

static void threads_init_once(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Starts the default call_rcu thread unless it runs already: it
	 * inherits this mask. */
	if (!urcu_bp_get_default_call_rcu_data())
		init_err = -ENOMEM;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!init_err)
		init_err = -pthread_atfork(before_fork, after_fork_parent,
					   after_fork_child);
}

/* Once per process, before the first engine starts a thread. */
int pc_threads_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, threads_init_once);
	return init_err;
}

/* 0, or -EINVAL for a policy or priority pthread would refuse. */
int pc_sched_check(int policy, int priority)
{
	int lo, hi;

	switch (policy) {
	case SCHED_OTHER:
	case SCHED_BATCH:
	case SCHED_IDLE:
	case SCHED_FIFO:
	case SCHED_RR:
		break;
	default:
		return -EINVAL;
	}
	lo = sched_get_priority_min(policy);
	hi = sched_get_priority_max(policy);
	return priority < lo || priority > hi ? -EINVAL : 0;
}

/*
 * Starts fn(arg) on a thread of e's: all signals blocked, a stack of
 * stack bytes (0: e's stack_size), e's scheduling.  0 or -errno (-EPERM:
 * a real-time policy this process may not use).
 */
int spawn_quiet(struct pc_engine *e, pthread_t *t, size_t stack,
		void *(*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = e->opts.sched_priority };
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	pthread_attr_init(&attr);
	err = pthread_attr_setstacksize(&attr, stack ? stack :
					e->opts.stack_size);
	if (!err)
		err = pthread_attr_setinheritsched(&attr,
						   PTHREAD_EXPLICIT_SCHED);
	if (!err)
		err = pthread_attr_setschedpolicy(&attr, e->opts.sched_policy);
	if (!err)
		err = pthread_attr_setschedparam(&attr, &sp);
	if (!err) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(t, &attr, fn, arg);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_attr_destroy(&attr);
	return -err;
}
