/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's show paths format FMT (multipathd's wildcards and headers,
 * columns as wide as their widest cell), the client quoting a format word,
 * next_check counting down, and dev_t: shown, and a path addressed by it.
 * The daemon runs for real on files (and a loop device as root) read with
 * O_DIRECT through Linux AIO.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "daemon_fixture.h"
#include "harness.h"

/* multipathd's headers, columns as wide as their widest cell; bad formats */
static void format_columns(struct daemon_fx *fx, bool have_loop, const char *loop)
{
	char want[256];

	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D %t|%T %o %x %L%%\"", fx->last,
			     fx->last_cap) > 0);
	{
		int w = have_loop && strlen(loop) - 5 > 3 ? (int)strlen(loop) - 5 : 3;

		snprintf(want, sizeof(want), "%-*s dev_t chk_st|chk_st dev_st  transitions "
			 "latency_us%%\n%-*s -     ready |ready  running 1           ",
			 w, "dev", w, "f0");
		CU_ASSERT(reply_starts_with(fx->last, want));
		if (!reply_starts_with(fx->last, want))
			printf("\n  wanted '%s', got '%s'\n", want, fx->last);
	}
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), have_loop ? 4 : 3);
	CU_ASSERT(daemon_cmd(fx, "show paths format %d", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "dev\nf0\nf1\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%s %w %C\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last,
				    "vend/prod/rev uuid next_check\n-             -    "));
	CU_ASSERT(daemon_reply_is(fx, "show paths format \"%d %q\"",
				  "error: unknown wildcard '%q' in "
				  "format (known: %d %D %t %T %o %C %s %w %L %x %%)\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format \"%d",
				  "error: unmatched '\"' in command\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format",
				  "error: show paths format needs a format "
				  "(show paths format FMT)\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format 50%",
				  "error: format ends in '%' (use %% for "
				  "a percent sign)\n"));
}

/* the client quotes a format word for the daemon */
static void format_client(struct daemon_fx *fx)
{
	char cli[PATH_MAX], o[4096], e[1024];
	const char *b = getenv("PC_BUILD_DIR");
	const char *argv[] = { cli, "-s", fx->sock, "show", "paths", "format", "%d %x",
			       NULL };
	struct pc_test_run run = { .argv = argv, .out = o, .err = e,
				   .out_cap = sizeof(o), .err_cap = sizeof(e) };

	snprintf(cli, sizeof(cli), "%s/pathcheck", b && *b ? b : "build");
	CU_ASSERT(pc_test_run(&run) == 0 && run.status == 0);
	CU_ASSERT(reply_starts_with(o, "dev") && strstr(o, " transitions\nf0 ") != NULL);
	if (run.status)
		printf("\n  pathcheck: %s%s\n", o, e);
}

/* next_check counts down within the interval, and is null while held */
static void format_next_check(struct daemon_fx *fx)
{
	long long next;

	next = daemon_path_int(fx, "f0", "next_check_ms");
	CU_ASSERT(next >= 0 && next <= 1000);
	CU_ASSERT(daemon_cmd(fx, "show paths", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "dev ") &&
		  strstr(fx->last, "  dev_t     chk_st       marginal    checks"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "next_check  reason\n"));
	CU_ASSERT(reply_has_line(fx->last, "f0 ", " -  ", "s        ok"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"dev_t\":null,\"next_check_ms\":"));
	CU_ASSERT(daemon_reply_is(fx, "fail path f0", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"next_check_ms\":null"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %C\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f0 ", "held", NULL));
}

/* A loop device: addressed by dev_t and by its path, its dev_t shown */
static void format_dev_t(struct daemon_fx *fx, const char *loop)
{
	const char *name = strrchr(loop, '/') + 1;
	char cmd[PATH_MAX + 64], want[256], s[64];
	struct stat st;

	PC_REQUIRE(stat(loop, &st) == 0);
	/* by dev_t, and by the device path */
	snprintf(cmd, sizeof(cmd), "show path %u:%u json", major(st.st_rdev),
		 minor(st.st_rdev));
	CU_ASSERT(daemon_cmd(fx, cmd, fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_str(fx->last, "dev", s, sizeof(s)) && !strcmp(s, name));
	snprintf(want, sizeof(want), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	CU_ASSERT(reply_json_str(fx->last, "dev_t", s, sizeof(s)) && !strcmp(s, want));
	snprintf(cmd, sizeof(cmd), "show path %s json", loop);
	CU_ASSERT(daemon_cmd(fx, cmd, fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_str(fx->last, "dev", s, sizeof(s)) && !strcmp(s, name));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, name, want, NULL));
	CU_ASSERT(daemon_reply_is(fx, "show path 4095:1048575", "error: no such path "
				  "'4095:1048575'\n"));
}

static void test_format(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char loopfile[PATH_MAX], loop[64] = "";
	bool have_loop = false;

	if (!fx)
		return;
	if (!pc_test_need_root()) {
		PC_REQUIRE(daemon_file(fx, "lo", 1 << 20, loopfile, sizeof(loopfile)) == 0);
		have_loop = pc_test_loop_attach(loopfile, 0, loop, sizeof(loop)) == 0;
	}
	if (!have_loop)
		printf("\n  no loop device (%s): dev_t shown on files only\n",
		       pc_test_need_root() ? pc_test_need_root() : "attach failed");
	PC_REQUIRE(daemon_config(fx, "interval 1s\npath %s/f*\n%s%s\n", fx->dir,
				 have_loop ? "path " : "", loop) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, have_loop ? 3 : 2, "ready", 3000), 0);

	format_columns(fx, have_loop, loop);
	format_client(fx);
	format_next_check(fx);
	if (have_loop)
		format_dev_t(fx, loop);
	daemon_stop(fx);
	daemon_fx_free(fx);
	if (have_loop)
		pc_test_loop_detach(loop);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "format", test_format },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_format", tests, argc, argv);
}
