/* SPDX-License-Identifier: MIT */
/*
 * One check, one result (pathcheck(3), "One check, one result").  A worker
 * busy in a slow callback is late for another path's deadline: a poll
 * hands out DOWN at the deadline, and the read's later answer does not
 * become a second result: pc_path_result() and on_result say DOWN too, and
 * on_result comes once.  A PC_SYNC caller reaps its own answer: the busy
 * worker does not delay it, it returns UP, and pc_path_result() and
 * on_result (once the worker is free) say UP, once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];

static struct {
	struct pc_path *slow, *fast;
	atomic_int in_slow, fast_calls, fast_state;
} t;

static void on_result(struct pc_path *p, int state, void *arg)
{
	(void)arg;
	if (p == t.slow) {
		atomic_store(&t.in_slow, 1);
		pc_test_sleep_ms(250);	/* keeps the only worker busy */
	} else {
		atomic_store(&t.fast_state, state);
		atomic_fetch_add(&t.fast_calls, 1);
	}
}

/* sync: PC_SYNC; else polls pc_check until it is not PENDING. */
static void late_worker(bool sync)
{
	struct pc_options o = { .workers = 1, .on_result = on_result,
				.log = pc_test_log_quiet };
	struct pc_engine *e;
	struct pc_result r;
	int got;

	memset(&t, 0, sizeof(t));
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, file, NULL, &t.slow) == 0);
	PC_REQUIRE(pc_path_open(e, file, NULL, &t.fast) == 0);
	PC_REQUIRE(pc_path_set_timeout(t.fast, 30) == 0);
	CU_ASSERT_EQUAL(pc_check(t.slow, 0), PC_PENDING);
	PC_REQUIRE(pc_test_wait_flag(&t.in_slow, 3000));
	/* The read answers at once; the worker reaps it 250 ms late. */
	if (sync) {
		got = pc_check(t.fast, PC_SYNC);
	} else {
		CU_ASSERT_EQUAL(pc_check(t.fast, 0), PC_PENDING);
		while ((got = pc_check(t.fast, 0)) == PC_PENDING)
			pc_test_sleep_ms(1);
	}
	/* Whatever came first stands: for a poll the deadline, for a
	 * PC_SYNC caller the answer it reaped itself. */
	CU_ASSERT_EQUAL(got, sync ? PC_UP : PC_DOWN);
	CU_ASSERT_EQUAL(pc_path_result(t.fast, &r), 0);
	CU_ASSERT_EQUAL(r.state, got);
	CU_ASSERT_EQUAL(r.reason, sync ? PC_REASON_OK : PC_REASON_TIMEOUT);
	/* on_result comes once the worker is free, with the same verdict. */
	CU_ASSERT_TRUE(pc_test_wait_flag(&t.fast_calls, 3000));
	pc_test_sleep_ms(100);
	CU_ASSERT_EQUAL(atomic_load(&t.fast_calls), 1);
	CU_ASSERT_EQUAL(atomic_load(&t.fast_state), got);
	CU_ASSERT_EQUAL(pc_path_result(t.fast, &r), 0);
	CU_ASSERT_EQUAL(r.state, got);
	printf("\n  %s: returned %s, result %s, on_result %s x%d\n",
	       sync ? "PC_SYNC" : "poll", pc_state_name(got),
	       pc_state_name(r.state),
	       pc_state_name(atomic_load(&t.fast_state)),
	       atomic_load(&t.fast_calls));
	/* The path works on: the next check reads afresh. */
	pc_test_sleep_ms(50);
	pc_path_set_timeout(t.fast, 2000);
	pc_path_free(t.slow);
	t.slow = NULL;
	CU_ASSERT_EQUAL(pc_check(t.fast, PC_SYNC), PC_UP);
	pc_engine_free(e);
}

static void test_sync_late_worker(void)
{
	late_worker(true);
}

static void test_poll_late_worker(void)
{
	late_worker(false);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "sync_late_worker", test_sync_late_worker },
		{ "poll_late_worker", test_poll_late_worker },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks_once", tests, argc, argv, file,
				 sizeof(file));
}
