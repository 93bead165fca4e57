/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's wake-up economy (docs/performance.md, row 7) keeps its
 * contracts, on pathsim paths: with the workers coalescing answers and
 * the main thread taking results on its tick, every answered read is one
 * result, none lost, none twice; a result still comes promptly when no
 * tick is near (the result eventfd); a timeout fires and is reported with
 * nobody polling; and a wake-up written after the drain that took its
 * result is read, not left to spin the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

enum { PATHS = 64 };

static char R[1 << 16];

/* 64 paths every 50 ms: about 13 checks a tick, in bursts. */
static void test_every_result_once(void)
{
	unsigned int slack = daemon_slack_ms();
	struct pathsim_counts pc;
	struct daemon_fx *fx;
	struct pathsim *sim;
	uint64_t results = 0, checks = 0, lost = 0;
	unsigned long total = 0;
	long long sum1 = 0, sum2 = 0;

	PATHSIM_START(sim, PATHS, 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_start(fx, "interval 50ms\ntimeout 2s\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, PATHS, "ready", 100 + slack), 0);
	pc_test_sleep_ms(1500);
	for (unsigned int i = 0; i < PATHS; i++) {
		char dev[16];
		long long d1, d2;
		unsigned long answered;

		snprintf(dev, sizeof(dev), "p%u", i);
		d1 = daemon_path_int(fx, dev, "checks");
		CU_ASSERT_EQUAL(pathsim_counts(sim, i, &pc), 0);
		answered = pc.ok + pc.failed + pc.shortreads;
		d2 = daemon_path_int(fx, dev, "checks");
		/* one read in flight at most, and a result per answer */
		CU_ASSERT(d1 <= (long long)answered && (long long)answered <= d2 + 1);
		CU_ASSERT_EQUAL(daemon_path_int(fx, dev, "transitions"), 1);
		sum1 += d1;
		sum2 += d2;
		total += answered;
	}
	CU_ASSERT(daemon_stat(fx, "results", &results));
	CU_ASSERT(daemon_stat(fx, "checks", &checks));
	CU_ASSERT(daemon_stat(fx, "results_lost", &lost));
	printf("\n  %u paths: %lu reads answered, daemon checks %lld..%lld; "
	       "engine results %llu, daemon took %llu\n", PATHS, total, sum1, sum2,
	       (unsigned long long)checks, (unsigned long long)results);
	/* 1.5 s at 20 a second a path, less start-up spread: results flow */
	CU_ASSERT(total >= PATHS * 20);
	/* taken by the main thread: all but those of the latest tick */
	CU_ASSERT(results <= checks && checks - results <= PATHS);
	CU_ASSERT_EQUAL(lost, 0);
	daemon_fx_finish(fx);
}

/*
 * Interval 5 s: no tick is near, so a `check` command's result must come
 * by the result eventfd, not wait for housekeeping (1 s) or the next due
 * check.  A hung path's check answers at its deadline.
 */
static void test_prompt_without_tick(void)
{
	unsigned int slack = daemon_slack_ms();
	struct daemon_fx *fx;
	struct pathsim *sim;
	uint64_t t0, took;

	PATHSIM_START(sim, 2, 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_start(fx, "interval 5s\ntimeout 300ms\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 5000 + slack), 0);
	for (int i = 0; i < 5; i++) {
		t0 = pc_test_now_ms();
		CU_ASSERT(daemon_cmd(fx, "check p1", R, sizeof(R)) > 0);
		took = pc_test_now_ms() - t0;
		CU_ASSERT(reply_starts_with(R, "p1: ready"));
		printf("\n  check of an up path answered in %llu ms", (unsigned long long)took);
		CU_ASSERT(took <= 50 + slack);
		pc_test_sleep_ms(150);
	}
	PC_REQUIRE(pathsim_set(sim, "p0", "hung") == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT(daemon_cmd(fx, "check p0", R, sizeof(R)) > 0);
	took = pc_test_now_ms() - t0;
	printf("\n  check of a hung path (timeout 300 ms) answered in %llu ms: %s",
	       (unsigned long long)took, R);
	CU_ASSERT(reply_starts_with(R, "p0: i/o timeout"));
	CU_ASSERT(took >= 299 && took <= 300 + 50 + slack);
	daemon_release_sims(fx);
	daemon_fx_finish(fx);
}

/* Nobody asks: the hung path's timeout is found and logged by itself. */
static void test_timeout_nobody_polls(void)
{
	unsigned int slack = daemon_slack_ms();
	struct daemon_fx *fx;
	struct pathsim *sim;
	char st[64];

	PATHSIM_START(sim, 2, 0);
	PC_REQUIRE(pathsim_set(sim, "p0", "hung") == 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_start(fx, "interval 1s\ntimeout 300ms\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	/* first check within the first interval, then its deadline */
	CU_ASSERT_EQUAL(daemon_log_wait(fx, "p0: directio checker reports path is down",
					1000 + 300 + 50 + slack), 0);
	CU_ASSERT(daemon_cmd(fx, "show path p0 json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_str(R, "chk_st", st, sizeof(st)) && !strcmp(st, "i/o timeout"));
	daemon_release_sims(fx);
	daemon_fx_finish(fx);
}

/* CPU time of the daemon's main thread so far, in clock ticks; 0 unknown. */
static unsigned long long main_cpu(pid_t pid)
{
	char path[64], *st, *p;
	unsigned long long ut = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	st = pc_test_read_file(path, NULL);
	p = st ? strrchr(st, ')') : NULL;
	/* after the name: state (field 3) ... utime (14), stime (15) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &stime) != 2)
		ut = stime = 0;
	free(st);
	return ut + stime;
}

/*
 * A worker queues a result and marks the loop woken under the queue's
 * lock, but writes the eventfd after it.  debug wake-delay widens that gap
 * to 300 ms, and commands keep the loop turning meanwhile, so it drains the
 * result before the write comes.  The eventfd is then readable with nothing
 * queued: the loop must read it and sleep again, not spin (which it did at
 * 63-104% CPU).  One path at 60 s, so no other result comes to end it.
 */
static void test_wake_after_drain(void)
{
	static const char *const debug[] = { "-d", NULL };
	long hz = sysconf(_SC_CLK_TCK);
	struct daemon_fx *fx = daemon_fx_files(1);
	struct dconn *checker, *poke;
	unsigned long long cpu0, cpu1;
	uint64_t t0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "interval 60s\ntimeout 2s\npath %s/f0\n", fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, debug) == 0);
	PC_REQUIRE(dconn_open(fx, &checker) == 0);
	PC_REQUIRE(dconn_open(fx, &poke) == 0);
	CU_ASSERT(daemon_reply_is(fx, "debug wake-delay 300ms", "ok\n"));
	CU_ASSERT_EQUAL(dconn_send(checker, "check f0"), 0);
	/* the loop turns, and drains, while the worker waits to write */
	for (t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 250;) {
		CU_ASSERT(dconn_cmd(poke, "show daemon", R, sizeof(R), fx->reply_ms) > 0);
		pc_test_sleep_ms(10);
	}
	CU_ASSERT(dconn_reply(checker, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_starts_with(R, "f0: ready"));
	pc_test_sleep_ms(300);		/* the write has come */
	cpu0 = main_cpu(fx->pid);
	pc_test_sleep_ms(1500);
	cpu1 = main_cpu(fx->pid);
	printf("\n  main thread after the late wake-up: %llu ticks of CPU in 1.5 s (%ld a second)\n",
	       cpu1 - cpu0, hz);
	/* a spin takes all of 1.5 s it is given; asleep, next to nothing */
	CU_ASSERT(cpu1 - cpu0 <= (unsigned long long)hz * 15 / 100);
	dconn_close(checker);
	dconn_close(poke);
	daemon_fx_finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "wake_after_drain", test_wake_after_drain },
		{ "every_result_once", test_every_result_once },
		{ "prompt_without_tick", test_prompt_without_tick },
		{ "timeout_nobody_polls", test_timeout_nobody_polls },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_wakeups", tests, argc, argv);
}
