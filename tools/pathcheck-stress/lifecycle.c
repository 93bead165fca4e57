/* SPDX-License-Identifier: MIT */
/* --lifecycle: the cost of adding and freeing paths, and RSS per path. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathcheck.h"
#include "clock.h"

#include "stress.h"

/* --shared-fd: one O_DIRECT fd per device, shared by all its paths, so
 * that 100,000 paths do not need 100,000 descriptors. */
static int open_shared_fds(struct stress *s)
{
	s->shared_fds = calloc(s->cfg.ndevs, sizeof(*s->shared_fds));
	if (!s->shared_fds)
		return -ENOMEM;
	for (unsigned int i = 0; i < s->cfg.ndevs; i++) {
		s->shared_fds[i] = open(s->cfg.devs[i], O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (s->shared_fds[i] < 0) {
			fprintf(stderr, "pathcheck-stress: %s: %s\n",
				s->cfg.devs[i], strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static void close_shared_fds(struct stress *s)
{
	for (unsigned int i = 0; s->shared_fds && i < s->cfg.ndevs; i++)
		if (s->shared_fds[i] >= 0)
			close(s->shared_fds[i]);
	free(s->shared_fds);
	s->shared_fds = NULL;
}

/* One pc_check_many over every path, waiting until none is in flight. */
static void check_round(struct stress *s, struct pc_path **pp, unsigned int n)
{
	struct pc_stats st;
	uint64_t until = now_us() + 30000000;

	pc_check_many(pp, n);
	do {
		sleep_us(10000);
		pc_engine_stats(s->engine, &st);
	} while (st.inflight && now_us() < until);
}

/* --lifecycle: add npaths, free them, free the engine; times and RSS. */
int lifecycle(struct stress *s)
{
	struct pc_options o = { 0 };
	struct pc_path **pp = calloc(s->cfg.npaths, sizeof(*pp));
	struct pc_stats st = { 0 };
	uint64_t t0, t1, tf, t2, t3;
	unsigned int i, n;
	long rss0 = peak_rss_kib(), rss1;
	int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	long rest0 = statm_rss_kib(statm), rest1 = -1;
	int ret = 0, rc = 2;

	if (!pp)
		return 2;
	o.workers = s->cfg.workers;
	o.group_size = s->cfg.group_size;
	o.timeout_ms = s->cfg.timeout_ms;
	o.log = stress_log;
	t0 = now_us();
	ret = pc_engine_new(&o, &s->engine);
	if (ret < 0) {
		fprintf(stderr, "pathcheck-stress: pc_engine_new: %s\n", strerror(-ret));
		s->engine = NULL;
		goto out;
	}
	if (s->cfg.shared_fd && open_shared_fds(s) < 0)
		goto out;
	for (n = 0; n < s->cfg.npaths; n++) {
		if (s->cfg.shared_fd)
			ret = pc_path_new(s->engine, s->shared_fds[n % s->cfg.ndevs], NULL,
					  &pp[n]);
		else
			ret = stress_path_open(s->engine, s->cfg.devs[n % s->cfg.ndevs],
					       NULL, &pp[n]);
		if (ret < 0)
			break;
	}
	t1 = now_us();
	if (s->cfg.shared_fd) {
		check_round(s, pp, n);	/* touch what a running engine touches */
		/* At rest: the engine keeps idle read buffers for a second. */
		sleep_us(2000000);
		rest1 = statm_rss_kib(statm);
	}
	tf = now_us();	/* free_paths_s: the frees only */
	rss1 = peak_rss_kib();
	pc_engine_stats(s->engine, &st);
	for (i = 0; i < n; i++)
		pc_path_free(pp[i]);
	t2 = now_us();
	pc_engine_free(s->engine);
	s->engine = NULL;
	t3 = now_us();
	printf("{\"lifecycle\":\"pathcheck\",\"paths\":%u,\"groups\":%" PRIu64
	       ",\"create_s\":%.6f,\"free_paths_s\":%.6f,\"free_engine_s\":%.6f,"
	       "\"total_s\":%.6f,\"rss_kib\":%ld,\"rss_per_path_b\":%.0f",
	       n, st.groups, (double)(t1 - t0) / 1e6, (double)(t2 - tf) / 1e6,
	       (double)(t3 - t2) / 1e6, (double)(t3 - t0) / 1e6, rss1,
	       n ? (double)(rss1 - rss0) * 1024.0 / n : 0);
	if (rest1 >= 0 && rest0 >= 0)
		printf(",\"rest_rss_kib\":%ld,\"rest_per_path_b\":%.0f", rest1,
		       n ? (double)(rest1 - rest0) * 1024.0 / n : 0);
	printf("}\n");
	rc = ret < 0 ? 1 : 0;
out:
	if (s->engine)
		pc_engine_free(s->engine);
	close_shared_fds(s);
	free(pp);
	if (statm >= 0)
		close(statm);
	return rc;
}
