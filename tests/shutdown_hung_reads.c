/* SPDX-License-Identifier: MIT */
/*
 * Orphans and teardown with hung reads on pathsim paths (pathcheck(3),
 * "Orphans", "Shutdown"): freeing a path whose read hangs returns at
 * once; its orphan is reaped after release; a group whose every slot is a
 * hung orphan is torn down once the reads answer, by the reaper, never in
 * the caller's thread; pc_engine_reset() and pc_engine_free() stay within
 * their bounds while reads hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "harness.h"

/* The aio rings mapped in this process: one per live aio context. */
static unsigned int aio_rings(void)
{
	char *maps = pc_test_read_file("/proc/self/maps", NULL), *at = maps;
	unsigned int n = 0;

	while (at && (at = strstr(at, "/[aio]"))) {
		n++;
		at++;
	}
	free(maps);
	return n;
}

static struct pc_stats stats_of(struct pc_engine *e)
{
	struct pc_stats st;

	pc_engine_stats(e, &st);
	return st;
}

static void test_free_pending(void)
{
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p, *q;
	uint64_t t0;

	PATHSIM_START(sim, 2, 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &p) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 1), NULL, &q) == 0);
	pathsim_set(sim, "p0", "hung");
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	t0 = pc_test_now_us();
	pc_path_free(p);
	printf("\n  pc_path_free with a hung read: %llu us\n",
	       (unsigned long long)(pc_test_now_us() - t0));
	CU_ASSERT_TRUE(pc_test_now_us() - t0 < 10000);
	CU_ASSERT_EQUAL(stats_of(e).orphans, 1);
	CU_ASSERT_EQUAL(stats_of(e).paths, 1);
	/* The group keeps working for the other path meanwhile. */
	CU_ASSERT_EQUAL(pc_check(q, PC_SYNC), PC_UP);
	pc_test_sleep_ms(50);
	CU_ASSERT_EQUAL(stats_of(e).orphans_reaped, 0);
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, orphans_reaped, 1, 2000));
	CU_ASSERT_EQUAL(stats_of(e).orphans, 0);
	CU_ASSERT_EQUAL(stats_of(e).inflight, 0);
	pc_path_free(q);
	pc_engine_free(e);
	pathsim_stop(sim);
}

static void test_fully_orphaned(void)
{
	enum { N = 4 };
	struct pc_options o = { .group_size = N };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[N], *q;
	uint64_t t0, took;

	PATHSIM_START(sim, N + 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < N; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p[i]) == 0);
	pathsim_set(sim, "all", "hung");
	CU_ASSERT_EQUAL(pc_check_many(p, N), N);
	t0 = pc_test_now_us();
	for (int i = 0; i < N; i++)
		pc_path_free(p[i]);
	took = pc_test_now_us() - t0;
	printf("\n  freeing %d paths with hung reads: %llu us\n", N,
	       (unsigned long long)took);
	/* io_destroy() would have waited for the hung reads. */
	CU_ASSERT_TRUE(took < 20000);
	pc_test_sleep_ms(200);
	CU_ASSERT_EQUAL(stats_of(e).groups_destroyed, 0);
	CU_ASSERT_EQUAL(stats_of(e).orphans, N);
	/* The retired group takes no new path: a new group does. */
	pathsim_set(sim, "p4", "up");
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, N), NULL, &q) == 0);
	CU_ASSERT_EQUAL(stats_of(e).groups_created, 2);
	CU_ASSERT_EQUAL(pc_check(q, PC_SYNC), PC_UP);
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, groups_destroyed, 1, 3000));
	CU_ASSERT_EQUAL(stats_of(e).groups, 1);
	CU_ASSERT_EQUAL(stats_of(e).orphans, 0);
	CU_ASSERT_EQUAL(stats_of(e).inflight, 0);
	CU_ASSERT_EQUAL(stats_of(e).aio_slots, N);
	pc_path_free(q);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* Reset releases the empty group only, and never waits on hung reads. */
static void test_reset_with_orphans(void)
{
	struct pc_options o = { .group_size = 2 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[4];
	uint64_t t0;

	PATHSIM_START(sim, 4, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 4; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p[i]) == 0);
	pathsim_set(sim, "p0", "hung");
	CU_ASSERT_EQUAL(pc_check(p[0], 0), PC_PENDING);
	for (int i = 0; i < 4; i++)
		pc_path_free(p[i]);	/* group 0: one orphan; group 1 empty */
	t0 = pc_test_now_us();
	CU_ASSERT_EQUAL(pc_engine_reset(e), 1);
	CU_ASSERT_TRUE(pc_test_now_us() - t0 < 10000);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, groups, 1, 2000));
	CU_ASSERT_EQUAL(stats_of(e).orphans, 1);
	CU_ASSERT_EQUAL(pc_engine_reset(e), 0);
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, orphans, 0, 2000));
	CU_ASSERT_EQUAL(pc_engine_reset(e), 1);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, groups, 0, 2000));
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* pc_engine_free with hung reads returns within shutdown_ms; the group is
 * freed in the background once the reads answer. */
static void test_free_engine_hung(void)
{
	enum { N = 6 };
	struct pc_options o = { .shutdown_ms = 300, .group_size = 4 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[N];
	unsigned int rings;
	uint64_t t0, took;

	PATHSIM_START(sim, N, 0);
	rings = aio_rings();
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < N; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p[i]) == 0);
	pathsim_set(sim, "0-2", "hung");
	pathsim_set(sim, "5", "hung");
	CU_ASSERT_EQUAL(pc_check_many(p, N), N);
	pc_test_sleep_ms(20);
	t0 = pc_test_now_ms();
	pc_engine_free(e);
	took = pc_test_now_ms() - t0;
	printf("\n  pc_engine_free with hung reads, shutdown_ms 300: %llu ms\n",
	       (unsigned long long)took);
	CU_ASSERT_TRUE(took >= 250 && took <= 400);
	/* Even the contexts whose reads hang are out of the process. */
	CU_ASSERT_EQUAL(aio_rings(), rings);
	pathsim_release(sim);
	pc_test_sleep_ms(300);	/* the background destroyers finish */
	pathsim_stop(sim);
}

/*
 * Without hung reads pc_engine_free does not wait for io_destroy()'s grace
 * periods, but every aio context of the engine is gone when it returns
 * (pc_engine_free(3)): its ring unmapped, its fs.aio-max-nr slots back.
 */
static void test_free_engine_fast(void)
{
	struct pc_options o = { .group_size = 4 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p[40];
	unsigned int rings;
	uint64_t t0, took;

	PATHSIM_START(sim, 40, 0);
	rings = aio_rings();
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 40; i++)
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p[i]) == 0);
	CU_ASSERT_EQUAL(pc_check_many(p, 40), 40);
	t0 = pc_test_now_ms();
	pc_engine_free(e);
	took = pc_test_now_ms() - t0;
	printf("\n  pc_engine_free of 10 groups: %llu ms\n",
	       (unsigned long long)took);
	CU_ASSERT_TRUE(took < 1000);
	CU_ASSERT_EQUAL(aio_rings(), rings);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "free_pending", test_free_pending },
		{ "fully_orphaned", test_fully_orphaned },
		{ "reset_with_orphans", test_reset_with_orphans },
		{ "free_engine_hung", test_free_engine_hung },
		{ "free_engine_fast", test_free_engine_fast },
		{ NULL, NULL },
	};

	return pc_test_main("shutdown_hung_reads", tests, argc, argv);
}
