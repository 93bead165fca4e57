/* SPDX-License-Identifier: MIT */
/*
 * A marginal path shows what its checks say (pathcheckd(8), MARGINAL
 * PATHS): a path that flapped and now fails every read is faulty in show
 * path, show paths, show status, the format wildcards and the metrics,
 * with marginal beside it (its own field, column, JSON key and metric),
 * never instead of it.  On pathsim.
 */
#include <stdio.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

static char R[1 << 18];

static bool path_str(struct daemon_fx *fx, const char *dev, const char *key, char *out,
		     size_t len)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	return daemon_cmd(fx, cmd, R, sizeof(R)) > 0 && reply_json_str(R, key, out, len);
}

/* Waits at most ms for dev's key to read want. */
static bool wait_str(struct daemon_fx *fx, const char *dev, const char *key, const char *want,
		     unsigned int ms)
{
	uint64_t end = pc_test_now_ms() + ms;
	char s[64];

	do {
		if (path_str(fx, dev, key, s, sizeof(s)) && !strcmp(s, want))
			return true;
		pc_test_sleep_ms(50);
	} while (pc_test_now_ms() < end);
	printf("\n  %s: %s not '%s' within %u ms: %s\n", dev, key, want, ms, R);
	return false;
}

static void down_and_marginal(struct daemon_fx *fx)
{
	char s[64];

	/* show path: the checker state as it is, marginal beside it */
	CU_ASSERT(path_str(fx, "p1", "chk_st", s, sizeof(s)) && !strcmp(s, "faulty"));
	CU_ASSERT(reply_json_str(R, "state", s, sizeof(s)) && !strcmp(s, "down"));
	CU_ASSERT(reply_json_str(R, "marginal_reason", s, sizeof(s)) && !strcmp(s, "flapping"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"marginal\":true,"));
	CU_ASSERT(path_str(fx, "p0", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"marginal\":false,"));
	/* show paths: its own column */
	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "  chk_st       marginal    checks"));
	CU_ASSERT(reply_has_line(R, "p1 ", " faulty ", " flapping "));
	CU_ASSERT(reply_has_line(R, "p0 ", " ready ", " - "));
	/* show status: the states add up to the paths, marginal apart */
	CU_ASSERT(daemon_cmd(fx, "show status json", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "{\"paths\":2,\"ready\":1,\"faulty\":1,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, ",\"marginal\":1}\n"));
	CU_ASSERT(daemon_cmd(fx, "show status", R, sizeof(R)) > 0);
	CU_ASSERT(reply_has_line(R, "faulty ", "1", NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\nmarginal paths: 1\n"));
	/* the format wildcards */
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %t %T\"", R, sizeof(R)) > 0);
	CU_ASSERT(reply_has_line(R, "p1 ", " faulty ", " faulty"));
	CU_ASSERT_PTR_NULL(strstr(R, "marginal"));
	/* the metrics: faulty counts it; marginal is its own series */
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"faulty\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"ready\"} 1\n"));
	CU_ASSERT_PTR_NULL(strstr(R, "state=\"marginal\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_marginal_paths 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths_marginal{reason=\"flapping\"} 1\n"));
}

static void test_marginal_down_shows_down(void)
{
	struct daemon_fx *fx;
	struct pathsim *sim = NULL;
	unsigned int slack = daemon_slack_ms();

	PATHSIM_START(sim, 2, 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	/* flap_recovery 1h: once marginal, p1 stays so for the test */
	PC_REQUIRE(daemon_start(fx, "interval 50ms\ntimeout 2s\nflap_threshold 2\n"
				"flap_window 10s\nflap_recovery 1h\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 2, "ready", 3000 + slack) == 0);
	PC_REQUIRE(pathsim_set(sim, "p1", "flaky:0.5") == 0);
	CU_ASSERT(wait_str(fx, "p1", "marginal_reason", "flapping", 5000 + slack));
	/* it flapped; now every read fails */
	PC_REQUIRE(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(wait_str(fx, "p1", "chk_st", "faulty", 2000 + slack));
	down_and_marginal(fx);
	PC_REQUIRE(pathsim_set(sim, "p1", "up") == 0);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "marginal_down_shows_down", test_marginal_down_shows_down },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_marginal", tests, argc, argv);
}
