/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

static int fill_options(struct pc_options *o, const struct pc_options *in)
{
	long cpus;

	if (in)
		*o = *in;
	for (size_t i = 0; i < sizeof(o->resv) / sizeof(o->resv[0]); i++)
		if (o->resv[i])
			return -EINVAL;	/* a field of a later release */
	if (o->resv32 || o->resv32b || o->coalesce_us > PC_MAX_COALESCE_US)
		return -EINVAL;
	if (o->stack_size && o->stack_size < PC_MIN_STACK_SIZE)
		return -EINVAL;
	if (pc_sched_check(o->sched_policy, o->sched_priority))
		return -EINVAL;
	if (o->group_size > PC_MAX_GROUP_SIZE || o->workers > PC_MAX_WORKERS ||
	    o->timeout_ms > PC_MAX_TIMEOUT_MS ||
	    o->shutdown_ms > PC_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (!o->group_size)
		o->group_size = PC_DEFAULT_GROUP_SIZE;
	if (!o->timeout_ms)
		o->timeout_ms = PC_DEFAULT_TIMEOUT_MS;
	if (!o->shutdown_ms)
		o->shutdown_ms = PC_DEFAULT_SHUTDOWN_MS;
	if (!o->stack_size)
		o->stack_size = PC_DEFAULT_STACK_SIZE;
	if (!o->workers) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o->workers = cpus > 0 && cpus <= (long)PC_MAX_WORKERS ?
			     (unsigned int)cpus : 1;
	}
	return 0;
}

static int engine_init(struct pc_engine *e)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&e->groups_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->destroyed, &attr);
	pthread_condattr_destroy(&attr);
	CDS_INIT_LIST_HEAD(&e->destroy_jobs);
	CDS_INIT_LIST_HEAD(&e->backlog);
	e->reaper.wakefd = -1;
	return 0;
}

static void engine_fini(struct pc_engine *e)
{
	free(e->groups);
	pthread_cond_destroy(&e->destroyed);
	pthread_mutex_destroy(&e->groups_lock);
	free(e);
}

static int engine_new_nc(const struct pc_options *opts,
			 struct pc_engine **enginep)
{
	struct pc_engine *e;
	int err;

	if (!enginep)
		return -EINVAL;
	*enginep = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = fill_options(&e->opts, opts);
	if (!err)
		err = pc_threads_init();
	if (!err) {
		pc_defer_start();
		err = engine_init(e);
	}
	if (!err)
		err = reaper_start(e);
	if (!err) {
		err = workers_start(e);
		if (err)
			reaper_stop(e);
	}
	if (err) {
		engine_fini(e);
		return err;
	}
	*enginep = e;
	return 0;
}

/* Public calls that may reach a cancellation point (pthread_join, the log
 * callback) defer cancellation: pathcheck(3). */
int pc_engine_new(const struct pc_options *opts, struct pc_engine **enginep)
{
	int cs = pc_nocancel_begin(), ret = engine_new_nc(opts, enginep);

	pc_nocancel_end(cs);
	return ret;
}

/* Frees every path still attached, group by group. */
static void free_all_paths(struct pc_engine *e)
{
	struct group_table *t;

	pc_rcu_read_lock();
	t = engine_groups(e);
	for (unsigned int i = 0; t && i < t->n; i++) {
		struct aio_group *g = t->groups[i];

		while (g) {
			struct pc_path *p = NULL;

			lock_group(g);
			if (!cds_list_empty(&g->path_list))
				p = cds_list_first_entry(&g->path_list,
							 struct pc_path, node);
			unlock_group(g);
			if (!p)
				break;
			pc_path_free(p);
		}
	}
	pc_rcu_read_unlock();
}

/*
 * Bounded by shutdown_ms even with hung reads: destroyers still waiting
 * then carry on in the background (destroy.c).  Note that the process's
 * own exit still waits in the kernel for such reads.
 */
static void engine_free_nc(struct pc_engine *engine)
{
	uint64_t until;

	if (!engine)
		return;
	if (in_worker_thread()) {
		/* A worker cannot join itself, nor an engine whose callback
		 * may be freeing this worker's engine: refuse, not hang. */
		pc_log(engine, LOG_CRIT, "pc_engine_free called from on_result: "
		       "refused, the engine is left running");
		return;
	}
	until = pc_now_us() + (uint64_t)engine->opts.shutdown_ms * 1000u;
	pthread_mutex_lock(&engine->groups_lock);
	atomic_store_explicit(&engine->closing, true, memory_order_relaxed);
	pthread_mutex_unlock(&engine->groups_lock);
	free_all_paths(engine);
	workers_stop(engine);
	/* Release: the joins before it, for the reaper's acquire load. */
	atomic_store_explicit(&engine->quiesced, true, memory_order_release);
	engine_retire_all_groups(engine);
	reaper_stop(engine);
	destroy_wait(engine, until);
	workers_free(engine);
	/* Callbacks still queued for pc-rcu free paths and tables only,
	 * never the engine: no wait for them here.  Nor at exit: a barrier
	 * there waits for any on_result still running (a worker's loop is a
	 * read-side section), and for ever in a child of fork() whose call_rcu
	 * thread was the parent's; the library is linked -z nodelete, so the
	 * callbacks' code never goes away before the process does. */
	engine_fini(engine);
}

void pc_engine_free(struct pc_engine *engine)
{
	int cs = pc_nocancel_begin();

	engine_free_nc(engine);
	pc_nocancel_end(cs);
}

static int engine_reset_nc(struct pc_engine *engine)
{
	if (!engine)
		return -EINVAL;
	return engine_reset_groups(engine);
}

int pc_engine_reset(struct pc_engine *engine)
{
	int cs = pc_nocancel_begin(), ret = engine_reset_nc(engine);

	pc_nocancel_end(cs);
	return ret;
}

/* As many counters in ENGINE_STATS as in pc_stats before resv: a counter
 * left out of the list fails here, a misspelt one in the copy below. */
_Static_assert(sizeof(struct engine_stats) ==
	       offsetof(struct pc_stats, resv) / sizeof(uint64_t) * sizeof(_Atomic uint64_t),
	       "ENGINE_STATS and struct pc_stats list different counters");

int pc_engine_stats(struct pc_engine *engine, struct pc_stats *stats)
{
	if (!engine || !stats)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	/* Relaxed, as stat_add(): a snapshot, each counter a moment old. */
#define COPY_STAT(f) \
	stats->f = atomic_load_explicit(&engine->stats.f, memory_order_relaxed);
	ENGINE_STATS(COPY_STAT)
#undef COPY_STAT
	return 0;
}

const char *pc_state_name(int state)
{
	switch (state) {
	case PC_UNCHECKED: return "unchecked";
	case PC_UP: return "up";
	case PC_DOWN: return "down";
	case PC_PENDING: return "pending";
	}
	return state < 0 ? "error" : "unknown";
}

const char *pc_reason_name(int reason)
{
	switch (reason) {
	case PC_REASON_NONE: return "none";
	case PC_REASON_OK: return "ok";
	case PC_REASON_IO_ERROR: return "io error";
	case PC_REASON_SHORT_READ: return "short read";
	case PC_REASON_TIMEOUT: return "timeout";
	case PC_REASON_SUBMIT_ERROR: return "submit error";
	}
	return "unknown";
}
