/* SPDX-License-Identifier: MIT */
/*
 * The multipath-tools 0.11 to 0.14 family plugin (build/multipath/
 * mpt-0.11/libcheckpathcheck.so) loaded with dlopen and driven by that
 * family's checker loop (tests/lib/mpt_driver.h: start every path, wait
 * 5 ms if libcheck_need_wait() asks, collect with libcheck_pending()) on
 * pathsim paths behind loop devices.  Skips when multipath-tools is absent.
 */
#include <stdio.h>
#include <string.h>

#include "checkers.h"
#include "harness.h"
#include "mpt_driver.h"
#include "pathsim_fixture.h"

#define NPATHS 8
#define TICK_MS 300

static bool load(struct mpt_plugin *p)
{
	const char *why = mpt_unavailable();
	char path[4096];

	if (why) {
		pc_test_skip("%s", why);
		return false;
	}
	mpt_pathcheck_path(path, sizeof(path), "0.11");
	if (mpt_load(p, path, "pathcheck")) {
		CU_FAIL("dlopen");
		return false;
	}
	return true;
}

static struct pathsim *start(struct mpt_plugin *p, struct checker *c,
			     unsigned int timeout_s)
{
	struct pathsim *sim;
	unsigned int i;

	if (!load(p))
		return NULL;
	sim = pathsim_start_or_skip(NPATHS, getuid() == 0 ? PATHSIM_LOOP : 0);
	if (!sim) {
		mpt_unload(p);
		return NULL;
	}
	for (i = 0; i < NPATHS; i++)
		if (mpt_path_init(p, &c[i], pathsim_dev(sim, i), timeout_s)) {
			CU_FAIL("libcheck_init");
			pathsim_stop(sim);
			return NULL;
		}
	return sim;
}

static void stop(struct mpt_plugin *p, struct checker *c, struct pathsim *sim)
{
	unsigned int i;

	pathsim_release(sim);
	for (i = 0; i < NPATHS; i++)
		mpt_path_free(p, &c[i]);
	CU_ASSERT_EQUAL(mpt_unload(p), 0);
	pathsim_stop(sim);
}

/* Healthy paths: UP, collected in the tick that started them unless the
 * device took longer than the 5 ms wait. */
static void test_healthy_up(void)
{
	struct checker c[NPATHS];
	int states[NPATHS] = { 0 };
	struct mpt_plugin p;
	struct pathsim *sim;
	unsigned int i, t, up = 0;
	bool seen[NPATHS] = { false };

	sim = start(&p, c, 30);
	if (!sim)
		return;
	/* every path UP at least once: a path whose device took longer than
	 * the wait answers on the next tick, so paths may be out of step */
	for (t = 0; t < 6 && up < NPATHS; t++) {
		mpt_tick(&p, c, NPATHS, states);
		for (i = 0; i < NPATHS; i++) {
			up += states[i] == PATH_UP && !seen[i];
			seen[i] |= states[i] == PATH_UP;
		}
		pc_test_sleep_ms(TICK_MS);
	}
	printf("\n  all %u up within %u ticks: \"%s checker%s\"\n", up, t,
	       p.cls.name, mpt_message(&p, &c[0]));
	CU_ASSERT_EQUAL(up, NPATHS);
	stop(&p, c, sim);
}

/* libcheck_check() only starts; need_wait holds until the answer, which
 * libcheck_pending() then gives once. */
static void test_start_then_pending(void)
{
	struct checker c[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	uint64_t t0 = pc_test_now_ms();
	int state = PATH_PENDING;

	sim = start(&p, c, 30);
	if (!sim)
		return;
	PC_REQUIRE(pathsim_set(sim, "p0", "slow:200") == 0);
	c[0].path_state = mpt_check(&p, &c[0]);
	CU_ASSERT_EQUAL(c[0].path_state, PATH_PENDING);
	CU_ASSERT_TRUE(p.need_wait(&c[0]));
	while (state == PATH_PENDING && pc_test_now_ms() - t0 < 5000) {
		pc_test_sleep_ms(10);
		state = p.pending(&c[0]);
	}
	c[0].path_state = state;
	CU_ASSERT_EQUAL(state, PATH_UP);
	CU_ASSERT_FALSE(p.need_wait(&c[0]));
	/* answered: pending() repeats path_state, need_wait() stays false */
	CU_ASSERT_EQUAL(p.pending(&c[0]), PATH_UP);
	stop(&p, c, sim);
}

/* p1 fails its reads, p2 hangs: DOWN within timeout + one tick, the
 * others answered every tick meanwhile. */
static void test_failing_paths(void)
{
	unsigned int i, t, ticks = 10, answered[NPATHS] = { 0 };
	uint64_t t0, took, longest = 0, down_at[NPATHS] = { 0 };
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;

	sim = start(&p, c, 1);
	if (!sim)
		return;
	mpt_tick(&p, c, NPATHS, states);
	PC_REQUIRE(pathsim_set(sim, "p1", "eio") == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	pc_test_sleep_ms(TICK_MS);
	t0 = pc_test_now_ms();
	for (t = 0; t < ticks; t++) {
		took = mpt_tick(&p, c, NPATHS, states);
		longest = took > longest ? took : longest;
		for (i = 0; i < NPATHS; i++) {
			CU_ASSERT(states[i] != PATH_DISCONNECTED);
			answered[i] += states[i] == PATH_UP || states[i] == PATH_DOWN;
			if (states[i] == PATH_DOWN && !down_at[i])
				down_at[i] = pc_test_now_ms() - t0 + 1;
		}
		pc_test_sleep_ms(TICK_MS);
	}
	printf("\n  eio down after %llu ms, hung down after %llu ms, longest tick %llu us; "
	       "a healthy path answered %u of %u ticks\n",
	       (unsigned long long)down_at[1], (unsigned long long)down_at[2],
	       (unsigned long long)longest, answered[3], ticks);
	CU_ASSERT(down_at[1] > 0 && down_at[1] <= 2 * TICK_MS);
	CU_ASSERT(down_at[2] > 0 && down_at[2] <= 1000 + 2 * TICK_MS + 100);
	CU_ASSERT(longest < 500 * 1000);
	for (i = 3; i < NPATHS; i++)
		CU_ASSERT(answered[i] >= ticks / 2);
	stop(&p, c, sim);
}

/* 0.14 maps PATH_DISCONNECTED to PATH_DOWN; a path_state the plugin did
 * not set is handed back as it is by libcheck_pending(). */
static void test_disconnected(void)
{
	struct checker c[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;

	CU_ASSERT_EQUAL(mpt_state_of(PATH_DISCONNECTED), PATH_DOWN);
	sim = start(&p, c, 30);
	if (!sim)
		return;
	c[0].path_state = PATH_DISCONNECTED;
	CU_ASSERT_EQUAL(p.pending(&c[0]), PATH_DISCONNECTED);
	CU_ASSERT_FALSE(p.need_wait(&c[0]));
	stop(&p, c, sim);
}

/* Sync: each call answers; a hung path blocks once, then DOWN at once. */
static void test_sync(void)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	uint64_t first, second;

	sim = start(&p, c, 1);
	if (!sim)
		return;
	mpt_set_sync(&p, true);
	mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[0], PATH_UP);
	CU_ASSERT_EQUAL(states[7], PATH_UP);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	first = mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_DOWN);
	second = mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_DOWN);
	CU_ASSERT_EQUAL(states[3], PATH_UP);
	printf("\n  sync pass with a hung path: %llu us, the next one %llu us\n",
	       (unsigned long long)first, (unsigned long long)second);
	CU_ASSERT(first >= 900 * 1000 && first < 3000 * 1000);
	CU_ASSERT(second < 300 * 1000);
	stop(&p, c, sim);
}

/* Every path freed with a hung read in flight, the class unloaded: bounded
 * by shutdown_ms (1 s). */
static void test_reset_orphans(void)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	unsigned int i;
	uint64_t t0, took;

	sim = start(&p, c, 30);
	if (!sim)
		return;
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_PENDING);
	t0 = pc_test_now_ms();
	for (i = 0; i < NPATHS; i++)
		mpt_path_free(&p, &c[i]);
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
	took = pc_test_now_ms() - t0;
	printf("\n  free and reset with a hung read orphaned: %llu ms\n",
	       (unsigned long long)took);
	CU_ASSERT(took >= 900 && took < 1000 + 1500);
	pathsim_release(sim);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "healthy_up", test_healthy_up },
		{ "start_then_pending", test_start_then_pending },
		{ "failing_paths", test_failing_paths },
		{ "disconnected", test_disconnected },
		{ "sync", test_sync },
		{ "reset_orphans", test_reset_orphans },
		{ NULL, NULL },
	};

	return pc_test_main("multipath_11", tests, argc, argv);
}
