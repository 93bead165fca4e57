/* SPDX-License-Identifier: MIT */
/*
 * The tools' latency histogram: counts over a fixed scale of buckets, each
 * bucket an inclusive upper bound in microseconds, the last one unbounded.
 * pathcheckd uses the Prometheus scale (metrics, schedule lag); the stress
 * tool the fine log-linear scale (percentiles).  The counters are relaxed
 * atomics: any number of threads may add while one reads; a reader sees
 * each counter whole, not all of them at one instant.
 */
#ifndef TOOLS_HIST_H
#define TOOLS_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hist_scale {
	size_t n;			/* buckets, at most HIST_MAX_BUCKETS */
	const uint64_t *le_us;		/* ascending; le_us[n - 1] == UINT64_MAX */
};

#define HIST_MAX_BUCKETS	1024

/* 100 us .. 30 s in 17 steps, then +Inf: pathcheckd's metric buckets. */
extern const struct hist_scale hist_scale_prometheus;
/* 16 linear steps in each power of two: percentiles within 6.25%. */
const struct hist_scale *hist_scale_fine(void);

struct hist {
	const struct hist_scale *scale;
	atomic_uint_fast64_t count[HIST_MAX_BUCKETS];
	atomic_uint_fast64_t n, sum_us, max_us;
};

void hist_init(struct hist *h, const struct hist_scale *scale);
void hist_add(struct hist *h, uint64_t us);
uint64_t hist_count(const struct hist *h);
uint64_t hist_bucket(const struct hist *h, size_t i);	/* not cumulative */
uint64_t hist_sum_us(const struct hist *h);
uint64_t hist_max_us(const struct hist *h);
/* The upper bound of the bucket holding quantile q (0..1), never above
 * the largest value added; 0 when empty. */
uint64_t hist_quantile_us(const struct hist *h, double q);

#endif
