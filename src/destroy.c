/* SPDX-License-Identifier: MIT */
/*
 * Destroyers: one short-lived thread per retired group, because
 * io_destroy() waits for a grace period (about 32 ms here) and for every
 * read still in flight, however long a dead device takes.  Destroying G
 * groups at once costs about one grace period, not G.
 *
 * pc_engine_free() waits for its destroyers only until shutdown_ms.  A
 * destroyer still waiting on a hung read then carries on alone: it owns its
 * group, frees it when the kernel lets go, and no longer touches the
 * engine.  graveyard_lock is the handshake: a job's engine pointer is
 * cleared under it when the engine stops waiting.
 */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "internal.h"

/* protects: destroy_job.engine, engine->destroying, ->destroy_jobs.
 * Never nests with another lock. */
static pthread_mutex_t graveyard_lock = PTHREAD_MUTEX_INITIALIZER;

struct destroy_job {
	struct aio_group *group;
	struct pc_engine *engine;	/* NULL once the engine stopped waiting */
	struct cds_list_head node;	/* engine->destroy_jobs */
};

#define DESTROYER_STACK	(64u * 1024u)

static void destroyed(struct destroy_job *job, unsigned int size,
		      unsigned int orphans, unsigned int inflight)
{
	struct pc_engine *e;

	pthread_mutex_lock(&graveyard_lock);
	e = job->engine;
	if (e) {
		atomic_fetch_sub(&e->stats.groups, 1);
		atomic_fetch_add(&e->stats.groups_destroyed, 1);
		atomic_fetch_sub(&e->stats.aio_slots, size);
		atomic_fetch_sub(&e->stats.orphans, orphans);
		atomic_fetch_add(&e->stats.orphans_reaped, orphans);
		atomic_fetch_sub(&e->stats.inflight, inflight);
		cds_list_del(&job->node);
		e->destroying--;
		pthread_cond_broadcast(&e->destroyed);
	}
	pthread_mutex_unlock(&graveyard_lock);
	free(job);
}

static void *destroyer_main(void *arg)
{
	struct destroy_job *job = arg;
	struct aio_group *g = job->group;
	unsigned int size = g->size, orphans = g->orphans;
	unsigned int inflight = g->inflight;

	/* Unlinked and a grace period past: this thread alone has g.  The
	 * kernel lets go of every request and read buffer when this returns. */
	io_destroy(g->ctx);
	group_free(g);
	destroyed(job, size, orphans, inflight);
	return NULL;
}

int destroy_group_async(struct pc_engine *e, struct aio_group *g)
{
	struct destroy_job *job;
	pthread_t t;
	int err;

	job = calloc(1, sizeof(*job));
	while (!job) {
		/* The group is already unlinked: it must go somewhere. */
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		job = calloc(1, sizeof(*job));
	}
	job->group = g;
	job->engine = e;
	pthread_mutex_lock(&graveyard_lock);
	e->destroying++;
	cds_list_add(&job->node, &e->destroy_jobs);
	pthread_mutex_unlock(&graveyard_lock);
	err = spawn_quiet(&t, DESTROYER_STACK, destroyer_main, job);
	if (err) {
		pc_log(e, LOG_WARNING, "no thread to destroy aio group %u "
		       "(%d): destroying it in the reaper", g->id, err);
		destroyer_main(job);
		return err;
	}
	pthread_detach(t);
	return 0;
}

/* Waits for the engine's destroyers until until_us, then lets go of the
 * ones still waiting on hung reads. */
void destroy_wait(struct pc_engine *e, uint64_t until_us)
{
	struct timespec ts = {
		.tv_sec = (time_t)(until_us / 1000000u),
		.tv_nsec = (long)(until_us % 1000000u) * 1000L,
	};
	struct destroy_job *job, *tmp;
	unsigned int left;

	pthread_mutex_lock(&graveyard_lock);
	while (e->destroying &&
	       pthread_cond_timedwait(&e->destroyed, &graveyard_lock, &ts) !=
	       ETIMEDOUT)
		;
	left = e->destroying;
	cds_list_for_each_entry_safe(job, tmp, &e->destroy_jobs, node) {
		cds_list_del(&job->node);
		job->engine = NULL;
	}
	e->destroying = 0;
	pthread_mutex_unlock(&graveyard_lock);
	if (left)
		pc_log(e, LOG_WARNING, "%u aio group(s) still wait on hung "
		       "reads after %u ms; they are freed in the background "
		       "when the kernel answers", left, e->opts.shutdown_ms);
}
