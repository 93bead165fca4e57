/* SPDX-License-Identifier: MIT */
/*
 * bench/syncloop.c: multipathd's synchronous checker loop, measured alone.
 * One thread checks N paths of one device back to back, for each TARGET:
 *
 *   a libpathcheck.so   each check pc_check(PC_SYNC | PC_NOCALLBACK), the
 *                       library loaded with dlopen(), so that one harness
 *                       measures any build (bench/ab.sh: old and new);
 *   raw                 the same loop on plain libaio, "one depth-1
 *                       fio-style submit-and-wait" per check: io_submit()
 *                       of one O_DIRECT read of the first block into one
 *                       buffer, then io_getevents() with no timeout, as
 *                       fio does at iodepth 1.
 *
 *   syncloop DEVICE PATHS SECONDS TARGET...
 *
 * With several targets they take turns in one process, blocks of BLOCK
 * checks, the order rotated each block, until SECONDS have passed: the
 * machine's swings (this VM's are tens of per cent from one minute to the
 * next) then fall on all of them alike.  Each path has a descriptor of its
 * own in every target.  CPU is the whole process's over a block (every
 * library thread; an idle engine's workers sleep), as fio counts its job's
 * and not its setup.  One JSON line per target, in their order: target (as
 * given), kind (pathcheck or raw), paths, checks, blocks, and medians over
 * its blocks of checks_per_s and cpu_us_per_check, and lat_p50_us over all
 * its checks (call to return).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pathcheck.h"

#define BLOCK		2000u		/* checks in one turn */
#define MAX_TARGETS	4
#define MAX_BLOCKS	20000u
#define MAX_SAMPLES	2000000u

struct target {
	const char *name;
	/* a library: its calls, from dlsym(), its engine and paths */
	int (*check)(struct pc_path *, int);
	struct pc_engine *engine;
	struct pc_path **paths;
	/* raw */
	io_context_t ctx;
	int *fds;
	void *buf;
	size_t blksize;
	/* what was measured */
	double *rate, *cpu;		/* per block */
	unsigned long long *lat;
	size_t blocks, samples, checks;
};

static unsigned long long ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (unsigned long long)t.tv_sec * 1000000000ULL +
	       (unsigned long long)t.tv_nsec;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int lib_setup(struct target *t, const char *dev, int n)
{
	int (*engine_new)(const struct pc_options *, struct pc_engine **);
	int (*path_open)(struct pc_engine *, const char *, void *,
			 struct pc_path **);
	struct pc_options o = { .workers = 0 };
	void *h = dlopen(t->name, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "syncloop: %s\n", dlerror());
		return -1;
	}
	*(void **)&engine_new = dlsym(h, "pc_engine_new");
	*(void **)&path_open = dlsym(h, "pc_path_open");
	*(void **)&t->check = dlsym(h, "pc_check");
	t->paths = calloc((size_t)n, sizeof(*t->paths));
	if (!engine_new || !path_open || !t->check || !t->paths) {
		fprintf(stderr, "syncloop: %s: not a libpathcheck\n", t->name);
		return -1;
	}
	if (engine_new(&o, &t->engine))
		return -1;
	for (int i = 0; i < n; i++)
		if (path_open(t->engine, dev, NULL, &t->paths[i])) {
			fprintf(stderr, "syncloop: %s: cannot open %s\n",
				t->name, dev);
			return -1;
		}
	return 0;
}

static int raw_setup(struct target *t, const char *dev, int n)
{
	int lbs = 0;

	t->fds = calloc((size_t)n, sizeof(*t->fds));
	if (!t->fds)
		return -1;
	for (int i = 0; i < n; i++) {
		t->fds[i] = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (t->fds[i] < 0) {
			perror(dev);
			return -1;
		}
	}
	/* The device's logical block, at least 4 KiB, as the library reads */
	if (ioctl(t->fds[0], BLKSSZGET, &lbs) < 0 || lbs < 4096)
		lbs = 4096;
	t->blksize = (size_t)lbs;
	if (posix_memalign(&t->buf, 4096, t->blksize) ||
	    io_setup(1, &t->ctx) < 0) {
		fprintf(stderr, "syncloop: no memory, or io_setup failed\n");
		return -1;
	}
	return 0;
}

static int raw_check(struct target *t, int i)
{
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;

	io_prep_pread(&cb, t->fds[i], t->buf, t->blksize, 0);
	if (io_submit(t->ctx, 1, cbs) != 1 ||
	    io_getevents(t->ctx, 1, 1, &ev, NULL) != 1)
		return -1;
	return (size_t)ev.res == t->blksize ? PC_UP : PC_DOWN;
}

/* One turn of t: BLOCK checks from path *next on.  0, or -1. */
static int run_block(struct target *t, int n, int *next)
{
	unsigned long long c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	unsigned long long w0 = ns(CLOCK_MONOTONIC), s = w0, now = w0;

	for (unsigned int k = 0; k < BLOCK; k++) {
		int i = *next, st;

		*next = (i + 1) % n;
		st = t->check ? t->check(t->paths[i], PC_SYNC | PC_NOCALLBACK)
			      : raw_check(t, i);
		now = ns(CLOCK_MONOTONIC);
		if (st != PC_UP) {
			fprintf(stderr, "syncloop: %s: check of path %d: %d\n",
				t->name, i, st);
			return -1;
		}
		if (t->samples < MAX_SAMPLES)
			t->lat[t->samples++] = now - s;
		s = now;
	}
	t->cpu[t->blocks] = (ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e3 / BLOCK;
	t->rate[t->blocks] = BLOCK / ((now - w0) / 1e9);
	t->blocks++;
	t->checks += BLOCK;
	return 0;
}

static void report(struct target *t, int n)
{
	qsort(t->cpu, t->blocks, sizeof(*t->cpu), cmp_double);
	qsort(t->rate, t->blocks, sizeof(*t->rate), cmp_double);
	qsort(t->lat, t->samples, sizeof(*t->lat), cmp_ull);
	printf("{\"target\":\"%s\",\"kind\":\"%s\",\"paths\":%d,"
	       "\"checks\":%zu,\"blocks\":%zu,"
	       "\"checks_per_s\":%.0f,\"cpu_us_per_check\":%.3f,"
	       "\"lat_p50_us\":%.2f}\n", t->name,
	       t->check ? "pathcheck" : "raw", n,
	       t->checks, t->blocks, t->rate[t->blocks / 2],
	       t->cpu[t->blocks / 2], t->lat[t->samples / 2] / 1e3);
}

int main(int argc, char **argv)
{
	struct target tg[MAX_TARGETS] = { 0 };
	unsigned long long end;
	int n, nt = argc - 4, next = 0;

	if (argc < 5 || nt > MAX_TARGETS) {
		fprintf(stderr, "usage: %s DEVICE PATHS SECONDS TARGET... "
			"(TARGET: a libpathcheck.so, or raw; at most %d)\n",
			argv[0], MAX_TARGETS);
		return 2;
	}
	n = atoi(argv[2]);
	if (n <= 0)
		return 2;
	for (int i = 0; i < nt; i++) {
		struct target *t = &tg[i];

		t->name = argv[4 + i];
		t->rate = malloc(MAX_BLOCKS * sizeof(*t->rate));
		t->cpu = malloc(MAX_BLOCKS * sizeof(*t->cpu));
		t->lat = malloc(MAX_SAMPLES * sizeof(*t->lat));
		if (!t->rate || !t->cpu || !t->lat)
			return 1;
		if (strcmp(t->name, "raw") ? lib_setup(t, argv[1], n) :
		    raw_setup(t, argv[1], n))
			return 1;
	}
	end = ns(CLOCK_MONOTONIC) + (unsigned long long)(atof(argv[3]) * 1e9);
	for (size_t b = 0; ns(CLOCK_MONOTONIC) < end; b++)
		for (int k = 0; k < nt; k++) {
			struct target *t = &tg[(b + (size_t)k) % (size_t)nt];

			if (t->blocks < MAX_BLOCKS && run_block(t, n, &next))
				return 3;
		}
	for (int i = 0; i < nt; i++)
		report(&tg[i], n);
	/* The engines and paths go with the process (a path's free would
	 * need the library's pc_path_free: nothing to measure there). */
	return 0;
}
