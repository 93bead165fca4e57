/* SPDX-License-Identifier: MIT */
/*
 * bench/syncloop.c: PC_SYNC as multipathd would call it, with no on_result:
 * one thread, checks back to back over N paths of one device; prints
 * checks/s, the p50 of pc_check()'s own return latency, and the CPU per
 * check of the whole process (every library thread included).
 * pathcheck-stress measures up to on_result instead, which adds the
 * callback's hand-off to a worker (docs/performance.md, "Round 3").
 * Built by hand against a build's static library, e.g.:
 *
 *   cc -O2 -D_GNU_SOURCE -Iinclude -o /tmp/syncloop bench/syncloop.c \
 *      build/libpathcheck.a -laio -lurcu-bp -lurcu-common -lpthread
 *   /tmp/syncloop /dev/loopN 1024 2      # DEVICE PATHS SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "pathcheck.h"

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ULL +
	       (unsigned long long)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static double cpu_s(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 +
	       r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct pc_options o = { .workers = 0 };
	size_t cap = 4000000, k = 0;
	unsigned long long *lat, t0, end;
	struct pc_engine *e;
	struct pc_path **p;
	double wall, cpu;
	int n;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DEVICE PATHS SECONDS\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	p = calloc((size_t)n, sizeof(*p));
	lat = malloc(cap * sizeof(*lat));
	if (n <= 0 || !p || !lat || pc_engine_new(&o, &e))
		return 1;
	for (int i = 0; i < n; i++)
		if (pc_path_open(e, argv[1], NULL, &p[i]))
			return 1;
	cpu = cpu_s();
	t0 = now_ns();
	end = t0 + (unsigned long long)(atof(argv[3]) * 1e9);
	for (int i = 0; now_ns() < end; i = (i + 1) % n) {
		unsigned long long s = now_ns();

		if (pc_check(p[i], PC_SYNC) != PC_UP)
			return 3;
		if (k < cap)
			lat[k++] = now_ns() - s;
	}
	wall = (now_ns() - t0) / 1e9;
	cpu = cpu_s() - cpu;
	qsort(lat, k, sizeof(*lat), cmp);
	printf("paths %d: %.0f checks/s, p50 %.1f us, cpu %.2f us/check\n",
	       n, k / wall, lat[k / 2] / 1000.0, cpu * 1e6 / k);
	for (int i = 0; i < n; i++)
		pc_path_free(p[i]);
	pc_engine_free(e);
	return 0;
}
