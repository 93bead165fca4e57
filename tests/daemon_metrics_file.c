/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's metrics as a fleet reads them: the textfile marks a clean
 * stop (pathcheck_daemon_up 0) and ages after a crash (its
 * pathcheck_metrics_last_write_timestamp_seconds is no longer rewritten);
 * failed reloads and open failures are counted; both the socket output and
 * the textfile pass `promtool check metrics`; and every metric name that
 * contrib/ (the alerting rules and the Grafana dashboard) uses is one the
 * daemon exports.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"

#define METRICS_FILE "metrics.prom"

/* The value of the sample line "name value" (no labels): true if found. */
static bool sample(const char *text, const char *name, double *v)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, name, n) && p[n] == ' ') {
			*v = strtod(p + n + 1, NULL);
			return true;
		}
	}
	return false;
}

static char *read_metrics_file(struct daemon_fx *fx)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" METRICS_FILE, fx->dir);
	return pc_test_read_file(path, NULL);
}

/* Waits at most ms until the textfile has name == v. */
static bool wait_file_value(struct daemon_fx *fx, const char *name, double v, unsigned int ms)
{
	uint64_t end = pc_test_now_ms() + ms;
	double got = -1;

	do {
		char *t = read_metrics_file(fx);
		bool ok = t && sample(t, name, &got) && got == v;

		free(t);
		if (ok)
			return true;
		pc_test_sleep_ms(50);
	} while (pc_test_now_ms() < end);
	printf("\n  %s in the textfile: %g, expected %g\n", name, got, v);
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct daemon_fx *start_fx(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);

	if (!fx)
		return NULL;
	/* /dev/null: recorded, but its open fails (not a block device). */
	if (daemon_start(fx, "interval 200ms\ntimeout 2s\nmetrics_file %s/" METRICS_FILE
			 "\npath %s/f*\npath /dev/null\n", fx->dir, fx->dir)) {
		daemon_fx_free(fx);
		return NULL;
	}
	return fx;
}

static void test_textfile_marks_a_stop(void)
{
	struct daemon_fx *fx = start_fx();
	char reply[65536];
	double up = -1, t1 = 0, t2 = 0, v = -1;
	char *text;

	PC_REQUIRE(fx != NULL);
	CU_ASSERT_TRUE(wait_file_value(fx, "pathcheck_daemon_up", 1, 5000));

	/* Rewritten every interval: the timestamp moves, and is the wall time. */
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	CU_ASSERT_TRUE(sample(text, "pathcheck_metrics_last_write_timestamp_seconds", &t1));
	free(text);
	pc_test_sleep_ms(700);
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	CU_ASSERT_TRUE(sample(text, "pathcheck_metrics_last_write_timestamp_seconds", &t2));
	free(text);
	printf("\n  textfile rewritten: timestamp %.3f then %.3f (now %.3f)\n", t1, t2, now_s());
	CU_ASSERT_TRUE(t2 > t1);
	CU_ASSERT_TRUE(now_s() - t2 < 2.0 && now_s() - t2 > -1.0);

	/* One version: the daemon's `show daemon` says VERSION too. */
	PC_REQUIRE(daemon_cmd(fx, "show daemon", reply, sizeof(reply)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, "\nversion " PC_VERSION "\n"));

	/* The open of /dev/null failed: counted. */
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply, sizeof(reply)) > 0);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_daemon_up", &up) && up == 1);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_path_open_failures_total", &v) && v == 1);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_reconfigures_failed_total", &v) && v == 0);

	/* A refused reload, and a reload that retries the failed open: the
	 * path still unopened counts once, however often it is retried. */
	PC_REQUIRE(daemon_config(fx, "interval 200ms\nbogus_keyword 1\n") == 0);
	daemon_cmd(fx, "reconfigure", reply, sizeof(reply));
	CU_ASSERT_TRUE(reply_starts_with(reply, "error"));
	PC_REQUIRE(daemon_config(fx, "interval 200ms\ntimeout 2s\nmetrics_file %s/" METRICS_FILE
				 "\npath %s/f*\npath /dev/null\n", fx->dir, fx->dir) == 0);
	PC_REQUIRE(daemon_cmd(fx, "reconfigure", reply, sizeof(reply)) >= 0);
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply, sizeof(reply)) > 0);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_reconfigures_failed_total", &v) && v == 1);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_reconfigures_total", &v) && v == 1);
	CU_ASSERT_TRUE(sample(reply, "pathcheck_path_open_failures_total", &v) && v == 1);
	CU_ASSERT_TRUE(wait_file_value(fx, "pathcheck_reconfigures_failed_total", 1, 3000));

	/* A clean stop leaves pathcheck_daemon_up 0, written at the stop. */
	double before = now_s();

	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	CU_ASSERT_TRUE(sample(text, "pathcheck_daemon_up", &up) && up == 0);
	CU_ASSERT_TRUE(sample(text, "pathcheck_metrics_last_write_timestamp_seconds", &t2));
	CU_ASSERT_TRUE(t2 >= before - 0.01);
	CU_ASSERT_TRUE(sample(text, "pathcheck_path_open_failures_total", &v) && v == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "pathcheck_paths{state=\"ready\"} 2\n"));
	printf("  after the stop: pathcheck_daemon_up %g, written %.3f s after SIGTERM\n",
	       up, t2 - before);
	free(text);
	daemon_fx_free(fx);
}

/* After a crash the file says up 1, but its timestamp no longer moves. */
static void test_textfile_ages_after_a_crash(void)
{
	struct daemon_fx *fx = start_fx();
	double t1 = 0, t2 = 0, up = -1;
	char *text;

	PC_REQUIRE(fx != NULL);
	CU_ASSERT_TRUE(wait_file_value(fx, "pathcheck_daemon_up", 1, 5000));
	PC_REQUIRE(kill(fx->pid, SIGKILL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_exit(fx, 5000), 128 + SIGKILL);
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	CU_ASSERT_TRUE(sample(text, "pathcheck_metrics_last_write_timestamp_seconds", &t1));
	free(text);
	pc_test_sleep_ms(1000);		/* five intervals */
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	CU_ASSERT_TRUE(sample(text, "pathcheck_metrics_last_write_timestamp_seconds", &t2));
	CU_ASSERT_TRUE(sample(text, "pathcheck_daemon_up", &up) && up == 1);
	free(text);
	printf("\n  after SIGKILL: up %g, timestamp %.3f, %.1f s old a second later\n",
	       up, t2, now_s() - t2);
	CU_ASSERT_TRUE(t2 == t1);
	CU_ASSERT_TRUE(now_s() - t2 >= 1.0);
	daemon_fx_free(fx);
}

/* promtool, by PATH; NULL if it is not installed. */
static const char *promtool(void)
{
	static char found[PATH_MAX];
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(found, sizeof(found), "%s/promtool", d);
		if (access(found, X_OK) == 0)
			return found;
	}
	return NULL;
}

static void promtool_check(const char *what, const char *text)
{
	const char *argv[] = { promtool(), "check", "metrics", NULL };
	char out[4096], err[4096];
	struct pc_test_run r = { .argv = argv, .input = text, .out = out, .out_cap = sizeof(out),
				 .err = err, .err_cap = sizeof(err), .limit_ms = 30000 };

	PC_REQUIRE(pc_test_run(&r) == 0);
	printf("  promtool check metrics, %s: exit %d %s%s\n", what, r.status, out, err);
	CU_ASSERT_EQUAL(r.status, 0);
}

static void test_promtool_check_metrics(void)
{
	struct daemon_fx *fx;
	char reply[65536];
	char *text;

	if (!promtool())
		PC_SKIP("promtool is not installed (Debian package prometheus; scripts/deps.sh ci)");
	fx = start_fx();
	PC_REQUIRE(fx != NULL);
	CU_ASSERT_TRUE(wait_file_value(fx, "pathcheck_daemon_up", 1, 5000));
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply, sizeof(reply)) > 0);
	printf("\n");
	promtool_check("show metrics", reply);
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	promtool_check("the textfile", text);
	free(text);
	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	text = read_metrics_file(fx);
	PC_REQUIRE(text != NULL);
	promtool_check("the textfile after the stop", text);
	free(text);
	daemon_fx_free(fx);
}

/*
 * Every pathcheck_* name in a contrib file is a sample name of `show
 * metrics`.  Names after a ':' belong to recording rules (level:name:op)
 * and are skipped.  Returns how many names were checked.
 */
static unsigned int check_names(const char *file, const char *metrics)
{
	char *text = pc_test_read_file(file, NULL);
	unsigned int n = 0;

	CU_ASSERT_PTR_NOT_NULL(text);
	if (!text) {
		printf("  cannot read %s\n", file);
		return 0;
	}
	for (char *p = strstr(text, "pathcheck_"); p; p = strstr(p + 1, "pathcheck_")) {
		char name[128], needle[140];
		size_t k = 0;

		if (p > text && (p[-1] == ':' || p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
			continue;
		while (k < sizeof(name) - 1 && ((p[k] >= 'a' && p[k] <= 'z') ||
						(p[k] >= '0' && p[k] <= '9') || p[k] == '_'))
			name[k] = p[k], k++;
		name[k] = 0;
		if (p[k] == ':')
			continue;
		/* a sample line starts with the name, then '{' or ' ' */
		snprintf(needle, sizeof(needle), "\n%s ", name);
		bool found = strstr(metrics, needle) != NULL;

		snprintf(needle, sizeof(needle), "\n%s{", name);
		found = found || strstr(metrics, needle) != NULL;
		if (!found)
			printf("  %s uses %s, which pathcheckd does not export\n", file, name);
		CU_ASSERT_TRUE(found);
		n++;
	}
	free(text);
	return n;
}

static void test_contrib_names_exist(void)
{
	static const char *const files[] = {
		"contrib/prometheus/pathcheck.rules.yml",
		"contrib/grafana/pathcheck-fleet.json",
	};
	struct daemon_fx *fx = start_fx();
	char reply[65536] = "\n";
	unsigned int n;

	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply + 1, sizeof(reply) - 1) > 0);
	printf("\n");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = check_names(files[i], reply);
		printf("  %s: %u metric names, all exported\n", files[i], n);
		CU_ASSERT_TRUE(n >= 8);
	}
	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	daemon_fx_free(fx);
}

/* Every metric family of `show metrics` is documented in pathcheckd.8. */
static void test_man_page_lists_every_metric(void)
{
	const char *b = getenv("PC_BUILD_DIR");
	struct daemon_fx *fx = start_fx();
	char reply[65536], path[PATH_MAX];
	unsigned int n = 0;
	char *man;

	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply, sizeof(reply)) > 0);
	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	daemon_fx_free(fx);
	snprintf(path, sizeof(path), "%s/man/pathcheckd.8", b ? b : "build");
	man = pc_test_read_file(path, NULL);
	PC_REQUIRE(man != NULL);
	for (char *p = strstr(reply, "# TYPE "); p; p = strstr(p + 1, "# TYPE ")) {
		char name[128];

		if (sscanf(p, "# TYPE %127s", name) != 1)
			continue;
		n++;
		if (!strstr(man, name))
			printf("\n  %s is not in pathcheckd.8", name);
		CU_ASSERT_PTR_NOT_NULL(strstr(man, name));
	}
	printf("\n  %u metric families, each in pathcheckd.8\n", n);
	CU_ASSERT_TRUE(n >= 20);
	free(man);
}

/* The family of a sample: its name without labels and histogram suffix. */
static void family_of(const char *line, const char *text, char *name, size_t len)
{
	static const char *const suffix[] = { "_bucket", "_sum", "_count" };

	snprintf(name, len, "%.*s", (int)strcspn(line, "{ "), line);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t l = strlen(suffix[i]), nl = strlen(name);
		char head[192];

		if (nl <= l || strcmp(name + nl - l, suffix[i]))
			continue;
		/* only a histogram's: pathcheck_..._count may be a family of its own */
		snprintf(head, sizeof(head), "# TYPE %.*s histogram\n", (int)(nl - l), name);
		if (strstr(text, head))
			name[nl - l] = '\0';
		break;
	}
}

/*
 * Every series that show metrics writes (the counter table's rows and the
 * computed families, metrics.c) comes after its family's HELP and TYPE,
 * each written once; show stats, from the same table, has no key twice.
 */
static void test_every_sample_has_help_and_type(void)
{
	struct daemon_fx *fx = start_fx();
	char reply[65536] = "\n", stats[16384] = "\n";
	unsigned int samples = 0, keys = 0;

	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_cmd(fx, "show metrics", reply + 1, sizeof(reply) - 1) > 0);
	PC_REQUIRE(daemon_cmd(fx, "show stats", stats + 1, sizeof(stats) - 1) > 0);
	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	daemon_fx_free(fx);
	for (char *l = strchr(reply, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		char name[128], help[160], type[160];
		char *at;

		if (l[1] == '#')
			continue;
		family_of(l + 1, reply, name, sizeof(name));
		snprintf(help, sizeof(help), "\n# HELP %s ", name);
		snprintf(type, sizeof(type), "\n# TYPE %s ", name);
		*l = '\0';	/* the text before this sample */
		at = strstr(reply, help);
		if (!at || !strstr(reply, type))
			printf("\n  %s: no HELP or TYPE before it", name);
		CU_ASSERT(at && strstr(reply, type));
		*l = '\n';
		CU_ASSERT_EQUAL(reply_count(reply, help), 1);
		CU_ASSERT_EQUAL(reply_count(reply, type), 1);
		samples++;
	}
	printf("\n  %u samples, each after its HELP and TYPE\n", samples);
	CU_ASSERT(samples >= 40);
	for (char *l = stats; l && l[1]; l = strchr(l + 1, '\n')) {
		char key[64], line[80];

		if (sscanf(l + 1, "%63s", key) != 1)
			break;
		snprintf(line, sizeof(line), "\n%s ", key);
		CU_ASSERT_EQUAL(reply_count(stats, line), 1);
		keys++;
	}
	CU_ASSERT(keys >= 40);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "every_sample_has_help_and_type", test_every_sample_has_help_and_type },
		{ "textfile_marks_a_stop", test_textfile_marks_a_stop },
		{ "textfile_ages_after_a_crash", test_textfile_ages_after_a_crash },
		{ "promtool_check_metrics", test_promtool_check_metrics },
		{ "contrib_names_exist", test_contrib_names_exist },
		{ "man_page_lists_every_metric", test_man_page_lists_every_metric },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_metrics_file", tests, argc, argv);
}
