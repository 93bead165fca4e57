/* SPDX-License-Identifier: MIT */
#ifndef PATHCHECK_STRESS_H
#define PATHCHECK_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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

int baseline_lifecycle(char **devs, unsigned int ndevs, unsigned int npaths, int json);
/* mpath.c: multipath-tools' libcheckdirectio.so, loaded at run time */
int baseline_multipath(char **devs, unsigned int ndevs, unsigned int npaths,
		       double duration, int rt, int json, int quiet);

#endif
