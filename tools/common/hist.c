/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "hist.h"

static const uint64_t prometheus_le_us[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
	UINT64_MAX,
};

const struct hist_scale hist_scale_prometheus = {
	.n = sizeof(prometheus_le_us) / sizeof(prometheus_le_us[0]),
	.le_us = prometheus_le_us,
};

/*
 * Log-linear: values below 16 each have a bucket; from 2^k (k >= 4) on,
 * 16 buckets of width 2^(k-4) up to 2^(k+1).  976 buckets cover 2^64.
 */
#define FINE_STEPS	16
#define FINE_BUCKETS	((64 - 3) * FINE_STEPS)
static uint64_t fine_le_us[FINE_BUCKETS];
static struct hist_scale fine_scale = { .n = FINE_BUCKETS, .le_us = fine_le_us };
static pthread_once_t fine_once = PTHREAD_ONCE_INIT;

/* The smallest value of bucket b of the fine scale. */
static uint64_t fine_floor(unsigned int b)
{
	unsigned int msb;

	if (b < FINE_STEPS)
		return b;
	msb = b / FINE_STEPS + 3;
	return ((uint64_t)1 << msb) | ((uint64_t)(b % FINE_STEPS) << (msb - 4));
}

static void fine_setup(void)
{
	for (unsigned int b = 0; b + 1 < FINE_BUCKETS; b++)
		fine_le_us[b] = fine_floor(b + 1) - 1;
	fine_le_us[FINE_BUCKETS - 1] = UINT64_MAX;
}

const struct hist_scale *hist_scale_fine(void)
{
	pthread_once(&fine_once, fine_setup);
	return &fine_scale;
}

void hist_init(struct hist *h, const struct hist_scale *scale)
{
	memset(h, 0, sizeof(*h));
	h->scale = scale;
}

/* The first bucket whose bound is >= us: the last bound is UINT64_MAX. */
static size_t bucket_of(const struct hist_scale *s, uint64_t us)
{
	size_t lo = 0, hi = s->n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (us <= s->le_us[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void hist_add(struct hist *h, uint64_t us)
{
	uint64_t m = atomic_load_explicit(&h->max_us, memory_order_relaxed);

	atomic_fetch_add_explicit(&h->count[bucket_of(h->scale, us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
	while (us > m && !atomic_compare_exchange_weak_explicit(&h->max_us, &m, us,
								memory_order_relaxed,
								memory_order_relaxed))
		;
}

uint64_t hist_count(const struct hist *h)
{
	return atomic_load_explicit(&h->n, memory_order_relaxed);
}

uint64_t hist_bucket(const struct hist *h, size_t i)
{
	return atomic_load_explicit(&h->count[i], memory_order_relaxed);
}

uint64_t hist_sum_us(const struct hist *h)
{
	return atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

uint64_t hist_max_us(const struct hist *h)
{
	return atomic_load_explicit(&h->max_us, memory_order_relaxed);
}

uint64_t hist_quantile_us(const struct hist *h, double q)
{
	uint64_t n = hist_count(h), max = hist_max_us(h), want, seen = 0;

	if (!n)
		return 0;
	want = (uint64_t)(q * (double)n);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < h->scale->n; i++) {
		seen += hist_bucket(h, i);
		if (seen >= want)
			return h->scale->le_us[i] < max ? h->scale->le_us[i] : max;
	}
	return max;
}
