/* SPDX-License-Identifier: MIT */
/*
 * What on_result may do: free its own path, free a path whose callback
 * runs on another worker (and wait it out), free each other's paths at
 * once without deadlock; a PC_SYNC check (-EDEADLK) and pc_engine_free
 * (refused) from a callback do not hang.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];

/* Two paths on two groups, so on two workers (group id % workers). */
struct pair {
	struct pc_engine *e;
	struct pc_path *p[2];
	atomic_int in_cb[2], done_cb[2], other_done_at_free[2];
	atomic_int sync_ret, mode;
};

enum { FREE_OTHER, FREE_EACH_OTHER, FREE_SELF, SYNC_IN_CB, ENGINE_FREE_IN_CB };

static struct pair pair;

static int idx(struct pc_path *p)
{
	return p == pair.p[0] ? 0 : 1;
}

static void on_result(struct pc_path *p, int state, void *arg)
{
	int i = idx(p), other = 1 - i;

	(void)state; (void)arg;
	atomic_store(&pair.in_cb[i], 1);
	switch (atomic_load(&pair.mode)) {
	case FREE_OTHER:
		if (i == 0) {
			/* Wait until the other callback runs, then free it. */
			while (!atomic_load(&pair.in_cb[1]))
				pc_test_sleep_ms(1);
			pc_path_free(pair.p[1]);
			atomic_store(&pair.other_done_at_free[0],
				     atomic_load(&pair.done_cb[1]));
		} else {
			pc_test_sleep_ms(100);	/* a slow callback */
		}
		break;
	case FREE_EACH_OTHER:
		while (!atomic_load(&pair.in_cb[other]))
			pc_test_sleep_ms(1);
		pc_path_free(pair.p[other]);
		break;
	case FREE_SELF:
		pc_path_free(p);
		break;
	case SYNC_IN_CB:
		atomic_store(&pair.sync_ret, pc_check(p, PC_SYNC));
		break;
	case ENGINE_FREE_IN_CB:
		pc_engine_free(pair.e);		/* refused */
		break;
	}
	atomic_store(&pair.done_cb[i], 1);
}

static int setup(int mode)
{
	struct pc_options o = { .workers = 2, .group_size = 1,
				.on_result = on_result, .log = pc_test_log_quiet };

	memset(&pair, 0, sizeof(pair));
	atomic_store(&pair.mode, mode);
	if (pc_engine_new(&o, &pair.e) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (pc_path_open(pair.e, file, NULL, &pair.p[i]) < 0)
			return -1;
	return 0;
}

static void test_free_other(void)
{
	PC_REQUIRE(setup(FREE_OTHER) == 0);
	CU_ASSERT_EQUAL(pc_check_many(pair.p, 2), 2);
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[0], 3000));
	/* pc_path_free(p1) returned only after p1's callback ended. */
	CU_ASSERT_EQUAL(atomic_load(&pair.other_done_at_free[0]), 1);
	pc_path_free(pair.p[0]);
	pc_engine_free(pair.e);
}

static void test_free_each_other(void)
{
	uint64_t t0 = pc_test_now_ms();

	PC_REQUIRE(setup(FREE_EACH_OTHER) == 0);
	CU_ASSERT_EQUAL(pc_check_many(pair.p, 2), 2);
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[0], 3000));
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[1], 3000));
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 < 3000);
	pc_engine_free(pair.e);
}

static void test_free_self(void)
{
	struct pc_stats st;

	PC_REQUIRE(setup(FREE_SELF) == 0);
	CU_ASSERT_EQUAL(pc_check_many(pair.p, 2), 2);
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[0], 3000));
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[1], 3000));
	pc_engine_stats(pair.e, &st);
	CU_ASSERT_EQUAL(st.paths, 0);
	pc_engine_free(pair.e);
}

static void test_sync_in_callback(void)
{
	PC_REQUIRE(setup(SYNC_IN_CB) == 0);
	CU_ASSERT_EQUAL(pc_check(pair.p[0], 0), PC_PENDING);
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[0], 3000));
	CU_ASSERT_EQUAL(atomic_load(&pair.sync_ret), -EDEADLK);
	pc_engine_free(pair.e);
}

static void test_engine_free_in_callback(void)
{
	PC_REQUIRE(setup(ENGINE_FREE_IN_CB) == 0);
	CU_ASSERT_EQUAL(pc_check(pair.p[0], 0), PC_PENDING);
	CU_ASSERT_TRUE(pc_test_wait_flag(&pair.done_cb[0], 3000));
	/* Refused: the engine still works, and is freed here. */
	atomic_store(&pair.mode, FREE_SELF);
	CU_ASSERT_EQUAL(pc_check(pair.p[1], PC_SYNC), PC_UP);
	pc_engine_free(pair.e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "free_other", test_free_other },
		{ "free_each_other", test_free_each_other },
		{ "free_self", test_free_self },
		{ "sync_in_callback", test_sync_in_callback },
		{ "engine_free_in_callback", test_engine_free_in_callback },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks", tests, argc, argv, file, sizeof(file));
}
