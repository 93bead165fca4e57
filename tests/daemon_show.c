/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's read-only commands on plain files (docs/man/pathcheckd.8):
 * show paths and show path, as table and JSON; show stats, status (with
 * the states pathcheck(8) lists) and daemon; show metrics, checked line by
 * line as Prometheus text.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"

#define REPLY_CAP	(1 << 20)
#define INTERVAL_MS	DAEMON_FX_INTERVAL_MS
#define NOBODY		65534

static char R[REPLY_CAP];	/* the last reply */

/* --- show paths, show path ---------------------------------------------------------- */

/*
 * Every configured path listed, ready within two intervals (its first
 * check lands somewhere in the first), the table aligned under its
 * header, the JSON complete with per-rule interval and timeout.
 */
/* What `show paths` says of each of the four ready files: the same in both forms. */
static const struct { const char *key, *value; } ready_words[] = {
	{ "chk_st", "ready" }, { "reason", "ok" },
};
static const struct { const char *key; long long min, max; } ready_numbers[] = {
	{ "error", 0, 0 }, { "checks", 1, LLONG_MAX }, { "transitions", 1, 1 },
	{ "latency_us", 0, LLONG_MAX },
};
/* f3 has its own interval and timeout. */
static const struct { unsigned int interval_ms, timeout_ms; } show_timing[4] = {
	{ 200, 2000 }, { 200, 2000 }, { 200, 2000 }, { 300, 1000 },
};

/* The table: a title line, then one line a path in name order. */
static void check_paths_table(char *text)
{
	static const char *const titles[] = { "dev", "chk_st", "checks", "transitions",
					       "latency_us", "last_change", "reason" };
	char *lines[8] = { 0 }, *save = NULL, *l, s[256], name[16];
	const char *p;
	int n = 0;

	for (l = strtok_r(text, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	CU_ASSERT_EQUAL(n, 5);
	PC_REQUIRE(n == 5);
	p = lines[0];
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		const char *at = strstr(p, titles[i]);

		CU_ASSERT_PTR_NOT_NULL(at);
		if (at)
			p = at + strlen(titles[i]);
	}
	for (int i = 1; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i - 1);
		reply_column(lines[0], lines[i], "dev", s, sizeof(s));
		CU_ASSERT_STRING_EQUAL(s, name);
		for (size_t k = 0; k < sizeof(ready_words) / sizeof(ready_words[0]); k++) {
			reply_column(lines[0], lines[i], ready_words[k].key, s, sizeof(s));
			CU_ASSERT_STRING_EQUAL(s, ready_words[k].value);
		}
		reply_column(lines[0], lines[i], "last_change", s, sizeof(s));
		CU_ASSERT(reply_is_iso_time(s));
		CU_ASSERT_EQUAL(strlen(lines[i]) >= strlen(lines[0]) - strlen("reason"), 1);
	}
}

/* The JSON: one line, the paths in name order, each with every field. */
static void check_paths_json(struct daemon_fx *fx, const char *text)
{
	char obj[2048], s[256], want[PATH_MAX], name[16];
	long long v;

	CU_ASSERT(reply_starts_with(text, "{\"paths\":[{"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "}]}\n"));
	CU_ASSERT_EQUAL(strchr(text, '\n'), text + strlen(text) - 1);	/* one line */
	CU_ASSERT_EQUAL(reply_count(text, "{\"dev\":"), 4);
	CU_ASSERT(strstr(text, "\"f0\"") < strstr(text, "\"f1\"") &&
		  strstr(text, "\"f1\"") < strstr(text, "\"f2\"") &&
		  strstr(text, "\"f2\"") < strstr(text, "\"f3\""));
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CU_ASSERT(reply_json_path(text, name, obj, sizeof(obj)));
		snprintf(want, sizeof(want), "%s/f%d", fx->dir, i);
		CU_ASSERT(reply_json_str(obj, "path", s, sizeof(s)) && !strcmp(s, want));
		CU_ASSERT(reply_json_str(obj, "state", s, sizeof(s)) && !strcmp(s, "up"));
		for (size_t k = 0; k < sizeof(ready_words) / sizeof(ready_words[0]); k++)
			CU_ASSERT(reply_json_str(obj, ready_words[k].key, s, sizeof(s)) &&
				  !strcmp(s, ready_words[k].value));
		for (size_t k = 0; k < sizeof(ready_numbers) / sizeof(ready_numbers[0]); k++)
			CU_ASSERT(reply_json_int(obj, ready_numbers[k].key, &v) &&
				  v >= ready_numbers[k].min && v <= ready_numbers[k].max);
		CU_ASSERT(reply_json_str(obj, "last_change", s, sizeof(s)) && reply_is_iso_time(s));
		CU_ASSERT(reply_json_int(obj, "interval_ms", &v) && v == show_timing[i].interval_ms);
		CU_ASSERT(reply_json_int(obj, "timeout_ms", &v) && v == show_timing[i].timeout_ms);
	}
}

static void test_show_paths(void)
{
	struct daemon_fx *fx = daemon_fx_files(4);
	char want[PATH_MAX];
	uint64_t t0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\ntimeout 2s\n"
				"path %s/f3 interval=300ms timeout=1s\npath %s/f*\n",
				fx->dir, fx->dir) == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 4, "ready", 2 * 300 + daemon_slack_ms()), 0);
	printf("\n  all 4 ready %llu ms after the daemon answered\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	snprintf(want, sizeof(want), "pathcheckd: ready, 4 paths, socket %s", fx->sock);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);
	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "dev"));
	check_paths_table(R);
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	check_paths_json(fx, R);
	CU_ASSERT(daemon_reply_starts(fx, "show status json", "{\"paths\":4,\"ready\":4,"));
	daemon_fx_finish(fx);
}

/* DEV is a name, the configured path, or any path resolving to it. */
static void test_show_path(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	char cmd[PATH_MAX + 64], link[PATH_MAX], s[256];

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show path f1", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 2);
	CU_ASSERT(reply_starts_with(R, "dev "));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\nf1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, " ready "));

	snprintf(cmd, sizeof(cmd), "show path %s/f1 json", fx->dir);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"dev\":\"f1\","));
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 1);

	snprintf(link, sizeof(link), "%s/link-to-f1", fx->dir);
	PC_REQUIRE(symlink("f1", link) == 0);
	snprintf(cmd, sizeof(cmd), "show path %s json", link);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_str(R, "dev", s, sizeof(s)) && !strcmp(s, "f1"));

	CU_ASSERT(daemon_reply_is(fx, "show path f9", "error: no such path 'f9'\n"));
	CU_ASSERT(daemon_reply_is(fx, "show path f9 json", "error: no such path 'f9'\n"));
	/* a relative path never resolves in the daemon's cwd */
	CU_ASSERT(daemon_reply_is(fx, "show path ./f1", "error: no such path './f1'\n"));
	snprintf(cmd, sizeof(cmd), "show path %s/nothing", fx->dir);
	CU_ASSERT(daemon_reply_starts(fx, cmd, "error: no such path '"));
	daemon_fx_finish(fx);
}

/* --- stats, status, daemon, metrics ------------------------------------------------- */

/* show stats: every line "key value", every key there, and the values */
static void stats_lines(struct daemon_fx *fx)
{
	static const char *const keys[] = {
		"paths", "groups", "inflight", "orphans", "checks", "up", "down", "timeouts",
		"records", "transitions", "checks_started", "checks_busy", "results",
		"schedule_slips", "clients", "subscribers", "clients_accepted",
		"clients_dropped", "commands", "command_errors", "events_sent",
		"reconfigures", "reconfigure_errors", "uptime_s",
	};
	uint64_t v;
	long long j;

	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	/* every line "key value" */
	for (char *l = R; *l;) {
		char key[64];
		unsigned long long n;
		char *nl = strchr(l, '\n');

		CU_ASSERT(sscanf(l, "%63s %llu", key, &n) == 2);
		if (!nl)
			break;
		l = nl + 1;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool has = reply_kv_u64(R, keys[i], &v);

		if (!has)
			printf("\n  show stats has no %s\n", keys[i]);
		CU_ASSERT(has);
	}
	CU_ASSERT(reply_kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "paths", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "transitions", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "clients", &v) && v == 1);
	CU_ASSERT(reply_kv_u64(R, "up", &v) && v >= 3);
	CU_ASSERT(reply_kv_u64(R, "down", &v) && v == 0);

	CU_ASSERT(daemon_cmd(fx, "show stats json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(R[0], '{');
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 1);
	CU_ASSERT(reply_json_int(R, "records", &j) && j == 3);
	CU_ASSERT(reply_json_int(R, "clients_dropped", &j) && j == 0);
}

/*
 * The states of show status are those pathcheck(8) lists for it, in its
 * order: its line ".RB ( ready ", " faulty ", ... )" after "The number of
 * paths in each checker state".
 */
static void expect_man_states(const char *reply)
{
	char *man = pc_test_read_file("docs/man/pathcheck.8", NULL), *l, *st, *q;
	const char *line = strchr(reply, '\n');
	char word[64];
	unsigned int n = 0;

	PC_REQUIRE(man && line);
	l = strstr(man, "The number of paths in each checker state\n.RB (");
	PC_REQUIRE(l != NULL);
	l = strchr(l, '(') + 1;
	l[strcspn(l, "\n")] = '\0';
	/* ready ", " faulty ", " "i/o timeout" ...: the words between separators */
	for (st = strtok(l, ",)"); st; st = strtok(NULL, ",)")) {
		q = st + strspn(st, " \"");
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(q, "\""), q);
		if (!word[0])
			continue;
		line++;
		if (strncmp(line, word, strlen(word)) || line[strlen(word)] != ' ')
			printf("  pathcheck(8) says %s, show status %.*s\n", word,
			       (int)strcspn(line, "\n"), line);
		CU_ASSERT_EQUAL(strncmp(line, word, strlen(word)), 0);
		line = strchr(line, '\n');
		PC_REQUIRE(line != NULL);
		n++;
	}
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(strncmp(line + 1, "paths: ", 7), 0);
	line = strchr(line + 1, '\n');
	CU_ASSERT(line && !strncmp(line + 1, "marginal paths: ", 16));
	free(man);
}

static void test_stats_status_daemon(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	char want[PATH_MAX + 64];
	uint64_t v, sum = 0;

	if (!fx)
		return;
	stats_lines(fx);

	CU_ASSERT(daemon_cmd(fx, "show status", R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "path checker states:\n"));
	expect_man_states(R);
	{
		const char *st[] = { "ready", "faulty", "i/o timeout", "i/o pending", "undef",
				     "unopened", "held" };

		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
			char *l = strstr(R, st[i]);
			unsigned long long n = 0;

			CU_ASSERT(l && sscanf(l + strlen(st[i]), " %llu", &n) == 1);
			sum += n;
		}
	}
	CU_ASSERT_EQUAL(sum, 3);
	CU_ASSERT(reply_kv_u64(R, "ready", &v) && v == 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "paths: 3\n"));
	CU_ASSERT(daemon_reply_is(fx, "show status json",
			   "{\"paths\":3,\"ready\":3,\"faulty\":0,\"i/o timeout\":0,"
			   "\"i/o pending\":0,\"undef\":0,\"unopened\":0,\"held\":0,\"marginal\":0}\n"));

	CU_ASSERT(daemon_cmd(fx, "show daemon", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "pid %d running\n", (int)fx->pid);
	CU_ASSERT_EQUAL(strncmp(R, want, strlen(want)), 0);
	snprintf(want, sizeof(want), "\nconfig %s\n", fx->conf);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	snprintf(want, sizeof(want), "\nsocket %s\n", fx->sock);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npaths 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\nuptime "));
	CU_ASSERT(daemon_reply_starts(fx, "help", "commands"));
	daemon_fx_finish(fx);
}

static void test_metrics(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"ready\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_path_transitions_total 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "# TYPE pathcheck_check_latency_seconds histogram\n"));
	CU_ASSERT(reply_check_metrics(R) > 0);
	CU_ASSERT(daemon_reply_starts(fx, "show metrics json", "error: "));
	daemon_fx_finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "show_paths", test_show_paths },
		{ "show_path", test_show_path },
		{ "stats_status_daemon", test_stats_status_daemon },
		{ "metrics", test_metrics },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_show", tests, argc, argv);
}
