/* SPDX-License-Identifier: MIT */
/*
 * pc_options.coalesce_us on pathsim paths, real FUSE AIO (pc_engine_new(3)):
 * a worker that gathers a burst of answers before it reaps still delivers
 * every check's result exactly once, deadlines still fire with nobody
 * polling, sync checks still answer, and out-of-range values are refused;
 * a check with an earlier deadline than the one a worker sleeps for times
 * out on time.
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
	/* Its on_result comes after the sync return: let it land before the
	 * log is cleared (it was logged as a fourth result now and then). */
	CU_ASSERT_EQUAL(faults_wait_results(1, 2000), 1);
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

/*
 * The worker sleeps until a far deadline; a check with an earlier deadline
 * must make it wake sooner (worker_watch_deadline), with or without
 * coalescing.
 */
static void earlier_deadline_on(unsigned int coalesce_us)
{
	struct pc_options o = { .timeout_ms = 3000, .coalesce_us = coalesce_us,
				.workers = 1, .on_result = faults_on_result };
	struct faults_log *log = faults_log_get();
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[2];
	int args[2] = { 0, 1 };
	uint64_t t0, at;

	PATHSIM_START(sim, 2, 0);
	faults_log_init(log);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 2; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), &args[i], &p[i]) == 0);
	pc_path_set_timeout(p[1], 150);
	pathsim_set(sim, "all", "hung");
	CU_ASSERT_EQUAL(pc_check(p[0], 0), PC_PENDING);
	pc_test_sleep_ms(50);	/* the worker sleeps until p0's deadline */
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pc_check(p[1], 0), PC_PENDING);
	if (faults_wait_results(1, 2000) != 1) {
		CU_FAIL("the 150 ms deadline did not fire within 2 s");
	} else {
		at = log->r[0].at_ms - t0;
		printf("\n  coalesce %u us: 150 ms deadline under a 3 s one fired after %llu ms\n",
		       coalesce_us, (unsigned long long)at);
		CU_ASSERT_EQUAL(*(int *)log->r[0].arg, 1);
		CU_ASSERT_EQUAL(log->r[0].state, PC_DOWN);
		CU_ASSERT_TRUE(at >= 149 && at <= 150 + coalesce_us / 1000 + 50);
	}
	pathsim_release(sim);
	pc_engine_free(e);
	pathsim_stop(sim);
}

static void test_earlier_deadline_wakes_worker(void)
{
	earlier_deadline_on(0);
	earlier_deadline_on(5000);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "options", test_options },
		{ "each_result_once", test_each_result_once },
		{ "deadline_nobody_polls", test_deadline_nobody_polls },
		{ "earlier_deadline_wakes_worker", test_earlier_deadline_wakes_worker },
		{ NULL, NULL },
	};

	return pc_test_main("checks_coalesce", tests, argc, argv);
}
