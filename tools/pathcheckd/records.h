/* SPDX-License-Identifier: MIT */
/* The daemon's records, one per path, and their index.  Main thread only. */
#ifndef PATHCHECKD_RECORDS_H
#define PATHCHECKD_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "pathcheck.h"
#include "config.h"
#include "flap.h"

/*
 * What the daemon reports of a path: the engine's finished state refined
 * by its reason, in multipathd's chk_st words.  The record keeps the latest
 * finished check, never "pending": a read in flight is not news.
 */
enum chk_st {
	CHK_UNDEF = 0,		/* no check finished yet */
	CHK_READY,		/* up */
	CHK_FAULTY,		/* down: io error, short read, submit error, open failed */
	CHK_TIMEOUT,		/* down: no answer before the deadline */
	CHK_PENDING,		/* display only: undef with a read in flight */
	CHK_UNOPENED,		/* configured, not open: a host limit or error */
	CHK_HELD,		/* display only: held out by `fail path` (hold.c) */
};
#define CHK_NSTATES (CHK_HELD + 1)
/* Marginal (flapping, slow: flap.c) is no checker state: a marginal path
 * shows and counts as its checker state says, and its marginal flag apart. */
const char *chk_st_name(enum chk_st st);	/* "ready", "i/o timeout"... */

/* Reasons beyond the engine's enum pc_reason. */
#define REASON_OPEN_FAILED 100

enum rec_state {
	REC_ACTIVE,		/* in the table and the schedule */
	REC_REMOVED,		/* out of both; freed after the result queue drains */
};

struct daemon;

struct rec {
	struct daemon *d;		/* immutable: on_result's way back */
	enum rec_state rstate;
	struct pc_path *path;		/* NULL when the open failed */
	char *dev;			/* canonical path */
	char *name;			/* "sdb" */
	uint64_t rdev;			/* dev_t of a block device; 0: none (format.c) */
	struct rec_sysfs *sys;		/* its sysfs attributes; NULL: none (format.c) */
	unsigned int interval_ms, timeout_ms;
	unsigned int timeout_line;	/* where timeout_ms came from: a line, */
	bool timeout_sysfs;		/* the device's sysfs timeout, or neither: default */

	/* latest finished check */
	enum chk_st st;
	bool held;			/* `fail path`: not scheduled (hold.c) */
	struct rec_flap fl;		/* marginal and backoff (flap.c) */
	int reason;			/* enum pc_reason or REASON_OPEN_FAILED */
	int error;			/* positive errno */
	uint64_t latency_us;
	uint64_t checks;
	uint64_t transitions;
	uint64_t last_change_ms;	/* monotonic; 0: never */

	/* schedule */
	uint64_t due_ms;
	size_t heap_idx;

	size_t idx;			/* in daemon.recs */
	uint64_t removed_gen;		/* drain_gen when removed */

	/* CHK_UNOPENED: the next open attempt (limits.c) */
	uint64_t retry_ms;		/* monotonic; 0: at the next pass */
	unsigned int backoff_ms;	/* doubles up to LIMITS_BACKOFF_MAX_MS */
	int open_err_logged;		/* errno last logged for it; 0: none */
	struct rec *hnext;		/* device-path index chain */

	/* ids of clients waiting on a `check` of this path */
	uint64_t *waiters;
	size_t nwaiters;
};

int  recs_add(struct daemon *d, const char *dev, const char *name,
	      unsigned int interval_ms, unsigned int timeout_ms,
	      struct rec **recp);
void recs_remove(struct daemon *d, struct rec *r);
void recs_reap_removed(struct daemon *d, uint64_t gen);
struct rec *recs_find(struct daemon *d, const char *what);
struct rec *recs_find_dev(struct daemon *d, const char *dev);	/* exact */
const struct cfg_dev *recs_cfg_dev(const struct cfg_dev *devs, size_t n,
				  const char *dev);	/* devs sorted by path */
void recs_sort_devs(struct cfg_dev *devs, size_t n);
void recs_retune(struct daemon *d, struct rec *r, const struct cfg_dev *cd);
int  recs_apply_config(struct daemon *d, const struct config *cfg);
void recs_free_all(struct daemon *d);
void recs_sort(struct daemon *d);
void rec_display(const struct rec *r, enum chk_st *st);
/* The one count of paths by displayed state; *marginal: marginal paths,
 * whatever their state (may be NULL). */
void recs_count_states(const struct daemon *d, uint64_t count[CHK_NSTATES],
		       uint64_t *marginal);
const char *rec_reason_text(const struct rec *r, char *buf, size_t len);

#endif
