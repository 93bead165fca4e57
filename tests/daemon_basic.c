/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's life on plain files: the metrics file and its atomic
 * rewrite, reconfigure (command and SIGHUP) keeping the state of kept
 * paths and the old config on an error, -t, start-up refusals and
 * shutdown.  The daemon runs for real (tests/lib/daemon_fixture.h) on
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
#define INTERVAL_MS	DAEMON_FX_INTERVAL_MS
#define NOBODY		65534

static char R[REPLY_CAP];	/* the last reply */

/* --- the metrics file --------------------------------------------------------------- */

/*
 * Rewritten every interval by rename: a reader never sees it empty or cut
 * short, whatever the moment; and it is the same text as `show metrics`.
 */
static void test_metrics_file(void)
{
	struct daemon_fx *fx = daemon_fx_files(3);
	char file[PATH_MAX];
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
	nfam = reply_check_metrics(R);

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
		    !reply_starts_with(last, "pathcheck_resident_memory_bytes ")) {
			printf("\n  metrics file read %zu: %zd bytes, ends: '%s'\n", reads, len, last);
			CU_FAIL("the metrics file was seen incomplete");
			break;
		}
		if (reads % 50 == 0) {
			char *copy = strdup(R);	/* check_metrics cuts its lines */

			if (!copy || reply_check_metrics(copy) != nfam)
				CU_FAIL("the metrics file's families differ from show metrics");
			free(copy);
		}
	}
	printf("\n  %zu reads, %zu versions of the file in 1.5 s\n", reads, ninodes);
	CU_ASSERT(ninodes >= 5);	/* rewritten every 100 ms */
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\npathcheck_paths{state=\"ready\"} 3\n"));
	daemon_fx_finish(fx);
}

/* --metrics-file wins over the config's */
static void test_metrics_file_option(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char file[PATH_MAX], cli[PATH_MAX], arg[PATH_MAX + 32];
	uint64_t t0;

	if (!fx)
		return;
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
	daemon_fx_finish(fx);
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
	CU_ASSERT(reply_json_int(R, "checks", &s->checks));
	CU_ASSERT(reply_json_int(R, "transitions", &s->transitions));
	CU_ASSERT(reply_json_str(R, "last_change", s->last_change, sizeof(s->last_change)));
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
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
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
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 4);
	assert_kept(fx, "f0", &s[0]);
	assert_kept(fx, "f1", &s[1]);
	assert_kept(fx, "f2", &s[2]);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 4, "ready", INTERVAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "reconfigured: 4 paths"), 1);

	/* a file gone */
	snprintf(path, sizeof(path), "%s/f1", fx->dir);
	PC_REQUIRE(unlink(path) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "show path f1", "error: no such path 'f1'\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 3);
	assert_kept(fx, "f0", &s[0]);
	assert_kept(fx, "f2", &s[2]);

	/* new settings for a kept path: taken, its state kept */
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\nsocket_mode 0666\n"
				 "path %s/f0 interval=300ms timeout=1500ms\npath %s/f*\n",
				 INTERVAL_MS, fx->dir, fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f0", "interval_ms"), 300);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f0", "timeout_ms"), 1500);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f2", "interval_ms"), INTERVAL_MS);
	assert_kept(fx, "f0", &s[0]);
	snap_path(fx, "f0", &s[0]);
	pc_test_sleep_ms(2 * 300 + 100);
	{
		struct snap later;

		snap_path(fx, "f0", &later);
		CU_ASSERT(later.checks >= s[0].checks + 1);
	}
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "reconfigures", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "reconfigure_errors", &v) && v == 0);
	snprintf(want, sizeof(want), "reconfigured: 3 paths");
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 2);
	daemon_fx_finish(fx);
}

/* A config that does not parse: the error, and the old config goes on. */
static void test_reconfigure_bad(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
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
	CU_ASSERT(daemon_reply_starts(fx, "reconfigure", want));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "'intervall'"));
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), 1);
	snprintf(want, sizeof(want), "reconfigure failed, old config kept: %s:3: ", fx->conf);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);

	/* the old paths, their old settings, still checked */
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 3);
	CU_ASSERT_EQUAL(reply_count(R, "\"interval_ms\":200,"), 3);
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
	CU_ASSERT(daemon_reply_starts(fx, "reconfigure", want));
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "reconfigure_errors", &v) && v == 2);
	CU_ASSERT(reply_kv_u64(R, "reconfigures", &v) && v == 0);

	/* and a good one afterwards is taken */
	PC_REQUIRE(daemon_config(fx, "interval 100ms\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f0", "interval_ms"), 100);
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 1);
	daemon_fx_finish(fx);
}

/* SIGHUP is reconfigure, errors included. */
static void test_sighup(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
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
	CU_ASSERT(reply_kv_u64(R, "records", &v) && v == 3);
	CU_ASSERT(reply_kv_u64(R, "reconfigures", &v) && v == 1);
	CU_ASSERT(reply_kv_u64(R, "reconfigure_errors", &v) && v == 1);
	assert_kept(fx, "f0", &s0);
	daemon_fx_finish(fx);
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
	struct daemon_fx *fx = daemon_fx_files(3);
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
	/* then why (tests/daemon_explain.c tests these lines) */
	w += sprintf(w, "# %s/f0: kept by path %s:4 (%s/f*)\n", fx->dir, fx->conf, fx->dir);
	if (st != 0 || strncmp(out, want, strlen(want)))
		printf("\n  -t: status %d, stdout '%s', stderr '%s'\n", st, out, err);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(strncmp(out, want, strlen(want)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	/* the daemon checks just those */
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", 2 * 250 + daemon_slack_ms()), 0);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f2", "timeout_ms"), 1000);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f1", "interval_ms"), 250);
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
	struct daemon_fx *fx = daemon_fx_ready_files(1, NULL);
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
	CU_ASSERT(daemon_reply_starts(fx, "show status json", "{\"paths\":1,"));
	daemon_fx_finish(fx);

	/* the first one is gone and removed its socket: a stale one now */
	fx = daemon_fx_files(1);
	PC_REQUIRE(fx != NULL);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, fx->sock);
		CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);	/* the file stays, nobody listens */
	}
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
	daemon_fx_finish(fx);

	/* a regular file where the socket should go: refused, kept */
	fx = daemon_fx_files(1);
	PC_REQUIRE(fx != NULL);
	snprintf(other, sizeof(other), "%s", fx->sock);
	PC_REQUIRE(daemon_file(fx, "ctl.sock", 0, NULL, 0) == 0);
	PC_REQUIRE(daemon_config(fx, "path %s/f*\n", fx->dir) == 0);
	args[4] = fx->conf;
	args[6] = fx->sock;
	st = run_daemon(fx, args, out, sizeof(out), err, sizeof(err));
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot listen on"));
	/* says what is wrong and what to do, not just "File exists" */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a socket"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "remove it, or name another socket"));
	CU_ASSERT_EQUAL(access(other, F_OK), 0);
	daemon_fx_free(fx);
}

/* `shutdown`: "ok", the daemon stops, logs it, removes its socket, exits 0. */
static void test_shutdown(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	uint64_t t0;
	int st;

	if (!fx)
		return;
	t0 = pc_test_now_ms();
	CU_ASSERT(daemon_reply_is(fx, "shutdown", "ok\n"));
	st = daemon_wait_exit(fx, 1000 + daemon_slack_ms());
	printf("\n  exited %d after %llu ms\n", st, (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "pathcheckd: stopped in "), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "shutdown requested by pid "), 1);
	CU_ASSERT_NOT_EQUAL(access(fx->sock, F_OK), 0);
	daemon_fx_finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "metrics_file", test_metrics_file },
		{ "metrics_file_option", test_metrics_file_option },
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
