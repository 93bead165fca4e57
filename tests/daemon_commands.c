/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's commands that act, on plain files: check, add and del,
 * paths that cannot be opened; errors, which keep the connection or, for
 * what cannot be a command, end it; the list synonym; and who may do what
 * (SO_PEERCRED permissions).
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

/* --- check -------------------------------------------------------------------------- */

static void test_check(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	char cmd[PATH_MAX + 32], s[64];
	unsigned long long us;
	long long before, after;
	char tail[8];

	if (!fx)
		return;
	before = daemon_path_int(fx, "f2", "checks");
	CU_ASSERT(daemon_cmd(fx, "check f2", R, sizeof(R)) > 0);
	CU_ASSERT(sscanf(R, "f2: ready (%llu us%7[^\n]", &us, tail) == 2 &&
		  !strcmp(tail, ")"));
	CU_ASSERT_EQUAL(reply_count(R, "\n"), 1);
	after = daemon_path_int(fx, "f2", "checks");
	CU_ASSERT(after > before);

	snprintf(cmd, sizeof(cmd), "check %s/f2 json", fx->dir);
	CU_ASSERT(daemon_cmd(fx, cmd, R, sizeof(R)) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"dev\":\"f2\","));
	CU_ASSERT(reply_json_str(R, "chk_st", s, sizeof(s)) && !strcmp(s, "ready"));
	CU_ASSERT(daemon_reply_is(fx, "check nope", "error: no such path 'nope'\n"));
	CU_ASSERT(daemon_reply_is(fx, "check", "error: check needs a path name (check DEV [json])\n"));
	daemon_fx_finish(fx);
}

/* --- add path, del path ------------------------------------------------------------- */

static void test_add_del(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	char cmd[PATH_MAX + 64], want[PATH_MAX + 128], x0[PATH_MAX], link[PATH_MAX];
	long long v;

	if (!fx)
		return;
	/* outside the config's glob f* */
	PC_REQUIRE(daemon_file(fx, "x0", 1 << 20, x0, sizeof(x0)) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", x0);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	snprintf(want, sizeof(want), "x0: path added (%s)", x0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "x0", "interval_ms"), INTERVAL_MS);
	CU_ASSERT_EQUAL(daemon_path_int(fx, "x0", "timeout_ms"), 2000);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 4, "ready", INTERVAL_MS + daemon_slack_ms()), 0);

	/* errors */
	snprintf(want, sizeof(want), "error: path %s is already checked\n", x0);
	CU_ASSERT(daemon_reply_is(fx, cmd, want));
	snprintf(link, sizeof(link), "%s/link-to-x0", fx->dir);
	PC_REQUIRE(symlink(x0, link) == 0);
	snprintf(cmd, sizeof(cmd), "add path %s", link);
	CU_ASSERT(daemon_reply_is(fx, cmd, want));
	CU_ASSERT(daemon_reply_is(fx, "add path x0", "error: add path needs an absolute path, not 'x0'\n"));
	snprintf(cmd, sizeof(cmd), "add path %s/missing", fx->dir);
	snprintf(want, sizeof(want), "error: %s/missing: No such file or directory\n", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, cmd, want));
	snprintf(cmd, sizeof(cmd), "add path %s", fx->dir);
	snprintf(want, sizeof(want), "error: %s is not a block device or a file\n", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, cmd, want));
	CU_ASSERT(daemon_reply_is(fx, "add path /dev/null",
			   "error: /dev/null is not a block device or a file\n"));
	CU_ASSERT(daemon_reply_is(fx, "add path", "error: add path needs a path name (add path DEV)\n"));
	CU_ASSERT(daemon_reply_is(fx, "add x0", "error: unknown command 'add x0' (add takes path)\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 4);

	/* del by name, by path, remove alias */
	CU_ASSERT(daemon_reply_is(fx, "del path x0", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "show path x0", "error: no such path 'x0'\n"));
	CU_ASSERT(daemon_reply_is(fx, "del path x0", "error: no such path 'x0'\n"));
	snprintf(cmd, sizeof(cmd), "del path %s/f0", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "remove path f1", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "{\"dev\":"), 1);
	CU_ASSERT(reply_json_int(R, "checks", &v) && v > 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "f1: path removed (command)"), 1);

	/* back by hand, then reconfigure: the config's paths, and only them */
	snprintf(cmd, sizeof(cmd), "add path %s/f0", fx->dir);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	snprintf(cmd, sizeof(cmd), "add path %s", x0);
	CU_ASSERT(daemon_reply_is(fx, cmd, "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_reply_is(fx, "show path x0", "error: no such path 'x0'\n"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 3, "ready", 2 * INTERVAL_MS + daemon_slack_ms()), 0);
	daemon_fx_finish(fx);
}

/*
 * A configured path that cannot be opened is listed as unopened (not
 * faulty: nothing says its storage is dead) with the reason, answers
 * `check` at once, and is opened on reconfigure once it exists.
 */
static void test_open_failed(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char s[256];

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f0\npath %s/later\n",
				fx->dir, fx->dir) == 0);
	CU_ASSERT(daemon_cmd(fx, "show path later json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_str(R, "chk_st", s, sizeof(s)) && !strcmp(s, "unopened"));
	CU_ASSERT(reply_json_str(R, "reason", s, sizeof(s)) &&
		  !strcmp(s, "open failed: No such file or directory"));
	CU_ASSERT(daemon_reply_is(fx, "check later", "later: unopened (open failed: No such file or directory)\n"));
	CU_ASSERT(daemon_log_count(fx, "later: cannot open ") == 1);
	CU_ASSERT(daemon_reply_starts(fx, "show status json", "{\"paths\":2,"));
	PC_REQUIRE(daemon_file(fx, "later", 1 << 20, NULL, 0) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", INTERVAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT(daemon_reply_starts(fx, "check later", "later: ready ("));
	daemon_fx_finish(fx);
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
		{ "show", "error: 'show' needs one of: paths, path, status, stats, daemon, metrics, config, blacklist, holds\n" },
		{ "show bogus", "error: unknown command 'show bogus' (show takes paths, path, status, stats, daemon, metrics, config, blacklist, holds)\n" },
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
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	struct dconn *c;
	char big[4200];
	uint64_t errors0 = 0, errors1 = 0;

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "command_errors", &errors0));
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = dconn_cmd(c, cases[i].cmd, R, sizeof(R), fx->reply_ms);

		if (n < 0 || strcmp(R, cases[i].want))
			printf("\n  '%s': wanted '%s', got (%d) '%s'\n", cases[i].cmd,
			       cases[i].want, n, R);
		CU_ASSERT_STRING_EQUAL(R, cases[i].want);
		/* and the same connection still works */
		CU_ASSERT(dconn_cmd(c, "show status json", R, sizeof(R), fx->reply_ms) > 0);
		CU_ASSERT(reply_starts_with(R, "{\"paths\":2,"));
	}
	/* spaces, tabs and CRLF around the words */
	CU_ASSERT(dconn_cmd(c, "  show\t\tstatus   json  \r", R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"paths\":2,"));
	/* pipelined: replies in order */
	CU_ASSERT_EQUAL(dconn_write(c, "show status json\nbar\nshow daemon\n", 33, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"paths\":2,"));
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: unknown command 'bar' (try help)\n");
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_starts_with(R, "pid "));
	/* the longest line taken: 4096 bytes */
	memset(big, 'a', 4096);
	big[4096] = '\n';
	CU_ASSERT_EQUAL(dconn_write(c, big, 4097, 5000), 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_starts_with(R, "error: unknown command 'aaaa"));
	CU_ASSERT(dconn_cmd(c, "show status json", R, sizeof(R), fx->reply_ms) > 0);
	dconn_close(c);

	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "command_errors", &errors1));
	CU_ASSERT_EQUAL(errors1 - errors0, sizeof(cases) / sizeof(cases[0]) + 2);
	daemon_fx_finish(fx);
}

/*
 * What the daemon answers and then hangs up on: a line one byte over the
 * limit, a NUL byte; and a last line without a newline before EOF, which
 * is answered.  Each on its own connection; the others stay served.
 */
static void test_errors_close_connection(void)
{
	static const struct {
		const char *what, *bytes;	/* bytes NULL: 4097 'b' and a newline */
		size_t len;
		bool shut_wr;			/* EOF after the bytes */
		const char *want;		/* the reply, or how it begins */
		bool whole;			/* want is the whole reply */
	} cases[] = {
		{ "one byte too long", NULL, 4098, false,
		  "error: command longer than 4096 bytes\n", true },
		{ "a NUL byte", "show\0paths\n", 11, false, "error: NUL byte in command\n", true },
		{ "no newline before EOF", "show status json", 16, true, "{\"paths\":2,", false },
	};
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	uint64_t clients = 0;
	struct dconn *c;
	char big[4200];

	if (!fx)
		return;
	memset(big, 'b', 4097);
	big[4097] = '\n';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PC_REQUIRE(dconn_open(fx, &c) == 0);
		CU_ASSERT_EQUAL(dconn_write(c, cases[i].bytes ? cases[i].bytes : big,
					    cases[i].len, 5000), 0);
		if (cases[i].shut_wr)
			CU_ASSERT_EQUAL(shutdown(dconn_fd(c), SHUT_WR), 0);
		CU_ASSERT(dconn_reply(c, R, sizeof(R), fx->reply_ms) > 0);
		if (cases[i].whole ? strcmp(R, cases[i].want) : !reply_starts_with(R, cases[i].want))
			printf("\n  %s: wanted '%s', got '%s'\n", cases[i].what, cases[i].want, R);
		if (cases[i].whole)
			CU_ASSERT_STRING_EQUAL(R, cases[i].want)
		else
			CU_ASSERT(reply_starts_with(R, cases[i].want));
		CU_ASSERT_EQUAL(dconn_wait_eof(c, fx->reply_ms), 0);
		dconn_close(c);
	}
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "clients", &clients) && clients == 1);
	daemon_fx_finish(fx);
}

/* `list` is `show` everywhere. */
static void test_list_synonym(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(2, NULL);
	char a[8192];

	if (!fx)
		return;
	CU_ASSERT(daemon_cmd(fx, "show status", a, sizeof(a)) > 0);
	CU_ASSERT(daemon_reply_is(fx, "list status", a));
	CU_ASSERT(daemon_cmd(fx, "show status json", a, sizeof(a)) > 0);
	CU_ASSERT(daemon_reply_is(fx, "list status json", a));
	CU_ASSERT(daemon_reply_starts(fx, "list paths", "dev "));
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), 3);
	CU_ASSERT(daemon_reply_starts(fx, "list paths json", "{\"paths\":[{\"dev\":\"f0\""));
	CU_ASSERT(daemon_reply_starts(fx, "list path f1 json", "{\"dev\":\"f1\""));
	CU_ASSERT(daemon_reply_starts(fx, "list stats", "paths "));
	CU_ASSERT(daemon_reply_starts(fx, "list daemon", "pid "));
	CU_ASSERT(daemon_reply_starts(fx, "list metrics", "# HELP pathcheck_"));
	CU_ASSERT(daemon_reply_is(fx, "list foo", "error: unknown command 'list foo' (list takes paths, path, status, stats, daemon, metrics, config, blacklist, holds)\n"));
	daemon_fx_finish(fx);
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
	fx = daemon_fx_ready_files(2, NULL);
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
	CU_ASSERT(reply_starts_with(parts[0], "{\"paths\":[{\"dev\":\"f0\""));
	CU_ASSERT(reply_starts_with(parts[1], "paths "));
	CU_ASSERT(reply_starts_with(parts[2], "f0: ready ("));
	for (int i = 0; i < 5; i++) {
		/* The daemon runs as root: the rule is root only. */
		snprintf(want, sizeof(want), "error: permission denied: '%s' is only for root "
			 "(uid 0), and you are uid %d\n", denied[i], NOBODY);
		if (strcmp(parts[3 + i], want))
			printf("\n  wanted '%s', got '%s'\n", want, parts[3 + i]);
		CU_ASSERT_STRING_EQUAL(parts[3 + i], want);
	}
	CU_ASSERT(reply_starts_with(parts[8], "{\"paths\":2,\"ready\":2,"));
	CU_ASSERT(daemon_exited(fx) == -EBUSY);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "shutdown requested"), 0);
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	{
		uint64_t v;

		CU_ASSERT(reply_kv_u64(R, "records", &v) && v == 2);
		CU_ASSERT(reply_kv_u64(R, "reconfigures", &v) && v == 0);
	}

	/* socket_mode 0600 (reconfigured): others cannot even connect */
	PC_REQUIRE(daemon_config(fx, "interval %ums\ntimeout 2s\nsocket_mode 0600\npath %s/f*\n",
				 INTERVAL_MS, fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	PC_REQUIRE(stat(fx->sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(run_as_nobody(fx, cmds, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "connect: %d\x1e", EACCES);
	CU_ASSERT_STRING_EQUAL(out, want);
	daemon_fx_finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "check", test_check },
		{ "add_del", test_add_del },
		{ "open_failed", test_open_failed },
		{ "errors_keep_connection", test_errors_keep_connection },
		{ "errors_close_connection", test_errors_close_connection },
		{ "list_synonym", test_list_synonym },
		{ "permissions", test_permissions },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_commands", tests, argc, argv);
}
