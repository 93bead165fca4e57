/* SPDX-License-Identifier: MIT */
/*
 * The reaper.  It frees orphans that have been answered, giving their slots
 * back, and takes retired groups out of service: it unlinks them, waits one
 * grace period for all of them together, and hands each to a destroyer
 * thread (destroy.c), so that no application thread and no worker ever
 * calls io_destroy().
 */
#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

void reaper_wake(struct pc_engine *e)
{
	uint64_t one = 1;

	while (write(e->reaper.wakefd, &one, sizeof(one)) < 0 &&
	       errno == EINTR)
		;
}

static void enqueue(struct pc_engine *e, struct reap_item *item)
{
	/* Orders everything written to the item before the reaper sees it
	 * (cds_wfcq_enqueue is a full barrier); TSan is told separately. */
	pc_tsan_release(item);
	cds_wfcq_enqueue(&e->reaper.head, &e->reaper.tail, &item->node);
}

/* A worker hands over an answered orphan (REQ_REAPED), under the group
 * lock (the order of the queue matters); it wakes the reaper once it has
 * dropped the lock. */
void reaper_queue_req(struct pc_engine *e, struct pc_req *r)
{
	enqueue(e, &r->reap);
}

/* Whoever retired g (group_retire_locked) hands it over, lock dropped. */
void reaper_take_group(struct pc_engine *e, struct aio_group *g)
{
	enqueue(e, &g->reap);
	reaper_wake(e);
}

static void free_orphan(struct pc_engine *e, struct pc_req *r)
{
	struct aio_group *g = r->group;

	lock_group(g);
	g->orphans--;
	group_release_slot_locked(g);
	unlock_group(g);
	free(r);
	stat_sub(e, orphans, 1);
	stat_add(e, orphans_reaped, 1);
}

/*
 * Unlinks every group, then one grace period for all, then destroyers.
 * Once pc_engine_free() has joined the workers (quiesced), nobody can be
 * reading the table: no worker runs, and the API forbids other calls on a
 * dying engine, so the grace period (up to 10 ms here) is skipped.  Not
 * only when the reaper is told to stop: it wakes for the retired groups
 * before that.
 */
static void take_down(struct pc_engine *e, struct aio_group **groups,
		      unsigned int n)
{
	unsigned int i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		group_unlink(e, groups[i]);
	/* Acquire: pairs with pc_engine_free's release store after the
	 * worker joins. */
	if (!atomic_load_explicit(&e->quiesced, memory_order_acquire))
		pc_rcu_synchronize();
	for (i = 0; i < n; i++)
		destroy_group_async(e, groups[i]);
}

static void drain(struct pc_engine *e)
{
	struct aio_group *batch[64];
	unsigned int n = 0;
	struct cds_wfcq_node *node;

	while ((node = __cds_wfcq_dequeue_blocking(&e->reaper.head,
						   &e->reaper.tail))) {
		struct reap_item *item = caa_container_of(node,
						struct reap_item, node);

		pc_tsan_acquire(item);
		if (item->kind == REAP_REQ) {
			free_orphan(e, caa_container_of(item, struct pc_req,
							reap));
			continue;
		}
		batch[n++] = caa_container_of(item, struct aio_group, reap);
		if (n == 64) {
			take_down(e, batch, n);
			n = 0;
		}
	}
	take_down(e, batch, n);
}

static void *reaper_main(void *arg)
{
	struct pc_engine *e = arg;
	struct reaper *rp = &e->reaper;
	uint64_t count;
	bool stop;

	do {
		/* With groups waiting for a destroyer thread, retry soon. */
		struct pollfd pfd = { .fd = rp->wakefd, .events = POLLIN };

		if (poll(&pfd, 1, e->backlog_n ? 100 : -1) > 0)
			while (read(rp->wakefd, &count, sizeof(count)) < 0 &&
			       errno == EINTR)
				;
		/* Seen before draining: what was queued before the stop
		 * request is drained below.  Acquire: pairs with
		 * reaper_stop()'s release store. */
		stop = atomic_load_explicit(&rp->run, memory_order_acquire) ==
		       THREAD_STOP;
		drain(e);
		if (e->backlog_n)
			destroy_retry_backlog(e, stop);
	} while (!stop);
	atomic_store_explicit(&rp->run, THREAD_STOPPED, memory_order_release);
	return NULL;
}

int reaper_start(struct pc_engine *e)
{
	struct reaper *rp = &e->reaper;
	int err;

	cds_wfcq_init(&rp->head, &rp->tail);
	atomic_init(&rp->run, THREAD_RUNNING);
	rp->wakefd = eventfd(0, EFD_CLOEXEC);
	if (rp->wakefd < 0)
		return -errno;
	err = spawn_quiet(e, &rp->thread, 0, reaper_main, e);
	if (err) {
		close(rp->wakefd);
		rp->wakefd = -1;
		return err;
	}
	pthread_setname_np(rp->thread, "pc-reaper");
	return 0;
}

void reaper_stop(struct pc_engine *e)
{
	struct reaper *rp = &e->reaper;

	if (rp->wakefd < 0)
		return;
	atomic_store_explicit(&rp->run, THREAD_STOP, memory_order_release);
	reaper_wake(e);
	pthread_join(rp->thread, NULL);
	/* Ordered by the join. */
	atomic_store_explicit(&rp->run, THREAD_JOINED, memory_order_relaxed);
	close(rp->wakefd);
	rp->wakefd = -1;
	cds_wfcq_destroy(&rp->head, &rp->tail);
}
