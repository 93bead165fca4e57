/* SPDX-License-Identifier: MIT */
/*
 * libpathcheck: concurrent directio path checking over shared Linux AIO
 * contexts.
 *
 * Every function returns a negative errno value on failure.  Functions that
 * report a path state return one of enum pc_state (never negative).
 *
 * Synchronization: every call may come from any thread at any time, with
 * these rules (docs/design.md has the reasons):
 *
 *                          | pc_check*  pc_path_state  pc_path_new  pc_path_free  pc_engine_   pc_engine_
 *                          |            _result ...    pc_path_open               reset/stats  free
 *  ------------------------+---------------------------------------------------------------------------
 *  pc_check* (same path)   | yes        yes            yes          [1]           yes          no
 *  pc_check* (other path)  | yes        yes            yes          yes           yes          no
 *  pc_path_new/open        | yes        yes            yes          yes           yes          no
 *  pc_engine_reset/stats   | yes        yes            yes          yes           yes          no
 *  on_result (a worker)    | yes [4]    yes            yes          yes [2]       yes          [3]
 *
 *  [1] A call that races with pc_path_free() of its path answers -ENODEV
 *      (pc_path_arg: NULL) or works as if it came first; a call made after
 *      pc_path_free() has returned is a use after free.  From on_result the
 *      path passed in stays valid until the callback returns, whoever frees
 *      it meanwhile, and answers -ENODEV once a free has begun.
 *  [2] Once pc_path_free(path) has returned, no on_result for path runs or
 *      will run, except when callbacks free each other's paths (a true
 *      cycle): see pc_path_free(3).
 *  [3] Refused (logged) from on_result.  While pc_engine_free() frees the
 *      paths, callbacks still running may touch any path of the engine:
 *      those being freed answer -ENODEV; pc_path_new/open answer
 *      -ESHUTDOWN.
 *  [4] Not PC_SYNC (-EDEADLK).  A check started with PC_SYNC |
 *      PC_NOCALLBACK runs no on_result: its one result is the caller's
 *      return (and pc_path_result): no worker is woken to deliver it.
 *
 * No library lock is held while a callback (on_result, log) runs: a callback
 * may take the application's locks and call any pc_* function allowed above.
 */
#ifndef PATHCHECK_H
#define PATHCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PATHCHECK_VERSION_MAJOR 0
#define PATHCHECK_VERSION_MINOR 2

struct pc_engine;
struct pc_path;

/* What a zeroed field of struct pc_options means. */
#define PC_DEFAULT_GROUP_SIZE	1024u	/* paths per aio group */
#define PC_DEFAULT_TIMEOUT_MS	30000u	/* deadline of a check */
#define PC_MAX_COALESCE_US	10000u	/* pc_options.coalesce_us */
#define PC_DEFAULT_SHUTDOWN_MS	1000u	/* pc_engine_free's wait on hung reads */
#define PC_DEFAULT_STACK_SIZE	(256u * 1024u) /* worker and reaper stacks */
#define PC_MIN_STACK_SIZE	(64u * 1024u)	/* pc_options.stack_size */

enum pc_state {
	PC_UNCHECKED = 0,	/* no check has finished yet */
	PC_UP = 1,		/* the whole block was read */
	PC_DOWN = 2,		/* error, short read or deadline passed */
	PC_PENDING = 3,		/* a read is in flight, deadline not reached */
};

/* Why the latest finished check of a path ended the way it did. */
enum pc_reason {
	PC_REASON_NONE = 0,	/* no check has finished yet */
	PC_REASON_OK = 1,	/* the whole block was read */
	PC_REASON_IO_ERROR = 2,	/* the read failed: pc_result.error */
	PC_REASON_SHORT_READ = 3, /* fewer bytes than the block: pc_result.bytes */
	PC_REASON_TIMEOUT = 4,	/* no answer before the deadline */
	PC_REASON_SUBMIT_ERROR = 5, /* io_submit refused it, or no memory for
				       its buffer: pc_result.error */
};

/* Flags of pc_check(). */
/* Wait for the result: until the read's deadline (plus 20 ms for the
 * worker's verdict).  From on_result: -EDEADLK.  No pc_* call is a
 * cancellation point (pathcheck(3)). */
#define PC_SYNC	(1U << 0)
/* With PC_SYNC only (else -EINVAL): the check this call starts gives its
 * result to the return and to pc_path_result()/pc_path_state() as always,
 * but never to on_result, so no worker wakes for it.  A timed-out one
 * calls back neither at the deadline nor when its late answer comes.  A
 * call that joins a check already running (pc_check(3)) leaves that
 * check's callback as it was started. */
#define PC_NOCALLBACK	(1U << 1)

/*
 * ABI: pc_options, pc_stats and pc_result end in reserved space, so that
 * later releases add fields without changing their size (docs/abi.md).
 * Zero pc_options whole (a designated initializer or memset) before setting
 * fields: pc_engine_new() refuses non-zero reserved fields with -EINVAL.
 */
struct pc_options {		/* zeroed fields take defaults */
	unsigned int workers;	/* default: online CPUs */
	unsigned int group_size; /* paths per aio group: PC_DEFAULT_GROUP_SIZE */
	unsigned int timeout_ms; /* deadline of a check: PC_DEFAULT_TIMEOUT_MS */
	unsigned int shutdown_ms; /* most pc_engine_free waits on hung reads:
				    PC_DEFAULT_SHUTDOWN_MS */
	/* syslog priorities; NULL: warnings and worse to stderr.  Called
	 * with no library lock held. */
	void (*log)(void *arg, int priority, const char *msg);
	void *log_arg;
	/*
	 * Optional.  Called from a worker thread exactly once for every check
	 * that finishes, timeouts included, sync checks included (but not
	 * those started with PC_SYNC | PC_NOCALLBACK), with the
	 * same state the check's other observers got (pc_check's return,
	 * pc_path_result).  Must not block.  It may call any pc_* function,
	 * pc_path_free() of any path included, but not pc_engine_free()
	 * (refused, logged) nor a PC_SYNC check (-EDEADLK).  Calls on a path
	 * whose pc_path_free() has begun answer -ENODEV.  Once
	 * pc_path_free(path) has returned, no on_result for path runs or will
	 * run (see pc_path_free(3) for the one exception: callbacks freeing
	 * each other's paths), unless on_free is set.  No library lock is
	 * held while it runs.  It may take the application's locks, except
	 * one that a thread holds across pc_path_free() of its path while
	 * on_free is not set: that free would wait for it (pathcheck(3),
	 * "Locks and callbacks").
	 */
	void (*on_result)(struct pc_path *path, int state, void *path_arg);
	/*
	 * 0 (the default): a worker reaps each answer as it wakes for it.
	 * Else a worker woken by an answer first waits this many microseconds
	 * (at most PC_MAX_COALESCE_US) for more, and reaps them all at once:
	 * one wake-up for a burst of answers instead of one each.  Results,
	 * sync checks' returns and deadlines may come that much later.  For
	 * callers that start many checks together and do not wait on one.
	 */
	unsigned int coalesce_us;
	unsigned int resv32;	/* must be zero */
	/*
	 * Optional.  With it, pc_path_free() never waits for an on_result:
	 * on_free(path_arg) is called exactly once for every path freed,
	 * once no on_result for it runs or will run: by pc_path_free()
	 * itself before it returns when none runs, else by the worker when
	 * the running one returns.  So an on_result may then wait for a lock
	 * that a thread holds across pc_path_free() of its path (the
	 * application's table lock, say).  Must not block; no library lock
	 * is held while it runs.  Without it, pc_path_free() waits for a
	 * running on_result of its path (see pathcheck(3), "Locks and
	 * callbacks").
	 */
	void (*on_free)(void *path_arg);
	/* Stack of each worker and the reaper, in bytes: at least
	 * PC_MIN_STACK_SIZE; 0: PC_DEFAULT_STACK_SIZE.  on_result and log run
	 * on these stacks. */
	unsigned int stack_size;
	/* Scheduling of every library thread, set explicitly, never inherited
	 * from the creating thread: a sched(7) policy (0: SCHED_OTHER) and,
	 * for SCHED_FIFO and SCHED_RR, its priority (else 0).
	 * pc_engine_new() answers -EINVAL for a policy or priority it does
	 * not know, -EPERM for one the process may not use. */
	int sched_policy;
	int sched_priority;
	unsigned int resv32b;	/* must be zero */
	uint64_t resv[4];	/* must be zero */
};

struct pc_stats {
	uint64_t paths;		/* paths now attached */
	uint64_t groups;	/* aio groups now alive */
	uint64_t inflight;	/* reads now in the kernel, orphans included */
	uint64_t orphans;	/* reads whose path was freed, not yet reaped */
	uint64_t checks;	/* checks finished */
	uint64_t up;		/* ... of which PC_UP */
	uint64_t down;		/* ... of which PC_DOWN, timeouts included */
	uint64_t timeouts;	/* ... of which timed out */
	uint64_t groups_created;
	uint64_t groups_destroyed;
	uint64_t orphans_reaped; /* orphans freed by the reaper */
	uint64_t late_completions; /* answers that came after the deadline */
	uint64_t aio_slots;	/* io_setup events held: fs.aio-nr used by us */
	uint64_t resv[8];	/* zero; later counters come here */
};

/* The latest finished check of a path. */
struct pc_result {
	int state;		/* PC_UNCHECKED, PC_UP or PC_DOWN */
	int reason;		/* enum pc_reason */
	int error;		/* positive errno for IO_ERROR / SUBMIT_ERROR */
	unsigned int bytes;	/* bytes the read returned */
	uint64_t latency_us;	/* submit to answer (timeouts: to the deadline) */
	uint64_t finished_ms;	/* CLOCK_MONOTONIC milliseconds */
	uint64_t checks;	/* checks finished on this path so far */
	uint64_t resv[4];	/* zero; later fields come here */
};

int  pc_engine_new(const struct pc_options *opts, struct pc_engine **enginep);
void pc_engine_free(struct pc_engine *engine);
int  pc_engine_reset(struct pc_engine *engine);
int  pc_engine_stats(struct pc_engine *engine, struct pc_stats *stats);

int  pc_path_new(struct pc_engine *engine, int fd, void *path_arg,
		 struct pc_path **pathp);
int  pc_path_open(struct pc_engine *engine, const char *dev, void *path_arg,
		  struct pc_path **pathp);
void pc_path_free(struct pc_path *path);
int  pc_path_set_timeout(struct pc_path *path, unsigned int timeout_ms);
int  pc_path_state(struct pc_path *path);
int  pc_path_result(struct pc_path *path, struct pc_result *result);
int  pc_path_blksize(struct pc_path *path);
void *pc_path_arg(struct pc_path *path);

int  pc_check(struct pc_path *path, int flags);
int  pc_check_many(struct pc_path *const *paths, size_t n);

const char *pc_state_name(int state);
const char *pc_reason_name(int reason);

#ifdef __cplusplus
}
#endif

#endif /* PATHCHECK_H */
