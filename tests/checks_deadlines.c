/* SPDX-License-Identifier: MIT */
/*
 * Deadlines and failures on pathsim paths, real FUSE AIO (pathcheck(3),
 * "Deadlines"): sync and async checks time out at their deadline, in
 * milliseconds; no reads pile up on a hung path; late answers, EIO and
 * short reads are DOWN; a flaky path's results are counted exactly; a hung
 * path does not delay its group-mates; the same through a loop device over
 * FUSE.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "harness.h"

static void sync_timeout_on(unsigned int flags)
{
	struct pc_options o = { .timeout_ms = 300 };
	struct pathsim_counts c;
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;
	struct pc_result r;
	struct pc_stats st;
	uint64_t t0, took;

	PATHSIM_START(sim, 2, flags);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	PC_REQUIRE(pathsim_set(sim, "p0", "hung") == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_DOWN);
	took = pc_test_now_ms() - t0;
	printf("\n  sync timeout of 300 ms took %llu ms\n",
	       (unsigned long long)took);
	CU_ASSERT_TRUE(took >= 299 && took <= 350);
	pc_path_result(p, &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_TIMEOUT);
	CU_ASSERT_EQUAL(r.latency_us, 300000u);
	/* The read is still in the kernel: no new one, DOWN at once. */
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_DOWN);
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_DOWN);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_DOWN);
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 < 50);
	pathsim_counts(sim, 0, &c);
	CU_ASSERT_EQUAL(c.hung, 1);
	/* The late answer is nobody's result; the next check reads afresh. */
	pathsim_set(sim, "p0", "up");
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, late_completions, 1, 2000));
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.timeouts, 1);
	CU_ASSERT_EQUAL(st.checks, 3);
	pc_path_free(p);
	pc_engine_free(e);
	pathsim_stop(sim);
}

static void test_sync_timeout(void)
{
	sync_timeout_on(0);
}

/* The same through a loop device over the FUSE file. */
static void test_sync_timeout_loop(void)
{
	if (pc_test_need_root())
		PC_SKIP("loop devices: %s", pc_test_need_root());
	sync_timeout_on(PATHSIM_LOOP);
}

/* Nobody polls: on_result comes at the deadline. */
static void test_async_timeout(void)
{
	struct pc_options o = { .timeout_ms = 200,
				.on_result = faults_on_result };
	struct faults_log *log = faults_log_get();
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[3];
	uint64_t t0;
	int args[3] = { 0, 1, 2 };

	PATHSIM_START(sim, 3, 0);
	faults_log_init(log);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 3; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), &args[i], &p[i]) == 0);
	pc_path_set_timeout(p[2], 400);
	pathsim_set(sim, "all", "hung");
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pc_check_many(p, 3), 3);
	CU_ASSERT_EQUAL(faults_wait_results(3, 2000), 3);
	for (unsigned int i = 0; i < log->n; i++) {
		int which = *(int *)log->r[i].arg;
		uint64_t at = log->r[i].at_ms - t0;
		uint64_t want = which == 2 ? 400 : 200;

		printf("\n  path %d timed out after %llu ms (deadline %llu)",
		       which, (unsigned long long)at, (unsigned long long)want);
		CU_ASSERT_EQUAL(log->r[i].state, PC_DOWN);
		CU_ASSERT_TRUE(at >= want - 1 && at <= want + 50);
	}
	printf("\n");
	pathsim_release(sim);
	pc_engine_free(e);
	pathsim_stop(sim);
}

static void test_eio_short_slow(void)
{
	struct pc_options o = { .timeout_ms = 2000 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[3];
	struct pc_result r;

	PATHSIM_START(sim, 3, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 3; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p[i]) == 0);
	pathsim_set(sim, "p0", "eio");
	pathsim_set(sim, "p1", "short");
	pathsim_set(sim, "p2", "slow:150");
	CU_ASSERT_EQUAL(pc_check(p[0], PC_SYNC), PC_DOWN);
	pc_path_result(p[0], &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_IO_ERROR);
	CU_ASSERT_EQUAL(r.error, EIO);
	CU_ASSERT_EQUAL(pc_check(p[1], PC_SYNC), PC_DOWN);
	pc_path_result(p[1], &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_SHORT_READ);
	CU_ASSERT_TRUE(r.bytes > 0 && r.bytes < 4096);
	CU_ASSERT_EQUAL(pc_check(p[2], PC_SYNC), PC_UP);
	pc_path_result(p[2], &r);
	CU_ASSERT_TRUE(r.latency_us >= 150000);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* Flaky paths: the engine's verdicts are exactly pathsim's answers. */
static void test_flaky_counts(void)
{
	enum { CHECKS = 150 };
	struct pathsim_counts c;
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;
	unsigned int up = 0, down = 0;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &p) == 0);
	pathsim_set(sim, "p0", "flaky:0.4");
	for (int i = 0; i < CHECKS; i++) {
		int st = pc_check(p, PC_SYNC);

		up += st == PC_UP;
		down += st == PC_DOWN;
	}
	pathsim_counts(sim, 0, &c);
	printf("\n  engine: %u up %u down; pathsim: %lu ok %lu failed\n",
	       up, down, c.ok, c.failed);
	CU_ASSERT_EQUAL(up + down, CHECKS);
	CU_ASSERT_EQUAL(c.reads, CHECKS);
	CU_ASSERT_EQUAL(up, c.ok);
	CU_ASSERT_EQUAL(down, c.failed);
	CU_ASSERT_TRUE(up > 0 && down > 0);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* A hung path does not delay the healthy paths of its own group, and an
 * answer is delivered while the group is being reaped for others. */
static void test_isolation(void)
{
	enum { N = 8 };
	struct pc_options o = { .group_size = N, .timeout_ms = 5000,
				.on_result = faults_on_result };
	struct faults_log *log = faults_log_get();
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[N];
	struct pc_stats st;
	int args[N];
	uint64_t t0, worst = 0;

	PATHSIM_START(sim, N, 0);
	faults_log_init(log);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < N; i++) {
		args[i] = i;
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), &args[i], &p[i]) == 0);
	}
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.groups, 1);
	pathsim_set(sim, "p0", "hung");
	pathsim_set(sim, "p1", "slow:100");
	CU_ASSERT_EQUAL(pc_check(p[0], 0), PC_PENDING);
	CU_ASSERT_EQUAL(pc_check(p[1], 0), PC_PENDING);
	for (int round = 0; round < 20; round++) {
		t0 = pc_test_now_us();
		for (int i = 2; i < N; i++) {
			CU_ASSERT_EQUAL(pc_check(p[i], PC_SYNC), PC_UP);
		}
		if (pc_test_now_us() - t0 > worst)
			worst = pc_test_now_us() - t0;
	}
	printf("\n  worst round of %d healthy sync checks: %llu us\n", N - 2,
	       (unsigned long long)worst);
	CU_ASSERT_TRUE(worst < 100000);
	/* The slow answer came while the others were being reaped. */
	CU_ASSERT_TRUE(faults_wait_results(20 * (N - 2) + 1, 2000) >=
		       20 * (N - 2) + 1);
	pthread_mutex_lock(&log->lock);
	for (unsigned int i = 0; i < log->n; i++)
		CU_ASSERT_NOT_EQUAL(*(int *)log->r[i].arg, 0);
	pthread_mutex_unlock(&log->lock);
	CU_ASSERT_EQUAL(pc_path_state(p[0]), PC_PENDING);
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, inflight, 0, 2000));
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "sync_timeout", test_sync_timeout },
		{ "sync_timeout_loop", test_sync_timeout_loop },
		{ "async_timeout", test_async_timeout },
		{ "eio_short_slow", test_eio_short_slow },
		{ "flaky_counts", test_flaky_counts },
		{ "isolation", test_isolation },
		{ NULL, NULL },
	};

	return pc_test_main("checks_deadlines", tests, argc, argv);
}
