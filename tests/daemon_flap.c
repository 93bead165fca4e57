/* SPDX-License-Identifier: MIT */
/*
 * Marginal paths and backoff on pathsim (docs/man/pathcheckd.8, MARGINAL
 * PATHS): a flaky:0.5 path becomes marginal (flapping) and a slow one
 * marginal (slow), with their events, metrics and one summary log line; a
 * healthy path is never flagged and is checked less often (backoff, in its
 * due times and its check count); both recover.  Short windows keep it
 * within seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

static char R[1 << 18];

static bool path_field(struct daemon_fx *fx, const char *dev, const char *key,
		       char *out, size_t len)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	return daemon_cmd(fx, cmd, R, sizeof(R)) > 0 && reply_json_str(R, key, out, len);
}

static long long path_num(struct daemon_fx *fx, const char *dev, const char *key)
{
	char cmd[64];
	long long v = -1;

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	if (daemon_cmd(fx, cmd, R, sizeof(R)) <= 0 || !reply_json_int(R, key, &v))
		printf("\n  %s: no %s in %s\n", dev, key, R);
	return v;
}

/* Waits at most ms for dev's marginal_reason to be want ("" for null). */
static bool wait_reason(struct daemon_fx *fx, const char *dev, const char *want, unsigned int ms)
{
	uint64_t end = pc_test_now_ms() + ms;
	char s[64];

	do {
		bool has = path_field(fx, dev, "marginal_reason", s, sizeof(s));

		if ((!*want && !has) || (has && !strcmp(s, want)))
			return true;
		pc_test_sleep_ms(50);
	} while (pc_test_now_ms() < end);
	printf("\n  %s: marginal_reason not '%s' within %u ms: %s\n", dev, want, ms, R);
	return false;
}

/*
 * backoff: the healthy paths p0 and p3 are checked every 800 ms by now, p1
 * (marginal) at the base interval; p3 going down is back at the base at
 * once.
 */
static void backoff(struct daemon_fx *fx, struct pathsim *sim)
{
	unsigned int slack = daemon_slack_ms();
	long long t1, checks;

	CU_ASSERT_EQUAL(path_num(fx, "p0", "interval_now_ms"), 800);
	CU_ASSERT(path_num(fx, "p0", "next_check_ms") <= 800);
	checks = path_num(fx, "p3", "checks");
	pc_test_sleep_ms(1700);
	t1 = path_num(fx, "p3", "checks") - checks;
	printf("\n  p3: %lld checks in 1.7 s (at 100 ms: 17)\n", t1);
	CU_ASSERT(t1 >= 1 && t1 <= 3);
	CU_ASSERT(wait_reason(fx, "p0", "", 0) && wait_reason(fx, "p3", "", 0));
	CU_ASSERT_EQUAL(path_num(fx, "p1", "interval_now_ms"), 100);	/* marginal: base */
	/* a backed-off path that goes down is back at the base interval at once */
	PC_REQUIRE(pathsim_set(sim, "p3", "eio") == 0);
	CU_ASSERT_EQUAL(daemon_log_wait(fx, "p3: directio checker reports path is down",
					800 + slack), 0);
	CU_ASSERT_EQUAL(path_num(fx, "p3", "interval_now_ms"), 100);
	checks = path_num(fx, "p3", "checks");
	pc_test_sleep_ms(500);
	CU_ASSERT(path_num(fx, "p3", "checks") - checks >= 3);
	PC_REQUIRE(pathsim_set(sim, "p3", "up") == 0);
}

static void test_marginal_backoff(void)
{
	struct daemon_fx *fx;
	struct pathsim *sim = NULL;
	struct dconn *sub;
	const char *why = NULL;
	char line[4096], s[64];
	unsigned int slack = daemon_slack_ms(), marginal_events = 0;
	long long t1;
	int ret = pathsim_start(&sim, 4, 0, &why);

	if (ret && why)
		PC_SKIP("%s", why);
	PC_REQUIRE(ret == 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_start(fx, "interval 100ms\ntimeout 2s\nflap_threshold 2\n"
				"flap_window 3s\nflap_recovery 1s\nslow_threshold 20ms\n"
				"slow_window 1s\nmax_interval 800ms\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 4, "ready", 3000 + slack) == 0);
	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	CU_ASSERT(dconn_cmd(sub, "subscribe", line, sizeof(line), 5000) == 0);
	PC_REQUIRE(pathsim_set(sim, "p1", "flaky:0.5") == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "slow:60") == 0);

	/* classified: flaky is flapping, slow is slow, p0 and p3 never */
	CU_ASSERT(wait_reason(fx, "p1", "flapping", 5000 + slack));
	/* marginal beside the checker state, never instead of it */
	CU_ASSERT(path_field(fx, "p1", "chk_st", s, sizeof(s)) &&
		  (!strcmp(s, "ready") || !strcmp(s, "faulty")));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"marginal\":true,\"marginal_reason\":\"flapping\""));
	CU_ASSERT(wait_reason(fx, "p2", "slow", 3000 + slack));
	CU_ASSERT(path_field(fx, "p2", "state", s, sizeof(s)) && !strcmp(s, "up"));
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NULL(strstr(R, "state=\"marginal\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_marginal_paths 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths_marginal{reason=\"flapping\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths_marginal{reason=\"slow\"} 1\n"));
	CU_ASSERT(daemon_log_count(fx, "p1: path is marginal (flapping: 3 transitions in ") == 1);
	CU_ASSERT(daemon_log_count(fx, "p2: path is marginal (slow: ") == 1);

	/* p1 keeps flapping: its transitions go on, its log lines do not */
	t1 = path_num(fx, "p1", "transitions");
	pc_test_sleep_ms(1500);
	CU_ASSERT(path_num(fx, "p1", "transitions") > t1);
	CU_ASSERT(wait_reason(fx, "p1", "flapping", 0));
	CU_ASSERT(daemon_log_count(fx, "p1: directio checker reports path is") <= 3);

	backoff(fx, sim);

	/* recovery, with one summary line */
	PC_REQUIRE(pathsim_set(sim, "p1", "up") == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "up") == 0);
	CU_ASSERT(wait_reason(fx, "p1", "", 3000 + slack));
	CU_ASSERT(wait_reason(fx, "p2", "", 3000 + slack));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "p1: path is no longer marginal (flapping), "), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "p2: path is no longer marginal (slow), "), 1);
	CU_ASSERT(path_field(fx, "p1", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	while (dconn_line(sub, line, sizeof(line), 100) > 0)
		marginal_events += reply_starts_with(line, "{\"event\":\"marginal\",");
	CU_ASSERT_EQUAL(marginal_events, 4);	/* two on, two off */
	CU_ASSERT_EQUAL(daemon_log_count(fx, "p0: path is marginal"), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "p3: path is marginal"), 0);
	dconn_close(sub);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "marginal_backoff", test_marginal_backoff },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_flap", tests, argc, argv);
}
