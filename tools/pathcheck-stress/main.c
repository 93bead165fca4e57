/* SPDX-License-Identifier: MIT */
/*
 * pathcheck-stress: load, churn and fault generator for libpathcheck that
 * is also an oracle: it knows each path's mode and counts wrong and lost
 * results.  See pathcheck-stress(1).  args.c reads the command line,
 * drive.c runs the load, oracle.c judges the results, report.c prints
 * them; lifecycle.c, baseline.c and mpath.c are the other programs.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathcheck.h"
#include "clock.h"
#include "hist.h"

#include "stress.h"

static struct stress *signalled;	/* the run SIGINT and SIGTERM stop */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&signalled->stopping, 1);
}

/* The other programs than the load: their exit status. */
static int run_other(struct stress *s)
{
	struct stress_cfg *c = &s->cfg;
	unsigned int npaths = c->npaths ? c->npaths : c->ndevs;

	switch (c->program) {
	case PROG_LIFECYCLE:
		c->npaths = npaths;
		return lifecycle(s);
	case PROG_MULTIPATH:
		return baseline_multipath(c->devs, c->ndevs, npaths, c->duration,
					  !c->sched_other, c->json, c->quiet);
	case PROG_PER_PATH_CONTEXT:
		return baseline_lifecycle(c->devs, c->ndevs, npaths, c->json);
	case PROG_LOAD:
		break;
	}
	return 2;
}

/* Checker threads for the duration, then the drain: the time they ran. */
static double run_threads(struct stress *s, struct checker *ck)
{
	unsigned int i, n;
	uint64_t t0 = now_us();
	double wall;

	for (n = 0; n < s->cfg.threads; n++) {
		ck[n] = (struct checker){ .s = s, .index = n };
		if (pthread_create(&ck[n].tid, NULL, checker, &ck[n]))
			break;
	}
	drive(s, t0);
	atomic_store(&s->stopping, 1);
	for (i = 0; i < n; i++)
		pthread_join(ck[i].tid, NULL);
	wall = (double)(now_us() - t0) / 1e6;
	if (s->cfg.mount)
		control_write(s, "release\n");
	drain(s);
	return wall;
}

/* The load with the oracle: 0 all right, 1 lost or wrong results, 2 trouble. */
static int run_load(struct stress *s)
{
	struct pc_options o = { .workers = s->cfg.workers, .group_size = s->cfg.group_size,
				.timeout_ms = s->cfg.timeout_ms, .on_result = on_result,
				.log = stress_log, .coalesce_us = s->cfg.coalesce_us };
	struct pc_stats st = { 0 };
	struct checker *ck = NULL;
	int ret, rc = 2, mismatch;
	double wall;

	ret = pc_engine_new(&o, &s->engine);
	if (ret < 0) {
		fprintf(stderr, "pathcheck-stress: pc_engine_new: %s\n", strerror(-ret));
		return 2;
	}
	if (setup_paths(s) < 0)
		goto out;
	ck = calloc(s->cfg.threads, sizeof(*ck));
	if (!ck)
		goto out;
	wall = run_threads(s, ck);
	pc_engine_stats(s->engine, &st);
	/* stats.checks also counts checks of paths freed by churn whose
	 * delivery was cancelled, so only equality without churn */
	mismatch = s->cfg.churn > 0 ? st.checks < s->ctr.delivered : st.checks != s->ctr.delivered;
	rc = report(s, wall, rss_kib(), &st, mismatch);
out:
	if (s->cfg.mount)
		control_write(s, "release\n");
	teardown_paths(s);
	pc_engine_free(s->engine);
	free(s->sim_mode);
	free(s->paths);
	free(ck);
	return rc;
}

int main(int argc, char **argv)
{
	static struct stress run = {
		.cfg = { .threads = 1, .duration = 5, .mode = RUN_ASYNC, .timeout_ms = 2000 },
	};
	struct stress *s = &run;
	int rc = 2;

	hist_init(&s->hist, hist_scale_fine());
	if (parse_args(&s->cfg, argc, argv) || expand_pathsim(&s->cfg))
		goto out;
	if (s->cfg.program != PROG_LOAD) {
		rc = run_other(s);
		goto out;
	}
	if ((s->cfg.f_hung || s->cfg.f_eio || s->cfg.f_slow || s->cfg.f_flaky || s->cfg.flip) &&
	    !s->cfg.mount) {
		fprintf(stderr, "pathcheck-stress: fault options need a pathsim mount in --devices\n");
		goto out;
	}
	signalled = s;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = run_load(s);
out:
	free_devs(&s->cfg);
	return rc;
}
