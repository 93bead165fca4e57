/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's fail path / reinstate path (docs/man/pathcheckd.8): a held
 * path is not checked, is shown as held everywhere, and stays held across
 * reconfigure and restart through the state file; an unwritable state
 * directory refuses the hold and says why; a malformed state file is read
 * line by line.  A hold is of a device, not of a name: it can be released
 * when its path is gone, `show holds` lists every hold, and a name that
 * leads to another device later (a file replaced, a loop number bound to
 * another file) is checked, not held, with a line in the log.  The daemon
 * runs for real on files and loop devices read with O_DIRECT through Linux
 * AIO.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "loopdev.h"

#define INTERVAL_MS	100

/* f1 held: what is refused, the event, and every view that shows it. */
static void hold_shown(struct daemon_fx *fx, struct dconn *sub)
{
	char s[256], line[4096];
	long long n;

	CU_ASSERT(daemon_reply_is(fx, "fail path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "fail path f1", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "error: path f1 is already held (by uid 0 pid "));
	CU_ASSERT(daemon_reply_is(fx, "fail path nope", "error: no such path 'nope'\n"));
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f0", "error: path f0 is not held\n"));
	CU_ASSERT(daemon_reply_is(fx, "check f1", "error: path f1 is held (fail path): "
				  "reinstate it to check it\n"));
	/* the event */
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"held\",\"seq\":") &&
		  strstr(line, ",\"dev\":\"f1\","));
	CU_ASSERT(reply_json_str(line, "dev", s, sizeof(s)) && !strcmp(s, "f1"));
	CU_ASSERT(reply_json_str(line, "by", s, sizeof(s)) && reply_starts_with(s, "uid 0 pid "));
	CU_ASSERT(reply_json_str(line, "time", s, sizeof(s)) && strlen(s) == 20);
	/* shown everywhere */
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(fx->last, "state", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(fx->last, "held_by", s, sizeof(s)) &&
		  reply_starts_with(s, "uid 0 pid "));
	CU_ASSERT(reply_json_str(fx->last, "held_since", s, sizeof(s)) && strlen(s) == 20);
	CU_ASSERT(daemon_cmd(fx, "show paths", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f1 ", " held ", NULL));
	CU_ASSERT(daemon_cmd(fx, "show status json", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_int(fx->last, "held", &n) && n == 1);
	CU_ASSERT(reply_json_int(fx->last, "ready", &n) && n == 2);
	CU_ASSERT(daemon_cmd(fx, "show metrics", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\npathcheck_paths{state=\"held\"} 1\n"));
}

/* Not checked while held, its counters kept, and written to the state file
 * holds: f1's checks. */
static long long hold_kept(struct daemon_fx *fx, const char *holds)
{
	long long checks0;
	char *file;

	checks0 = daemon_path_int(fx, "f1", "checks");
	CU_ASSERT(checks0 >= 1);
	pc_test_sleep_ms(5 * INTERVAL_MS);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f1", "checks"), checks0);
	CU_ASSERT(daemon_path_int(fx, "f0", "checks") >= checks0 + 3);
	/* the state file */
	file = pc_test_read_file(holds, NULL);
	CU_ASSERT_PTR_NOT_NULL(file);
	if (file) {
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), " %s/f1 id=ino:", fx->dir);
		CU_ASSERT_PTR_NOT_NULL(strstr(file, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(file, " boot="));
		CU_ASSERT_PTR_NOT_NULL(strstr(file, " uid 0 pid "));
		CU_ASSERT_EQUAL(reply_count(file, "\nhold "), 1);
		free(file);
	}
	return checks0;
}

/* reconfigure keeps it, also when the path leaves and comes back */
static void hold_reconfigured(struct daemon_fx *fx, long long checks0)
{
	char s[256];

	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f1", "checks"), checks0);
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f0\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "show path f1", "error: no such path 'f1'\n"));
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
}

/* and a restart: held from the state file, not checked once */
static void hold_restarted(struct daemon_fx *fx)
{
	char s[256];

	CU_ASSERT_EQUAL(daemon_stop(fx), 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "1 path held ("), 1);
	pc_test_sleep_ms(3 * INTERVAL_MS);
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f1", "checks"), 0);
	CU_ASSERT(daemon_path_str(fx, "f0", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
}

/* reinstate: checked at once, and the file forgets it */
static void hold_reinstated(struct daemon_fx *fx, const char *holds)
{
	struct dconn *sub;
	char s[256], line[4096], *file;

	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	CU_ASSERT(dconn_cmd(sub, "subscribe", fx->last, fx->last_cap, fx->reply_ms) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f1", "ok\n"));
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"reinstated\",\"seq\":") &&
		  strstr(line, ",\"dev\":\"f1\","));
	CU_ASSERT(dconn_line(sub, line, sizeof(line), 2000) > 0);
	CU_ASSERT(reply_starts_with(line, "{\"event\":\"state\",") &&
		  strstr(line, "\"dev\":\"f1\""));
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"held_by\":null"));
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f1", "error: path f1 is not held\n"));
	file = pc_test_read_file(holds, NULL);
	CU_ASSERT(file && !strstr(file, "\nhold "));
	free(file);
	dconn_close(sub);
	CU_ASSERT(daemon_cmd(fx, "show metrics", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\npathcheck_paths{state=\"held\"} 0\n"));
}

/* One hold through its life: fail path, reconfigure, restart, reinstate. */
static void test_hold(void)
{
	struct daemon_fx *fx = daemon_fx_files(3);
	struct dconn *sub;
	char holds[PATH_MAX];
	long long checks0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 3, "ready", 2000) == 0);
	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	CU_ASSERT(dconn_cmd(sub, "subscribe", fx->last, fx->last_cap, fx->reply_ms) == 0);
	snprintf(holds, sizeof(holds), "%s/state/holds", fx->dir);

	hold_shown(fx, sub);
	checks0 = hold_kept(fx, holds);
	hold_reconfigured(fx, checks0);
	dconn_close(sub);
	hold_restarted(fx);
	hold_reinstated(fx, holds);
	daemon_stop(fx);
	daemon_fx_free(fx);
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
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	snprintf(want, sizeof(want), "error: cannot keep the hold in %s/state/holds: "
		 "Not a directory; f0 is not held\n", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, "fail path f0", want));
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f0", "error: path f0 is not held\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* A malformed state file: its bad lines are skipped, with one warning. */
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
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "holds: 3 lines are not hold lines, ignored "
					 "(the first: line 3)"), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "hold line"), 1);
	CU_ASSERT(daemon_path_str(fx, "f0", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	CU_ASSERT(reply_json_str(fx->last, "held_by", s, sizeof(s)) && !strcmp(s, "uid 5 pid 6"));
	CU_ASSERT(reply_json_str(fx->last, "held_since", s, sizeof(s)) &&
		  !strcmp(s, "1970-01-01T00:00:12Z"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 300), -ETIMEDOUT);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* The hold of a path that was deleted: listed, and released by name. */
static void test_hold_gone(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	char holds[PATH_MAX], *file;

	if (!fx)
		return;
	snprintf(holds, sizeof(holds), "%s/state/holds", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, "fail path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show holds", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f1 ", " held ", " uid 0 pid "));
	CU_ASSERT(daemon_reply_is(fx, "del path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show holds", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f1 ", " absent ", " uid 0 pid "));
	CU_ASSERT(daemon_cmd(fx, "show holds json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "{\"holds\":[{\"dev\":\"f1\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"status\":\"absent\""));
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f1", "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "f1: path reinstated by uid 0 pid "), 1);
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f1",
				  "error: no such path or hold 'f1'\n"));
	CU_ASSERT(daemon_cmd(fx, "show holds json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_STRING_EQUAL(fx->last, "{\"holds\":[]}\n");
	file = pc_test_read_file(holds, NULL);
	CU_ASSERT(file && !strstr(file, "\nhold "));
	free(file);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* Held f1 is deleted, its file replaced by another, and added again. */
static void test_hold_other_file(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	char path[PATH_MAX], cmd[PATH_MAX + 16], s[64];

	if (!fx)
		return;
	CU_ASSERT(daemon_reply_is(fx, "fail path f1", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "del path f1", "ok\n"));
	/* Made before the old one goes, so it cannot reuse its inode. */
	PC_REQUIRE(daemon_file(fx, "f1.new", 1 << 20, path, sizeof(path)) == 0);
	snprintf(cmd, sizeof(cmd), "%s/f1", fx->dir);
	PC_REQUIRE(rename(path, cmd) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s/f1", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "f1: the hold by uid 0 pid "), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "does not apply: the name leads to another "
					 "device now (ino:"), 1);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 2000), 0);
	CU_ASSERT(daemon_cmd(fx, "show holds", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f1 ", " other device ", " ino:"));
	CU_ASSERT(daemon_cmd(fx, "fail path f1", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "error: path f1 has a hold of another device"));
	CU_ASSERT(daemon_reply_is(fx, "reinstate path f1", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "fail path f1", "ok\n"));
	CU_ASSERT(daemon_path_str(fx, "f1", "chk_st", s, sizeof(s)) && !strcmp(s, "held"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* A loop number held, then bound to another file: the disk sequence
 * number tells them apart, as it would a reused /dev/sdX. */
static void test_hold_other_loop(void)
{
	const char *why = loop_unavailable();
	struct daemon_fx *fx;
	struct loopset ls;
	char a[PATH_MAX], b[PATH_MAX], node[64], cmd[128], s[64];

	if (why) {
		pc_test_skip("%s", why);
		return;
	}
	fx = daemon_fx_new();
	if (!fx)
		return;
	PC_REQUIRE(loopset_new(&ls, 1) == 0);
	PC_REQUIRE(daemon_file(fx, "a", 1 << 20, a, sizeof(a)) == 0);
	PC_REQUIRE(daemon_file(fx, "b", 1 << 20, b, sizeof(b)) == 0);
	PC_REQUIRE(loop_bind(ls.first, a) == 0);
	loop_node(ls.first, node, sizeof(node));
	PC_REQUIRE(daemon_start(fx, "interval 100ms\ntimeout 2s\npath %s/none*\n",
				fx->dir) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", node);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	snprintf(cmd, sizeof(cmd), "fail path %s", node);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	snprintf(cmd, sizeof(cmd), "del path %s", node);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(loop_unbind(ls.first) == 0);
	CU_ASSERT(loop_bind(ls.first, b) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", node);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "does not apply: the name leads to another "
					 "device now (devt:"), 1);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 1, "ready", 2000), 0);
	CU_ASSERT(daemon_cmd(fx, "show holds", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, node + 5, " other device ", " devt:"));
	snprintf(cmd, sizeof(cmd), "reinstate path %s", node + 5);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show holds json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_STRING_EQUAL(fx->last, "{\"holds\":[]}\n");
	CU_ASSERT(daemon_path_str(fx, node + 5, "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	daemon_stop(fx);
	daemon_fx_free(fx);
	loopset_free(&ls);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "hold", test_hold },
		{ "hold_unwritable", test_hold_unwritable },
		{ "hold_file_bad", test_hold_file_bad },
		{ "hold_gone", test_hold_gone },
		{ "hold_other_file", test_hold_other_file },
		{ "hold_other_loop", test_hold_other_loop },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_hold", tests, argc, argv);
}
