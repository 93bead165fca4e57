/* SPDX-License-Identifier: MIT */
#ifndef PATHCHECK_STRESS_H
#define PATHCHECK_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "simmode.h"

struct pc_engine;
struct pc_path;
struct pc_stats;
struct stress;

/* RUN_SYNC: PC_SYNC | PC_NOCALLBACK, timed to pc_check's return;
 * RUN_SYNC_CB: PC_SYNC with on_result, timed to on_result. */
enum run_mode { RUN_SYNC, RUN_SYNC_CB, RUN_ASYNC, RUN_BATCH };

/* What the run measures. */
enum program {
	PROG_LOAD,		/* checks under load, judged by the oracle */
	PROG_LIFECYCLE,		/* --lifecycle: add and free paths */
	PROG_PER_PATH_CONTEXT,	/* --baseline per-path-context */
	PROG_MULTIPATH,		/* --baseline multipath-directio */
};

struct stress_cfg {
	enum program program;
	unsigned int npaths, threads, workers, group_size, timeout_ms;
	unsigned int coalesce_us;
	double duration, churn, reset_every, flip;	/* seconds; 0: none */
	uint64_t max_checks;
	enum run_mode mode;
	int json, quiet, shared_fd, sched_other;
	double f_hung, f_eio, f_slow, f_flaky;
	struct sim_mode slow, flaky;	/* of --slow F:MS, --flaky F:P */
	char **devs;
	unsigned int ndevs;
	char *mount;		/* pathsim mount or NULL */
	unsigned int nsim;	/* files p0..pK in the mount */
};

struct spath {
	struct stress *s;		/* immutable: on_result's way back */
	pthread_mutex_t lock;		/* checker vs churn; never in on_result */
	struct pc_path *p;
	const char *dev;
	atomic_uint mode;		/* enum sim_mode_kind */
	atomic_uint start_epoch;	/* mode epoch when the check started */
	atomic_uint_fast64_t start_us;
	atomic_int pending;		/* a started check awaits its result */
	atomic_uint_fast64_t started, delivered;
};

/* What the oracle counted; any thread adds. */
struct stress_counters {
	atomic_uint_fast64_t started, delivered, up, down, timeouts;
	atomic_uint_fast64_t wrong;	/* a healthy path down, a broken one up */
	atomic_uint_fast64_t lost;	/* no result within timeout + 2 s */
	atomic_uint_fast64_t blocked;	/* not started: the last read still held */
	atomic_uint_fast64_t straddled;	/* began before the modes changed: not judged */
	atomic_uint_fast64_t errors, churned, resets;
	atomic_uint_fast64_t delivered_freed;	/* a result nobody was waiting for */
};

/* One run: set up by main, shared by the checker threads and on_result. */
struct stress {
	struct stress_cfg cfg;
	struct pc_engine *engine;
	struct spath *paths;		/* cfg.npaths */
	atomic_uint epoch;		/* odd while modes change */
	atomic_int stopping;
	struct hist hist;		/* check latency, us */
	struct stress_counters ctr;
	unsigned int *sim_mode;		/* mode of each pathsim file */
	unsigned int flip_offset;
	int *shared_fds;		/* --shared-fd: one per device */
};

/* liblog.c: the library's log, and pc_path_open reporting a failure once */
void stress_log(void *arg, int priority, const char *msg);
int stress_path_open(struct pc_engine *e, const char *dev, void *arg, struct pc_path **pp);


/* A checker thread's argument. */
struct checker {
	struct stress *s;
	unsigned int index;
	pthread_t tid;
};

/* args.c */
int parse_args(struct stress_cfg *cfg, int argc, char **argv);
int expand_pathsim(struct stress_cfg *cfg);
void free_devs(struct stress_cfg *cfg);

/* oracle.c */
int control_write(struct stress *s, const char *text);
int apply_modes(struct stress *s);
void flip_modes(struct stress *s);
void mark_started(struct stress *s, struct spath *sp);
void account_check(struct stress *s, struct spath *sp, int ret);
void on_result(struct pc_path *p, int state, void *arg);
void account_result(struct stress *s, struct spath *sp, int state);
void scan_lost(struct stress *s, uint64_t margin_us);
uint64_t outstanding(struct stress *s);

/* drive.c */
void sleep_us(uint64_t us);
int setup_paths(struct stress *s);
void teardown_paths(struct stress *s);
void *checker(void *arg);
void drive(struct stress *s, uint64_t t_start);
void drain(struct stress *s);

/* report.c */
long rss_kib(void);
long peak_rss_kib(void);
long statm_rss_kib(int fd);	/* resident KiB from /proc/self/statm, or -1 */
int report(struct stress *s, double wall, long rss, const struct pc_stats *st, int mismatch);

/* lifecycle.c */
int lifecycle(struct stress *s);

/* baseline.c */
int baseline_lifecycle(char **devs, unsigned int ndevs, unsigned int npaths, int json);
/* mpath.c: multipath-tools' libcheckdirectio.so, loaded at run time */
int baseline_multipath(char **devs, unsigned int ndevs, unsigned int npaths,
		       double duration, int rt, int json, int quiet);

#endif
