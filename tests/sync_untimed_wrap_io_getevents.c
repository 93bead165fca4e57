/* SPDX-License-Identifier: MIT */
/*
 * A PC_SYNC caller that reaps its own answer sleeps in io_getevents() with
 * no timeout, as fio does, while its group's worker watches its deadline
 * (docs/design.md, "PC_SYNC without a timer").  What ends that sleep when
 * the read does not answer is a kick on the ring: from the worker at the
 * deadline, from pc_path_free(), and from the worker as it goes away into
 * an on_result (the caller then sleeps with a timeout and sees its
 * deadline itself).  Each of these is tested on a hung path, where no
 * answer can end the sleep, so a missing kick hangs the check.  A kick is
 * a write to the group's kick eventfd, whose poll the sleeper put in the
 * kernel before it slept: used up once taken, armed again by the next
 * sleep; and without a descriptor for that eventfd, the caller sleeps
 * with a timeout instead.
 *
 * Built with -Wl,--wrap=io_getevents (the library is linked in
 * statically): the checker thread's calls are counted, untimed (NULL
 * timeout) or timed, so that a test knows the untimed sleep took place
 * instead of passing through the timed one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

int __real_io_getevents(io_context_t ctx, long min_nr, long nr,
			struct io_event *events, struct timespec *timeout);
int __wrap_io_getevents(io_context_t ctx, long min_nr, long nr,
			struct io_event *events, struct timespec *timeout);

/* What the checker thread's io_getevents() calls did. */
struct watch {
	atomic_int asleep_untimed;	/* inside one now */
	atomic_int untimed;		/* NULL timeout, returned */
	atomic_int timed_after;		/* with a timeout, after an untimed one */
	atomic_int timed;		/* with a timeout, returned */
};

static _Thread_local struct watch *watch;
static char file[256];

int __wrap_io_getevents(io_context_t ctx, long min_nr, long nr,
			struct io_event *events, struct timespec *timeout)
{
	struct watch *w = watch;
	int n;

	if (w && !timeout)
		atomic_store(&w->asleep_untimed, 1);
	n = __real_io_getevents(ctx, min_nr, nr, events, timeout);
	if (w && !timeout) {
		atomic_store(&w->asleep_untimed, 0);
		atomic_fetch_add(&w->untimed, 1);
	} else if (w) {
		atomic_fetch_add(&w->timed, 1);
		if (atomic_load(&w->untimed))
			atomic_fetch_add(&w->timed_after, 1);
	}
	return n;
}

struct checker {
	struct pc_path *path;
	struct watch w;
	atomic_int done;
	int ret;
};

static void *check_sync(void *arg)
{
	struct checker *c = arg;

	watch = &c->w;
	c->ret = pc_check(c->path, PC_SYNC | PC_NOCALLBACK);
	watch = NULL;
	atomic_store(&c->done, 1);
	return NULL;
}

/* Waits until the checker sleeps untimed; false after ms. */
static bool wait_untimed(struct checker *c, unsigned int ms)
{
	return pc_test_wait_flag(&c->w.asleep_untimed, ms);
}

/* c's path, sim's first, is checked UP, then hung under a PC_SYNC check
 * on a thread of its own (t), which this waits to see asleep untimed. */
static bool hang_under_check(struct pathsim *sim, struct pc_engine *e,
			     struct checker *c, pthread_t *t)
{
	if (pc_path_open(e, pathsim_dev(sim, 0), NULL, &c->path))
		return false;
	CU_ASSERT_EQUAL(pc_check(c->path, PC_SYNC | PC_NOCALLBACK), PC_UP);
	pathsim_set(sim, "all", "hung");
	if (pthread_create(t, NULL, check_sync, c))
		return false;
	CU_ASSERT_TRUE(wait_untimed(c, 5000));
	return true;
}

/* The worker times the check out at its deadline and kicks the ring. */
static void test_deadline_kicks(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 300,
				.shutdown_ms = 500 };
	struct checker c = { .ret = 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(hang_under_check(sim, e, &c, &t));
	/* The read never answers: the kick is what ends the sleep. */
	CU_ASSERT_TRUE(pc_test_wait_flag(&c.done, 10000));
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.ret, PC_DOWN);
	CU_ASSERT_TRUE(atomic_load(&c.w.untimed) >= 1);
	pathsim_release(sim);
	pc_path_free(c.path);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/*
 * A kick is used up once its event is taken: the next untimed sleep of the
 * group puts a new poll in the kernel first.  Two hung paths of one group,
 * checked one after the other: each check sleeps untimed and each is
 * kicked awake at its deadline.
 */
static void test_kick_rearmed(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 300,
				.shutdown_ms = 500 };
	struct checker c[2] = { { .ret = 0 }, { .ret = 0 } };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;

	PATHSIM_START(sim, 2, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 2; i++) {
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL,
					&c[i].path) == 0);
		CU_ASSERT_EQUAL(pc_check(c[i].path, PC_SYNC | PC_NOCALLBACK),
				PC_UP);
	}
	pathsim_set(sim, "all", "hung");
	for (int i = 0; i < 2; i++) {
		PC_REQUIRE(pthread_create(&t, NULL, check_sync, &c[i]) == 0);
		CU_ASSERT_TRUE(wait_untimed(&c[i], 5000));
		CU_ASSERT_TRUE(pc_test_wait_flag(&c[i].done, 10000));
		pthread_join(t, NULL);
		CU_ASSERT_EQUAL(c[i].ret, PC_DOWN);
		CU_ASSERT_TRUE(atomic_load(&c[i].w.untimed) >= 1);
	}
	pathsim_release(sim);
	for (int i = 0; i < 2; i++)
		pc_path_free(c[i].path);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/*
 * No descriptor left for the group's kick (its eventfd is made by the
 * first untimed sleep): the caller sleeps with a timeout instead, and its
 * check on a hung path still ends DOWN at its deadline.
 */
static void test_no_fd_for_kick(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 300,
				.shutdown_ms = 500 };
	struct checker c = { .ret = 0 };
	struct rlimit old;
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &c.path) == 0);
	pathsim_set(sim, "all", "hung");
	PC_REQUIRE(pc_test_no_fds_left(&old) == 0);
	PC_REQUIRE(pthread_create(&t, NULL, check_sync, &c) == 0);
	CU_ASSERT_TRUE(pc_test_wait_flag(&c.done, 10000));
	pthread_join(t, NULL);
	PC_REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CU_ASSERT_EQUAL(c.ret, PC_DOWN);
	CU_ASSERT_EQUAL(atomic_load(&c.w.untimed), 0);
	CU_ASSERT_TRUE(atomic_load(&c.w.timed) >= 1);
	pathsim_release(sim);
	pc_path_free(c.path);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* pc_path_free() of the path kicks the ring: the check answers -ENODEV
 * and the free returns, long before the deadline (60 s). */
static void test_path_free_kicks(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 60000,
				.shutdown_ms = 500 };
	struct checker c = { .ret = 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;
	uint64_t t0;

	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(hang_under_check(sim, e, &c, &t));
	t0 = pc_test_now_ms();
	pc_path_free(c.path);
	CU_ASSERT_TRUE(pc_test_wait_flag(&c.done, 20000));
	pthread_join(t, NULL);
	printf("\n  pc_path_free returned after %llu ms (deadline 60000)\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_TRUE(pc_test_now_ms() - t0 < 20000);
	CU_ASSERT_EQUAL(c.ret, -ENODEV);
	pathsim_release(sim);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* An on_result that holds the worker until the test lets it go. */
static atomic_int cb_in, cb_go;

static void held_result(struct pc_path *p, int state, void *arg)
{
	(void)p;
	(void)state;
	(void)arg;
	atomic_store(&cb_in, 1);
	pc_test_wait_flag(&cb_go, 30000);
}

/*
 * The worker goes away into an on_result that does not return while the
 * check sleeps untimed on a hung path: it kicks the ring as it goes, the
 * caller sleeps with a timeout from then on, and the check ends DOWN at
 * its deadline with the callback still running.
 */
static void test_away_worker_kicks(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 500,
				.shutdown_ms = 500,
				.on_result = held_result };
	struct checker c = { .ret = 0 };
	struct pc_path *fast;
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t;

	atomic_store(&cb_in, 0);
	atomic_store(&cb_go, 0);
	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, file, NULL, &fast) == 0);
	PC_REQUIRE(hang_under_check(sim, e, &c, &t));
	/* The fast path's answer takes the worker into held_result(). */
	CU_ASSERT_EQUAL(pc_check(fast, 0), PC_PENDING);
	CU_ASSERT_TRUE(pc_test_wait_flag(&cb_in, 5000));
	CU_ASSERT_TRUE(pc_test_wait_flag(&c.done, 10000));
	/* Ended while the worker is still away, by the caller itself. */
	CU_ASSERT_EQUAL(atomic_load(&cb_go), 0);
	CU_ASSERT_EQUAL(c.ret, PC_DOWN);
	CU_ASSERT_TRUE(atomic_load(&c.w.untimed) >= 1);
	CU_ASSERT_TRUE(atomic_load(&c.w.timed_after) >= 1);
	atomic_store(&cb_go, 1);
	pthread_join(t, NULL);
	pathsim_release(sim);
	pc_path_free(fast);
	pc_path_free(c.path);
	pc_engine_free(e);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "deadline_kicks", test_deadline_kicks },
		{ "path_free_kicks", test_path_free_kicks },
		{ "away_worker_kicks", test_away_worker_kicks },
		{ "kick_rearmed", test_kick_rearmed },
		{ "no_fd_for_kick", test_no_fd_for_kick },
		{ NULL, NULL },
	};

	return pc_test_main_file("sync_untimed_wrap_io_getevents", tests,
				 argc, argv, file, sizeof(file));
}
