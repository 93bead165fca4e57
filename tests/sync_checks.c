/* SPDX-License-Identifier: MIT */
/*
 * PC_SYNC checks reap their own answers (pathcheck(3), "Result delivery",
 * pc_path_check(3)): the caller waits for its own read, and the promises
 * hold when the caller is gone before the answer: a late answer after a
 * timeout, and an orphan's answer after its path was freed under the
 * waiter, are reaped by the worker with nobody calling; several sync
 * callers on one group hand the ring to each other.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "faults.h"
#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

static uint64_t stat_late(struct pc_engine *e)
{
	struct pc_stats st;

	pc_engine_stats(e, &st);
	return st.late_completions;
}

/* Timed out, then the answer comes with nobody calling: it is reaped, and
 * the path reads afresh on its next check. */
static void test_late_answer_reaped(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 100 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &p) == 0);
	pathsim_set(sim, "all", "slow:400");
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_DOWN);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, late_completions, 1, 5000));
	CU_ASSERT_EQUAL(stat_late(e), 1);
	pathsim_set(sim, "all", "up");
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_path_free(p);
	pc_engine_free(e);
	pathsim_stop(sim);
}

struct waiter {
	struct pc_path *p;
	atomic_int started;
	int ret;
};

static void *sync_check(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->started, 1);
	w->ret = pc_check(w->p, PC_SYNC);
	return NULL;
}

/* Its path freed under a sync waiter on a hung read: the waiter leaves
 * with -ENODEV, the free returns, and once the device answers the orphan
 * is reaped with nobody calling. */
static void test_orphan_reaped(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 30000 };
	struct waiter w = { .ret = 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;
	uint64_t t0;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &w.p) == 0);
	pathsim_set(sim, "all", "hung");
	PC_REQUIRE(pthread_create(&t, NULL, sync_check, &w) == 0);
	pc_test_wait_flag(&w.started, 5000);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, inflight, 1, 5000));
	t0 = pc_test_now_ms();
	pc_path_free(w.p);
	pthread_join(t, NULL);
	printf("\n  free under a hung sync check: %llu ms\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_EQUAL(w.ret, -ENODEV);
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 < 5000);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, orphans, 1, 5000));
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, orphans, 0, 5000));
	CU_ASSERT_TRUE(FAULTS_WAIT(e, inflight, 0, 5000));
	pc_engine_free(e);
	pathsim_stop(sim);
}

#define CALLERS	3
#define ROUNDS	300

struct looper {
	struct pc_path *p;
	int up;
};

static void *loop_checks(void *arg)
{
	struct looper *l = arg;

	for (int i = 0; i < ROUNDS; i++)
		l->up += pc_check(l->p, PC_SYNC) == PC_UP;
	return NULL;
}

/* Sync callers on paths of one group, one of them slow: each gets its own
 * answer whoever holds the ring, and every check has its callback. */
static void test_callers_share_ring(void)
{
	struct pc_options o = { .workers = 1, .group_size = 8,
				.on_result = faults_on_result };
	struct looper l[CALLERS];
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t[CALLERS];
	struct pc_stats st;
	int up = 0;

	PATHSIM_START(sim, CALLERS, 0);
	faults_log_init(faults_log_get());
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < CALLERS; i++) {
		l[i].up = 0;
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &l[i].p) == 0);
	}
	pathsim_set(sim, "p1", "slow:2");
	for (int i = 0; i < CALLERS; i++)
		PC_REQUIRE(pthread_create(&t[i], NULL, loop_checks, &l[i]) == 0);
	for (int i = 0; i < CALLERS; i++) {
		pthread_join(t[i], NULL);
		up += l[i].up;
	}
	CU_ASSERT_EQUAL(up, CALLERS * ROUNDS);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.groups, 1);
	CU_ASSERT_EQUAL(st.checks, CALLERS * ROUNDS);
	CU_ASSERT_EQUAL(faults_wait_results(CALLERS * ROUNDS, 5000),
			CALLERS * ROUNDS);
	for (int i = 0; i < CALLERS; i++)
		pc_path_free(l[i].p);
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "late_answer_reaped", test_late_answer_reaped },
		{ "orphan_reaped", test_orphan_reaped },
		{ "callers_share_ring", test_callers_share_ring },
		{ NULL, NULL },
	};

	return pc_test_main("sync_checks", tests, argc, argv);
}
