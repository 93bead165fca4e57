/* SPDX-License-Identifier: MIT */
/*
 * No pc_* call is a cancellation point (pathcheck(3), "Cancellation"):
 * pthread_cancel() of a thread inside a pc_* call acts at the thread's
 * next cancellation point once the call has returned, the library stays
 * consistent, and a later pc_path_free() and pc_engine_free() return
 * promptly.  multipathd stops its checker thread this way, then frees its
 * paths.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

struct looper {
	struct pc_path *path;
	atomic_int in_check;	/* checks begun */
	atomic_int returned;	/* checks returned */
	int last;
};

/* Back-to-back sync checks, as a multipathd checker thread; the only
 * cancellation point is the testcancel between them. */
static void *check_loop(void *arg)
{
	struct looper *l = arg;

	for (;;) {
		atomic_fetch_add(&l->in_check, 1);
		l->last = pc_check(l->path, PC_SYNC);
		atomic_fetch_add(&l->returned, 1);
		pthread_testcancel();
	}
	return NULL;
}

/*
 * Cancels a looping checker while its check waits on a path in mode, and
 * checks that the thread ends by the check's deadline (plus generous
 * slack), and that the path and the engine then free at once.
 */
static void cancel_during(const char *mode, int want, unsigned int timeout_ms)
{
	struct pc_options o = { .workers = 1, .timeout_ms = timeout_ms,
				.shutdown_ms = 500 };
	struct looper l = { .path = NULL };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;
	uint64_t t0;
	void *ret;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &l.path) == 0);
	CU_ASSERT_EQUAL(pc_check(l.path, PC_SYNC), PC_UP);
	pathsim_set(sim, "all", mode);
	PC_REQUIRE(pthread_create(&t, NULL, check_loop, &l) == 0);
	/* Inside the first check, well before its read can answer. */
	while (atomic_load(&l.in_check) == 0)
		pc_test_sleep_ms(1);
	pc_test_sleep_ms(50);
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(pthread_cancel(t), 0);
	CU_ASSERT_EQUAL(pthread_join(t, &ret), 0);
	CU_ASSERT_EQUAL(ret, PTHREAD_CANCELED);
	printf("\n  %s: cancelled thread ended after %llu ms (deadline %u ms)",
	       mode, (unsigned long long)(pc_test_now_ms() - t0), timeout_ms);
	/* The check in progress finished, with its real result. */
	CU_ASSERT_EQUAL(atomic_load(&l.returned), 1);
	CU_ASSERT_EQUAL(l.last, want);
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 <= timeout_ms + 5000);
	pathsim_release(sim);
	t0 = pc_test_now_ms();
	pc_path_free(l.path);
	pc_engine_free(e);
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 <= 500 + 5000);
	printf("\n  %s: path and engine freed in %llu ms\n", mode,
	       (unsigned long long)(pc_test_now_ms() - t0));
	pathsim_stop(sim);
}

static void test_cancel_hung(void)
{
	cancel_during("hung", PC_DOWN, 400);
}

static void test_cancel_slow(void)
{
	cancel_during("slow:300", PC_UP, 5000);
}

/* A cancel already pending when pc_check() starts does not act inside it:
 * the check runs to its end. */
static void test_not_a_cancellation_point(void)
{
	struct pc_options o = { .workers = 1 };
	struct looper l = { .path = NULL };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;
	void *ret;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &l.path) == 0);
	pathsim_set(sim, "all", "slow:100");
	PC_REQUIRE(pthread_create(&t, NULL, check_loop, &l) == 0);
	CU_ASSERT_EQUAL(pthread_cancel(t), 0);	/* at once: likely pending */
	CU_ASSERT_EQUAL(pthread_join(t, &ret), 0);
	CU_ASSERT_EQUAL(ret, PTHREAD_CANCELED);
	/* Every check begun returned. */
	CU_ASSERT_EQUAL(atomic_load(&l.in_check), atomic_load(&l.returned));
	pc_path_free(l.path);
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "cancel_hung", test_cancel_hung },
		{ "cancel_slow", test_cancel_slow },
		{ "not_a_cancellation_point", test_not_a_cancellation_point },
		{ NULL, NULL },
	};

	return pc_test_main("cancellation", tests, argc, argv);
}
