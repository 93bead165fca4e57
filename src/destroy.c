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
 *
 * A group with no read in the kernel is not waited for that long: once
 * io_destroy() has killed its context (taken it out of the process's table,
 * given its fs.aio-max-nr slots back, unmapped its ring, all at the start
 * of the call), what is left is the kernel's grace periods, which touch
 * nothing of ours.  pc_engine_free() lets such a destroyer finish alone,
 * which halves the lifecycle of 10,000 paths (docs/performance.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* protects: destroy_job.engine, engine->destroying, ->destroy_jobs.
 * Never nests with another lock. */
static pthread_mutex_t graveyard_lock = PTHREAD_MUTEX_INITIALIZER;

struct destroy_job {
	struct aio_group *group;
	struct pc_engine *engine;	/* NULL once the engine stopped waiting */
	struct cds_list_head node;	/* engine->destroy_jobs */
	io_context_t ctx;		/* the group's, for context_dead() */
	bool idle;			/* no read of the group in the kernel */
};

#define DESTROYER_STACK	(64u * 1024u)
#define DESTROY_RETRY_MS	100u
/* How often pc_engine_free() looks whether idle groups' contexts are dead:
 * io_destroy() kills one within microseconds of its destroyer starting. */
#define DEAD_POLL_US	200u

static void destroyed(struct destroy_job *job, unsigned int size,
		      unsigned int orphans, unsigned int inflight)
{
	struct pc_engine *e;

	pthread_mutex_lock(&graveyard_lock);
	e = job->engine;
	if (e) {
		stat_sub(e, groups, 1);
		stat_add(e, groups_destroyed, 1);
		stat_sub(e, aio_slots, size);
		stat_sub(e, orphans, orphans);
		stat_add(e, orphans_reaped, orphans);
		stat_sub(e, inflight, inflight);
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

	/* Unlinked and a grace period past: this thread alone has g.  Its
	 * eventfds go first, before the context dies: pc_engine_free() may
	 * return then (destroy_wait()), and leaves no descriptor behind.  A
	 * read still in flight holds the eventfd's context, not the fd, and
	 * the kick's poll holds kick_efd's file (io_destroy() cancels it). */
	if (g->efd >= 0) {
		close(g->efd);
		g->efd = -1;
	}
	if (g->kick_efd >= 0) {
		close(g->kick_efd);
		g->kick_efd = -1;
	}
	/* The kernel lets go of every request and read buffer when this
	 * returns. */
	io_destroy(g->ctx);
	group_free(g);
	destroyed(job, size, orphans, inflight);
	return NULL;
}

/* Groups given up at shutdown because no thread could be started to
 * destroy them and they still had reads in the kernel: kept (reachable)
 * until the process exits, which releases their aio contexts.  Under
 * graveyard_lock. */
static CDS_LIST_HEAD(abandoned);

/* Starts a destroyer for g: 0, or -errno when no thread could be made. */
static int spawn_destroyer(struct pc_engine *e, struct aio_group *g)
{
	struct destroy_job *job;
	pthread_t t;
	int err;

	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->group = g;
	job->engine = e;
	job->ctx = g->ctx;
	job->idle = !g->inflight;	/* g is ours alone: no lock */
	pthread_mutex_lock(&graveyard_lock);
	e->destroying++;
	cds_list_add(&job->node, &e->destroy_jobs);
	pthread_mutex_unlock(&graveyard_lock);
	err = spawn_quiet(e, &t, DESTROYER_STACK, destroyer_main, job);
	if (!err) {
		/* Its own name, not the reaper's it would inherit: it may
		 * outlive the engine (destroy_wait()). */
		pthread_setname_np(t, "pc-destroy");
		pthread_detach(t);
		return 0;
	}
	pthread_mutex_lock(&graveyard_lock);
	cds_list_del(&job->node);
	e->destroying--;
	pthread_mutex_unlock(&graveyard_lock);
	free(job);
	return err;
}

/*
 * Reaper only.  Hands g, unlinked and a grace period past, to a destroyer
 * thread.  Never destroys it here: io_destroy() waits for hung reads, and
 * pc_engine_free() waits for the reaper.  Without a thread, g waits in the
 * engine's backlog, which the reaper retries (destroy_retry_backlog).
 */
void destroy_group_async(struct pc_engine *e, struct aio_group *g)
{
	int err = spawn_destroyer(e, g);

	if (!err)
		return;
	if (!e->backlog_n)
		pc_log(e, LOG_WARNING, "no thread to destroy aio group %u (%s); "
		       "retrying every %u ms", g->id, strerror(-err),
		       DESTROY_RETRY_MS);
	cds_list_add_tail(&g->backlog_node, &e->backlog);
	e->backlog_n++;
}

/*
 * Reaper only.  Retries the backlog.  When the engine stops, what still
 * has no thread is given up: kept until the process exits.  Even an idle
 * group is not destroyed here: io_destroy() waits a grace period, which
 * has no bound on a loaded machine, and pc_engine_free() joins the reaper,
 * so it would stop being bounded by shutdown_ms.
 */
void destroy_retry_backlog(struct pc_engine *e, bool stopping)
{
	struct aio_group *g, *tmp;
	unsigned int given_up = 0, hung = 0;

	cds_list_for_each_entry_safe(g, tmp, &e->backlog, backlog_node) {
		if (spawn_destroyer(e, g) == 0) {
			cds_list_del(&g->backlog_node);
			e->backlog_n--;
			continue;
		}
		if (!stopping)
			break;	/* still no threads: try again later */
		cds_list_del(&g->backlog_node);
		e->backlog_n--;
		/* Stopping: no worker runs, g is unlinked, we alone have it. */
		hung += g->inflight > 0;
		pthread_mutex_lock(&graveyard_lock);
		cds_list_add(&g->backlog_node, &abandoned);
		pthread_mutex_unlock(&graveyard_lock);
		given_up++;
	}
	if (given_up)
		pc_log(e, LOG_ERR, "%u aio group(s) (%u with reads still in "
		       "the kernel) could not get a thread to destroy them: "
		       "their aio contexts are kept until the process exits "
		       "(raise the thread or memory limits)", given_up, hung);
}

/* fork() (thread.c): a child finds graveyard_lock free. */
void destroy_before_fork(void)
{
	pthread_mutex_lock(&graveyard_lock);
}

void destroy_after_fork(void)
{
	pthread_mutex_unlock(&graveyard_lock);
}

/* Whether the mapping that starts at addr is an aio ring
 * (/proc/self/maps names it "[aio]"); false when none starts there. */
static bool aio_ring_at(const void *addr)
{
	char line[512], start[32];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, start, strlen(start)) &&
			strstr(line, "[aio]");
	fclose(f);
	return found;
}

/*
 * Whether io_destroy() has killed ctx and unmapped its ring.  The kernel
 * stops finding the context (io_getevents() fails EINVAL; by the system
 * call itself, not libaio's io_getevents(), which would read the ring in
 * user space) a moment before it unmaps the ring, and pc_engine_free(3)
 * promises the ring gone: so the ring must be unmapped too.  mincore()
 * on its first page fails ENOMEM once it is (the ring starts at ctx); when
 * it does not, another mapping may have taken the address already (a
 * destroyer's stack, often), and /proc/self/maps tells whether the ring is
 * still there.  Should another engine's io_setup() reuse the address, the
 * answer is "alive", and we wait for the destroyer as before.
 */
static bool context_dead(io_context_t ctx)
{
	struct timespec zero = { 0, 0 };
	unsigned char vec;

	if (syscall(__NR_io_getevents, ctx, 0L, 0L, NULL, &zero) == 0 ||
	    errno != EINVAL)
		return false;
	if (mincore((void *)ctx, (size_t)sysconf(_SC_PAGESIZE), &vec) < 0 &&
	    errno == ENOMEM)
		return true;
	return !aio_ring_at(ctx);
}

/* Under graveyard_lock: whether every destroyer left has an idle group
 * whose context is dead (what remains of them touches nothing of ours). */
static bool only_dead_idle_left_locked(struct pc_engine *e)
{
	struct destroy_job *job;

	cds_list_for_each_entry(job, &e->destroy_jobs, node)
		if (!job->idle || !context_dead(job->ctx))
			return false;
	return true;
}

/* Under graveyard_lock: whether a destroyer with reads in the kernel is
 * left (it ends, or shutdown_ms does; nothing to poll for). */
static bool busy_left_locked(struct pc_engine *e)
{
	struct destroy_job *job;

	cds_list_for_each_entry(job, &e->destroy_jobs, node)
		if (!job->idle)
			return true;
	return false;
}

/* Waits for the engine's destroyers until until_us, then lets go of the
 * ones still waiting on hung reads.  Idle groups are waited for until their
 * contexts are dead, not until their destroyers end: polled every
 * DEAD_POLL_US once they are all that is left, and until then woken only
 * by a destroyer's end. */
void destroy_wait(struct pc_engine *e, uint64_t until_us)
{
	struct destroy_job *job, *tmp;
	unsigned int left;

	pthread_mutex_lock(&graveyard_lock);
	while (e->destroying && !only_dead_idle_left_locked(e)) {
		uint64_t now = pc_now_us(), at = now + DEAD_POLL_US;
		struct timespec ts;

		if (now >= until_us)
			break;
		if (at > until_us || busy_left_locked(e))
			at = until_us;
		ts.tv_sec = (time_t)(at / 1000000u);
		ts.tv_nsec = (long)(at % 1000000u) * 1000L;
		pthread_cond_timedwait(&e->destroyed, &graveyard_lock, &ts);
	}
	left = 0;
	cds_list_for_each_entry(job, &e->destroy_jobs, node)
		left += !job->idle;
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
