/* SPDX-License-Identifier: MIT */
/*
 * Remove, then free, under the lock a callback waits for (pathcheck(3),
 * "Locks and callbacks"): the application holds its table lock across
 * pc_path_free() while that path's on_result waits for the same lock.
 * With pc_options.on_free, pc_path_free() does not wait for the callback;
 * on_free(path_arg) comes exactly once, when no on_result for the path
 * runs or will run.
 * Each case runs in a child process under a watchdog, so that a hang
 * fails the test instead of stalling it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define CHILD_MS	20000u
#define MAGIC		0x7a61626cu

static char file[256];

/* Child NAME of this file in a fresh process, under the watchdog. */
static int run_child(const char *name)
{
	return pc_test_run_child(name, file, CHILD_MS);
}

struct entry {
	unsigned int magic;
	struct pc_path *path;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table;		/* under table_lock */
static atomic_int in_callback, callback_done, freed, freed_early;
static atomic_int saw_arg_null, saw_bad_magic, free_self;

static void on_result(struct pc_path *p, int state, void *arg)
{
	struct entry *en = arg;

	(void)state;
	if (atomic_load(&free_self)) {
		pc_path_free(p);
		/* on_free has not run: arg is still ours. */
		if (en->magic != MAGIC)
			atomic_store(&saw_bad_magic, 1);
		atomic_store(&callback_done, 1);
		return;
	}
	atomic_store(&in_callback, 1);
	pthread_mutex_lock(&table_lock);
	/* Freed meanwhile: the path says so, and arg is still valid. */
	if (!pc_path_arg(p))
		atomic_store(&saw_arg_null, 1);
	if (en->magic != MAGIC)
		atomic_store(&saw_bad_magic, 1);
	pthread_mutex_unlock(&table_lock);
	atomic_store(&callback_done, 1);
}

static void on_free(void *arg)
{
	struct entry *en = arg;

	if (!atomic_load(&callback_done))
		atomic_store(&freed_early, 1);
	en->magic = 0;
	free(en);
	atomic_fetch_add(&freed, 1);
}

static struct pc_engine *engine_with_free(void)
{
	struct pc_options o = { .workers = 1, .on_result = on_result,
				.on_free = on_free };
	struct pc_engine *e = NULL;

	return pc_engine_new(&o, &e) ? NULL : e;
}

static struct entry *add_entry(struct pc_engine *e)
{
	struct entry *en = calloc(1, sizeof(*en));

	if (!en)
		return NULL;
	en->magic = MAGIC;
	if (pc_path_open(e, file, en, &en->path)) {
		free(en);
		return NULL;
	}
	return en;
}

/* 0 when every step held, else the number of the first that did not. */
static int child_remove_then_free(void)
{
	struct pc_engine *e = engine_with_free();
	struct entry *en, *other;

	if (!e || !(en = add_entry(e)) || !(other = add_entry(e)))
		return 2;
	pthread_mutex_lock(&table_lock);
	table = en;
	if (pc_check(en->path, 0) != PC_PENDING ||
	    !pc_test_wait_flag(&in_callback, 10000))
		return 3;
	/* The pattern: remove, free, all under the lock on_result waits for. */
	table = NULL;
	pc_path_free(en->path);
	if (atomic_load(&freed))
		return 4;	/* on_free while on_result still runs */
	pthread_mutex_unlock(&table_lock);
	if (!pc_test_wait_flag(&freed, 10000))
		return 5;
	if (!atomic_load(&saw_arg_null) || atomic_load(&saw_bad_magic) ||
	    atomic_load(&freed_early))
		return 6;
	/* The worker goes on. */
	atomic_store(&callback_done, 0);
	if (pc_check(other->path, PC_SYNC) != PC_UP ||
	    !pc_test_wait_flag(&callback_done, 10000))
		return 7;
	/* No on_result runs: on_free before pc_path_free returns. */
	pc_path_free(other->path);
	if (atomic_load(&freed) != 2)
		return 8;
	pc_engine_free(e);
	return atomic_load(&freed) == 2 ? 0 : 9;
}

/* on_result freeing its own path: on_free once it has returned. */
static int child_free_self(void)
{
	struct pc_engine *e = engine_with_free();
	struct entry *en;

	if (!e || !(en = add_entry(e)))
		return 2;
	atomic_store(&free_self, 1);
	if (pc_check(en->path, 0) != PC_PENDING ||
	    !pc_test_wait_flag(&freed, 10000))
		return 3;
	if (atomic_load(&saw_bad_magic) || atomic_load(&freed_early))
		return 4;
	pc_engine_free(e);
	return atomic_load(&freed) == 1 ? 0 : 5;
}

static void test_remove_then_free(void)
{
	CU_ASSERT_EQUAL(run_child("remove_then_free"), 0);
}

static void test_free_self(void)
{
	CU_ASSERT_EQUAL(run_child("free_self"), 0);
}

static void test_options(void)
{
	struct pc_options o = { .workers = 1, .on_free = on_free };
	struct pc_engine *e = NULL;

	/* on_free without on_result is allowed: it still comes once. */
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	{
		struct entry *en = add_entry(e);

		PC_REQUIRE(en);
		atomic_store(&freed, 0);
		atomic_store(&callback_done, 1);
		pc_path_free(en->path);
		CU_ASSERT_EQUAL(atomic_load(&freed), 1);
	}
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "remove_then_free", test_remove_then_free },
		{ "free_self", test_free_self },
		{ "options", test_options },
		{ NULL, NULL },
	};

	const char *child = getenv("PC_TEST_CHILD");

	if (child) {
		snprintf(file, sizeof(file), "%s", getenv("PC_TEST_FILE"));
		return strcmp(child, "free_self") ? child_remove_then_free() :
		       child_free_self();
	}
	return pc_test_main_file("path_lifetime_on_free", tests, argc, argv,
				 file, sizeof(file));
}
