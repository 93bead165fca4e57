/* SPDX-License-Identifier: MIT */
/* Text buffers, logging, clocks and the latency histogram. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pathcheckd.h"

/* --- sbuf ---------------------------------------------------------------- */

static bool sb_reserve(struct sbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sb_append(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !sb_reserve(b, (size_t)n))
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

void sb_consume(struct sbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p)
		b->p[b->len] = '\0';
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- time ---------------------------------------------------------------- */

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fmt_wall(char *buf, size_t len, uint64_t mono_ms)
{
	struct timespec rt;
	struct tm tm;
	time_t t;
	uint64_t age = now_ms() - mono_ms;

	clock_gettime(CLOCK_REALTIME, &rt);
	t = rt.tv_sec - (time_t)(age / 1000);
	if ((uint64_t)rt.tv_nsec / 1000000 < age % 1000)
		t--;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- histogram ------------------------------------------------------------ */

const double hist_bounds_s[HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 1e300,
};

void hist_add(struct hist *h, double s)
{
	size_t i = 0;

	while (i < HIST_BUCKETS - 1 && s > hist_bounds_s[i])
		i++;
	h->count[i]++;
	h->n++;
	h->sum_s += s;
	if (s > h->max_s)
		h->max_s = s;
}

/* Upper bound of the bucket holding quantile q (0..1). */
double hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want)	/* a bucket's bound, never above the max */
			return i == HIST_BUCKETS - 1 || hist_bounds_s[i] > h->max_s ?
			       h->max_s : hist_bounds_s[i];
	}
	return h->max_s;
}
