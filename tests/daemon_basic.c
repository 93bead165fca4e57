/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's control socket on plain files (docs/man/pathcheckd.8): every
 * command and its errors, permissions by SO_PEERCRED, the metrics file
 * and its atomic rewrite, reconfigure (command and SIGHUP) keeping the
 * state of kept paths and the old config on an error, -t, and start-up
 * refusals.  The daemon runs for real (tests/lib/daemon_fixture.h) on
 * files in a temporary directory, read with O_DIRECT through Linux AIO.
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
#define INTERVAL_MS	200
#define NOBODY		65534

static char R[REPLY_CAP];	/* the last reply */

/* n files, the daemon on them (interval 200ms, timeout 2s, socket 0666
 * plus extra config lines), all ready. */
static struct daemon_fx *start_files(unsigned int n, const char *extra)
{
	struct daemon_fx *fx = daemon_files_fx(n);

	if (!fx)
		return NULL;
	if (daemon_start(fx, "interval %ums\ntimeout 2s\nsocket_mode 0666\n%spath %s/f*\n",
			 INTERVAL_MS, extra ? extra : "", fx->dir) ||
	    daemon_wait_states(fx, n, "ready", 2 * INTERVAL_MS + daemon_slack_ms())) {
		CU_FAIL("daemon start, or its paths did not become ready within 2 intervals");
		daemon_fx_free(fx);
		return NULL;
	}
	return fx;
}

static void finish(struct daemon_fx *fx)
{
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* Runs cmd; true if the reply is exactly want (printed otherwise). */
static bool reply_is(struct daemon_fx *fx, const char *cmd, const char *want)
{
	int n = daemon_cmd(fx, cmd, R, sizeof(R));

	if (n >= 0 && !strcmp(R, want))
		return true;
	printf("\n  '%s': wanted '%s', got (%d) '%s'\n", cmd, want, n, R);
	return false;
}

/* Runs cmd; true if the reply starts with want. */
static bool reply_starts(struct daemon_fx *fx, const char *cmd, const char *want)
{
	int n = daemon_cmd(fx, cmd, R, sizeof(R));

	if (n >= 0 && !strncmp(R, want, strlen(want)))
		return true;
	printf("\n  '%s': wanted '%s...', got (%d) '%s'\n", cmd, want, n, R);
	return false;
}

static long long path_int(struct daemon_fx *fx, const char *dev, const char *key)
{
	char cmd[PATH_MAX + 32];
	long long v = -1;

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	if (daemon_cmd(fx, cmd, R, sizeof(R)) < 0 || !json_int(R, key, &v))
		printf("\n  %s: no %s in '%s'\n", dev, key, R);
	return v;
}

static bool is_iso_time(const char *s)
{
	/* 2026-11-25T07:00:00Z */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return false;
	return true;
}

/* The text at the column of the header's title, to the next double space. */
static void column(const char *header, const char *row, const char *title,
		   char *out, size_t len)
{
	const char *at = strstr(header, title);
	size_t off = at ? (size_t)(at - header) : 0, n;

	out[0] = '\0';
	if (!at || strlen(row) <= off)
		return;
	n = strcspn(row + off, "\n");
	for (size_t i = 0; i + 1 < n; i++)
		if (row[off + i] == ' ' && row[off + i + 1] == ' ') {
			n = i;
			break;
		}
	snprintf(out, len, "%.*s", (int)n, row + off);
}

/* --- show paths, show path ---------------------------------------------------------- */

/*
 * Every configured path listed, ready within two intervals (its first
 * check lands somewhere in the first), the table aligned under its
 * header, the JSON complete with per-rule interval and timeout.
 */
static void test_show_paths(void)
{
	struct daemon_fx *fx = daemon_files_fx(4);
	char obj[2048], s[256], want[PATH_MAX];
	uint64_t t0;
	long long v;

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

	/* the table */
	CU_ASSERT(daemon_cmd(fx, "show paths", R, sizeof(R)) > 0);
	{
		char *lines[8] = { 0 }, *save = NULL, *l;
		int n = 0;

		for (l = strtok_r(R, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
			lines[n++] = l;
		CU_ASSERT_EQUAL(n, 5);
		PC_REQUIRE(n == 5);
		CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "dev"));
		{
			const char *titles[] = { "dev", "chk_st", "checks", "transitions",
						 "latency_us", "last_change", "reason" };
			const char *p = lines[0];

			for (size_t i = 0; i < 7; i++) {
				const char *at = strstr(p, titles[i]);

				CU_ASSERT_PTR_NOT_NULL(at);
				if (at)
					p = at + strlen(titles[i]);
			}
		}
		for (int i = 1; i < 5; i++) {
			char name[16];

			snprintf(name, sizeof(name), "f%d", i - 1);
			column(lines[0], lines[i], "dev", s, sizeof(s));
			CU_ASSERT_STRING_EQUAL(s, name);
			column(lines[0], lines[i], "chk_st", s, sizeof(s));
			CU_ASSERT_STRING_EQUAL(s, "ready");
			column(lines[0], lines[i], "reason", s, sizeof(s));
			CU_ASSERT_STRING_EQUAL(s, "ok");
			column(lines[0], lines[i], "last_change", s, sizeof(s));
			CU_ASSERT(is_iso_time(s));
			CU_ASSERT_EQUAL(strlen(lines[i]) >= strlen(lines[0]) - strlen("reason"), 1);
		}
	}

	/* the JSON */
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT(starts_with(R, "{\"paths\":[{"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "}]}\n"));
	CU_ASSERT_EQUAL(strchr(R, '\n'), R + strlen(R) - 1);	/* one line */
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 4);
	CU_ASSERT(strstr(R, "\"f0\"") < strstr(R, "\"f1\"") &&
		  strstr(R, "\"f1\"") < strstr(R, "\"f2\"") &&
		  strstr(R, "\"f2\"") < strstr(R, "\"f3\""));
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		CU_ASSERT(json_path(R, name, obj, sizeof(obj)));
		snprintf(want, sizeof(want), "%s/f%d", fx->dir, i);
		CU_ASSERT(json_str(obj, "path", s, sizeof(s)) && !strcmp(s, want));
		CU_ASSERT(json_str(obj, "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
		CU_ASSERT(json_str(obj, "state", s, sizeof(s)) && !strcmp(s, "up"));
		CU_ASSERT(json_str(obj, "reason", s, sizeof(s)) && !strcmp(s, "ok"));
		CU_ASSERT(json_int(obj, "error", &v) && v == 0);
		CU_ASSERT(json_int(obj, "checks", &v) && v >= 1);
		CU_ASSERT(json_int(obj, "transitions", &v) && v == 1);
		CU_ASSERT(json_int(obj, "latency_us", &v) && v >= 0);
		CU_ASSERT(json_str(obj, "last_change", s, sizeof(s)) && is_iso_time(s));
		CU_ASSERT(json_int(obj, "interval_ms", &v) && v == (i == 3 ? 300 : 200));
		CU_ASSERT(json_int(obj, "timeout_ms", &v) && v == (i == 3 ? 1000 : 2000));
	}
	CU_ASSERT(reply_starts(fx, "show status json", "{\"paths\":4,\"ready\":4,"));
	finish(fx);
}

/* DEV is a name, the configured path, or any path resolving to it. */
static void test_show_path(void)
{
	struct daemon_fx *fx = start_files(3, NULL);
	char cmd[PATH_MAX + 64], link[PATH_MAX], s[256];

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show path f1", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "\n"), 2);
	CU_ASSERT(starts_with(R, "dev "));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\nf1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, " ready "));

	snprintf(cmd, sizeof(cmd), "show path %s/f1 json", fx->dir);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(starts_with(R, "{\"dev\":\"f1\","));
	CU_ASSERT_EQUAL(count_str(R, "\n"), 1);

	snprintf(link, sizeof(link), "%s/link-to-f1", fx->dir);
	PC_REQUIRE(symlink("f1", link) == 0);
	snprintf(cmd, sizeof(cmd), "show path %s json", link);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(json_str(R, "dev", s, sizeof(s)) && !strcmp(s, "f1"));

	CU_ASSERT(reply_is(fx, "show path f9", "error: no such path 'f9'\n"));
	CU_ASSERT(reply_is(fx, "show path f9 json", "error: no such path 'f9'\n"));
	/* a relative path never resolves in the daemon's cwd */
	CU_ASSERT(reply_is(fx, "show path ./f1", "error: no such path './f1'\n"));
	snprintf(cmd, sizeof(cmd), "show path %s/nothing", fx->dir);
	CU_ASSERT(reply_starts(fx, cmd, "error: no such path '"));
	finish(fx);
}

/* --- stats, status, daemon, metrics ------------------------------------------------- */

static void test_stats_status_daemon(void)
{
	static const char *const keys[] = {
		"paths", "groups", "inflight", "orphans", "checks", "up", "down", "timeouts",
		"records", "transitions", "checks_started", "checks_busy", "results",
		"schedule_slips", "clients", "subscribers", "clients_accepted",
		"clients_dropped", "commands", "command_errors", "events_sent",
		"reconfigures", "reconfigure_errors", "uptime_s",
	};
	struct daemon_fx *fx = start_files(3, NULL);
	char want[PATH_MAX + 64];
	uint64_t v, sum = 0;
	long long j;

	if (!fx)
		return;
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
		bool has = kv_u64(R, keys[i], &v);

		if (!has)
			printf("\n  show stats has no %s\n", keys[i]);
		CU_ASSERT(has);
	}
	CU_ASSERT(kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "paths", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "transitions", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "clients", &v) && v == 1);
	CU_ASSERT(kv_u64(R, "up", &v) && v >= 3);
	CU_ASSERT(kv_u64(R, "down", &v) && v == 0);

	CU_ASSERT(daemon_cmd(fx, "show stats json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(R[0], '{');
	CU_ASSERT_EQUAL(count_str(R, "\n"), 1);
	CU_ASSERT(json_int(R, "records", &j) && j == 3);
	CU_ASSERT(json_int(R, "clients_dropped", &j) && j == 0);

	CU_ASSERT(daemon_cmd(fx, "show status", R, sizeof(R)) > 0);
	CU_ASSERT(starts_with(R, "path checker states:\n"));
	{
		const char *st[] = { "ready", "faulty", "i/o timeout", "i/o pending", "undef" };

		for (size_t i = 0; i < 5; i++) {
			char *l = strstr(R, st[i]);
			unsigned long long n = 0;

			CU_ASSERT(l && sscanf(l + strlen(st[i]), " %llu", &n) == 1);
			sum += n;
		}
	}
	CU_ASSERT_EQUAL(sum, 3);
	CU_ASSERT(kv_u64(R, "ready", &v) && v == 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "paths: 3\n"));
	CU_ASSERT(reply_is(fx, "show status json",
			   "{\"paths\":3,\"ready\":3,\"faulty\":0,\"i/o timeout\":0,"
			   "\"i/o pending\":0,\"undef\":0,\"held\":0,\"marginal\":0}\n"));

	CU_ASSERT(daemon_cmd(fx, "show daemon", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "pid %d running\n", (int)fx->pid);
	CU_ASSERT_EQUAL(strncmp(R, want, strlen(want)), 0);
	snprintf(want, sizeof(want), "\nconfig %s\n", fx->conf);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	snprintf(want, sizeof(want), "\nsocket %s\n", fx->sock);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npaths 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\nuptime "));
	CU_ASSERT(reply_starts(fx, "help", "commands"));
	finish(fx);
}

struct family {
	char name[128];
	char type[16];
};

static struct family *family_of(struct family *f, size_t n, const char *sample)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(f[i].name);

		if (strncmp(sample, f[i].name, l))
			continue;
		if (sample[l] == '{' || sample[l] == ' ')
			return &f[i];
		if (!strcmp(f[i].type, "histogram") &&
		    (starts_with(sample + l, "_bucket{") || starts_with(sample + l, "_sum ") ||
		     starts_with(sample + l, "_count ")))
			return &f[i];
	}
	return NULL;
}

/*
 * (text is cut into lines in place.)
 * Prometheus text format: every sample "name{labels} value" or "name value"
 * of a family declared by "# TYPE" before it; names pathcheck_*, counters
 * *_total; histogram buckets cumulative, +Inf equal to _count.  Returns
 * the number of families, 0 on a malformed text (asserted here).
 */
static size_t check_metrics(char *text)
{
	struct family fam[64];
	size_t nfam = 0, bad = 0;
	double last_bucket = -1;

	for (char *l = text, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		if (starts_with(l, "# HELP "))
			continue;
		if (starts_with(l, "# TYPE ")) {
			struct family *f = &fam[nfam < 64 ? nfam++ : 63];

			if (sscanf(l + 7, "%127s %15s", f->name, f->type) != 2 ||
			    (strcmp(f->type, "counter") && strcmp(f->type, "gauge") &&
			     strcmp(f->type, "histogram")) ||
			    !starts_with(f->name, "pathcheck_") ||
			    (!strcmp(f->type, "counter") &&
			     strcmp(f->name + strlen(f->name) - 6, "_total"))) {
				printf("\n  bad TYPE line: %s\n", l);
				bad++;
			}
			last_bucket = -1;
			continue;
		}
		{
			struct family *f = family_of(fam, nfam, l);
			const char *sp = strrchr(l, ' ');
			char *end;
			double v;

			if (!f || !sp) {
				printf("\n  sample without a TYPE before it: %s\n", l);
				bad++;
				continue;
			}
			if (strchr(l, '{') && (!strchr(l, '}') || strchr(l, '}') > sp ||
					       strchr(l, '{') > strchr(l, '}'))) {
				printf("\n  bad labels: %s\n", l);
				bad++;
			}
			v = strtod(sp + 1, &end);
			if (*end || end == sp + 1) {
				printf("\n  bad value: %s\n", l);
				bad++;
			}
			if (strstr(l, "_bucket{")) {
				if (v < last_bucket) {
					printf("\n  buckets not cumulative: %s\n", l);
					bad++;
				}
				last_bucket = v;
			} else if (!strcmp(f->type, "histogram") && strstr(l, "_count ") &&
				   v != last_bucket) {
				printf("\n  _count %g is not the +Inf bucket %g\n", v, last_bucket);
				bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(nfam >= 10 && nfam < 64);
	return bad ? 0 : nfam;
}

static void test_metrics(void)
{
	struct daemon_fx *fx = start_files(3, NULL);

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"ready\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_path_transitions_total 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "# TYPE pathcheck_check_latency_seconds histogram\n"));
	CU_ASSERT(check_metrics(R) > 0);
	CU_ASSERT(reply_starts(fx, "show metrics json", "error: "));
	finish(fx);
}

/* --- check -------------------------------------------------------------------------- */

static void test_check(void)
{
	struct daemon_fx *fx = start_files(3, NULL);
	char cmd[PATH_MAX + 32], s[64];
	unsigned long long us;
	long long before, after;
	char tail[8];

	if (!fx)
		return;
	before = path_int(fx, "f2", "checks");
	CU_ASSERT(daemon_cmd(fx, "check f2", R, sizeof(R)) > 0);
	CU_ASSERT(sscanf(R, "f2: ready (%llu us%7[^\n]", &us, tail) == 2 &&
		  !strcmp(tail, ")"));
	CU_ASSERT_EQUAL(count_str(R, "\n"), 1);
	after = path_int(fx, "f2", "checks");
	CU_ASSERT(after > before);

	snprintf(cmd, sizeof(cmd), "check %s/f2 json", fx->dir);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(starts_with(R, "{\"dev\":\"f2\","));
	CU_ASSERT(json_str(R, "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	CU_ASSERT(reply_is(fx, "check nope", "error: no such path 'nope'\n"));
	CU_ASSERT(reply_is(fx, "check", "error: check needs a path name (check DEV [json])\n"));
	finish(fx);
}

/* --- add path, del path ------------------------------------------------------------- */

static void test_add_del(void)
{
	struct daemon_fx *fx = start_files(3, NULL);
	char cmd[PATH_MAX + 64], want[PATH_MAX + 128], x0[PATH_MAX], link[PATH_MAX];
	long long v;

	if (!fx)
		return;
	/* outside the config's glob f* */
	PC_REQUIRE(daemon_file(fx, "x0", 1 << 20, x0, sizeof(x0)) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", x0);
	CU_ASSERT(reply_is(fx, cmd, "ok\n"));
	snprintf(want, sizeof(want), "x0: path added (%s)", x0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);
	CU_ASSERT_EQUAL(path_int(fx, "x0", "interval_ms"), INTERVAL_MS);
	CU_ASSERT_EQUAL(path_int(fx, "x0", "timeout_ms"), 2000);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 4, "ready", INTERVAL_MS + daemon_slack_ms()), 0);

	/* errors */
	snprintf(want, sizeof(want), "error: path %s is already checked\n", x0);
	CU_ASSERT(reply_is(fx, cmd, want));
	snprintf(link, sizeof(link), "%s/link-to-x0", fx->dir);
	PC_REQUIRE(symlink(x0, link) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", link);
	CU_ASSERT(reply_is(fx, cmd, want));
	CU_ASSERT(reply_is(fx, "add path x0", "error: add path needs an absolute path, not 'x0'\n"));
	snprintf(cmd, sizeof(cmd), "add path %s/missing", fx->dir);
	snprintf(want, sizeof(want), "error: %s/missing: No such file or directory\n", fx->dir);
	CU_ASSERT(reply_is(fx, cmd, want));
	snprintf(cmd, sizeof(cmd), "add path %s", fx->dir);
	snprintf(want, sizeof(want), "error: %s is not a block device or a file\n", fx->dir);
	CU_ASSERT(reply_is(fx, cmd, want));
	CU_ASSERT(reply_is(fx, "add path /dev/null",
			   "error: /dev/null is not a block device or a file\n"));
	CU_ASSERT(reply_is(fx, "add path", "error: add path needs a path name (add path DEV)\n"));
	CU_ASSERT(reply_is(fx, "add x0", "error: unknown command 'add x0' (add takes path)\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 4);

	/* del by name, by path, remove alias */
	CU_ASSERT(reply_is(fx, "del path x0", "ok\n"));
	CU_ASSERT(reply_is(fx, "show path x0", "error: no such path 'x0'\n"));
	CU_ASSERT(reply_is(fx, "del path x0", "error: no such path 'x0'\n"));
	snprintf(cmd, sizeof(cmd), "del path %s/f0", fx->dir);
	CU_ASSERT(reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(reply_is(fx, "remove path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 1);
	CU_ASSERT(json_int(R, "checks", &v) && v > 0);
	snprintf(want, sizeof(want), "f1: path removed (%s/f1)", fx->dir);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);

	/* back by hand, then reconfigure: the config's paths, and only them */
	snprintf(cmd, sizeof(cmd), "add path %s/f0", fx->dir);
	CU_ASSERT(reply_is(fx, cmd, "ok\n"));
	snprintf(cmd, sizeof(cmd), "add path %s", x0);
	CU_ASSERT(reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(reply_is(fx, "show path x0", "error: no such path 'x0'\n"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", 2 * INTERVAL_MS + daemon_slack_ms()), 0);
	finish(fx);
}

/*
 * A configured path that cannot be opened is listed as faulty with the
 * reason, answers `check` at once, and is opened on reconfigure once it
 * exists.
 */
static void test_open_failed(void)
{
	struct daemon_fx *fx = daemon_files_fx(1);
	char s[256];

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f0\npath %s/later\n",
				fx->dir, fx->dir) == 0);
	CU_ASSERT(daemon_cmd(fx, "show path later json", R, sizeof(R)) > 0);
	CU_ASSERT(json_str(R, "chk_st", s, sizeof(s)) && !strcmp(s, "faulty"));
	CU_ASSERT(json_str(R, "reason", s, sizeof(s)) &&
		  !strcmp(s, "open failed: No such file or directory"));
	CU_ASSERT(reply_is(fx, "check later", "later: faulty (open failed: No such file or directory)\n"));
	CU_ASSERT(daemon_log_count(fx, "later: cannot open ") == 1);
	CU_ASSERT(reply_starts(fx, "show status json", "{\"paths\":2,"));
	PC_REQUIRE(daemon_file(fx, "later", 1 << 20, NULL, 0) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", INTERVAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT(reply_starts(fx, "check later", "later: ready ("));
	finish(fx);
}

/* --- errors ------------------------------------------------------------------------- */

/* Each error is one "error: ..." line, and the connection goes on. */
static void test_errors_keep_connection(void)
{
	static const struct {
		const char *cmd, *want;
	} cases[] = {
		{ "foo", "error: unknown command 'foo' (try help)\n" },
		{ "", "error: empty command (try help)\n" },
		{ " \t ", "error: empty command (try help)\n" },
		{ "show a b c d e f g h", "error: too many words (try help)\n" },
		{ "show", "error: 'show' needs one of: paths, path, status, stats, daemon, metrics, config, blacklist\n" },
		{ "show bogus", "error: unknown command 'show bogus' (show takes paths, path, status, stats, daemon, metrics, config, blacklist)\n" },
		{ "show paths extra", "error: too many words for show paths (show paths [json])\n" },
		{ "help json", "error: help has no json form\n" },
		{ "show daemon json", "error: show daemon has no json form\n" },
		{ "show metrics json", "error: show metrics has no json form\n" },
		{ "check", "error: check needs a path name (check DEV [json])\n" },
		{ "show path", "error: show path needs a path name (show path DEV [json])\n" },
		{ "fail path", "error: fail path needs a path name (fail path DEV)\n" },
		{ "shutdown now", "error: too many words for shutdown (shutdown)\n" },
		{ "reconfigure x", "error: too many words for reconfigure (reconfigure)\n" },
		{ "show\x01paths", "error: control characters in command\n" },
		{ "json", "error: unknown command 'json' (try help)\n" },
	};
	struct daemon_fx *fx = start_files(2, NULL);
	struct dconn *c;
	char big[4200];
	uint64_t errors0 = 0, errors1 = 0;

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "command_errors", &errors0));
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = dconn_cmd(c, cases[i].cmd, R, sizeof(R), fx->reply_ms);

		if (n < 0 || strcmp(R, cases[i].want))
			printf("\n  '%s': wanted '%s', got (%d) '%s'\n", cases[i].cmd,
			       cases[i].want, n, R);
		CU_ASSERT_STRING_EQUAL(R, cases[i].want);
		/* and the same connection still works */
		CU_ASSERT(dconn_cmd(c, "show status json", R, sizeof(R), fx->reply_ms) > 0);
		CU_ASSERT(starts_with(R, "{\"paths\":2,"));
	}
	/* spaces, tabs and CRLF around the words */
	CU_ASSERT(dconn_cmd(c, "  show\t\tstatus   json  \r", R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(starts_with(R, "{\"paths\":2,"));
	/* pipelined: replies in order */
	CU_ASSERT_EQUAL(dconn_write(c, "show status json\nbar\nshow daemon\n", 33, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(starts_with(R, "{\"paths\":2,"));
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: unknown command 'bar' (try help)\n");
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(starts_with(R, "pid "));
	/* the longest line taken: 4096 bytes */
	memset(big, 'a', 4096);
	big[4096] = '\n';
	CU_ASSERT_EQUAL(dconn_write(c, big, 4097, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(starts_with(R, "error: unknown command 'aaaa"));
	CU_ASSERT(dconn_cmd(c, "show status json", R, sizeof(R), fx->reply_ms) > 0);
	dconn_close(c);

	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "command_errors", &errors1));
	CU_ASSERT_EQUAL(errors1 - errors0, sizeof(cases) / sizeof(cases[0]) + 2);

	/* one byte more: an error, then the daemon closes */
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	memset(big, 'b', 4097);
	big[4097] = '\n';
	CU_ASSERT_EQUAL(dconn_write(c, big, 4098, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: command longer than 4096 bytes\n");
	CU_ASSERT_EQUAL(dconn_wait_eof(c, fx->reply_ms), 0);
	dconn_close(c);

	/* a NUL byte: an error, then the daemon closes */
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	CU_ASSERT_EQUAL(dconn_write(c, "show\0paths\n", 11, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: NUL byte in command\n");
	CU_ASSERT_EQUAL(dconn_wait_eof(c, fx->reply_ms), 0);
	dconn_close(c);

	/* a last line without a newline, then EOF: answered, then closed */
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	CU_ASSERT_EQUAL(dconn_write(c, "show status json", 16, 5000), 0);
	CU_ASSERT_EQUAL(shutdown(dconn_fd(c), SHUT_WR), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(starts_with(R, "{\"paths\":2,"));
	CU_ASSERT_EQUAL(dconn_wait_eof(c, fx->reply_ms), 0);
	dconn_close(c);

	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "clients", &errors1) && errors1 == 1);
	finish(fx);
}

/* `list` is `show` everywhere. */
static void test_list_synonym(void)
{
	struct daemon_fx *fx = start_files(2, NULL);
	char a[8192];

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show status", a, sizeof(a)) > 0);
	CU_ASSERT(reply_is(fx, "list status", a));
	CU_ASSERT(daemon_cmd(fx, "show status json", a, sizeof(a)) > 0);
	CU_ASSERT(reply_is(fx, "list status json", a));
	CU_ASSERT(reply_starts(fx, "list paths", "dev "));
	CU_ASSERT_EQUAL(count_str(R, "\n"), 3);
	CU_ASSERT(reply_starts(fx, "list paths json", "{\"paths\":[{\"dev\":\"f0\""));
	CU_ASSERT(reply_starts(fx, "list path f1 json", "{\"dev\":\"f1\""));
	CU_ASSERT(reply_starts(fx, "list stats", "paths "));
	CU_ASSERT(reply_starts(fx, "list daemon", "pid "));
	CU_ASSERT(reply_starts(fx, "list metrics", "# HELP pathcheck_"));
	CU_ASSERT(reply_is(fx, "list foo", "error: unknown command 'list foo' (list takes paths, path, status, stats, daemon, metrics, config, blacklist)\n"));
	finish(fx);
}

/* --- permissions -------------------------------------------------------------------- */

/*
 * As uid 65534 (set before connect: SO_PEERCRED is taken at connect), run
 * the commands and write "<reply>\x1e" for each to fd; the connect's errno
 * as "connect: N\x1e" if it fails.
 */
static void as_nobody(const char *sock, const char *const *cmds, int fd)
{
	struct dconn *c;
	char buf[65536];
	int ret;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(3);
	ret = dconn_try_open(sock, &c);
	if (ret) {
		int n = snprintf(buf, sizeof(buf), "connect: %d\x1e", -ret);

		_exit(write(fd, buf, (size_t)n) == n ? 0 : 4);
	}
	for (; *cmds; cmds++) {
		int n = dconn_cmd(c, *cmds, buf, sizeof(buf) - 1, 10000);

		if (n < 0)
			n = snprintf(buf, sizeof(buf), "(no reply: %d)", n);
		buf[n++] = '\x1e';
		if (write(fd, buf, (size_t)n) != n)
			_exit(4);
	}
	_exit(0);
}

/* Runs cmds as nobody; the replies, \x1e-separated, in out. */
static int run_as_nobody(struct daemon_fx *fx, const char *const *cmds, char *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		as_nobody(fx->sock, cmds, p[1]);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 20000) <= 0)
			break;
		n = read(p[0], out + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_permissions(void)
{
	static const char *const cmds[] = {
		"show paths json", "show stats", "check f0", "shutdown", "reconfigure",
		"add path /dev/null", "del path f0", "remove path f1", "show status json",
		"subscribe", NULL,
	};
	static const char *const denied[] = { "shutdown", "reconfigure", "add path", "del path",
					      "remove path" };
	struct daemon_fx *fx;
	char out[1 << 17], want[128], *parts[16], *save = NULL, *p;
	struct stat st;
	int n = 0;

	if (pc_test_need_root())
		PC_SKIP("%s: setuid to another user", pc_test_need_root());
	fx = start_files(2, NULL);
	if (!fx)
		return;
	/* Others may pass through the directory to the socket. */
	PC_REQUIRE(chmod(fx->dir, 0711) == 0);
	PC_REQUIRE(stat(fx->sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0666);

	CU_ASSERT_EQUAL(run_as_nobody(fx, cmds, out, sizeof(out)), 0);
	/* the last, subscribe: an empty reply */
	CU_ASSERT(strlen(out) > 2 && !strcmp(out + strlen(out) - 2, "\x1e\x1e"));
	for (p = strtok_r(out, "\x1e", &save); p && n < 16; p = strtok_r(NULL, "\x1e", &save))
		parts[n++] = p;
	CU_ASSERT_EQUAL(n, 9);	/* "subscribe" replies empty: no part */
	PC_REQUIRE(n == 9);
	CU_ASSERT(starts_with(parts[0], "{\"paths\":[{\"dev\":\"f0\""));
	CU_ASSERT(starts_with(parts[1], "paths "));
	CU_ASSERT(starts_with(parts[2], "f0: ready ("));
	for (int i = 0; i < 5; i++) {
		/* The daemon runs as root: the rule is root only. */
		snprintf(want, sizeof(want), "error: permission denied: '%s' is only for root "
			 "(uid 0), and you are uid %d\n", denied[i], NOBODY);
		if (strcmp(parts[3 + i], want))
			printf("\n  wanted '%s', got '%s'\n", want, parts[3 + i]);
		CU_ASSERT_STRING_EQUAL(parts[3 + i], want);
	}
	CU_ASSERT(starts_with(parts[8], "{\"paths\":2,\"ready\":2,"));
	CU_ASSERT(daemon_exited(fx) == -EBUSY);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "shutdown requested"), 0);
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	{
		uint64_t v;

		CU_ASSERT(kv_u64(R, "records", &v) && v == 2);
		CU_ASSERT(kv_u64(R, "reconfigures", &v) && v == 0);
	}

	/* socket_mode 0600 (reconfigured): others cannot even connect */
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\nsocket_mode 0600\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	PC_REQUIRE(stat(fx->sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(run_as_nobody(fx, cmds, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "connect: %d\x1e", EACCES);
	CU_ASSERT_STRING_EQUAL(out, want);
	finish(fx);
}

/* --- the metrics file --------------------------------------------------------------- */

/*
 * Rewritten every interval by rename: a reader never sees it empty or cut
 * short, whatever the moment; and it is the same text as `show metrics`.
 */
static void test_metrics_file(void)
{
	struct daemon_fx *fx = daemon_files_fx(3);
	char file[PATH_MAX], cli[PATH_MAX], arg[PATH_MAX + 32];
	ino_t inodes[4096];
	size_t ninodes = 0, reads = 0, nfam;
	uint64_t t0, deadline;

	if (!fx)
		return;
	snprintf(file, sizeof(file), "%s/metrics.prom", fx->dir);
	PC_REQUIRE(daemon_start(fx, "interval 100ms\nmetrics_file %s\npath %s/f*\n",
				file, fx->dir) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", 200 + daemon_slack_ms()), 0);
	CU_ASSERT(daemon_cmd(fx, "show metrics", R, sizeof(R)) > 0);
	nfam = check_metrics(R);

	t0 = pc_test_now_ms();
	deadline = t0 + 1500;
	while (pc_test_now_ms() < deadline) {
		struct stat st;
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		ssize_t n, len = 0;
		const char *last;

		if (fd < 0) {
			printf("\n  open %s: %s\n", file, strerror(errno));
			CU_FAIL("the metrics file is missing");
			break;
		}
		fstat(fd, &st);
		if (!ninodes || inodes[ninodes - 1] != st.st_ino)
			if (ninodes < 4096)
				inodes[ninodes++] = st.st_ino;
		while ((n = read(fd, R + len, sizeof(R) - 1 - (size_t)len)) > 0)
			len += n;
		close(fd);
		R[len] = '\0';
		reads++;
		last = len >= 2 ? R + len - 2 : R;
		while (last > R && last[-1] != '\n')
			last--;
		if (!len || R[len - 1] != '\n' ||
		    !starts_with(last, "pathcheck_resident_memory_bytes ")) {
			printf("\n  metrics file read %zu: %zd bytes, ends: '%s'\n", reads, len, last);
			CU_FAIL("the metrics file was seen incomplete");
			break;
		}
		if (reads % 50 == 0) {
			char *copy = strdup(R);	/* check_metrics cuts its lines */

			if (!copy || check_metrics(copy) != nfam)
				CU_FAIL("the metrics file's families differ from show metrics");
			free(copy);
		}
	}
	printf("\n  %zu reads, %zu versions of the file in 1.5 s\n", reads, ninodes);
	CU_ASSERT(ninodes >= 5);	/* rewritten every 100 ms */
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"ready\"} 3\n"));
	finish(fx);

	/* --metrics-file wins over the config's */
	fx = daemon_files_fx(1);
	PC_REQUIRE(fx != NULL);
	snprintf(file, sizeof(file), "%s/config.prom", fx->dir);
	snprintf(cli, sizeof(cli), "%s/cli.prom", fx->dir);
	snprintf(arg, sizeof(arg), "--metrics-file=%s", cli);
	PC_REQUIRE(daemon_config(fx, "interval 100ms\nmetrics_file %s\npath %s/f*\n",
				 file, fx->dir) == 0);
	{
		const char *extra[] = { arg, NULL };

		PC_REQUIRE(daemon_start_args(fx, extra) == 0);
	}
	t0 = pc_test_now_ms();
	while (access(cli, F_OK) && pc_test_now_ms() - t0 < 100 + daemon_slack_ms())
		pc_test_sleep_ms(10);
	CU_ASSERT_EQUAL(access(cli, F_OK), 0);
	CU_ASSERT_NOT_EQUAL(access(file, F_OK), 0);
	finish(fx);
}

/* --- reconfigure -------------------------------------------------------------------- */

struct snap {
	long long checks, transitions;
	char last_change[32];
};

static void snap_path(struct daemon_fx *fx, const char *dev, struct snap *s)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	memset(s, 0, sizeof(*s));
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(json_int(R, "checks", &s->checks));
	CU_ASSERT(json_int(R, "transitions", &s->transitions));
	CU_ASSERT(json_str(R, "last_change", s->last_change, sizeof(s->last_change)));
}

/* A kept path keeps its record: counters go on, its last change stays. */
static void assert_kept(struct daemon_fx *fx, const char *dev, const struct snap *before)
{
	struct snap now;

	snap_path(fx, dev, &now);
	if (now.checks < before->checks || now.transitions != before->transitions ||
	    strcmp(now.last_change, before->last_change))
		printf("\n  %s: checks %lld -> %lld, transitions %lld -> %lld, last_change %s -> %s\n",
		       dev, before->checks, now.checks, before->transitions, now.transitions,
		       before->last_change, now.last_change);
	CU_ASSERT(now.checks >= before->checks);
	CU_ASSERT_EQUAL(now.transitions, before->transitions);
	CU_ASSERT_STRING_EQUAL(now.last_change, before->last_change);
}

static void test_reconfigure(void)
{
	struct daemon_fx *fx = start_files(3, NULL);
	struct snap s[3];
	char path[PATH_MAX], want[PATH_MAX + 64];
	uint64_t v;

	if (!fx)
		return;
	/* let the counters move, so a reset would show */
	pc_test_sleep_ms(2 * INTERVAL_MS);
	for (int i = 0; i < 3; i++) {
		char dev[16];

		snprintf(dev, sizeof(dev), "f%d", i);
		snap_path(fx, dev, &s[i]);
		CU_ASSERT(s[i].checks >= 2);
	}
	/* a new file in the glob */
	PC_REQUIRE(daemon_file(fx, "f3", 1 << 20, path, sizeof(path)) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 4);
	assert_kept(fx, "f0", &s[0]);
	assert_kept(fx, "f1", &s[1]);
	assert_kept(fx, "f2", &s[2]);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 4, "ready", INTERVAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "reconfigured: 4 paths"), 1);

	/* a file gone */
	snprintf(path, sizeof(path), "%s/f1", fx->dir);
	PC_REQUIRE(unlink(path) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(reply_is(fx, "show path f1", "error: no such path 'f1'\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 3);
	assert_kept(fx, "f0", &s[0]);
	assert_kept(fx, "f2", &s[2]);

	/* new settings for a kept path: taken, its state kept */
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\nsocket_mode 0666\n"
				 "path %s/f0 interval=300ms timeout=1500ms\npath %s/f*\n",
				 INTERVAL_MS, fx->dir, fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(path_int(fx, "f0", "interval_ms"), 300);
	CU_ASSERT_EQUAL(path_int(fx, "f0", "timeout_ms"), 1500);
	CU_ASSERT_EQUAL(path_int(fx, "f2", "interval_ms"), INTERVAL_MS);
	assert_kept(fx, "f0", &s[0]);
	snap_path(fx, "f0", &s[0]);
	pc_test_sleep_ms(2 * 300 + 100);
	{
		struct snap later;

		snap_path(fx, "f0", &later);
		CU_ASSERT(later.checks >= s[0].checks + 1);
	}
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "reconfigures", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "reconfigure_errors", &v) && v == 0);
	snprintf(want, sizeof(want), "reconfigured: 3 paths");
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 2);
	finish(fx);
}

/* A config that does not parse: the error, and the old config goes on. */
static void test_reconfigure_bad(void)
{
	struct daemon_fx *fx = start_files(3, NULL);
	struct snap s[3];
	char want[PATH_MAX + 64];
	uint64_t v;

	if (!fx)
		return;
	for (int i = 0; i < 3; i++) {
		char dev[16];

		snprintf(dev, sizeof(dev), "f%d", i);
		snap_path(fx, dev, &s[i]);
	}
	PC_REQUIRE(daemon_config(fx, "interval 100ms\npath %s/f0\nintervall 5s\npath %s/x*\n",
				 fx->dir, fx->dir) == 0);
	snprintf(want, sizeof(want), "error: %s:3: ", fx->conf);
	CU_ASSERT(reply_starts(fx, "reconfigure", want));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "'intervall'"));
	CU_ASSERT_EQUAL(count_str(R, "\n"), 1);
	snprintf(want, sizeof(want), "reconfigure failed, old config kept: %s:3: ", fx->conf);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);

	/* the old paths, their old settings, still checked */
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 3);
	CU_ASSERT_EQUAL(count_str(R, "\"interval_ms\":200,"), 3);
	pc_test_sleep_ms(2 * INTERVAL_MS + 100);
	for (int i = 0; i < 3; i++) {
		char dev[16];
		struct snap now;

		snprintf(dev, sizeof(dev), "f%d", i);
		snap_path(fx, dev, &now);
		CU_ASSERT(now.checks > s[i].checks);
		CU_ASSERT_EQUAL(now.transitions, s[i].transitions);
	}

	/* a config that is gone: the same */
	PC_REQUIRE(unlink(fx->conf) == 0);
	snprintf(want, sizeof(want), "error: %s: ", fx->conf);
	CU_ASSERT(reply_starts(fx, "reconfigure", want));
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "reconfigure_errors", &v) && v == 2);
	CU_ASSERT(kv_u64(R, "reconfigures", &v) && v == 0);

	/* and a good one afterwards is taken */
	PC_REQUIRE(daemon_config(fx, "interval 100ms\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT(reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(path_int(fx, "f0", "interval_ms"), 100);
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(count_str(R, "{\"dev\":"), 1);
	finish(fx);
}

/* SIGHUP is reconfigure, errors included. */
static void test_sighup(void)
{
	struct daemon_fx *fx = start_files(2, NULL);
	struct snap s0;
	char path[PATH_MAX], want[PATH_MAX + 64];
	uint64_t v;

	if (!fx)
		return;
	snap_path(fx, "f0", &s0);
	PC_REQUIRE(daemon_file(fx, "f2", 1 << 20, path, sizeof(path)) == 0);
	CU_ASSERT_EQUAL(kill(fx->pid, SIGHUP), 0);
	CU_ASSERT_EQUAL(daemon_log_wait(fx, "reconfigured: 3 paths", 2000), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "SIGHUP: reconfigure"), 1);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", INTERVAL_MS + daemon_slack_ms()), 0);
	assert_kept(fx, "f0", &s0);

	PC_REQUIRE(daemon_config(fx, "interval 100ms\npath %s/f0 bogus=1\n", fx->dir) == 0);
	CU_ASSERT_EQUAL(kill(fx->pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "reconfigure failed, old config kept: %s:2: ", fx->conf);
	CU_ASSERT_EQUAL(daemon_log_wait(fx, want, 2000), 0);
	CU_ASSERT(daemon_exited(fx) == -EBUSY);
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(kv_u64(R, "reconfigures", &v) && v == 1);
	CU_ASSERT(kv_u64(R, "reconfigure_errors", &v) && v == 1);
	assert_kept(fx, "f0", &s0);
	finish(fx);
}

/* --- -t, start-up, shutdown ---------------------------------------------------------- */

/* Runs pathcheckd with args; stdout into out, stderr into err; its status. */
static int run_daemon(struct daemon_fx *fx, const char *const *args, char *out, size_t olen,
		      char *err, size_t elen)
{
	const char *argv[16] = { fx->bin };
	int argc = 1;
	struct pc_test_run r = {
		.argv = argv, .limit_ms = 10000,
		.out = out, .out_cap = olen, .err = err, .err_cap = elen,
	};

	for (; *args && argc < 15; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	if (pc_test_run(&r))
		return -1;
	if (r.timed_out)
		CU_FAIL("pathcheckd did not end within 10 s");
	return r.sig ? 128 + r.sig : r.status;
}

/* -t lists what the daemon then checks. */
static void test_test_config(void)
{
	struct daemon_fx *fx = daemon_files_fx(3);
	char out[8192], err[4096], want[4 * PATH_MAX], *w = want;
	const char *args[] = { "-t", "-c", NULL, NULL };
	int st;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "interval 250ms\ntimeout 3s\npath %s/f2 timeout=1s\n"
				 "path %s/f*\n", fx->dir, fx->dir) == 0);
	args[2] = fx->conf;
	st = run_daemon(fx, args, out, sizeof(out), err, sizeof(err));
	for (int i = 0; i < 3; i++)
		w += sprintf(w, "f%d %s/f%d interval=250 timeout=%d\n", i, fx->dir, i,
			     i == 2 ? 1000 : 3000);
	/* then why (tests/daemon_ops.c tests these lines) */
	w += sprintf(w, "# %s/f0: kept by path %s:4 (%s/f*)\n", fx->dir, fx->conf, fx->dir);
	if (st != 0 || strncmp(out, want, strlen(want)))
		printf("\n  -t: status %d, stdout '%s', stderr '%s'\n", st, out, err);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(strncmp(out, want, strlen(want)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	/* the daemon checks just those */
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", 2 * 250 + daemon_slack_ms()), 0);
	CU_ASSERT_EQUAL(path_int(fx, "f2", "timeout_ms"), 1000);
	CU_ASSERT_EQUAL(path_int(fx, "f1", "interval_ms"), 250);
	daemon_stop(fx);

	PC_REQUIRE(daemon_config(fx, "interval 250ms\n\nfoo bar\n") == 0);
	st = run_daemon(fx, args, out, sizeof(out), err, sizeof(err));
	CU_ASSERT_EQUAL(st, 1);
	snprintf(want, sizeof(want), "pathcheckd: %s:3: ", fx->conf);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	daemon_fx_free(fx);
}

/* A second daemon on a live socket refuses and leaves the first alone; a
 * stale socket file is replaced; another kind of file is never removed. */
static void test_socket_refusals(void)
{
	struct daemon_fx *fx = start_files(1, NULL);
	char out[4096], err[4096], other[PATH_MAX];
	const char *args[] = { "-f", "--log", "stderr", "-c", NULL, "-s", NULL, NULL };
	int st;

	if (!fx)
		return;
	args[4] = fx->conf;
	args[6] = fx->sock;
	st = run_daemon(fx, args, out, sizeof(out), err, sizeof(err));
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "another pathcheckd answers there"));
	CU_ASSERT(reply_starts(fx, "show status json", "{\"paths\":1,"));
	finish(fx);

	/* the first one is gone and removed its socket: a stale one now */
	fx = daemon_files_fx(1);
	PC_REQUIRE(fx != NULL);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, fx->sock);
		CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);	/* the file stays, nobody listens */
	}
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
	finish(fx);

	/* a regular file where the socket should go: refused, kept */
	fx = daemon_files_fx(1);
	PC_REQUIRE(fx != NULL);
	snprintf(other, sizeof(other), "%s", fx->sock);
	PC_REQUIRE(daemon_file(fx, "ctl.sock", 0, NULL, 0) == 0);
	PC_REQUIRE(daemon_config(fx, "path %s/f*\n", fx->dir) == 0);
	args[4] = fx->conf;
	args[6] = fx->sock;
	st = run_daemon(fx, args, out, sizeof(out), err, sizeof(err));
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot listen on"));
	CU_ASSERT_EQUAL(access(other, F_OK), 0);
	daemon_fx_free(fx);
}

/* `shutdown`: "ok", the daemon stops, logs it, removes its socket, exits 0. */
static void test_shutdown(void)
{
	struct daemon_fx *fx = start_files(2, NULL);
	uint64_t t0;
	int st;

	if (!fx)
		return;
	t0 = pc_test_now_ms();
	CU_ASSERT(reply_is(fx, "shutdown", "ok\n"));
	st = daemon_wait_exit(fx, 1000 + daemon_slack_ms());
	printf("\n  exited %d after %llu ms\n", st, (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "pathcheckd: stopped in "), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "shutdown requested by pid "), 1);
	CU_ASSERT_NOT_EQUAL(access(fx->sock, F_OK), 0);
	finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "show_paths", test_show_paths },
		{ "show_path", test_show_path },
		{ "stats_status_daemon", test_stats_status_daemon },
		{ "metrics", test_metrics },
		{ "check", test_check },
		{ "add_del", test_add_del },
		{ "open_failed", test_open_failed },
		{ "errors_keep_connection", test_errors_keep_connection },
		{ "list_synonym", test_list_synonym },
		{ "permissions", test_permissions },
		{ "metrics_file", test_metrics_file },
		{ "reconfigure", test_reconfigure },
		{ "reconfigure_bad", test_reconfigure_bad },
		{ "sighup", test_sighup },
		{ "test_config", test_test_config },
		{ "socket_refusals", test_socket_refusals },
		{ "shutdown", test_shutdown },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_basic", tests, argc, argv);
}
