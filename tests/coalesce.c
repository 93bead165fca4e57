/* SPDX-License-Identifier: MIT */
/*
 * pc_options.coalesce_us on pathsim paths (real FUSE AIO): a worker that
 * gathers a burst of answers before it reaps still delivers every check's
 * result exactly once, deadlines still fire with nobody polling, sync
 * checks still answer, and out-of-range values are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults.h"
#include "harness.h"

static void test_options(void)
{
	struct pc_options o = { .coalesce_us = PC_MAX_COALESCE_US + 1 };
	struct pc_engine *e;

	CU_ASSERT_EQUAL(pc_engine_new(&o, &e), -EINVAL);
	o = (struct pc_options){ .resv32 = 1 };
	CU_ASSERT_EQUAL(pc_engine_new(&o, &e), -EINVAL);
	o = (struct pc_options){ .coalesce_us = PC_MAX_COALESCE_US };
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	pc_engine_free(e);
}

/* Rounds of batches: each path's result comes once per check, no more. */
static void test_each_result_once(void)
{
	enum { PATHS = 64, ROUNDS = 20 };
	struct pc_options o = { .timeout_ms = 5000, .coalesce_us = 2000,
				.on_result = faults_on_result };
	struct faults_log *log = faults_log_get();
	struct pc_path *p[PATHS];
	unsigned int per[PATHS] = { 0 };
	int args[PATHS];
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_stats st;

	PATHSIM_START(sim, PATHS, 0);
	faults_log_init(log);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < PATHS; i++) {
		args[i] = i;
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), &args[i], &p[i]) == 0);
	}
	for (unsigned int r = 1; r <= ROUNDS; r++) {
		CU_ASSERT_EQUAL(pc_check_many(p, PATHS), PATHS);
		CU_ASSERT_EQUAL(faults_wait_results(r * PATHS, 5000), r * PATHS);
	}
	for (unsigned int i = 0; i < log->n; i++) {
		CU_ASSERT_EQUAL(log->r[i].state, PC_UP);
		per[*(int *)log->r[i].arg]++;
	}
	for (int i = 0; i < PATHS; i++)
		CU_ASSERT_EQUAL(per[i], ROUNDS);
	/* Nothing more comes later. */
	CU_ASSERT_EQUAL(faults_wait_results(ROUNDS * PATHS + 1, 100), ROUNDS * PATHS);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.checks, (uint64_t)ROUNDS * PATHS);
	CU_ASSERT_EQUAL(st.up, (uint64_t)ROUNDS * PATHS);
	/* A sync check still answers, at most a window later. */
	CU_ASSERT_EQUAL(pc_check(p[0], PC_SYNC), PC_UP);
	for (int i = 0; i < PATHS; i++)
		pc_path_free(p[i]);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* Nobody polls: the deadline fires, at most the window late. */
static void test_deadline_nobody_polls(void)
{
	struct pc_options o = { .timeout_ms = 200, .coalesce_us = 5000,
				.on_result = faults_on_result };
	struct faults_log *log = faults_log_get();
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[3];
	int args[3] = { 0, 1, 2 };
	uint64_t t0;

	PATHSIM_START(sim, 3, 0);
	faults_log_init(log);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 3; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), &args[i], &p[i]) == 0);
	/* One answer first, so that the worker is in a coalescing window
	 * when the hung reads' deadlines are published. */
	CU_ASSERT_EQUAL(pc_check(p[0], PC_SYNC), PC_UP);
	faults_log_init(log);
	pathsim_set(sim, "all", "hung");
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pc_check_many(p, 3), 3);
	CU_ASSERT_EQUAL(faults_wait_results(3, 2000), 3);
	for (unsigned int i = 0; i < log->n; i++) {
		uint64_t at = log->r[i].at_ms - t0;

		printf("\n  path %d timed out after %llu ms (deadline 200)",
		       *(int *)log->r[i].arg, (unsigned long long)at);
		CU_ASSERT_EQUAL(log->r[i].state, PC_DOWN);
		CU_ASSERT_TRUE(at >= 199 && at <= 200 + 5 + 50);
	}
	printf("\n");
	pathsim_release(sim);
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "options", test_options },
		{ "each_result_once", test_each_result_once },
		{ "deadline_nobody_polls", test_deadline_nobody_polls },
		{ NULL, NULL },
	};

	return pc_test_main("coalesce", tests, argc, argv);
}
