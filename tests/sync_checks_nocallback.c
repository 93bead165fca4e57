/* SPDX-License-Identifier: MIT */
/*
 * pc_check(PC_SYNC | PC_NOCALLBACK): the check's result is the caller's
 * return and the path's result, and on_result is never called for it, not
 * at a timeout nor when the late answer comes.  Checks started without the
 * flag still call back exactly once, also when a flagged call joins them.
 * All under a 1-worker engine, on pathsim paths.
 */
#include <errno.h>
#include <stdatomic.h>

#include "faults.h"
#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

struct counter {
	atomic_uint calls;
	atomic_int last;
};

static void count_result(struct pc_path *p, int state, void *arg)
{
	struct counter *c = arg;

	(void)p;
	atomic_store(&c->last, state);
	atomic_fetch_add(&c->calls, 1);
}

/* Waits (generously) until c saw want callbacks. */
static bool wait_calls(struct counter *c, unsigned int want)
{
	uint64_t end = pc_test_now_ms() + 5000;

	while (atomic_load(&c->calls) < want && pc_test_now_ms() < end)
		pc_test_sleep_ms(1);
	return atomic_load(&c->calls) >= want;
}

static uint64_t result_checks(struct pc_path *p, int *reason)
{
	struct pc_result r;

	if (pc_path_result(p, &r))
		return UINT64_MAX;
	if (reason)
		*reason = r.reason;
	return r.checks;
}

/* The flag alone, or with unknown bits, is refused; with PC_SYNC it works
 * also with no on_result set. */
static void test_flags(void)
{
	struct pc_options o = { .workers = 1 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, PC_NOCALLBACK), -EINVAL);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK | (1 << 7)),
			-EINVAL);
	CU_ASSERT_EQUAL(result_checks(p, NULL), 0);	/* nothing started */
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_UP);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_UP);
	CU_ASSERT_EQUAL(result_checks(p, NULL), 1);
	pc_path_free(p);
	pc_engine_free(e);
	pathsim_stop(sim);
}

#define ROUNDS 200

/* Flagged sync, plain sync and async checks interleaved on one path: every
 * check has a result, only the unflagged ones call back, each once. */
static void test_mixed_exactly_once(void)
{
	struct pc_options o = { .workers = 1, .on_result = count_result };
	struct counter c = { 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;
	unsigned int want = 0;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), &c, &p) == 0);
	for (int i = 0; i < ROUNDS; i++) {
		switch (i % 3) {
		case 0:
			CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK),
					PC_UP);
			break;
		case 1:
			CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
			want++;
			break;
		case 2:
			CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
			want++;
			/* its result is on_result's: wait for it */
			CU_ASSERT_TRUE(wait_calls(&c, want));
			break;
		}
	}
	CU_ASSERT_TRUE(wait_calls(&c, want));
	CU_ASSERT_EQUAL(result_checks(p, NULL), ROUNDS);
	pc_path_free(p);	/* no on_result runs after this */
	CU_ASSERT_EQUAL(atomic_load(&c.calls), want);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* A flagged check that times out calls back neither at its deadline nor
 * when its late answer comes; the path then reads afresh. */
static void test_timeout_late_answer(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 100,
				.on_result = count_result };
	struct counter c = { 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;
	struct pc_stats st;
	int reason = 0;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), &c, &p) == 0);
	pathsim_set(sim, "all", "slow:400");
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_DOWN);
	CU_ASSERT_EQUAL(result_checks(p, &reason), 1);
	CU_ASSERT_EQUAL(reason, PC_REASON_TIMEOUT);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_DOWN);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, late_completions, 1, 5000));
	pathsim_set(sim, "all", "up");
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_UP);
	CU_ASSERT_EQUAL(result_checks(p, NULL), 2);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.checks, 2);
	CU_ASSERT_EQUAL(st.timeouts, 1);
	pc_path_free(p);
	CU_ASSERT_EQUAL(atomic_load(&c.calls), 0);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* A hung read times out; while the kernel holds it, a flagged call starts
 * nothing and answers DOWN; released, the late answer calls back nobody. */
static void test_hung_held(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 100,
				.on_result = count_result };
	struct counter c = { 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), &c, &p) == 0);
	pathsim_set(sim, "all", "hung");
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_DOWN);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_DOWN);
	CU_ASSERT_EQUAL(result_checks(p, NULL), 1);
	pathsim_set(sim, "all", "up");
	pathsim_release(sim);
	CU_ASSERT_TRUE(FAULTS_WAIT(e, late_completions, 1, 5000));
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_UP);
	pc_path_free(p);
	CU_ASSERT_EQUAL(atomic_load(&c.calls), 0);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* A flagged call joining an async check in flight returns its result, and
 * that check, started with a callback, still calls back once. */
static void test_join_keeps_callback(void)
{
	struct pc_options o = { .workers = 1, .on_result = count_result };
	struct counter c = { 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), &c, &p) == 0);
	pathsim_set(sim, "all", "slow:200");
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC | PC_NOCALLBACK), PC_UP);
	CU_ASSERT_EQUAL(result_checks(p, NULL), 1);
	CU_ASSERT_TRUE(wait_calls(&c, 1));
	CU_ASSERT_EQUAL(atomic_load(&c.last), PC_UP);
	pc_path_free(p);
	CU_ASSERT_EQUAL(atomic_load(&c.calls), 1);
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "flags", test_flags },
		{ "mixed_exactly_once", test_mixed_exactly_once },
		{ "timeout_late_answer", test_timeout_late_answer },
		{ "hung_held", test_hung_held },
		{ "join_keeps_callback", test_join_keeps_callback },
		{ NULL, NULL },
	};

	return pc_test_main("sync_checks_nocallback", tests, argc, argv);
}
