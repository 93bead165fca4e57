/* SPDX-License-Identifier: MIT */
/*
 * bench/syncloop.c: multipathd's synchronous checker loop, measured alone.
 * One thread checks N paths of one device back to back:
 *
 *   syncloop LIB DEVICE PATHS SECONDS    each check pc_check(PC_SYNC |
 *       PC_NOCALLBACK) of the libpathcheck.so named, loaded with dlopen(),
 *       so that one harness measures any build (bench/ab.sh: old and new);
 *   syncloop --raw DEVICE PATHS SECONDS  the same loop on plain libaio, "one
 *       depth-1 fio-style submit-and-wait" per check: io_submit() of one
 *       O_DIRECT read of the first block into one buffer, then
 *       io_getevents() for it with no timeout, as fio does at iodepth 1.
 *
 * Each of the N paths has a descriptor of its own in both modes.  CPU is
 * the whole process's (every library thread) over the loop alone, as fio
 * counts its job's and not its setup.  One JSON line: mode, paths, checks,
 * checks_per_s, cpu_us_per_check, lat_p50_us (one check, call to return).
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

#define MAX_SAMPLES	4000000u

/* The library's calls this loop makes, from dlsym(). */
struct lib {
	int (*engine_new)(const struct pc_options *, struct pc_engine **);
	void (*engine_free)(struct pc_engine *);
	int (*path_open)(struct pc_engine *, const char *, void *,
			 struct pc_path **);
	void (*path_free)(struct pc_path *);
	int (*check)(struct pc_path *, int);
};

struct loop {
	int n;
	struct pc_path **paths;		/* pathcheck */
	int *fds;			/* --raw */
	io_context_t ctx;
	void *buf;
	size_t blksize;
	const struct lib *lib;
};

static unsigned long long ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (unsigned long long)t.tv_sec * 1000000000ULL +
	       (unsigned long long)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static int load(const char *path, struct lib *l)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "syncloop: %s\n", dlerror());
		return -1;
	}
	*(void **)&l->engine_new = dlsym(h, "pc_engine_new");
	*(void **)&l->engine_free = dlsym(h, "pc_engine_free");
	*(void **)&l->path_open = dlsym(h, "pc_path_open");
	*(void **)&l->path_free = dlsym(h, "pc_path_free");
	*(void **)&l->check = dlsym(h, "pc_check");
	if (!l->engine_new || !l->engine_free || !l->path_open ||
	    !l->path_free || !l->check) {
		fprintf(stderr, "syncloop: %s: not a libpathcheck\n", path);
		return -1;
	}
	return 0;
}

static int raw_setup(struct loop *lp, const char *dev)
{
	int lbs = 0;

	lp->fds = calloc((size_t)lp->n, sizeof(*lp->fds));
	if (!lp->fds)
		return -1;
	for (int i = 0; i < lp->n; i++) {
		lp->fds[i] = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (lp->fds[i] < 0) {
			perror(dev);
			return -1;
		}
	}
	/* The device's logical block, at least 4 KiB, as the library reads */
	if (ioctl(lp->fds[0], BLKSSZGET, &lbs) < 0 || lbs < 4096)
		lbs = 4096;
	lp->blksize = (size_t)lbs;
	if (posix_memalign(&lp->buf, 4096, lp->blksize) ||
	    io_setup(1, &lp->ctx) < 0) {
		fprintf(stderr, "syncloop: no memory or io_setup failed\n");
		return -1;
	}
	return 0;
}

static int raw_check(struct loop *lp, int i)
{
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;

	io_prep_pread(&cb, lp->fds[i], lp->buf, lp->blksize, 0);
	if (io_submit(lp->ctx, 1, cbs) != 1 ||
	    io_getevents(lp->ctx, 1, 1, &ev, NULL) != 1)
		return -1;
	return (size_t)ev.res == lp->blksize ? PC_UP : PC_DOWN;
}

static int pc_setup(struct loop *lp, const char *dev, struct pc_engine **e)
{
	struct pc_options o = { .workers = 0 };

	lp->paths = calloc((size_t)lp->n, sizeof(*lp->paths));
	if (!lp->paths || lp->lib->engine_new(&o, e))
		return -1;
	for (int i = 0; i < lp->n; i++)
		if (lp->lib->path_open(*e, dev, NULL, &lp->paths[i])) {
			fprintf(stderr, "syncloop: cannot open %s\n", dev);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	struct loop lp = { 0 };
	struct lib lib;
	struct pc_engine *e = NULL;
	unsigned long long *lat, t0, c0, end, wall, cpu;
	size_t k = 0;
	int raw;

	if (argc != 5) {
		fprintf(stderr, "usage: %s LIB|--raw DEVICE PATHS SECONDS\n",
			argv[0]);
		return 2;
	}
	raw = !strcmp(argv[1], "--raw");
	lp.n = atoi(argv[3]);
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	if (lp.n <= 0 || !lat)
		return 2;
	if (!raw) {
		if (load(argv[1], &lib))
			return 1;
		lp.lib = &lib;
	}
	if (raw ? raw_setup(&lp, argv[2]) : pc_setup(&lp, argv[2], &e))
		return 1;
	c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = ns(CLOCK_MONOTONIC);
	end = t0 + (unsigned long long)(atof(argv[4]) * 1e9);
	for (int i = 0;; i = (i + 1) % lp.n) {
		unsigned long long s = ns(CLOCK_MONOTONIC);
		int st = raw ? raw_check(&lp, i) :
			 lib.check(lp.paths[i], PC_SYNC | PC_NOCALLBACK);
		unsigned long long now = ns(CLOCK_MONOTONIC);

		if (st != PC_UP) {
			fprintf(stderr, "syncloop: check of path %d: %d\n",
				i, st);
			return 3;
		}
		if (k < MAX_SAMPLES)
			lat[k++] = now - s;
		if (now >= end)
			break;
	}
	cpu = ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	wall = ns(CLOCK_MONOTONIC) - t0;
	qsort(lat, k, sizeof(*lat), cmp);
	printf("{\"mode\":\"%s\",\"paths\":%d,\"checks\":%zu,"
	       "\"checks_per_s\":%.0f,\"cpu_us_per_check\":%.3f,"
	       "\"lat_p50_us\":%.2f}\n", raw ? "raw" : "pathcheck", lp.n, k,
	       k / (wall / 1e9), cpu / 1e3 / k, lat[k / 2] / 1e3);
	for (int i = 0; !raw && i < lp.n; i++)
		lib.path_free(lp.paths[i]);
	if (e)
		lib.engine_free(e);
	return 0;
}
