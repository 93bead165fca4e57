/* SPDX-License-Identifier: MIT */
#ifndef PATHCHECK_STRESS_H
#define PATHCHECK_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct pc_engine;
struct pc_path;

enum path_mode { MODE_UP, MODE_HUNG, MODE_EIO, MODE_SLOW, MODE_FLAKY };

struct spath {
	pthread_mutex_t lock;		/* checker vs churn; never in on_result */
	struct pc_path *p;
	const char *dev;
	atomic_uint mode;		/* enum path_mode */
	atomic_uint start_epoch;	/* mode epoch when the check started */
	atomic_uint_fast64_t start_us;
	atomic_int pending;		/* a started check awaits its result */
	atomic_uint_fast64_t started, delivered;
};

/* Log-linear latency histogram: 64 powers of two, 16 linear steps each. */
#define HIST_SUB 16
struct hist {
	atomic_uint_fast64_t bucket[64 * HIST_SUB];
	atomic_uint_fast64_t max;
	atomic_uint_fast64_t count;
};

void hist_add(struct hist *h, uint64_t v);
uint64_t hist_pct(struct hist *h, double pct);
uint64_t hist_max(struct hist *h);

/* liblog.c: the library's log, and pc_path_open reporting a failure once */
void stress_log(void *arg, int priority, const char *msg);
int stress_path_open(struct pc_engine *e, const char *dev, void *arg, struct pc_path **pp);

int baseline_lifecycle(char **devs, unsigned int ndevs, unsigned int npaths, int json);
/* mpath.c: multipath-tools' libcheckdirectio.so, loaded at run time */
int baseline_multipath(char **devs, unsigned int ndevs, unsigned int npaths,
		       double duration, int rt, int json, int quiet);

#endif
