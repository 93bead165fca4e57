/* SPDX-License-Identifier: MIT */
/*
 * libpathcheck internals.  docs/design.md tells the same story with
 * pictures; keep the two in step.
 *
 * Objects
 *   engine  - options, the group table, W workers, one reaper.
 *   group   - one io_context of group_size slots, its eventfd, its lock,
 *             its deadline heap, its paths and its orphans, and a pool
 *             of read buffers: one block per read in flight.
 *   path    - what the caller holds: an fd, a result, a request.
 *   request - the one read a path may have in the kernel.  It outlives its
 *             path when the path is freed with the read in flight (an
 *             orphan), because the kernel still owns it.
 *
 * Locks (outermost first; nothing else nests)
 *   engine->groups_lock  protects: creating groups and choosing their ids,
 *                        writing the group table (readers use RCU).
 *                        May be held across io_setup() (not I/O), never
 *                        across a callback: log lines made under it are
 *                        kept (struct pending_log) and written after.
 *   group->lock          protects: every field marked [G] below, the state
 *                        of the group's requests, the check fields of its
 *                        paths.  Held across io_cancel() and a kick's
 *                        write() to an eventfd (neither blocks), never
 *                        across io_submit(), io_destroy() or a
 *                        callback.  Also protects the group's buffer
 *                        pool (bufpool.c): a read's buffer is taken and
 *                        given back under it; mmap() of a new slab and
 *                        madvise() of idle blocks run under it (they do
 *                        not block on I/O), munmap() never does.
 *   group->reaping       a try-lock, never waited for (worker.c): the
 *                        right to consume the group's completion ring,
 *                        and every field marked [R].  Taken with or
 *                        without the group lock, in either order, since
 *                        nobody waits for it.
 *   graveyard_lock       (destroy.c) the handshake between an engine and
 *                        the destroyer threads that may outlive it.  Taken
 *                        alone.
 *   odirect_lock         (odirect.c) the process's registry of open file
 *                        descriptions we set O_DIRECT on.  Taken alone.
 * No library lock is held across a callback (on_result, log).
 * A function whose name ends in _locked must be called with the group lock
 * held (odirect_*_locked(): odirect_lock); lock_held() (odirect_held()) asserts it
 * in every build, not only debug ones: a violation aborts with a message.
 *
 * Atomics name their memory order.  Statistics counters go through
 * stat_add()/stat_sub() (relaxed).  The seq_cst pairs: worker->delivering
 * with path->life (deliver() and pc_path_free), and a group's
 * next_deadline_us and bufs.trim_at_us with worker->sleep_until_us
 * (worker_watch_deadline()).
 */
#ifndef PC_INTERNAL_H
#define PC_INTERNAL_H

#include <libaio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/list.h>
#include <urcu/wfcqueue.h>

#include "pathcheck.h"
#include "rcu.h"

#define PC_MAX_GROUP_SIZE	65536u
#define PC_MAX_WORKERS		1024u
#define PC_MAX_TIMEOUT_MS	(24u * 3600u * 1000u)
/* What a path reads: BLKBSZGET when it is at most PC_DEFAULT_BLKSIZE (a
 * larger one may lie, as on DASD), else PC_DEFAULT_BLKSIZE; and never less
 * than one logical block (BLKSSZGET), up to PC_MAX_BLKSIZE. */
#define PC_DEFAULT_BLKSIZE	4096u
/* Read buffers (bufpool.c): blocks of PC_BUF_BLOCK, mapped PC_BUF_SLAB at
 * a time; a read of more than a block takes a run of them in one slab.  A
 * slab untouched for PC_BUF_DECAY_MS is unmapped if all free, else the
 * pages of its free blocks are given back. */
#define PC_BUF_BLOCK		4096u
#define PC_BUF_SLAB		16u
/* One slab: Linux's largest logical block size (BLK_MAX_BLOCK_SIZE). */
#define PC_MAX_BLKSIZE		(PC_BUF_SLAB * PC_BUF_BLOCK)
#define PC_BUF_DECAY_MS		1000u
/* How long a PC_SYNC caller waits past the deadline for the worker's verdict. */
#define PC_SYNC_GRACE_MS	20u
/* Most on_result calls a path may be owed at once (bits of owed_bits). */
#define PC_OWED_MAX		64u
/* PC_SYNC callers leave the ring to the worker while a group is owed this
 * many on_result calls: the worker's callbacks are behind, and checks must
 * not outrun them (each sync reap adds at most one per path). */
#define PC_OWED_BACKOFF		16u
/* How often a worker reaps a ring holding silent reads nobody waits for. */
#define PC_POLL_MS		50u

struct pc_engine;
struct aio_group;
struct worker;
struct buf_slab;

/*
 * The reaper's queue carries answered orphans and retired groups, in one
 * FIFO: an orphan queued before its group retired is freed before the
 * group is unlinked.
 */
enum reap_kind {
	REAP_REQ,
	REAP_GROUP,
};

struct reap_item {
	struct cds_wfcq_node node;
	enum reap_kind kind;
};

/*
 * A request.  Exactly one owner at a time:
 *
 *   REQ_IDLE      owner: its path.  No read in the kernel.
 *   REQ_INFLIGHT  owner: the kernel.  In the group's deadline heap.  The
 *                 submitting thread calls io_submit() after setting this,
 *                 outside the lock; the worker may see the answer first.
 *   REQ_FAILED    owner: the worker.  io_submit() refused it; on the
 *                 group's failed list, finished by the worker like an
 *                 answer with res = -error.
 *   REQ_TIMEDOUT  owner: the kernel.  Its check already finished DOWN; the
 *                 path starts no read until the kernel answers.
 *   REQ_ORPHAN    owner: the kernel.  Its path was freed; the slot stays
 *                 taken.  On the group's orphan list.
 *   REQ_REAPED    owner: the reaper (group ACTIVE: on the reaper queue) or
 *                 the group's destroyer (group RETIRED: on the orphan list).
 *
 *   IDLE -> INFLIGHT            check started (any thread)
 *   INFLIGHT -> IDLE            answer reaped before anyone finished it overdue (worker)
 *   INFLIGHT -> FAILED          io_submit refused it (submitter)
 *   FAILED -> IDLE              worker (or an overdue caller) finished it DOWN
 *   INFLIGHT -> TIMEDOUT        deadline passed (worker, or a caller that saw it first)
 *   TIMEDOUT -> IDLE            late answer (worker)
 *   INFLIGHT|TIMEDOUT|FAILED -> ORPHAN   path freed (any thread)
 *   ORPHAN -> REAPED            answer (worker)
 *   REAPED -> freed             reaper, or destroyer after io_destroy()
 *   IDLE -> freed               path freed (any thread)
 */
enum req_state {
	REQ_IDLE,
	REQ_INFLIGHT,
	REQ_FAILED,
	REQ_TIMEDOUT,
	REQ_ORPHAN,
	REQ_REAPED,
};

struct pc_req {
	struct iocb iocb;		/* iocb.data points back here */
	enum req_state state;		/* [G] */
	struct pc_path *path;		/* [G] NULL once orphaned */
	struct aio_group *group;
	uint64_t submit_us;		/* [G] */
	uint64_t deadline_us;		/* [G] */
	/* [G] The read's own block, from the group's pool, from the start of
	 * a read until the kernel lets go of it (answer, refused submit,
	 * successful cancel); it stays with a timed-out or orphaned read.
	 * NULL: none held. */
	void *buf;
	struct buf_slab *buf_slab;
	unsigned int buf_blocks;	/* [G] how many blocks buf spans */
	unsigned int heap_idx;		/* [G] while INFLIGHT */
	long res;			/* [G] REQ_FAILED: -errno */
	/* [G] Submitted without the group's eventfd: its PC_SYNC caller
	 * reaps the answer itself and no worker wakes for it. */
	bool silent;
	/* [G] silent, and timed out or orphaned: its caller may be gone, so
	 * the worker polls the ring until the answer comes (group->polled). */
	bool polled;
	/* [G] Started by pc_check(PC_SYNC | PC_NOCALLBACK): its result goes
	 * to the waiters and the path, never to on_result. */
	bool nocallback;
	struct cds_list_head list;	/* [G] failed or orphan list */
	struct reap_item reap;		/* reaper queue, REAPED only */
};

/*
 * A group's kick (worker.c): a poll of the group's kick_efd, put in the
 * kernel beforehand by a ring holder about to sleep untimed, so that a
 * kick is a write to kick_efd, which cannot fail, and its event on the
 * ring wakes the holder.  [R]: read and written only by the ring's holder
 * (aio_group.reaping, whose exchange and store order it).
 *
 *   KICK_NONE     no kick_efd yet: the group's first PC_SYNC holder to
 *                 sleep untimed makes it (a group without one costs no
 *                 descriptor).
 *   KICK_UNARMED  kick_efd, and no poll of it in the kernel.
 *   KICK_ARMED    a poll of kick_efd is in the kernel (io_destroy()
 *                 cancels it), or its event is on the ring, not yet taken.
 *   KICK_BROKEN   eventfd() failed, or the kernel has no IOCB_CMD_POLL
 *                 (before Linux 4.18): holders sleep with a timeout.
 *
 *   NONE -> UNARMED -> ARMED    kick_arm()
 *   NONE -> BROKEN              kick_arm(): eventfd() failed
 *   UNARMED -> BROKEN           kick_arm(): io_submit() said EINVAL
 *   ARMED -> UNARMED            its event taken (group_take_kick())
 */
enum kick_state {
	KICK_NONE,
	KICK_UNARMED,
	KICK_ARMED,
	KICK_BROKEN,
};

/* Life of a path: LIVE until pc_path_free() starts.  Written under the
 * group lock (seq_cst: it pairs with worker->delivering, see deliver() in
 * worker.c); read under the lock by every call on the path, which then
 * answers -ENODEV, and without it by deliver(). */
enum path_life {
	PATH_LIVE,
	PATH_FREED,
};

/* A PC_SYNC caller waiting on its path; lives on the caller's stack. */
struct sync_waiter {
	sem_t done;
	_Atomic int state;		/* stored (release) before sem_post */
	struct sync_waiter *next;	/* [G] */
};

struct pc_path {
	/* What a check touches comes first, in two cache lines. */
	struct aio_group *group;	/* fixed for the path's life */
	struct pc_req *req;		/* [G] owned by the path while attached */
	int fd;
	unsigned int blksize;
	_Atomic unsigned int timeout_ms;	/* relaxed: a plain setting */
	_Atomic enum path_life life;
	/*
	 * Checks are numbered.  started > finished: a check runs.  A result is
	 * handed out once: returned by pc_check(), posted to a PC_SYNC waiter
	 * or given to on_result; reported is the number of the last one.
	 */
	uint64_t started;		/* [G] */
	uint64_t finished;		/* [G] */
	uint64_t reported;		/* [G] */
	struct sync_waiter *waiters;	/* [G] */
	/* PC_SYNC callers that may still touch the path; pc_path_free waits
	 * for 0 (release by the waiter, acquire by pc_path_free). */
	_Atomic unsigned int sync_users;
	/* Results finished outside a worker (a caller saw the deadline pass
	 * first, or a PC_SYNC caller reaped the answer) whose on_result a
	 * worker still owes, oldest first: bit i of owed_bits is 1 when the
	 * i-th is PC_UP.  On group->owed_list while owed_n > 0. */
	unsigned int owed_n;		/* [G] at most PC_OWED_MAX */
	struct pc_result result;	/* [G] */
	uint64_t owed_bits;		/* [G] */
	struct pc_engine *engine;
	void *arg;
	/* pc_path_open()'s, or odirect.c's own when kcmp is refused: we
	 * close it */
	bool own_fd;
	struct cds_list_head owed_node;	/* [G] */
	/* on_free(arg) is owed and not yet called: set by pc_path_free()
	 * when it found p's on_result running; whoever exchanges it back
	 * calls on_free (free_owed_pay()). */
	_Atomic bool free_owed;
	/* Holds on the memory: 1 for the path itself until pc_path_free()
	 * is done with it, 1 for each worker batch entry not yet delivered
	 * (worker_queue_delivery()).  A worker runs on_result outside any
	 * RCU read section, so a grace period alone does not keep the path
	 * there for it; the last path_put() queues the free. */
	_Atomic unsigned int refs;
	/* The open file description whose O_DIRECT we set (odirect.c). */
	struct odirect_file *odf;
	struct cds_list_head odf_node;	/* under odirect_lock */
	struct cds_list_head node;	/* [G] group->paths */
	struct rcu_head rcu;
};

/* A min-heap of in-flight requests by deadline. */
struct deadline_heap {
	struct pc_req **reqs;
	unsigned int n, cap;
};

/*
 *   GROUP_ACTIVE   in the engine's table; takes new paths.
 *   GROUP_RETIRED  no new paths; queued to the reaper, which unlinks it
 *                  and hands it to a destroyer thread.  A group retires
 *                  when pc_engine_reset() finds it empty, when its last
 *                  path leaves every slot to an orphan (fully orphaned), or
 *                  at pc_engine_free().
 */
enum group_state {
	GROUP_ACTIVE,
	GROUP_RETIRED,
};

/* A group's read buffers (bufpool.c).  Slabs with free blocks are on
 * partial, all-free ones on empty (oldest first), full ones on neither. */
struct bufpool {
	struct cds_list_head partial;	/* [G] */
	struct cds_list_head empty;	/* [G] */
	struct cds_list_head all;	/* [G] every slab, for group_free() */
	unsigned int slabs;		/* [G] */
	/* When the worker trims next (bufpool_trim()); UINT64_MAX: nothing
	 * to trim.  Written under [G]; the worker reads it without. */
	_Atomic uint64_t trim_at_us;
};

struct aio_group {
	pthread_mutex_t lock;
	/* tid holding lock, 0: none.  Relaxed: a thread only compares it
	 * with its own tid, and always sees its own stores. */
	_Atomic(const void *) lock_owner;	/* owned_lock() */
	enum group_state state;		/* [G] */
	unsigned int size;		/* slots: paths + orphans <= size */
	unsigned int paths;		/* [G] */
	unsigned int orphans;		/* [G] slots held by orphans */
	unsigned int inflight;		/* [G] reads in the kernel */
	/* paths + orphans, for lockless scans; relaxed, rechecked locked */
	_Atomic unsigned int used;
	/* heap top, UINT64_MAX when empty; seq_cst, see
	 * worker_watch_deadline() */
	_Atomic uint64_t next_deadline_us;
	struct deadline_heap heap;	/* [G] */
	_Atomic bool has_failed;	/* failed_list not empty; set under [G] */
	_Atomic bool has_owed;		/* owed_list not empty; set under [G] */
	/* on_result calls owed on the group, all paths together; written
	 * under [G], read without by PC_SYNC callers deciding whether to
	 * reap (relaxed: a hint). */
	_Atomic unsigned int owed_total;
	_Atomic unsigned int dropped;	/* answers for requests in a wrong state */
	/* PC_SYNC checks using the group outside any RCU read section (from
	 * their io_submit() to their return): a fully orphaned group does not
	 * retire while > 0; the last one out retires it (group_unpin()). */
	unsigned int pins;		/* [G] */
	/* Who consumes the completion ring: its worker, or a PC_SYNC caller
	 * reaping its own answer (group_reap_begin/end, worker.c).  A try
	 * lock, never waited for; one who finds it taken sets reap_missed,
	 * which the holder reads once it lets go (both seq_cst). */
	_Atomic bool reaping;
	_Atomic bool reap_missed;
	/* Silent reads whose answer no caller waits for (req->polled):
	 * while > 0 the worker reaps the ring every PC_POLL_MS.  Written
	 * under [G]; the worker reads it without (relaxed: rechecked). */
	_Atomic unsigned int polled;
	/* The ring holder sleeps in io_getevents() with no timeout
	 * (untimed_begin(), check.c): whoever posts a waiter of the group
	 * kicks the ring (group_kick()).  seq_cst: see untimed_begin(). */
	_Atomic bool untimed;
	enum kick_state kick;		/* [R], see enum kick_state */
	int kick_efd;			/* -1 until KICK_UNARMED */
	io_context_t ctx;
	int efd;			/* every iocb signals it */
	struct pc_engine *engine;
	struct worker *worker;		/* the one that polls efd */
	struct bufpool bufs;		/* one block per read in flight */
	/* Above, what a check touches, in as few cache lines as they fit;
	 * below, what it does not. */
	struct cds_list_head path_list;	/* [G] */
	struct cds_list_head orphan_list; /* [G] ORPHAN and (retired) REAPED */
	struct cds_list_head failed_list; /* [G] FAILED requests */
	struct cds_list_head owed_list;	/* [G] paths owed an on_result */
	unsigned int id;
	struct iocb kick_iocb;		/* [R] the poll of kick_efd */
	struct reap_item reap;		/* reaper queue, when RETIRED */
	struct cds_list_head backlog_node; /* engine->backlog (reaper) */
};

/*
 * The groups of an engine, indexed by group id, NULL where no group has the
 * id.  Published by RCU: never changed once published, replaced whole
 * under engine->groups_lock.  Workers find a group from its epoll event by
 * id here, so an event that outlives its group finds NULL (or the group
 * that took the id since, which is harmless to reap).
 */
struct group_table {
	unsigned int n;
	struct rcu_head rcu;
	struct aio_group *groups[];
};

/* A result a worker hands to on_result once it has dropped the locks. */
struct delivery {
	struct pc_path *path;
	int state;
};

/* The stop/stopped handshake of worker and reaper threads. */
enum thread_run {
	THREAD_RUNNING,
	THREAD_STOP,		/* asked to stop by pc_engine_free() */
	THREAD_STOPPED,		/* acknowledged; about to return */
	THREAD_JOINED,		/* joined by pc_engine_free() */
};

struct worker {
	struct pc_engine *engine;
	pthread_t thread;
	unsigned int id;
	int epfd;
	int wakefd;			/* ends epoll_wait early */
	_Atomic enum thread_run run;
	/* What it sleeps until; a submitter with an earlier deadline wakes it.
	 * 0 while it scans. */
	_Atomic uint64_t sleep_until_us;
	/* The path whose on_result runs now (pc_path_free waits it out). */
	_Atomic(struct pc_path *) delivering;
	/* In application code (on_result, on_free, the log) or stopped: it
	 * watches no deadline meanwhile, so no ring holder of its groups may
	 * sleep untimed.  Meets group->untimed Dekker-style (untimed_begin(),
	 * check.c, and leave_untimed(), worker.c); seq_cst. */
	_Atomic bool away;
	/* The path whose callback this worker's on_result waits out in
	 * pc_path_free, published only once it knows it must wait, so that
	 * callbacks freeing each other's paths see a true cycle and no other. */
	_Atomic(struct pc_path *) waiting_for;
	struct delivery *batch;		/* worker-private */
	size_t batch_n, batch_cap;
};

struct reaper {
	pthread_t thread;
	int wakefd;
	_Atomic enum thread_run run;
	struct cds_wfcq_head head;	/* REAPED requests and RETIRED groups */
	struct cds_wfcq_tail tail;
};

/* The counters, each named as in struct pc_stats and in its order: the
 * engine's copy below and pc_engine_stats() both come from this list, so
 * a new counter is its pc_stats field and one entry here. */
#define ENGINE_STATS(X) \
	X(paths) X(groups) X(inflight) X(orphans) \
	X(checks) X(up) X(down) X(timeouts) \
	X(groups_created) X(groups_destroyed) \
	X(orphans_reaped) X(late_completions) X(aio_slots)

struct engine_stats {
#define ENGINE_STAT_FIELD(f) _Atomic uint64_t f;
	ENGINE_STATS(ENGINE_STAT_FIELD)
#undef ENGINE_STAT_FIELD
};

struct pc_engine {
	struct pc_options opts;		/* defaults filled in */
	pthread_mutex_t groups_lock;
	/* pc_engine_free() has begun: no new path (-ESHUTDOWN), so that a
	 * path an on_result makes meanwhile is not left behind.  Stored under
	 * groups_lock, before free_all_paths() locks each group; loaded under
	 * groups_lock (new groups) or a group lock (linking a path).  Relaxed:
	 * those locks order it. */
	_Atomic bool closing;
	/* pc_engine_free() has joined the workers: no read section can hold a
	 * group any more (the API forbids other calls on a dying engine), so
	 * the reaper takes groups down without a grace period. */
	_Atomic bool quiesced;
	struct group_table *groups;	/* RCU; written under groups_lock */
	struct worker *workers;
	unsigned int nworkers;
	struct reaper reaper;
	struct engine_stats stats;
	/* Destroyers still running for this engine, and their jobs; under
	 * graveyard_lock. */
	unsigned int destroying;
	struct cds_list_head destroy_jobs;
	pthread_cond_t destroyed;	/* signalled under graveyard_lock */
	/* Retired groups no destroyer thread could be started for yet;
	 * reaper-private.  The reaper retries; when it stops it gives them
	 * up (kept until the process exits). */
	struct cds_list_head backlog;
	unsigned int backlog_n;
};

/* Every statistics counter goes through these: relaxed, since a counter
 * orders nothing (readers get a snapshot that may be a moment old). */
#define stat_add(e, f, n) \
	atomic_fetch_add_explicit(&(e)->stats.f, (n), memory_order_relaxed)
#define stat_sub(e, f, n) \
	atomic_fetch_sub_explicit(&(e)->stats.f, (n), memory_order_relaxed)

/* A log line kept while a lock is held and written once it is dropped:
 * no library lock is ever held across the log callback. */
struct pending_log {
	int prio;
	char msg[400];
};

/* util.c */
uint64_t pc_now_us(void);
/* No pc_* call is a cancellation point (pathcheck(3)): public calls that
 * may reach one (a wait, a write to an eventfd, a log callback) defer
 * cancellation for their duration. */
int pc_nocancel_begin(void);
void pc_nocancel_end(int old);
void pc_log_later(struct pending_log *l, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pc_log_flush(struct pc_engine *e, struct pending_log *l);
void pc_log(struct pc_engine *e, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A mutex that records its holder (util.c): abort with a message on a
 * second lock, an unlock or a check by a thread that does not hold it. */
void owned_lock(pthread_mutex_t *m, _Atomic(const void *) *owner, const char *name);
void owned_unlock(pthread_mutex_t *m, _Atomic(const void *) *owner, const char *name);
void owned_lock_bug(const char *name, const char *what)
	__attribute__((noreturn, cold));
void lock_group(struct aio_group *g);
void unlock_group(struct aio_group *g);

/*
 * A thread's mark as a lock holder: unique among live threads.  The
 * thread pointer, read from a register: no call at all, where the address
 * of a thread-local variable in a shared library costs a __tls_get_addr()
 * and pthread_self() a call into libc.  The `_locked` functions check it
 * about 20 times a PC_SYNC check, so it is inline.
 */
static inline const void *owner_mark(void)
{
#if defined(__has_builtin) && __has_builtin(__builtin_thread_pointer)
	return __builtin_thread_pointer();
#else
	return (const void *)pthread_self();
#endif
}

/* Aborts unless the calling thread holds the lock whose holder is owner.
 * Relaxed: only this thread compares the owner word with its own mark. */
static inline void owned_held(_Atomic(const void *) *owner, const char *name)
{
	if (atomic_load_explicit(owner, memory_order_relaxed) != owner_mark())
		owned_lock_bug(name, "not held by the caller of a function "
			       "that needs it");
}

static inline void lock_held(struct aio_group *g)
{
	owned_held(&g->lock_owner, "a group lock");
}

/* heap.c */
int heap_init(struct deadline_heap *h, unsigned int cap);
void heap_free(struct deadline_heap *h);
void heap_push(struct deadline_heap *h, struct pc_req *r);
void heap_remove(struct deadline_heap *h, struct pc_req *r);
struct pc_req *heap_top(const struct deadline_heap *h);

/* group.c */
int group_get_slot(struct pc_engine *e, struct aio_group **gp);
void group_release_slot_locked(struct aio_group *g);
void group_update_deadline_locked(struct aio_group *g);
bool group_retire_if_fully_orphaned_locked(struct aio_group *g);
bool group_retire_locked(struct aio_group *g);
bool group_unpin_locked(struct aio_group *g);
void group_unpin(struct aio_group *g);
void group_unlink(struct pc_engine *e, struct aio_group *g);
void group_free(struct aio_group *g);
int engine_reset_groups(struct pc_engine *e);
void engine_retire_all_groups(struct pc_engine *e);
struct group_table *engine_groups(struct pc_engine *e); /* in an RCU read section */
struct aio_group *engine_group(struct pc_engine *e, uint64_t id); /* likewise */

/* bufpool.c */
void bufpool_init(struct bufpool *bp);
int req_take_buf_locked(struct aio_group *g, struct pc_req *r, unsigned int bytes,
		   uint64_t now);
void req_give_buf_locked(struct aio_group *g, struct pc_req *r, uint64_t now);
void bufpool_trim(struct aio_group *g, uint64_t now);
void bufpool_free(struct bufpool *bp);

/* check.c */
bool req_complete_locked(struct aio_group *g, struct pc_req *r, long res,
		    struct worker *w);
void req_timeout_locked(struct aio_group *g, struct pc_req *r, struct worker *w);
bool req_try_cancel_locked(struct aio_group *g, struct pc_req *r);
bool req_detach_locked(struct aio_group *g, struct pc_req *r);
bool finish_overdue_locked(struct aio_group *g, struct pc_req *r, uint64_t now);
void post_waiters_locked(struct pc_path *p, int state);

/* odirect.c */
struct odirect_file;
struct stat;
int odirect_attach(struct pc_engine *e, struct pc_path *p, const char *name,
		   const struct stat *st);
void odirect_detach(struct pc_path *p);
/* odirect_lock across fork() (thread.c): the child finds it free. */
void odirect_before_fork(void);
void odirect_after_fork(void);

/* worker.c */
int workers_start(struct pc_engine *e);
void workers_stop(struct pc_engine *e);
void workers_free(struct pc_engine *e);
void worker_watch_deadline(struct worker *w, uint64_t deadline_us);
int worker_add_group(struct worker *w, struct aio_group *g);
void worker_del_group(struct worker *w, struct aio_group *g);
void worker_queue_delivery(struct worker *w, struct pc_path *p, int state);
void worker_wake(struct worker *w);
void worker_kick(struct worker *w);
bool in_worker_thread(void);
void worker_wait_delivery(struct worker *w, struct pc_path *p);
bool group_reap_begin(struct aio_group *g);
void group_reap_end(struct aio_group *g);
void group_reap_end_locked(struct aio_group *g);
void group_kick(struct aio_group *g);
bool kick_arm(struct aio_group *g);
bool worker_log_begin(void);
void worker_log_end(bool began);
bool group_take_kick(struct aio_group *g, const struct io_event *ev);
void path_owe_locked(struct aio_group *g, struct pc_path *p, int state);
void path_pay_owed_locked(struct worker *w, struct pc_path *p);
void path_forget_owed_locked(struct aio_group *g, struct pc_path *p);

/* reaper.c */
int reaper_start(struct pc_engine *e);
void reaper_stop(struct pc_engine *e);
void reaper_queue_req(struct pc_engine *e, struct pc_req *r);
void reaper_wake(struct pc_engine *e);
void reaper_take_group(struct pc_engine *e, struct aio_group *g);

/* destroy.c */
void destroy_group_async(struct pc_engine *e, struct aio_group *g);
void destroy_retry_backlog(struct pc_engine *e, bool stopping);
void destroy_wait(struct pc_engine *e, uint64_t until_us);
void destroy_before_fork(void);
void destroy_after_fork(void);

/* thread.c */
int pc_threads_init(void);
int pc_sched_check(int policy, int priority);
int spawn_quiet(struct pc_engine *e, pthread_t *t, size_t stack,
		void *(*fn)(void *), void *arg);

/* path.c */
void path_free_rcu(struct rcu_head *head);
void path_put(struct pc_path *p);
void free_owed_pay(struct pc_path *p);

#endif
