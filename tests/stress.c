/* SPDX-License-Identifier: MIT */
/*
 * A short CI run of pathcheck-stress: a few seconds of each load mode over
 * temporary files, and hung/EIO/slow/flaky/flipping paths over pathsim.  The tool is
 * the oracle; here we require exit 0, lost == 0 and wrong == 0 from its
 * JSON summary.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pathsim_fixture.h"

#define NFILES 4

static char files[NFILES][256];
static char devlist[NFILES * 260];

static const char *build_dir(void)
{
	const char *b = getenv("PC_BUILD_DIR");

	return b && *b ? b : "build";
}

static int make_files(void)
{
	size_t len = 0;
	int i, fd;

	for (i = 0; i < NFILES; i++) {
		fd = pc_test_tmpfile(files[i], sizeof(files[i]), 1 << 20);
		if (fd < 0)
			return fd;
		close(fd);
		len += (size_t)snprintf(devlist + len, sizeof(devlist) - len,
					"%s%s", i ? "," : "", files[i]);
	}
	return 0;
}

static void remove_files(void)
{
	int i;

	for (i = 0; i < NFILES; i++)
		if (files[i][0])
			unlink(files[i]);
}

/* A numeric field of the one-line JSON summary, or -1. */
static long long json_field(const char *json, const char *name)
{
	char key[64];
	const char *at;

	snprintf(key, sizeof(key), "\"%s\":", name);
	at = strstr(json, key);
	return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

/* Runs pathcheck-stress with args (--json added); returns its exit status
 * and its JSON line in out. */
static int run_stress(const char *args, char *out, size_t len)
{
	char cmd[4096];
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s/pathcheck-stress --json --quiet %s",
		 build_dir(), args);
	printf("\n  %s\n", cmd);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	out[0] = 0;
	if (!fgets(out, (int)len, p))
		out[0] = 0;
	status = pclose(p);
	printf("  %s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void expect_clean(const char *args)
{
	char out[4096];
	int rc = run_stress(args, out, sizeof(out));

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(json_field(out, "lost"), 0);
	CU_ASSERT_EQUAL(json_field(out, "wrong"), 0);
	CU_ASSERT_EQUAL(json_field(out, "stats_mismatch"), 0);
	CU_ASSERT_TRUE(json_field(out, "checks") > 0);
}

static void run_on_files(const char *extra)
{
	char args[8192];

	if (make_files() < 0) {
		remove_files();
		CU_FAIL("cannot create temporary files");
		return;
	}
	snprintf(args, sizeof(args), "--devices %s %s", devlist, extra);
	expect_clean(args);
	remove_files();
}

static void test_async_files(void)
{
	run_on_files("--paths 64 --threads 2 --mode async --duration 2");
}

static void test_batch_files(void)
{
	run_on_files("--paths 64 --threads 2 --mode batch --duration 2 --group-size 16");
}

static void test_sync_churn_reset(void)
{
	run_on_files("--paths 32 --threads 2 --mode sync --duration 2 "
		     "--churn 100 --reset-every 0.3 --group-size 8");
}

/* --mode sync-cb: PC_SYNC with on_result, timed to on_result (--mode sync
 * uses PC_NOCALLBACK). */
static void test_sync_cb_files(void)
{
	run_on_files("--paths 32 --threads 2 --mode sync-cb --duration 2 "
		     "--churn 100 --group-size 8");
}

static void test_async_churn(void)
{
	run_on_files("--paths 64 --threads 2 --mode async --duration 2 "
		     "--churn 200 --reset-every 0.5 --group-size 8");
}

static void run_on_pathsim(const char *extra)
{
	struct pathsim *sim;
	const char *why = NULL;
	char args[4096];
	int ret;

	if (access("/dev/fuse", R_OK | W_OK))
		PC_SKIP("no /dev/fuse");
	if (geteuid() != 0)
		PC_SKIP("pathsim mounts need root here");
	ret = pathsim_start(&sim, 20, 0, &why);
	if (ret && why)
		PC_SKIP("%s", why);
	PC_REQUIRE(ret == 0);
	snprintf(args, sizeof(args), "--devices %s %s", pathsim_mountpoint(sim), extra);
	expect_clean(args);
	pathsim_release(sim);
	pathsim_stop(sim);
}

static void test_pathsim_hung_eio(void)
{
	run_on_pathsim("--paths 40 --threads 2 --mode async --duration 2 "
		       "--hung 0.1 --eio 0.1 --slow 0.1:5 --timeout 300ms");
}

/*
 * --slow F:MS and --flaky F:P write pathsim's own mode words: P is the
 * probability pathsim takes (0 to 1), and a flaky path's reads both fail
 * and succeed.  The oracle does not judge flaky paths, so the run is clean.
 */
static void test_pathsim_flaky(void)
{
	struct pathsim *sim;
	struct pathsim_counts c;
	unsigned long ok = 0, failed = 0;
	unsigned int nflaky = 0, nslow = 0;
	char out[4096], args[4096], mode[64];

	if (geteuid() != 0)
		PC_SKIP("pathsim mounts need root here");
	PATHSIM_START(sim, 20, 0);
	snprintf(args, sizeof(args), "--devices %s --paths 40 --threads 2 --mode async "
		 "--duration 2 --flaky 0.25:0.5 --slow 0.1:5 --timeout 300ms",
		 pathsim_mountpoint(sim));
	CU_ASSERT_EQUAL(run_stress(args, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(json_field(out, "lost"), 0);
	CU_ASSERT_EQUAL(json_field(out, "wrong"), 0);
	for (unsigned int i = 0; i < 20; i++) {
		PC_REQUIRE(pathsim_mode(sim, i, mode, sizeof(mode)) == 0);
		if (strcmp(mode, "flaky:0.5") == 0) {
			nflaky++;
			PC_REQUIRE(pathsim_counts(sim, i, &c) == 0);
			ok += c.ok;
			failed += c.failed;
		}
		nslow += strcmp(mode, "slow:5") == 0;
	}
	printf("  flaky:0.5 on %u files (%lu reads ok, %lu failed), slow:5 on %u\n",
	       nflaky, ok, failed, nslow);
	CU_ASSERT_EQUAL(nflaky, 5);
	CU_ASSERT_EQUAL(nslow, 2);
	CU_ASSERT_TRUE(ok > 0 && failed > 0);
	pathsim_stop(sim);
}

static void test_pathsim_flip_batch(void)
{
	run_on_pathsim("--paths 40 --threads 2 --mode batch --duration 2 "
		       "--hung 0.2 --eio 0.1 --flip 0.5 --timeout 300ms");
}

/* Runs pathcheck-stress with args, stderr merged; the JSON line in json,
 * every other line in msg.  Returns the exit status. */
static int run_stress_msg(const char *args, char *json, size_t jlen,
			  char *msg, size_t mlen)
{
	char cmd[4096], line[4096];
	size_t used = 0;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s/pathcheck-stress --json --quiet %s 2>&1",
		 build_dir(), args);
	printf("\n  %s\n", cmd);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	json[0] = msg[0] = 0;
	while (fgets(line, sizeof(line), p)) {
		printf("  %s", line);
		if (line[0] == '{')
			snprintf(json, jlen, "%s", line);
		else if (used < mlen)
			used += (size_t)snprintf(msg + used, mlen - used, "%s", line);
	}
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* multipath-tools' own directio checker, loaded by the baseline driver:
 * checks complete, and every message id is where 0.9.4's ABI puts it. */
static void test_multipath_baseline(void)
{
	char json[4096], msg[4096], args[512];
	int rc;

	if (access("/lib/multipath/libcheckdirectio.so", R_OK) &&
	    access("/usr/lib/multipath/libcheckdirectio.so", R_OK))
		PC_SKIP("multipath-tools' libcheckdirectio.so is not installed");
	if (make_files() < 0) {
		remove_files();
		CU_FAIL("cannot create temporary files");
		return;
	}
	snprintf(args, sizeof(args), "--baseline multipath-directio --sched other "
		 "--devices %s --paths 16 --duration 1", files[0]);
	rc = run_stress_msg(args, json, sizeof(json), msg, sizeof(msg));
	remove_files();
	if (rc == 2 && strstr(msg, "is not ABI"))
		PC_SKIP("installed multipath-tools is not 0.9.4's checker ABI");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(json_field(json, "checks") > 0);
	CU_ASSERT_TRUE(json_field(json, "up") > 0);
	CU_ASSERT_EQUAL(json_field(json, "unchecked"), 0);
	CU_ASSERT_EQUAL(json_field(json, "bad_msgid"), 0);
}

/* Without the library: a clear error and exit 2, whatever is installed. */
static void test_multipath_missing(void)
{
	char json[4096], msg[4096];
	int rc;

	setenv("PATHCHECK_MULTIPATH_DIR", "/nonexistent", 1);
	rc = run_stress_msg("--baseline multipath-directio --devices /dev/null --duration 1",
			    json, sizeof(json), msg, sizeof(msg));
	unsetenv("PATHCHECK_MULTIPATH_DIR");
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "libcheckdirectio.so not found: install multipath-tools"));
	CU_ASSERT_EQUAL(json[0], 0);
}

/*
 * Durations: a bare number is seconds, ms and s are units; --timeout-ms
 * still works, with a note on stderr to write --timeout MSms.
 */
static void test_timeout_units(void)
{
	static const struct {
		const char *opt;
		int rc;
		const char *note;	/* in the messages, or NULL: no message */
	} cases[] = {
		{ "--timeout 300ms", 0, NULL },
		{ "--timeout 1", 0, NULL },
		{ "--timeout 0.5s --duration 300ms", 0, NULL },
		{ "--timeout-ms 300", 0,
		  "pathcheck-stress: note: --timeout-ms is deprecated; write --timeout 300ms\n" },
		{ "--timeout 0", 2, "bad value for --timeout: '0'" },
		{ "--timeout 3x", 2, "bad value for --timeout: '3x'" },
		{ "--duration 2x", 2, "bad value for --duration: '2x'" },
	};
	char json[4096], msg[4096], args[512];

	if (make_files() < 0) {
		remove_files();
		CU_FAIL("cannot create temporary files");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(args, sizeof(args), "--devices %s --paths 4 --duration 0.2 %s",
			 files[0], cases[i].opt);
		CU_ASSERT_EQUAL(run_stress_msg(args, json, sizeof(json), msg, sizeof(msg)),
				cases[i].rc);
		if (cases[i].note)
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[i].note))
		else
			CU_ASSERT_STRING_EQUAL(msg, "");
	}
	remove_files();
}

static void test_bad_input(void)
{
	char out[4096];

	CU_ASSERT_EQUAL(run_stress("--devices /nonexistent/x --duration 1", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --mode bogus", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--duration 1", out, sizeof(out)), 2);
	/* P of --flaky F:P is a probability, as in pathsim's flaky:P */
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --flaky 0.1:50", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --flaky 0.1", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --slow 0.1:fast", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --baseline bogus", out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(run_stress("--devices /dev/null --baseline multipath-directio --sched x",
				   out, sizeof(out)), 2);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "async_files", test_async_files },
		{ "batch_files", test_batch_files },
		{ "sync_churn_reset", test_sync_churn_reset },
		{ "sync_cb_files", test_sync_cb_files },
		{ "async_churn", test_async_churn },
		{ "timeout_units", test_timeout_units },
		{ "pathsim_hung_eio", test_pathsim_hung_eio },
		{ "pathsim_flip_batch", test_pathsim_flip_batch },
		{ "pathsim_flaky", test_pathsim_flaky },
		{ "multipath_baseline", test_multipath_baseline },
		{ "multipath_missing", test_multipath_missing },
		{ "bad_input", test_bad_input },
		{ NULL, NULL },
	};

	return pc_test_main("stress", tests, argc, argv);
}
