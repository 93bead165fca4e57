/* SPDX-License-Identifier: MIT */
/*
 * aio groups: creation on demand, slots, retirement.  A group is torn
 * down by the reaper and a destroyer thread (reaper.c, destroy.c), never
 * here: io_destroy() waits for every read in flight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

struct group_table *engine_groups(struct pc_engine *e)
{
	return pc_rcu_deref(e->groups);
}

static void table_free_rcu(struct rcu_head *head)
{
	pc_rcu_callback_begin();
	free(caa_container_of(head, struct group_table, rcu));
}

struct aio_group *engine_group(struct pc_engine *e, uint64_t id)
{
	struct group_table *t = engine_groups(e);

	return t && id < t->n ? t->groups[id] : NULL;
}

/* The lowest id no group in the table has.  Caller holds groups_lock. */
static unsigned int free_group_id(struct pc_engine *e)
{
	struct group_table *t = e->groups;
	unsigned int id = 0;

	while (t && id < t->n && t->groups[id])
		id++;
	return id;
}

/*
 * Publishes a copy of the table with add put in at its id and del taken
 * out.  Caller holds groups_lock.
 */
static int table_replace(struct pc_engine *e, struct aio_group *add,
			 struct aio_group *del)
{
	struct group_table *old = e->groups, *t;
	unsigned int n = old ? old->n : 0;

	if (add && add->id >= n)
		n = add->id + 1;
	t = calloc(1, sizeof(*t) + n * sizeof(t->groups[0]));
	if (!t)
		return -ENOMEM;
	t->n = n;
	if (old)
		memcpy(t->groups, old->groups, old->n * sizeof(t->groups[0]));
	if (del)
		t->groups[del->id] = NULL;
	if (add)
		t->groups[add->id] = add;
	while (t->n && !t->groups[t->n - 1])
		t->n--;
	/* Orders the filled-in table before readers can find it. */
	pc_rcu_publish(e->groups, t);
	if (old)
		pc_call_rcu(&old->rcu, table_free_rcu);
	return 0;
}

static unsigned long read_sysctl(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Runs under groups_lock: says why into l, written once it is dropped. */
static int setup_context(struct aio_group *g, struct pending_log *l)
{
	int err = io_setup(g->size, &g->ctx);

	if (err == -EAGAIN) {
		unsigned long max = read_sysctl("/proc/sys/fs/aio-max-nr");
		unsigned long nr = read_sysctl("/proc/sys/fs/aio-nr");

		pc_log_later(l, LOG_ERR,
		       "io_setup(%u) failed: fs.aio-max-nr (%lu) exhausted, "
		       "fs.aio-nr is %lu; a new aio group needs %u more slots: "
		       "raise fs.aio-max-nr (sysctl -w fs.aio-max-nr=%lu) or "
		       "lower group_size", g->size, max, nr, g->size,
		       nr + g->size > max ? nr + g->size : max);
	} else if (err < 0) {
		pc_log_later(l, LOG_ERR, "io_setup(%u) failed: %s", g->size,
		       strerror(-err));
	}
	return err;
}

void group_free(struct aio_group *g)
{
	struct pc_req *r, *tmp;

	cds_list_for_each_entry_safe(r, tmp, &g->orphan_list, list)
		free(r);
	if (g->efd >= 0)
		close(g->efd);
	if (g->kick_efd >= 0)
		close(g->kick_efd);
	bufpool_free(&g->bufs);	/* after io_destroy(): the kernel let go */
	heap_free(&g->heap);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static int group_init(struct pc_engine *e, struct aio_group *g,
		      struct pending_log *l)
{
	pthread_mutexattr_t ma;
	int err;

	/* Adaptive: a caller starting a check and the worker finishing one
	 * hold it for a few hundred ns each, often from two CPUs at once;
	 * spinning that long beats a futex sleep and wake (on this VM an
	 * async caller slept on it a quarter of its checks). */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&g->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	atomic_init(&g->lock_owner, NULL);
	g->engine = e;
	g->state = GROUP_ACTIVE;
	g->size = e->opts.group_size;
	g->efd = -1;
	atomic_init(&g->used, 0);
	atomic_init(&g->next_deadline_us, UINT64_MAX);
	CDS_INIT_LIST_HEAD(&g->path_list);
	CDS_INIT_LIST_HEAD(&g->orphan_list);
	CDS_INIT_LIST_HEAD(&g->failed_list);
	CDS_INIT_LIST_HEAD(&g->owed_list);
	atomic_init(&g->has_owed, false);
	atomic_init(&g->owed_total, 0);
	atomic_init(&g->polled, 0);
	atomic_init(&g->reaping, false);
	atomic_init(&g->reap_missed, false);
	atomic_init(&g->untimed, false);
	g->kick = KICK_NONE;
	g->kick_efd = -1;
	atomic_init(&g->dropped, 0);
	cds_wfcq_node_init(&g->reap.node);
	g->reap.kind = REAP_GROUP;
	bufpool_init(&g->bufs);
	err = heap_init(&g->heap, g->size);
	if (err)
		return err;
	g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->efd < 0)
		return -errno;
	return setup_context(g, l);
}

/* Caller holds groups_lock, and writes l once it has dropped it. */
static int group_create(struct pc_engine *e, struct aio_group **gp,
			struct pending_log *l)
{
	struct aio_group *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	err = group_init(e, g, l);
	if (err)
		goto fail;
	g->id = free_group_id(e);
	g->worker = &e->workers[g->id % e->nworkers];
	/* The new group's first slot is ours before anyone can see it. */
	g->paths = 1;
	atomic_store_explicit(&g->used, 1, memory_order_relaxed);
	err = worker_add_group(g->worker, g);
	if (err)
		goto destroy;
	err = table_replace(e, g, NULL);
	if (err) {
		worker_del_group(g->worker, g);
		goto destroy;
	}
	stat_add(e, groups, 1);
	stat_add(e, groups_created, 1);
	stat_add(e, aio_slots, g->size);
	pc_log_later(l, LOG_DEBUG, "aio group %u created, %u slots", g->id,
		     g->size);
	*gp = g;
	return 0;
destroy:
	/* Nothing was ever submitted: io_destroy() only waits for the
	 * grace period. */
	io_destroy(g->ctx);
fail:
	group_free(g);
	return err;
}

static void set_used_locked(struct aio_group *g)
{
	lock_held(g);
	/* Relaxed: a hint for lockless scans, rechecked under the lock. */
	atomic_store_explicit(&g->used, g->paths + g->orphans,
			      memory_order_relaxed);
}

static bool try_take_slot(struct aio_group *g)
{
	bool taken = false;

	/* A racy look first: most full groups are passed without locking. */
	if (atomic_load_explicit(&g->used, memory_order_relaxed) >= g->size)
		return false;
	lock_group(g);
	if (g->state == GROUP_ACTIVE && g->paths + g->orphans < g->size) {
		g->paths++;
		set_used_locked(g);
		taken = true;
	}
	unlock_group(g);
	return taken;
}

static struct aio_group *find_slot(struct pc_engine *e)
{
	struct aio_group *found = NULL;
	struct group_table *t;

	pc_rcu_read_lock();
	t = engine_groups(e);
	for (unsigned int i = 0; t && i < t->n && !found; i++)
		if (t->groups[i] && try_take_slot(t->groups[i]))
			found = t->groups[i];
	pc_rcu_read_unlock();
	return found;
}

/*
 * Takes a slot for a new path: in an existing group if any has room, in a
 * new group only when every group is full (fs.aio-max-nr is one budget for
 * the whole machine).  The group stays alive while the slot is held.
 */
int group_get_slot(struct pc_engine *e, struct aio_group **gp)
{
	struct pending_log l = { .msg = "" };
	int err = 0;

	*gp = find_slot(e);
	if (*gp)
		return 0;
	pthread_mutex_lock(&e->groups_lock);
	*gp = find_slot(e);	/* another thread may have made one */
	if (!*gp && atomic_load_explicit(&e->closing, memory_order_relaxed))
		err = -ESHUTDOWN;	/* pc_engine_free() has begun */
	else if (!*gp)
		err = group_create(e, gp, &l);
	pthread_mutex_unlock(&e->groups_lock);
	pc_log_flush(e, &l);	/* the log callback runs with no lock held */
	return err;
}

void group_release_slot_locked(struct aio_group *g)
{
	lock_held(g);
	set_used_locked(g);
}

void group_update_deadline_locked(struct aio_group *g)
{
	struct pc_req *top = heap_top(&g->heap);

	lock_held(g);
	/* seq_cst: pairs with the worker's sleep_until_us store and rescan,
	 * see worker_watch_deadline() and arm(). */
	atomic_store_explicit(&g->next_deadline_us,
			      top ? top->deadline_us : UINT64_MAX,
			      memory_order_seq_cst);
}

/* Returns true when the caller must hand the group to the reaper once it
 * has dropped the lock. */
bool group_retire_locked(struct aio_group *g)
{
	lock_held(g);
	if (g->state != GROUP_ACTIVE)
		return false;
	g->state = GROUP_RETIRED;
	return true;
}

/* Every slot held by an orphan: no path can use the group, so nothing
 * would ever reuse it; retire it and give its slots back to the machine
 * as soon as its reads answer. */
bool group_retire_if_fully_orphaned_locked(struct aio_group *g)
{
	lock_held(g);
	if (g->paths || g->orphans < g->size || g->pins)
		return false;	/* pinned: the last PC_SYNC check retires it */
	return group_retire_locked(g);
}

/* A PC_SYNC check is done with g (see pins).  Our last touch of g: once
 * unpinned, it may retire and go. */
/* Drops a PC_SYNC check's pin; true when the caller must hand g to the
 * reaper once it has dropped the lock (it was the last one out of a
 * fully orphaned group). */
bool group_unpin_locked(struct aio_group *g)
{
	lock_held(g);
	g->pins--;
	return group_retire_if_fully_orphaned_locked(g);
}

void group_unpin(struct aio_group *g)
{
	struct pc_engine *e = g->engine;
	bool retire;

	lock_group(g);
	retire = group_unpin_locked(g);
	unlock_group(g);
	if (retire)
		reaper_take_group(e, g);
}

/* Reaper only: takes a retired group out of the table and its worker's
 * epoll set.  The caller waits a grace period before freeing it: a reader
 * may still hold it, and a worker may still hold an event for its id. */
void group_unlink(struct pc_engine *e, struct aio_group *g)
{
	pthread_mutex_lock(&e->groups_lock);
	while (table_replace(e, NULL, g))
		usleep(1000);	/* ENOMEM: the group must come out */
	pthread_mutex_unlock(&e->groups_lock);
	worker_del_group(g->worker, g);
}

typedef bool (*retire_test)(struct aio_group *g);

static unsigned int retire_where(struct pc_engine *e, retire_test test)
{
	struct group_table *t;
	unsigned int n = 0;

	pc_rcu_read_lock();
	t = engine_groups(e);
	for (unsigned int i = 0; t && i < t->n; i++) {
		struct aio_group *g = t->groups[i];
		bool retired;

		if (!g)
			continue;
		lock_group(g);
		retired = test(g) && group_retire_locked(g);
		unlock_group(g);
		if (retired) {
			reaper_take_group(e, g);
			n++;
		}
	}
	pc_rcu_read_unlock();
	return n;
}

static bool group_is_empty(struct aio_group *g)
{
	return g->paths == 0 && g->orphans == 0;
}

static bool group_any(struct aio_group *g)
{
	(void)g;
	return true;
}

int engine_reset_groups(struct pc_engine *e)
{
	return (int)retire_where(e, group_is_empty);
}

void engine_retire_all_groups(struct pc_engine *e)
{
	retire_where(e, group_any);
}
