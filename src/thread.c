/* SPDX-License-Identifier: MIT */
/*
 * The threads the library causes to exist, and fork().
 *
 * Every one of them blocks every signal: signals belong to the caller's
 * threads.  Their stacks are small and explicit (pc_options.stack_size),
 * and their scheduling is explicit (pc_options.sched_policy), never
 * inherited: a caller running SCHED_RR 99 under mlockall() would
 * otherwise lend each of them 8 MiB of locked stack and its real-time
 * priority.
 *
 * Deferred frees (pc_call_rcu()) go to one thread of ours, pc-rcu, not
 * to liburcu's call_rcu thread: liburcu starts that one with no
 * attributes (the default 8 MiB stack, the starting thread's signal mask
 * and scheduling), and it does not survive fork().  pc-rcu starts on
 * first use, in the parent and again in a child.
 *
 * fork(): a child has only the forking thread.  For it to make engines of
 * its own, liburcu-bp's grace-period and registry locks are held across
 * fork() and its reader registry is pruned to the forking thread in the
 * child (urcu_bp_before_fork() and its pair, as liburcu asks).  No thread
 * is started in the child until it needs one.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

#define DEFER_STACK	(64u * 1024u)
/* pc-rcu, woken, lets a burst of frees gather for this long before its
 * grace period (as liburcu's call_rcu thread does): one grace period, two
 * membarrier() calls, for a burst instead of one per free. */
#define DEFER_BATCH_NS	(10 * 1000 * 1000L)

/*
 * Deferred frees.  defer_lock protects defer_head, defer_tail and
 * defer_thread_up; taken alone, never across a callback, and held across
 * fork() so that a child finds the queue whole.
 */
static pthread_mutex_t defer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t defer_cond = PTHREAD_COND_INITIALIZER;
static struct rcu_head *defer_head, **defer_tail = &defer_head;
static bool defer_thread_up;

/* Starts fn(arg): all signals blocked, the stack and scheduling given. */
static int spawn(pthread_t *t, size_t stack, int policy, int priority,
		 void *(*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = priority };
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	pthread_attr_init(&attr);
	err = pthread_attr_setstacksize(&attr, stack);
	if (!err)
		err = pthread_attr_setinheritsched(&attr,
						   PTHREAD_EXPLICIT_SCHED);
	if (!err)
		err = pthread_attr_setschedpolicy(&attr, policy);
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

/*
 * Starts fn(arg) on a thread of e's: all signals blocked, a stack of
 * stack bytes (0: e's stack_size), e's scheduling.  0 or -errno (-EPERM:
 * a real-time policy this process may not use).
 */
int spawn_quiet(struct pc_engine *e, pthread_t *t, size_t stack,
		void *(*fn)(void *), void *arg)
{
	return spawn(t, stack ? stack : e->opts.stack_size,
		     e->opts.sched_policy, e->opts.sched_priority, fn, arg);
}

/* pc-rcu: a batch, one grace period, its callbacks.  Everything in the
 * batch was queued before the grace period began. */
static void *defer_main(void *arg)
{
	for (;;) {
		struct timespec ts = { 0, DEFER_BATCH_NS };
		struct rcu_head *batch, *next;

		pthread_mutex_lock(&defer_lock);
		while (!defer_head)
			pthread_cond_wait(&defer_cond, &defer_lock);
		pthread_mutex_unlock(&defer_lock);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&defer_lock);
		batch = defer_head;
		defer_head = NULL;
		defer_tail = &defer_head;
		pthread_mutex_unlock(&defer_lock);
		pc_rcu_synchronize();
		for (; batch; batch = next) {
			next = (struct rcu_head *)batch->next.next;
			batch->func(batch);
		}
	}
	return arg;
}

/* Starts pc-rcu unless it runs; a failure is tried again at the next
 * call. */
static void defer_start_locked(void)
{
	pthread_t t;

	if (defer_thread_up ||
	    spawn(&t, DEFER_STACK, SCHED_OTHER, 0, defer_main, NULL))
		return;
	pthread_detach(t);
	pthread_setname_np(t, "pc-rcu");
	defer_thread_up = true;
}

/* From pc_engine_new(): pc-rcu starts with the first engine, not at the
 * first free, so that pc_path_free() starts no thread (which takes
 * milliseconds under ThreadSanitizer, and may fail). */
void pc_defer_start(void)
{
	pthread_mutex_lock(&defer_lock);
	defer_start_locked();
	pthread_mutex_unlock(&defer_lock);
}

/* pc_call_rcu()'s slow half.  Without a thread (none could be started),
 * the memory is kept until one can: never a use after free. */
void pc_defer_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head))
{
	head->func = fn;
	head->next.next = NULL;
	pthread_mutex_lock(&defer_lock);
	defer_start_locked();
	*defer_tail = head;
	defer_tail = (struct rcu_head **)&head->next.next;
	/* A futex wake only when pc-rcu waits: a burst of frees costs one. */
	pthread_cond_signal(&defer_cond);
	pthread_mutex_unlock(&defer_lock);
}

/*
 * Around fork(): liburcu-bp's locks (the grace-period lock waits for a
 * grace period in progress: never long, as no library thread blocks or
 * runs a callback in a read section, see deliver()), then ours; released
 * in reverse.
 */
static void before_fork(void)
{
	urcu_bp_before_fork();
	destroy_before_fork();
	odirect_before_fork();
	pthread_mutex_lock(&defer_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&defer_lock);
	odirect_after_fork();
	destroy_after_fork();
	urcu_bp_after_fork_parent();
}

/* The forking thread alone: no thread is started here (a child that
 * execs needs none); the deferral thread starts with the child's first
 * engine or first free. */
static void after_fork_child(void)
{
	/* The parent's pc-rcu thread, and its wait on the condition
	 * variable, are gone; what it had queued is still queued. */
	defer_thread_up = false;
	pthread_cond_init(&defer_cond, NULL);
	pthread_mutex_unlock(&defer_lock);
	odirect_after_fork();
	destroy_after_fork();
	urcu_bp_after_fork_child();
}

static int init_err;

static void threads_init_once(void)
{
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
