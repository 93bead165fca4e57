/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd for operators (docs/man/pathcheckd.8): show config with the
 * origin of every setting and a refused reload, show blacklist, fail path /
 * reinstate path held across reconfigure and restart through the state
 * file, names with control characters and invalid UTF-8 escaped in text
 * and JSON, and every command of the man page known to the daemon's help.
 * The daemon runs for real on files read with O_DIRECT through Linux AIO.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"

#define REPLY_CAP	(1 << 20)
#define INTERVAL_MS	100

static char R[REPLY_CAP];

static bool reply_is(struct daemon_fx *fx, const char *cmd, const char *want)
{
	int n = daemon_cmd(fx, cmd, R, sizeof(R));

	if (n >= 0 && !strcmp(R, want))
		return true;
	printf("\n  '%s': wanted '%s', got (%d) '%s'\n", cmd, want, n, R);
	return false;
}

/* A line of R containing all of a, b (and c if not NULL). */
static bool has_line(const char *a, const char *b, const char *c)
{
	for (const char *l = R; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char line[8192];

		snprintf(line, sizeof(line), "%.*s", (int)n, l);
		if (strstr(line, a) && strstr(line, b) && (!c || strstr(line, c)))
			return true;
		l += n + (e != NULL);
	}
	printf("\n  no line with '%s' '%s' '%s' in:\n%s\n", a, b, c ? c : "", R);
	return false;
}

/* The daemon with --state-dir DIR/state on the config as written. */
static int start_state(struct daemon_fx *fx)
{
	static char arg[PATH_MAX];
	const char *extra[] = { "--state-dir", arg, NULL };

	snprintf(arg, sizeof(arg), "%s/state", fx->dir);
	return daemon_start_args(fx, extra);
}

static long long path_int(struct daemon_fx *fx, const char *dev, const char *key)
{
	char cmd[256];
	long long v = -1;

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	if (daemon_cmd(fx, cmd, R, sizeof(R)) <= 0 || !reply_json_int(R, key, &v))
		printf("\n  %s: no %s in '%s'\n", dev, key, R);
	return v;
}

static long long path_int_key(struct daemon_fx *fx, const char *dev, const char *key)
{
	return path_int(fx, dev, key);
}

static bool path_str(struct daemon_fx *fx, const char *dev, const char *key,
		     char *out, size_t len)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	return daemon_cmd(fx, cmd, R, sizeof(R)) > 0 && reply_json_str(R, key, out, len);
}

/* --- show config, show blacklist -------------------------------------------------- */

static void test_show_config(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char want[2 * PATH_MAX + 256], s[256];
	long long line = 0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "# comment\ninterval %ums\n\ntimeout 2s\nsocket_mode 0660\n"
				 "path %s/f* timeout=1500ms\nblacklist */f1\nblacklist /nowhere/*\n",
				 INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 1, "ready", 2000), 0);

	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "config %s (in force since ", fx->conf);
	CU_ASSERT(reply_starts_with(R, want));
	CU_ASSERT_PTR_NULL(strstr(R, "reload refused"));
	snprintf(want, sizeof(want), "%s:2", fx->conf);
	CU_ASSERT(has_line("interval ", "100ms", want));
	snprintf(want, sizeof(want), "%s:4", fx->conf);
	CU_ASSERT(has_line("timeout ", "2s", want));
	snprintf(want, sizeof(want), "%s:5", fx->conf);
	CU_ASSERT(has_line("socket_mode ", "0660", want));
	CU_ASSERT(has_line("workers ", "0", "default"));
	CU_ASSERT(has_line("group_size ", "1024", "default"));
	CU_ASSERT(has_line("shutdown_timeout ", "1s", "default"));
	CU_ASSERT(has_line("metrics_file ", "-", "default"));
	CU_ASSERT(has_line("socket ", fx->sock, "command line (-s)"));
	CU_ASSERT(has_line("log ", "stderr", "command line (-f or --log)"));
	snprintf(want, sizeof(want), "%s/state", fx->dir);
	CU_ASSERT(has_line("state_dir ", want, "command line (--state-dir)"));
	snprintf(want, sizeof(want), "%s:6", fx->conf);
	CU_ASSERT(has_line("path ", "/f* timeout=1500ms", want));
	snprintf(want, sizeof(want), "%s:7", fx->conf);
	CU_ASSERT(has_line("blacklist ", "*/f1", want));

	CU_ASSERT(daemon_cmd(fx, "show config json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 1);
	CU_ASSERT(reply_json_str(R, "file", s, sizeof(s)) && !strcmp(s, fx->conf));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"reload_error\":null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"interval\":{\"value\":\"100ms\",\"origin\":\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"workers\":{\"value\":\"0\",\"origin\":\"default\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"timeout_ms\":1500"));
	CU_ASSERT(reply_json_int(strstr(R, "\"blacklist\":[") ?: "", "line", &line) && line == 7);

	CU_ASSERT(daemon_cmd(fx, "show blacklist", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "*/f1  %s:7\n/nowhere/*  %s:8\n", fx->conf, fx->conf);
	CU_ASSERT_STRING_EQUAL(R, want);
	CU_ASSERT(daemon_cmd(fx, "show blacklist json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"blacklist\":[{\"glob\":\"*/f1\",\"file\":"));

	/* A refused reload: the old config stays in force, and show config says why. */
	PC_REQUIRE(daemon_config(fx, "interval 1s\nbogus 1\n") == 0);
	snprintf(want, sizeof(want), "error: %s:2: unknown keyword 'bogus'\n", fx->conf);
	CU_ASSERT(reply_is(fx, "reconfigure", want));
	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "the configuration below is still in force: "
		 "%s:2: unknown keyword 'bogus'", fx->conf);
	CU_ASSERT(has_line("reload refused at ", want, NULL));
	CU_ASSERT(has_line("interval ", "100ms", NULL));
	CU_ASSERT(daemon_cmd(fx, "show config json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_str(R, "reload_error", s, sizeof(s)) && strstr(s, "unknown keyword"));
	/* a good one clears it, and the values follow */
	PC_REQUIRE(daemon_config(fx, "interval 300ms\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NULL(strstr(R, "reload refused"));
	snprintf(want, sizeof(want), "%s:1", fx->conf);
	CU_ASSERT(has_line("interval ", "300ms", want));
	CU_ASSERT(has_line("timeout ", "30s", "default"));
	CU_ASSERT(reply_is(fx, "show blacklist", "no blacklist rules\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- fail path, reinstate path ------------------------------------------------------ */

static void test_hold(void)
{
	struct daemon_fx *fx = daemon_fx_files(3);
	struct dconn *sub;
	char s[256], line[4096], path[PATH_MAX], *file;
	long long checks0, checks1;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 3, "ready", 2000) == 0);
	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	CU_ASSERT(dconn_cmd(sub, "subscribe", R, sizeof(R), fx->reply_ms) == 0);

	CU_ASSERT(reply_is(fx, "fail path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "fail path f1", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "error: path f1 is already held (by uid 0 pid "));
	CU_ASSERT(reply_is(fx, "fail path nope", "error: no such path 'nope'\n"));
	CU_ASSERT(reply_is(fx, "reinstate path f0", "error: path f0 is not held\n"));
	CU_ASSERT(reply_is(fx, "check f1", "error: path f1 is held (fail path): "
			   "reinstate it to check it\n"));
	/* the event */
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"held\",\"seq\":") &&
		  strstr(line, ",\"dev\":\"f1\","));
	CU_ASSERT(reply_json_str(line, "dev", s, sizeof(s)) && !strcmp(s, "f1"));
	CU_ASSERT(reply_json_str(line, "by", s, sizeof(s)) && reply_starts_with(s, "uid 0 pid "));
	CU_ASSERT(reply_json_str(line, "time", s, sizeof(s)) && strlen(s) == 20);
	/* shown everywhere */
	CU_ASSERT(path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(R, "state", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(R, "held_by", s, sizeof(s)) && reply_starts_with(s, "uid 0 pid "));
	CU_ASSERT(reply_json_str(R, "held_since", s, sizeof(s)) && strlen(s) == 20);
	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	CU_ASSERT(has_line("f1 ", " held ", NULL));
	CU_ASSERT(daemon_cmd(fx, "show status json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_int(R, "held", &checks0) && checks0 == 1);
	CU_ASSERT(reply_json_int(R, "ready", &checks0) && checks0 == 2);
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"held\"} 1\n"));
	/* not checked while held; its counters are kept */
	checks0 = path_int(fx, "f1", "checks");
	CU_ASSERT(checks0 >= 1);
	pc_test_sleep_ms(5 * INTERVAL_MS);
	CU_ASSERT_EQUAL(path_int(fx, "f1", "checks"), checks0);
	CU_ASSERT(path_int(fx, "f0", "checks") >= checks0 + 3);
	/* the state file */
	snprintf(path, sizeof(path), "%s/state/holds", fx->dir);
	file = pc_test_read_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL(file);
	if (file) {
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), " %s/f1 uid 0 pid ", fx->dir);
		CU_ASSERT_PTR_NOT_NULL(strstr(file, want));
		CU_ASSERT_EQUAL(reply_count(file, "\nhold "), 1);
		free(file);
	}

	/* reconfigure keeps it, also when the path leaves and comes back */
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT_EQUAL(path_int(fx, "f1", "checks"), checks0);
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f0\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(reply_is(fx, "show path f1", "error: no such path 'f1'\n"));
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	dconn_close(sub);

	/* and a restart */
	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	PC_REQUIRE(start_state(fx) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "1 path held ("), 1);
	pc_test_sleep_ms(3 * INTERVAL_MS);
	CU_ASSERT(path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT_EQUAL(path_int(fx, "f1", "checks"), 0);
	CU_ASSERT(path_str(fx, "f0", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));

	/* reinstate: checked at once, and the file forgets it */
	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	CU_ASSERT(dconn_cmd(sub, "subscribe", R, sizeof(R), fx->reply_ms) == 0);
	CU_ASSERT(reply_is(fx, "reinstate path f1", "ok\n"));
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"reinstated\",\"seq\":") &&
		  strstr(line, ",\"dev\":\"f1\","));
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"state\",") && strstr(line, "\"dev\":\"f1\""));
	CU_ASSERT(path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"held_by\":null"));
	CU_ASSERT(reply_is(fx, "reinstate path f1", "error: path f1 is not held\n"));
	file = pc_test_read_file(path, NULL);
	CU_ASSERT(file && !strstr(file, "\nhold "));
	free(file);
	dconn_close(sub);
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"held\"} 0\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
	(void)checks1;
}

/* A state directory the daemon cannot write: the hold is refused, says why. */
static void test_hold_unwritable(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char want[PATH_MAX + 256], path[PATH_MAX];

	if (!fx)
		return;
	/* A file where the state directory should be. */
	PC_REQUIRE(daemon_file(fx, "state", 0, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_config(fx, "interval %ums\npath %s/f*\n", INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	snprintf(want, sizeof(want), "error: cannot keep the hold in %s/state/holds: "
		 "Not a directory; f0 is not held\n", fx->dir);
	CU_ASSERT(reply_is(fx, "fail path f0", want));
	CU_ASSERT(reply_is(fx, "reinstate path f0", "error: path f0 is not held\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* A malformed state file: its bad lines are skipped with a warning. */
static void test_hold_file_bad(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char path[PATH_MAX], text[2 * PATH_MAX], s[64];
	FILE *f;

	if (!fx)
		return;
	snprintf(path, sizeof(path), "%s/state", fx->dir);
	PC_REQUIRE(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/state/holds", fx->dir);
	snprintf(text, sizeof(text), "# x\nhold 12 %s/f%%30 uid 5 pid 6\ngarbage\nhold x y\n"
		 "hold 1 %%00 a\n", fx->dir);
	f = fopen(path, "w");
	PC_REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
	PC_REQUIRE(daemon_config(fx, "interval %ums\npath %s/f*\n", INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "not a hold line, ignored"), 3);
	CU_ASSERT(path_str(fx, "f0", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(R, "held_by", s, sizeof(s)) && !strcmp(s, "uid 5 pid 6"));
	CU_ASSERT(reply_json_str(R, "held_since", s, sizeof(s)) && !strcmp(s, "1970-01-01T00:00:12Z"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 300), -ETIMEDOUT);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- names that are not plain text ------------------------------------------------- */

/* Valid UTF-8 without control characters, but for the final newline. */
static bool clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			   (*p & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || (*p < 0x20 && !(*p == '\n' && (p[1] == '\0' || p[1] != '\n'))))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static void test_escaping(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char path[PATH_MAX];

	if (!fx)
		return;
	PC_REQUIRE(daemon_file(fx, "a\nb", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "c\xff" "d", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "e\x1b[1m\\", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "\xc3\xa9t\xc3\xa9", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_config(fx, "interval %ums\npath %s/*\nblacklist *.conf*\n"
				 "blacklist *.log\nblacklist *.sock\n", INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 5, "ready", 2000), 0);

	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 6);	/* header + 5, none cut */
	CU_ASSERT(has_line("a\\x0ab ", "ready", NULL));
	CU_ASSERT(has_line("c\\xffd ", "ready", NULL));
	CU_ASSERT(has_line("e\\x1b[1m\\x5c ", "ready", NULL));
	CU_ASSERT(has_line("\xc3\xa9t\xc3\xa9 ", "ready", NULL));	/* UTF-8 kept */
	CU_ASSERT(clean_text(R));

	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 1);
	CU_ASSERT(clean_text(R));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "{\"dev\":\"a\\u000ab\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "{\"dev\":\"c\\ufffdd\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "{\"dev\":\"e\\u001b[1m\\\\\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "{\"dev\":\"\xc3\xa9t\xc3\xa9\","));
	/* addressed by its path (absolute: it resolves), answered escaped */
	snprintf(path, sizeof(path), "check %s/c\xff" "d", fx->dir);
	CU_ASSERT(daemon_cmd(fx, path, R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "c\\xffd: ready ("));
	CU_ASSERT(reply_is(fx, "show path x\xff", "error: no such path 'x\\xff'\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- show paths format, dev_t, next_check ------------------------------------------ */

static void test_format(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char loopfile[PATH_MAX], loop[64] = "", cmd[PATH_MAX + 64], want[256], s[64];
	struct stat st;
	bool have_loop = false;
	long long next;

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
	PC_REQUIRE(start_state(fx) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, have_loop ? 3 : 2, "ready", 3000), 0);

	/* multipathd's headers, columns as wide as their widest cell */
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D %t|%T %o %x %L%%\"", R, sizeof(R)) > 0);
	{
		int w = have_loop && strlen(loop) - 5 > 3 ? (int)strlen(loop) - 5 : 3;

		snprintf(want, sizeof(want), "%-*s dev_t chk_st|chk_st dev_st  transitions "
			 "latency_us%%\n%-*s -     ready |ready  running 1           ",
			 w, "dev", w, "f0");
		CU_ASSERT(reply_starts_with(R, want));
		if (!reply_starts_with(R, want))
			printf("\n  wanted '%s', got '%s'\n", want, R);
	}
	CU_ASSERT_EQUAL(reply_count(R, "\n"), have_loop ? 4 : 3);
	CU_ASSERT(daemon_cmd(fx, "show paths format %d", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "dev\nf0\nf1\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%s %w %C\"", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "vend/prod/rev uuid next_check\n-             -    "));
	CU_ASSERT(reply_is(fx, "show paths format \"%d %q\"", "error: unknown wildcard '%q' in "
			   "format (known: %d %D %t %T %o %C %s %w %L %x %%)\n"));
	CU_ASSERT(reply_is(fx, "show paths format \"%d", "error: unmatched '\"' in command\n"));
	CU_ASSERT(reply_is(fx, "show paths format", "error: show paths format needs a format "
			   "(show paths format FMT)\n"));
	CU_ASSERT(reply_is(fx, "show paths format 50%", "error: format ends in '%' (use %% for "
			   "a percent sign)\n"));

	/* the client quotes a format word for the daemon */
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

	/* next_check counts down within the interval */
	next = path_int_key(fx, "f0", "next_check_ms");
	CU_ASSERT(next >= 0 && next <= 1000);
	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "dev ") && strstr(R, "  dev_t     chk_st         checks"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "next_check  reason\n"));
	CU_ASSERT(has_line("f0 ", " -  ", "s        ok"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"dev_t\":null,\"next_check_ms\":"));
	CU_ASSERT(reply_is(fx, "fail path f0", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"next_check_ms\":null"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %C\"", R, sizeof(R)) > 0);
	CU_ASSERT(has_line("f0 ", "held", NULL));

	if (have_loop) {
		const char *name = strrchr(loop, '/') + 1;

		PC_REQUIRE(stat(loop, &st) == 0);
		/* by dev_t, and by the device path */
		snprintf(cmd, sizeof(cmd), "show path %u:%u json", major(st.st_rdev),
			 minor(st.st_rdev));
		CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
		CU_ASSERT(reply_json_str(R, "dev", s, sizeof(s)) && !strcmp(s, name));
		snprintf(want, sizeof(want), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
		CU_ASSERT(reply_json_str(R, "dev_t", s, sizeof(s)) && !strcmp(s, want));
		snprintf(cmd, sizeof(cmd), "show path %s json", loop);
		CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
		CU_ASSERT(reply_json_str(R, "dev", s, sizeof(s)) && !strcmp(s, name));
		CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D\"", R, sizeof(R)) > 0);
		CU_ASSERT(has_line(name, want, NULL));
		CU_ASSERT(reply_is(fx, "show path 4095:1048575", "error: no such path "
				   "'4095:1048575'\n"));
	}
	daemon_stop(fx);
	daemon_fx_free(fx);
	if (have_loop)
		pc_test_loop_detach(loop);
}

/* --- timeouts from the device ------------------------------------------------------ */

/*
 * No SCSI device here has a device/timeout: the daemon reads a copy of
 * sysfs ($PATHCHECKD_SYSFS) for a real loop device's real dev_t.
 */
static void test_sysfs_timeout(void)
{
	struct daemon_fx *fx;
	char file[PATH_MAX], loop[64], dir[PATH_MAX], p[PATH_MAX + 64], s[PATH_MAX];
	const char *name;
	struct stat st;
	long long v;
	FILE *f;

	if (pc_test_need_root())
		PC_SKIP("%s: a loop device", pc_test_need_root());
	fx = daemon_fx_files(1);
	if (!fx)
		return;
	PC_REQUIRE(daemon_file(fx, "lo", 1 << 20, file, sizeof(file)) == 0);
	if (pc_test_loop_attach(file, 0, loop, sizeof(loop))) {
		daemon_fx_free(fx);
		PC_SKIP("cannot attach a loop device");
	}
	name = strrchr(loop, '/') + 1;
	PC_REQUIRE(stat(loop, &st) == 0);
	snprintf(dir, sizeof(dir), "%s/sys", fx->dir);
	snprintf(p, sizeof(p), "mkdir -p %s/dev/block/%u:%u/device", dir, major(st.st_rdev),
		 minor(st.st_rdev));
	PC_REQUIRE(system(p) == 0);
	snprintf(p, sizeof(p), "%s/dev/block/%u:%u/device/timeout", dir, major(st.st_rdev),
		 minor(st.st_rdev));
	f = fopen(p, "w");
	PC_REQUIRE(f != NULL);
	fputs("7\n", f);
	fclose(f);

	PC_REQUIRE(daemon_config(fx, "interval 1s\npath %s\npath %s/f0\n", loop, fx->dir) == 0);
	setenv("PATHCHECKD_SYSFS", dir, 1);
	int started = start_state(fx);

	unsetenv("PATHCHECKD_SYSFS");
	PC_REQUIRE(started == 0);
	v = path_int(fx, name, "timeout_ms");
	CU_ASSERT_EQUAL(v, 7000);
	CU_ASSERT(reply_json_str(R, "timeout_source", s, sizeof(s)) && !strcmp(s, "sysfs"));
	CU_ASSERT_EQUAL(path_int(fx, "f0", "timeout_ms"), 30000);
	CU_ASSERT(reply_json_str(R, "timeout_source", s, sizeof(s)) && !strcmp(s, "default"));
	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	CU_ASSERT(has_line("timeout ", "30s", "default (a device's sysfs device/timeout first)"));
	/* the file's timeout wins, then a rule's */
	PC_REQUIRE(daemon_config(fx, "interval 1s\ntimeout 2s\npath %s\npath %s/f0 timeout=3s\n",
				 loop, fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(path_int(fx, name, "timeout_ms"), 2000);
	snprintf(p, sizeof(p), "%s:2", fx->conf);
	CU_ASSERT(reply_json_str(R, "timeout_source", s, sizeof(s)) && !strcmp(s, p));
	CU_ASSERT_EQUAL(path_int(fx, "f0", "timeout_ms"), 3000);
	snprintf(p, sizeof(p), "%s:4", fx->conf);
	CU_ASSERT(reply_json_str(R, "timeout_source", s, sizeof(s)) && !strcmp(s, p));
	daemon_stop(fx);
	daemon_fx_free(fx);
	pc_test_loop_detach(loop);
}

/* --- pathcheckd -t explains ----------------------------------------------------------- */

static void test_explain(void)
{
	struct daemon_fx *fx = daemon_fx_files(3);
	char out[16384], err[4096], dir[PATH_MAX], want[3 * PATH_MAX], *w;
	const char *argv[] = { NULL, "-t", "-c", NULL, NULL };
	struct pc_test_run r = { .argv = argv, .out = out, .err = err,
				 .out_cap = sizeof(out), .err_cap = sizeof(err) };
	const char *d, *c;

	if (!fx)
		return;
	d = fx->dir;
	c = fx->conf;
	argv[0] = fx->bin;
	argv[3] = fx->conf;
	snprintf(dir, sizeof(dir), "%s/fdir", d);
	PC_REQUIRE(mkdir(dir, 0755) == 0);
	PC_REQUIRE(daemon_config(fx, "path %s/f2 timeout=1s\npath %s/f*\npath /nonexistent-%s/*\n"
				 "path %s/f1\nblacklist */f0\nblacklist */zz\n", d, d, "pc", d) == 0);
	PC_REQUIRE(pc_test_run(&r) == 0);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	w = want;
	w += sprintf(w, "f1 %s/f1 interval=5000 timeout=30000\n", d);
	w += sprintf(w, "f2 %s/f2 interval=5000 timeout=1000\n", d);
	w += sprintf(w, "# %s/f0: dropped by blacklist %s:5 (*/f0), matched by path line 2\n", d, c);
	w += sprintf(w, "# %s/f1: kept by path %s:2 (%s/f*)\n", d, c, d);
	w += sprintf(w, "# %s/f1: also matched by path %s:4 (%s/f1), shadowed by line 2\n", d, c, d);
	w += sprintf(w, "# %s/f2: kept by path %s:1 (%s/f2)\n", d, c, d);
	w += sprintf(w, "# %s/f2: also matched by path %s:2 (%s/f*), shadowed by line 1\n", d, c, d);
	w += sprintf(w, "# %s/fdir: skipped, not a block device or a file (path line 2)\n", d);
	w += sprintf(w, "# path %s:3 (/nonexistent-pc/*) matches nothing\n", c);
	w += sprintf(w, "# path %s:4 (%s/f1) keeps nothing: its 1 match is shadowed, "
		     "blacklisted or skipped\n", c, d);
	sprintf(w, "# blacklist %s:6 (*/zz) drops nothing\n", c);
	if (strcmp(out, want))
		printf("\n  got:\n%s  wanted:\n%s", out, want);
	CU_ASSERT_STRING_EQUAL(out, want);
	daemon_fx_free(fx);
}

/* --- the man page and help agree ------------------------------------------------------ */

static char *next_cmd_line(char *p, char **cmd)
{
	/* .TP then a .B/.BR/.BI line naming the command, in COMMANDS only. */
	char *tp = strstr(p, "\n.TP\n");

	if (!tp)
		return NULL;
	*cmd = tp + 5;
	return tp + 5;
}

/* ".BR \"show path \" \"\\fIDEV\\fR [\" json ]" -> "show path" */
static void man_words(const char *line, char *out, size_t len)
{
	size_t o = 0;

	for (const char *s = line + strcspn(line, " "); *s && *s != '\n' && o + 1 < len; s++) {
		if (*s == '\\' && s[1] == 'f') {	/* a font change: then an argument */
			break;
		}
		if ((*s >= 'a' && *s <= 'z') || (*s == ' ' && o && out[o - 1] != ' '))
			out[o++] = *s;
		else if (*s != '"' && *s != ' ')
			break;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static void test_man_commands(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char *man = pc_test_read_file("docs/man/pathcheckd.8", NULL), *sec, *end, *p, *cmd;
	char help[8192], words[128], want[160];
	unsigned int n = 0;

	if (!fx) {
		free(man);
		return;
	}
	PC_REQUIRE(man != NULL);
	PC_REQUIRE(daemon_config(fx, "path %s/f0\n", fx->dir) == 0);
	PC_REQUIRE(start_state(fx) == 0);
	PC_REQUIRE(daemon_cmd(fx, "help", help, sizeof(help)) > 0);
	sec = strstr(man, "\n.SH COMMANDS\n");
	end = sec ? strstr(sec + 1, "\n.SH ") : NULL;
	PC_REQUIRE(sec && end);
	*end = '\0';
	for (p = sec; (p = next_cmd_line(p, &cmd));) {
		man_words(cmd, words, sizeof(words));
		if (!words[0])
			continue;
		/* "del path DEV, remove path DEV": each of them */
		snprintf(want, sizeof(want), "\n  %s", words);
		if (!strstr(help, want))
			printf("\n  pathcheckd.8 names '%s', help does not:\n%s", words, help);
		CU_ASSERT_PTR_NOT_NULL(strstr(help, want));
		n++;
	}
	CU_ASSERT(n >= 17);	/* del path and remove path share one entry */
	/* and every command of help is in the page */
	for (p = strstr(help, "\n  "); p; p = strstr(p + 1, "\n  ")) {
		size_t k = strcspn(p + 3, "[DF(\n");

		snprintf(words, sizeof(words), "%.*s", (int)k, p + 3);
		while (strlen(words) && words[strlen(words) - 1] == ' ')
			words[strlen(words) - 1] = '\0';
		snprintf(want, sizeof(want), "%s", words);
		if (!strstr(sec, want))
			printf("\n  help names '%s', pathcheckd.8 does not\n", words);
		CU_ASSERT_PTR_NOT_NULL(strstr(sec, want));
	}
	free(man);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "show_config", test_show_config },
		{ "hold", test_hold },
		{ "hold_unwritable", test_hold_unwritable },
		{ "hold_file_bad", test_hold_file_bad },
		{ "escaping", test_escaping },
		{ "format", test_format },
		{ "explain", test_explain },
		{ "sysfs_timeout", test_sysfs_timeout },
		{ "man_commands", test_man_commands },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_ops", tests, argc, argv);
}
