/* SPDX-License-Identifier: MIT */
/*
 * pc_engine_free() stays bounded by shutdown_ms (pc_engine_free(3)) when
 * no destroyer thread can be started.  pthread_create is wrapped
 * (-Wl,--wrap=pthread_create, see the Makefile) and made to fail with
 * EAGAIN once the engine runs; a pathsim read hangs, so an io_destroy()
 * in the reaper would wait for it.  A helper releases the read after 3 s,
 * so that an unbounded free fails instead of hanging.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "harness.h"

static atomic_int fail_threads;
static atomic_int refused;

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg)
{
	if (atomic_load(&fail_threads)) {
		atomic_fetch_add(&refused, 1);
		return EAGAIN;
	}
	return __real_pthread_create(t, a, fn, arg);
}

struct releaser {
	struct pathsim *sim;
	atomic_int stop;
};

/* Releases the hung reads after 3 s unless told to stop first. */
static void *release_later(void *arg)
{
	struct releaser *r = arg;

	for (int i = 0; i < 300 && !atomic_load(&r->stop); i++)
		pc_test_sleep_ms(10);
	pathsim_set(r->sim, "all", "up");
	pathsim_release(r->sim);
	return NULL;
}

static void free_bounded(unsigned int hung, unsigned int idle)
{
	struct pc_options o = { .workers = 1, .group_size = 1,
				.timeout_ms = 100, .shutdown_ms = 300 };
	struct releaser rel = { 0 };
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_path *p;
	pthread_t t;
	uint64_t t0, took;

	PATHSIM_START(sim, hung + idle, 0);
	rel.sim = sim;
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (unsigned int i = 0; i < hung + idle; i++) {
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i), NULL, &p) == 0);
		if (i < hung) {
			char target[16];

			snprintf(target, sizeof(target), "p%u", i);
			PC_REQUIRE(pathsim_set(sim, target, "hung") == 0);
			CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
		}
	}
	pc_test_sleep_ms(20);
	PC_REQUIRE(__real_pthread_create(&t, NULL, release_later, &rel) == 0);
	atomic_store(&fail_threads, 1);
	t0 = pc_test_now_ms();
	pc_engine_free(e);
	took = pc_test_now_ms() - t0;
	atomic_store(&fail_threads, 0);
	printf("\n  %u hung + %u idle groups, no threads: pc_engine_free "
	       "took %llu ms (shutdown_ms 300), %d thread(s) refused\n",
	       hung, idle, (unsigned long long)took, atomic_load(&refused));
	CU_ASSERT_TRUE(atomic_load(&refused) > 0);
	CU_ASSERT_TRUE(took <= 300 + 100);
	atomic_store(&rel.stop, 1);
	pthread_join(t, NULL);
	pathsim_stop(sim);
}

static void test_hung_group(void)
{
	free_bounded(1, 0);
}

/* Idle groups are given up too: io_destroy() in the reaper has no bound. */
static void test_hung_and_idle_groups(void)
{
	free_bounded(2, 3);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "hung_group", test_hung_group },
		{ "hung_and_idle_groups", test_hung_and_idle_groups },
		{ NULL, NULL },
	};

	return pc_test_main("shutdown_wrap_pthread_create", tests, argc, argv);
}
