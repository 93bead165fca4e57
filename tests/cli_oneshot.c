/* SPDX-License-Identifier: MIT */
/*
 * pathcheck's one-shot checks on temporary files and pathsim paths: the
 * table, JSON, missing devices, timeouts and their units, usage errors, and
 * typos of command words.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "harness.h"
#include "pathsim_fixture.h"


static char scratch[256];		/* a 1 MiB file: a path that is up */

/* --- one-shot checks ------------------------------------------------------ */

static void test_oneshot_up(void)
{
	char line[1024];

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, scratch, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "device"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "latency_us"));
	PC_REQUIRE(cli_line_with(cli_last.out, scratch, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ok"));
	CU_ASSERT_EQUAL(cli_count_lines(cli_last.out), 2);
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
}

/* The value after "key": in a JSON object line, copied up to , or }. */
static bool json_value(const char *obj, const char *key, char *val, size_t len)
{
	char k[64];
	const char *at;
	size_t n;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	at = strstr(obj, k);
	if (!at)
		return false;
	at += strlen(k);
	n = strcspn(at, ",}");
	snprintf(val, len, "%.*s", (int)n, at);
	return true;
}

static void expect_json(const char *obj, const char *key, const char *want)
{
	char val[512] = "";

	CU_ASSERT_TRUE(json_value(obj, key, val, sizeof(val)));
	if (strcmp(val, want))
		printf("  %s: %s, expected %s\n", key, val, want);
	CU_ASSERT_STRING_EQUAL(val, want);
}

static void test_oneshot_json(void)
{
	char obj[1024], val[64], dev[300];

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--json", scratch, NULL), 0);
	CU_ASSERT_EQUAL(cli_last.out[0], '[');
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "\n]\n"));
	PC_REQUIRE(cli_line_with(cli_last.out, scratch, obj, sizeof(obj)));
	snprintf(dev, sizeof(dev), "\"%s\"", scratch);
	expect_json(obj, "device", dev);
	expect_json(obj, "state", "\"ready\"");
	expect_json(obj, "up", "true");
	expect_json(obj, "reason", "\"ok\"");
	expect_json(obj, "message", "\"ok\"");
	CU_ASSERT_TRUE(json_value(obj, "blksize", val, sizeof(val)) && atoi(val) >= 512);
	CU_ASSERT_TRUE(json_value(obj, "latency_us", val, sizeof(val)) && atoi(val) >= 0);
}

/* A device that cannot be opened is a down path (exit 1), named in the table. */
static void test_oneshot_missing(void)
{
	const char *missing = "/nonexistent/pathcheck-cli-dev";
	char line[1024];

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, missing, scratch, NULL), 1);
	PC_REQUIRE(cli_line_with(cli_last.out, missing, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " faulty "));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "cannot open: No such file or directory"));
	PC_REQUIRE(cli_line_with(cli_last.out, scratch, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--json", missing, NULL), 1);
	PC_REQUIRE(cli_line_with(cli_last.out, missing, line, sizeof(line)));
	expect_json(line, "up", "false");
	expect_json(line, "state", "\"faulty\"");
	expect_json(line, "reason", "\"open error\"");
}

/* One up path, one answering EIO, one slower than --timeout: exit 1. */
static void test_oneshot_pathsim(void)
{
	struct pathsim *sim;
	const char *why;
	char line[1024];
	int ret = pathsim_start(&sim, 3, 0, &why);

	if (ret && why)
		PC_SKIP("%s", why);
	PC_REQUIRE(ret == 0);
	PC_REQUIRE(pathsim_set(sim, "p1", "eio") == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "slow:1500") == 0);
	/* The exit waits for the slow read in the kernel: about 1.5 s. */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--timeout", "300ms", pathsim_dev(sim, 0),
			    pathsim_dev(sim, 1), pathsim_dev(sim, 2), NULL), 1);
	if (cli_line_with(cli_last.out, pathsim_dev(sim, 0), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));
	} else {
		CU_FAIL("no line for p0");
	}
	if (cli_line_with(cli_last.out, pathsim_dev(sim, 1), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " faulty "));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "io error: Input/output error"));
	} else {
		CU_FAIL("no line for p1");
	}
	if (cli_line_with(cli_last.out, pathsim_dev(sim, 2), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " i/o timeout "));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "timeout after 300 ms"));
	} else {
		CU_FAIL("no line for p2");
	}

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--json", pathsim_dev(sim, 0),
			    pathsim_dev(sim, 1), NULL), 1);
	if (cli_line_with(cli_last.out, pathsim_dev(sim, 1), line, sizeof(line))) {
		expect_json(line, "up", "false");
		expect_json(line, "reason", "\"io error\"");
	} else {
		CU_FAIL("no JSON object for p1");
	}
	pathsim_release(sim);
	pathsim_stop(sim);
}

static void expect_usage_error(const char *what)
{
	CU_ASSERT_EQUAL(cli_last.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.err, what));
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.err, "pathcheck --help"));
	CU_ASSERT_EQUAL(cli_last.nout, 0);
}

static void test_usage_errors(void)
{
	cli_run(NULL, NULL, 0, "--bogus", scratch, NULL);
	expect_usage_error("usage: pathcheck");
	cli_run(NULL, NULL, 0, "--timeout", "abc", scratch, NULL);
	expect_usage_error("bad --timeout 'abc'");
	cli_run(NULL, NULL, 0, "--timeout", "0", scratch, NULL);
	expect_usage_error("bad --timeout '0'");
	cli_run(NULL, NULL, 0, scratch, "show", NULL);
	expect_usage_error("'show' is a pathcheckd command word, not a device");
	cli_run(NULL, NULL, 0, "--socket", "/tmp/x.sock", scratch, NULL);
	expect_usage_error("--socket applies to pathcheckd commands only");
	cli_run(NULL, NULL, 0, "--all", "show", "paths", NULL);
	expect_usage_error("--all applies to one-shot checks only");
	cli_run(NULL, NULL, 0, "--count", "2", "show", "paths", NULL);
	expect_usage_error("--count applies to subscribe only");
	cli_run(NULL, NULL, 0, "--count", "x", "subscribe", NULL);
	expect_usage_error("bad --count 'x'");
	cli_run(NULL, NULL, 0, "-k", "--json", NULL);
	expect_usage_error("--json needs a command");
	cli_run(NULL, NULL, 0, "--timeout", "-1", "show", "paths", NULL);
	expect_usage_error("bad --timeout '-1'");

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--help", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "pathcheck [--json] [--timeout DUR] [--all] [DEV...]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "COMMAND [WORDS...]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "-k[COMMAND]"));
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
}

/* pathcheck WORD run in dir (the binary by its absolute path), into cli_last. */
static void run_in(const char *dir, const char *word)
{
	const char *b = getenv("PC_BUILD_DIR");
	char bin[PATH_MAX], *old = b ? strdup(b) : NULL;
	int here = open(".", O_RDONLY | O_DIRECTORY);

	PC_REQUIRE(here >= 0 && realpath(old ? old : "build", bin));
	setenv("PC_BUILD_DIR", bin, 1);
	PC_REQUIRE(chdir(dir) == 0);
	cli_run(NULL, NULL, 0, word, NULL);
	CU_ASSERT_EQUAL(fchdir(here), 0);
	close(here);
	if (old)
		setenv("PC_BUILD_DIR", old, 1);
	else
		unsetenv("PC_BUILD_DIR");
	free(old);
}

/*
 * A word that names no file and is one slip from a command word is a typo,
 * not a device to check; a file of that name, or a word far from every
 * command, is still checked.
 */
static void test_typos(void)
{
	static const char *const typos[][2] = {
		{ "shwo", "show" }, { "chekc", "check" }, { "reinstat", "reinstate" },
		{ "subscirbe", "subscribe" }, { "hlep", "help" }, { "shutdonw", "shutdown" },
	};
	char dir[] = "/tmp/pc-typo.XXXXXX", file[sizeof(dir) + 8], want[128];
	int fd;

	for (size_t i = 0; i < sizeof(typos) / sizeof(typos[0]); i++) {
		CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, typos[i][0], "paths", NULL), 2);
		snprintf(want, sizeof(want), "pathcheck: unknown command '%s' (did you mean '%s'?)\n",
			 typos[i][0], typos[i][1]);
		CU_ASSERT_NSTRING_EQUAL(cli_last.err, want, strlen(want));
		CU_ASSERT_EQUAL(cli_last.nout, 0);
	}
	/* after a device too */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, scratch, "shwo", NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.err, "unknown command 'shwo'"));
	/* sdd is a device name without /dev/, not a slip from "add" */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "sdd", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "cannot open"));
	/* debug is a command word: the client asks the daemon */
	CU_ASSERT_EQUAL(cli_run(NULL, "PATHCHECK_SOCKET=/nonexistent/pc.sock", 0,
				"debug", "stall", "1s", NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.err, "cannot connect to /nonexistent/pc.sock"));

	PC_REQUIRE(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/shwo", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	PC_REQUIRE(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 1 << 16), 0);
	close(fd);
	run_in(dir, "shwo");
	CU_ASSERT_EQUAL(cli_last.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.out, "shwo "));
	CU_ASSERT_PTR_NULL(strstr(cli_last.err, "unknown command"));
	unlink(file);
	rmdir(dir);
}

/*
 * A bare --timeout is seconds (it was milliseconds before 0.2): a bare
 * number of 100 or more gets a one-line note on stderr, a unit none.
 */
static void test_timeout_units(void)
{
	static const struct {
		const char *timeout;
		bool note;
	} cases[] = {
		{ "200", true }, { "99", false }, { "5", false }, { "200ms", false },
		{ "2s", false }, { "1.5", false },
	};
	char want[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--timeout", cases[i].timeout, scratch,
					NULL), 0);
		snprintf(want, sizeof(want), "pathcheck: note: --timeout %s is read as seconds; "
			 "write %sms for milliseconds\n", cases[i].timeout, cases[i].timeout);
		if (cases[i].note)
			CU_ASSERT_STRING_EQUAL(cli_last.err, want)
		else
			CU_ASSERT_EQUAL(cli_last.nerr, 0);
	}
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "oneshot_up", test_oneshot_up },
		{ "oneshot_json", test_oneshot_json },
		{ "oneshot_missing", test_oneshot_missing },
		{ "oneshot_pathsim", test_oneshot_pathsim },
		{ "usage_errors", test_usage_errors },
		{ "timeout_units", test_timeout_units },
		{ "typos", test_typos },
		{ NULL, NULL },
	};

	if (access(cli_bin(), X_OK)) {
		fprintf(stderr, "cli_oneshot: no %s (make tools)\n", cli_bin());
		return 1;
	}
	return pc_test_main_file("cli_oneshot", tests, argc, argv, scratch, sizeof(scratch));
}
