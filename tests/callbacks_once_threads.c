/* SPDX-License-Identifier: MIT */
/*
 * Exactly one on_result per check under concurrency (pathcheck(3),
 * "Result delivery", "Thread safety"): eight threads create, check and
 * free paths at once for several seconds, sharing groups; none of their
 * checks' results is lost or delivered twice.  Each thread owns its paths;
 * results come from the workers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define THREADS		8
#define PER_THREAD	48
#define SECONDS		3

struct tpath {
	struct pc_path *path;
	atomic_uint delivered;	/* on_result calls */
	atomic_uint bad;	/* results that were not UP */
	unsigned int expected;	/* checks this thread started */
};

static char file[256];
static struct pc_engine *engine;
static atomic_ulong delivered_total, delivered_freed, cancelled;
static atomic_uint errors;

static void on_result(struct pc_path *p, int state, void *arg)
{
	struct tpath *t = arg;

	(void)p;
	if (state != PC_UP)
		atomic_fetch_add(&t->bad, 1);
	atomic_fetch_add(&t->delivered, 1);
	atomic_fetch_add(&delivered_total, 1);
}

static bool idle(struct tpath *t)
{
	return atomic_load(&t->delivered) == t->expected;
}

static void fail(const char *what, int v)
{
	fprintf(stderr, "concurrency: %s (%d)\n", what, v);
	atomic_fetch_add(&errors, 1);
}

static void add_path(struct tpath *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = pc_path_open(engine, file, t, &t->path);
	if (err)
		fail("pc_path_open", err);
}

static void drop_path(struct tpath *t)
{
	unsigned int before = atomic_load(&t->delivered);

	pc_path_free(t->path);
	/* A check in flight is cancelled with the path: at most one short. */
	if (atomic_load(&t->delivered) > t->expected ||
	    before + 1 < t->expected)
		fail("delivery count at free", (int)before);
	atomic_fetch_add(&delivered_freed, atomic_load(&t->delivered));
	if (atomic_load(&t->delivered) < t->expected)
		atomic_fetch_add(&cancelled, 1);
	t->path = NULL;
}

static void step(struct tpath *mine, unsigned int *seed)
{
	struct pc_path *batch[PER_THREAD];
	struct tpath *t = &mine[rand_r(seed) % PER_THREAD];
	unsigned int n = 0, op = rand_r(seed) % 10;
	int ret;

	if (!t->path) {
		add_path(t);
		return;
	}
	if (op < 2) {
		drop_path(t);
	} else if (op < 4) {
		if (!idle(t))
			return;
		t->expected++;
		ret = pc_check(t->path, PC_SYNC);
		if (ret != PC_UP)
			fail("sync check", ret);
	} else if (op < 8) {
		struct tpath *which[PER_THREAD];

		for (unsigned int i = 0; i < PER_THREAD; i++)
			if (mine[i].path && idle(&mine[i]) && rand_r(seed) % 3 == 0) {
				which[n] = &mine[i];
				batch[n++] = mine[i].path;
			}
		ret = pc_check_many(batch, n);
		if (ret != (int)n)
			fail("pc_check_many started", ret);
		for (unsigned int i = 0; i < n; i++)
			which[i]->expected++;
	} else if (idle(t)) {
		t->expected++;
		ret = pc_check(t->path, 0);
		if (ret != PC_PENDING)
			fail("async check", ret);
	}
}

static void *thread_main(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 7919u + 1;
	struct tpath *mine = calloc(PER_THREAD, sizeof(*mine));
	uint64_t until = pc_test_now_ms() + SECONDS * 1000u, wait_until;

	for (unsigned int i = 0; mine && i < PER_THREAD; i++)
		add_path(&mine[i]);
	while (mine && pc_test_now_ms() < until)
		step(mine, &seed);
	/* Everything started must arrive, then the paths go. */
	wait_until = pc_test_now_ms() + 10000;
	for (unsigned int i = 0; mine && i < PER_THREAD; i++) {
		if (!mine[i].path)
			continue;
		while (!idle(&mine[i]) && pc_test_now_ms() < wait_until)
			pc_test_sleep_ms(1);
		if (!idle(&mine[i]))
			fail("lost results", (int)(mine[i].expected -
						   atomic_load(&mine[i].delivered)));
		if (atomic_load(&mine[i].bad))
			fail("not up", (int)atomic_load(&mine[i].bad));
		drop_path(&mine[i]);
	}
	free(mine);
	return NULL;
}

static void test_threads(void)
{
	struct pc_options o = { .on_result = on_result, .group_size = 64 };
	pthread_t th[THREADS];
	struct pc_stats st;

	PC_REQUIRE(pc_engine_new(&o, &engine) == 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		PC_REQUIRE(pthread_create(&th[i], NULL, thread_main, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&errors), 0);
	pc_engine_stats(engine, &st);
	printf("\n  %lu checks, %lu groups made, %lu destroyed\n",
	       (unsigned long)st.checks, (unsigned long)st.groups_created,
	       (unsigned long)st.groups_destroyed);
	CU_ASSERT_TRUE(st.checks > 1000);
	CU_ASSERT_EQUAL(st.paths, 0);
	CU_ASSERT_EQUAL(st.inflight, 0);
	CU_ASSERT_EQUAL(st.down, 0);
	/* Each finished check was delivered once, except those whose path
	 * was freed with the check under way (it may have finished without
	 * being delivered): the engine's count and ours agree to that. */
	printf("  %lu delivered, %lu cancelled by pc_path_free\n",
	       atomic_load(&delivered_total), atomic_load(&cancelled));
	CU_ASSERT_TRUE(st.checks >= atomic_load(&delivered_total));
	CU_ASSERT_TRUE(st.checks <= atomic_load(&delivered_total) +
				   atomic_load(&cancelled));
	CU_ASSERT_EQUAL(atomic_load(&delivered_freed),
			atomic_load(&delivered_total));
	pc_engine_free(engine);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "threads", test_threads },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks_once_threads", tests, argc, argv,
				 file, sizeof(file));
}
