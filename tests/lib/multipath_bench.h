/* SPDX-License-Identifier: MIT */
/*
 * bench/multipath.sh's driver, in the 0.9 family's test program: one
 * checker plugin over N paths, driven like multipathd 0.9.4 (one checker
 * loop thread, the whole process SCHED_RR 99 when permitted, paths opened
 * and initialised under that policy as multipathd's uevent thread does).
 *
 *   multipath_09 --bench PLUGIN MODE KIND NPATHS SECONDS DEV...
 *	PLUGIN	pathcheck | directio (Debian's libcheckdirectio.so)
 *	MODE	async | sync (checker_is_sync(), multipathd's force_sync)
 *	KIND	loop: passes back to back for SECONDS; finished checks/s and
 *		      CPU (all threads, user + system) per finished check
 *		tick: SECONDS passes one second apart; time per pass
 *		hung: 3 passes with DEV 0 hung (the caller hangs it) and a
 *		      3 s checker timeout; time of each pass
 *		reset: one pass with DEV 0 hung, then free every path and
 *		      reset the class; time of that
 * Paths go round the devices; for hung and reset, DEV 0 has path 0 only.  One JSON line on stdout.
 */
#ifndef PC_MULTIPATH_BENCH_H
#define PC_MULTIPATH_BENCH_H

#include <sched.h>
#include <sys/resource.h>

static uint64_t mpt_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
		(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_loop(struct mpt_plugin *p, struct checker *c, unsigned int n,
		       int *states, double seconds, char *out, size_t len)
{
	uint64_t t0 = mpt_now_us(), cpu0 = mpt_cpu_us(), end, done = 0, pend = 0;
	unsigned int i;

	end = t0 + (uint64_t)(seconds * 1e6);
	while (mpt_now_us() < end) {
		mpt_tick(p, c, n, states);
		for (i = 0; i < n; i++) {
			done += states[i] == PATH_UP || states[i] == PATH_DOWN;
			pend += states[i] == PATH_PENDING;
		}
	}
	end = mpt_now_us() - t0;
	cpu0 = mpt_cpu_us() - cpu0;
	snprintf(out, len, "\"checks\":%llu,\"pending\":%llu,\"checks_per_s\":%.0f,"
		 "\"cpu_us_per_check\":%.2f,\"wall_s\":%.2f",
		 (unsigned long long)done, (unsigned long long)pend,
		 done * 1e6 / end, done ? (double)cpu0 / done : 0.0, end / 1e6);
}

static void bench_tick(struct mpt_plugin *p, struct checker *c, unsigned int n,
		       int *states, unsigned int ticks, char *out, size_t len)
{
	uint64_t *took = calloc(ticks, sizeof(*took));
	uint64_t done = 0;
	unsigned int t, i;

	if (!took)
		return;
	for (t = 0; t < ticks; t++) {
		took[t] = mpt_tick(p, c, n, states);
		for (i = 0; i < n; i++)
			done += states[i] == PATH_UP || states[i] == PATH_DOWN;
		usleep(1000000 - (took[t] < 1000000 ? took[t] : 999999));
	}
	qsort(took, ticks, sizeof(*took), cmp_u64);
	snprintf(out, len, "\"ticks\":%u,\"tick_ms_median\":%.2f,\"tick_ms_max\":%.2f,"
		 "\"answers_per_tick\":%.1f", ticks, took[ticks / 2] / 1e3,
		 took[ticks - 1] / 1e3, (double)done / ticks);
	free(took);
}

static void bench_hung(struct mpt_plugin *p, struct checker *c, unsigned int n,
		       int *states, char *out, size_t len)
{
	uint64_t took[3];
	unsigned int t;

	for (t = 0; t < 3; t++)
		took[t] = mpt_tick(p, c, n, states);
	snprintf(out, len, "\"pass_ms\":[%.1f,%.1f,%.1f],\"hung_state\":%d",
		 took[0] / 1e3, took[1] / 1e3, took[2] / 1e3, states[0]);
}

/* The JSON line, out before the paths are freed (but for reset): the
 * caller releases a hung read once it sees it. */
static void bench_print(const char *plugin, const char *mode, const char *kind,
			unsigned int n, const char *sched, const char *res)
{
	printf("{\"plugin\":\"%s\",\"mode\":\"%s\",\"kind\":\"%s\",\"paths\":%u,"
	       "\"sched\":\"%s\",%s}\n", plugin, mode, kind, n, sched, res);
	fflush(stdout);
}

/* Path i's device: round the devices; with one_first, DEV 0 (the hung
 * one) for path 0 only. */
static const char *bench_dev(char **devs, unsigned int ndev, unsigned int i,
			     bool one_first)
{
	if (!one_first || ndev < 2)
		return devs[i % ndev];
	return i ? devs[1 + (i - 1) % (ndev - 1)] : devs[0];
}

static int mpt_bench(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 99 };
	const char *plugin, *mode, *kind, *sched = "rr99";
	unsigned int n, i, ndev, timeout_s;
	struct mpt_plugin p;
	struct checker *c;
	char path[4096], res[512] = "";
	const char *why;
	double seconds;
	int *states;
	uint64_t t0;

	if (argc < 7) {
		fprintf(stderr, "usage: --bench PLUGIN MODE KIND NPATHS SECONDS DEV...\n");
		return 2;
	}
	plugin = argv[1], mode = argv[2], kind = argv[3];
	n = atoi(argv[4]), seconds = atof(argv[5]);
	ndev = argc - 6;
	why = mpt_unavailable();
	if (why) {
		fprintf(stderr, "%s\n", why);
		return 77;
	}
	if (!strcmp(plugin, "directio")) {
		if (!multipath_dir())
			return 77;
		snprintf(path, sizeof(path), "%s", multipath_dir());
	} else {
		mpt_pathcheck_path(path, sizeof(path), "0.9");
	}
	if (sched_setscheduler(0, SCHED_RR, &sp))
		sched = "other";
	if (mpt_load(&p, path, plugin))
		return 2;
	mpt_set_sync(&p, !strcmp(mode, "sync"));
	c = calloc(n, sizeof(*c));
	states = calloc(n, sizeof(*states));
	if (!c || !states)
		return 2;
	timeout_s = !strcmp(kind, "hung") || !strcmp(kind, "reset") ? 3 : 30;
	for (i = 0; i < n; i++)
		if (mpt_path_init(&p, &c[i], bench_dev(argv + 6, ndev, i, timeout_s == 3),
				  timeout_s)) {
			fprintf(stderr, "path %u: init failed\n", i);
			return 2;
		}
	if (!strcmp(kind, "loop"))
		bench_loop(&p, c, n, states, seconds, res, sizeof(res));
	else if (!strcmp(kind, "tick"))
		bench_tick(&p, c, n, states, (unsigned int)seconds, res, sizeof(res));
	else if (!strcmp(kind, "hung"))
		bench_hung(&p, c, n, states, res, sizeof(res));
	else
		mpt_tick(&p, c, n, states);
	if (strcmp(kind, "reset"))
		bench_print(plugin, mode, kind, n, sched, res);
	t0 = mpt_now_us();
	for (i = 0; i < n; i++)
		mpt_path_free(&p, &c[i]);
	mpt_unload(&p);
	if (!strcmp(kind, "reset")) {
		snprintf(res, sizeof(res), "\"reset_ms\":%.1f", (mpt_now_us() - t0) / 1e3);
		bench_print(plugin, mode, kind, n, sched, res);
	}
	free(c);
	free(states);
	return 0;
}

#endif
