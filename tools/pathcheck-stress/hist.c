/* SPDX-License-Identifier: MIT */
#include "stress.h"

static unsigned int bucket_of(uint64_t v)
{
	unsigned int msb;

	if (v < HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	/* msb >= 4: 16 linear steps between 2^msb and 2^(msb+1) */
	return (msb - 3) * HIST_SUB + (unsigned int)((v >> (msb - 4)) & (HIST_SUB - 1));
}

static uint64_t value_of(unsigned int b)
{
	unsigned int msb;

	if (b < HIST_SUB)
		return b;
	msb = b / HIST_SUB + 3;
	return ((uint64_t)1 << msb) | ((uint64_t)(b % HIST_SUB) << (msb - 4));
}

void hist_add(struct hist *h, uint64_t v)
{
	uint64_t m = atomic_load_explicit(&h->max, memory_order_relaxed);

	atomic_fetch_add_explicit(&h->bucket[bucket_of(v)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	while (v > m && !atomic_compare_exchange_weak(&h->max, &m, v))
		;
}

uint64_t hist_pct(struct hist *h, double pct)
{
	uint64_t n = atomic_load(&h->count), want, seen = 0;
	unsigned int b;

	if (!n)
		return 0;
	want = (uint64_t)((double)n * pct / 100.0 + 0.5);
	if (!want)
		want = 1;
	for (b = 0; b < 64 * HIST_SUB; b++) {
		seen += atomic_load(&h->bucket[b]);
		if (seen >= want)
			return value_of(b);
	}
	return hist_max(h);
}

uint64_t hist_max(struct hist *h)
{
	return atomic_load(&h->max);
}
