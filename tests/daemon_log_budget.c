/* SPDX-License-Identifier: MIT */
/*
 * Every per-path log line goes through the log budget (pathcheckd(8),
 * LOGGING; pathcheckd.conf(5), log_budget), each kind with its summary
 * line: paths removed by a reload, paths becoming marginal and no longer
 * marginal.  Each line is logged or counted in a summary, never lost, and
 * at most log_budget a second are logged.  A corrupt holds file is one
 * line with a count, however long it is.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

#define NFILES	40
#define BUDGET	3

static char R[1 << 16];

/* A reload drops NFILES paths at once: BUDGET lines, the rest summarized. */
static void test_removed_storm(void)
{
	struct daemon_fx *fx = daemon_fx_files(NFILES);
	unsigned int lines, sums;
	unsigned long long more;
	uint64_t t0, secs;

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\nlog_budget %u\npath %s/f*\n", BUDGET,
				fx->dir) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, NFILES, "ready", 2000 + daemon_slack_ms()), 0);
	PC_REQUIRE(daemon_config(fx, "interval 200ms\nlog_budget %u\n", BUDGET) == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) > 0 && !strcmp(R, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_wait(fx, " more paths removed (config)",
					2000 + daemon_slack_ms()), 0);
	secs = (pc_test_now_ms() - t0) / 1000 + 1;
	lines = daemon_log_count(fx, ": path removed (config)");
	more = daemon_log_summarized(fx, " more paths removed (config)", &sums, NULL);
	printf("\n  %u removed: %u lines, %llu in %u summaries over %llu s\n", NFILES, lines,
	       more, sums, (unsigned long long)secs);
	CU_ASSERT(lines <= BUDGET * secs);
	CU_ASSERT_EQUAL(lines + more, NFILES);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* Lines of phrase logged one by one, and summarized, for n paths. */
static void budgeted(struct daemon_fx *fx, const char *line, const char *summary,
		     unsigned int n, uint64_t t0)
{
	uint64_t secs;
	unsigned int lines;
	unsigned long long more;

	pc_test_sleep_ms(1500);	/* the summary of the last second */
	secs = (pc_test_now_ms() - t0) / 1000 + 1;
	lines = daemon_log_count(fx, line);
	more = daemon_log_summarized(fx, summary, NULL, NULL);
	printf("\n  '%s': %u lines, %llu summarized over %llu s\n", line, lines, more,
	       (unsigned long long)secs);
	CU_ASSERT(lines <= 1 * secs);
	CU_ASSERT_EQUAL(lines + more, n);
}

static bool all_marginal(struct daemon_fx *fx, unsigned int n, bool want, unsigned int ms)
{
	uint64_t end = pc_test_now_ms() + ms;

	do {
		if (daemon_cmd(fx, "show status json", R, sizeof(R)) > 0) {
			char needle[32];

			snprintf(needle, sizeof(needle), "\"marginal\":%u}", want ? n : 0);
			if (strstr(R, needle))
				return true;
		}
		pc_test_sleep_ms(50);
	} while (pc_test_now_ms() < end);
	printf("\n  not %u marginal within %u ms: %s\n", want ? n : 0, ms, R);
	return false;
}

/* 6 paths flap at once under log_budget 1: marginal, then recovered. */
static void test_marginal_storm(void)
{
	struct daemon_fx *fx;
	struct pathsim *sim = NULL;
	unsigned int slack = daemon_slack_ms(), n = 6;
	uint64_t t0;

	PATHSIM_START(sim, n, 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_start(fx, "interval 50ms\ntimeout 2s\nflap_threshold 2\n"
				"flap_window 10s\nflap_recovery 1s\nlog_budget 1\npath %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
	PC_REQUIRE(daemon_wait_states(fx, n, "ready", 3000 + slack) == 0);
	t0 = pc_test_now_ms();
	PC_REQUIRE(pathsim_set(sim, "all", "flaky:0.5") == 0);
	CU_ASSERT(all_marginal(fx, n, true, 5000 + slack));
	budgeted(fx, ": path is marginal (flapping", " more paths are marginal", n, t0);
	t0 = pc_test_now_ms();
	PC_REQUIRE(pathsim_set(sim, "all", "up") == 0);
	CU_ASSERT(all_marginal(fx, n, false, 5000 + slack));
	budgeted(fx, ": path is no longer marginal", " more paths are no longer marginal", n, t0);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

/* 5,000 lines of garbage in the holds file: one warning, with the count. */
static void test_corrupt_holds(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char path[PATH_MAX + 16];
	FILE *f;

	if (!fx)
		return;
	snprintf(path, sizeof(path), "%s/holds", fx->state);
	PC_REQUIRE(mkdir(fx->state, 0700) == 0 || errno == EEXIST);
	f = fopen(path, "w");
	PC_REQUIRE(f != NULL);
	fprintf(f, "# pathcheckd holds\n");
	for (int i = 0; i < 5000; i++)
		fprintf(f, "\x01garbage %d\n", i);
	fprintf(f, "hold 1700000000 %s/f0 root\n", fx->dir);
	PC_REQUIRE(fclose(f) == 0);
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
	snprintf(path, sizeof(path), "/holds: 5000 lines are not hold lines, ignored "
		 "(the first: line 2)");
	CU_ASSERT_EQUAL(daemon_log_count(fx, path), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "hold line"), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "1 path held ("), 1);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "removed_storm", test_removed_storm },
		{ "marginal_storm", test_marginal_storm },
		{ "corrupt_holds", test_corrupt_holds },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_log_budget", tests, argc, argv);
}
