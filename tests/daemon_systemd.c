/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd under systemd (docs/man/pathcheckd.8): the watchdog pings come
 * from the event loop, so a stalled loop stops them (a fake $NOTIFY_SOCKET
 * listens); STATUS= follows the path states at most once a second; logs
 * reach the journal with <N> prefixes and never vanish without /dev/log;
 * the unit passes systemd-analyze verify and rates 4.0 or better in
 * systemd-analyze security.
 */
#include <errno.h>
#include <fcntl.h>
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

#define REPLY_CAP	(1 << 16)

static char R[REPLY_CAP];

/* --- a fake notify socket --------------------------------------------------- */

struct notify {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int notify_open(struct notify *n, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(dir) + 8 > sizeof(n->path))
		return -ENAMETOOLONG;
	snprintf(n->path, sizeof(n->path), "%.*s/notify", (int)(sizeof(n->path) - 8), dir);
	memcpy(sa.sun_path, n->path, sizeof(n->path));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* Messages for ms: how many were exactly msg; the last starting with
 * prefix (if any) into last. */
static unsigned int notify_collect(struct notify *n, unsigned int ms, const char *msg,
				   const char *prefix, char *last, size_t len,
				   unsigned int *nprefix)
{
	uint64_t end = pc_test_now_ms() + ms;
	unsigned int count = 0;
	char buf[1024];

	if (nprefix)
		*nprefix = 0;
	for (uint64_t now; (now = pc_test_now_ms()) < end;) {
		struct pollfd p = { .fd = n->fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		k = recv(n->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		if (!strcmp(buf, msg))
			count++;
		if (prefix && reply_starts_with(buf, prefix)) {
			if (last)
				snprintf(last, len, "%s", buf);
			if (nprefix)
				(*nprefix)++;
		}
	}
	return count;
}

static void test_watchdog_status(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	const char *extra[] = { "-d", NULL };
	struct notify n = { .fd = -1 };
	struct dconn *c;
	char status[1024];
	unsigned int pings, nstatus;

	if (!fx)
		return;
	PC_REQUIRE(notify_open(&n, fx->dir) == 0);
	PC_REQUIRE(daemon_config(fx, "interval 100ms\npath %s/f*\n", fx->dir) == 0);
	/* Only the daemon's environment: it reads them at start. */
	setenv("NOTIFY_SOCKET", n.path, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	int started = daemon_start_args(fx, extra);

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	PC_REQUIRE(started == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "watchdog: WATCHDOG=1 every 200 ms"), 1);

	/* pings every 200 ms, and the status once the paths are up */
	pings = notify_collect(&n, 1300, "WATCHDOG=1", "STATUS=", status, sizeof(status), NULL);
	printf("\n  %u pings in 1.3 s\n", pings);
	CU_ASSERT(pings >= 4 && pings <= 8);
	CU_ASSERT_STRING_EQUAL(status, "STATUS=2 paths: 2 ready, 0 faulty, 0 i/o timeout, "
			       "0 marginal, 0 held, 0 unchecked");

	/* a stalled loop sends nothing; then it catches up */
	PC_REQUIRE(dconn_open(fx, &c) == 0);
	CU_ASSERT_EQUAL(dconn_send(c, "debug stall 1500ms"), 0);
	pc_test_sleep_ms(100);
	pings = notify_collect(&n, 1200, "WATCHDOG=1", NULL, NULL, 0, NULL);
	CU_ASSERT_EQUAL(pings, 0);
	CU_ASSERT(dconn_reply(c, R, sizeof(R), 5000) >= 0);
	CU_ASSERT_STRING_EQUAL(R, "ok\n");
	pings = notify_collect(&n, 700, "WATCHDOG=1", NULL, NULL, 0, NULL);
	CU_ASSERT(pings >= 2);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "watchdog: the event loop was blocked for "), 1);

	/* STATUS=: on a change, at most once a second, and not when nothing changes */
	CU_ASSERT(dconn_cmd(c, "fail path f0", R, sizeof(R), 5000) >= 0);
	CU_ASSERT(dconn_cmd(c, "reinstate path f0", R, sizeof(R), 5000) >= 0);
	CU_ASSERT(dconn_cmd(c, "fail path f0", R, sizeof(R), 5000) >= 0);
	CU_ASSERT(dconn_cmd(c, "reinstate path f0", R, sizeof(R), 5000) >= 0);
	CU_ASSERT(dconn_cmd(c, "fail path f1", R, sizeof(R), 5000) >= 0);
	notify_collect(&n, 2200, "", "STATUS=", status, sizeof(status), &nstatus);
	CU_ASSERT(nstatus >= 1 && nstatus <= 3);
	CU_ASSERT_STRING_EQUAL(status, "STATUS=2 paths: 1 ready, 0 faulty, 0 i/o timeout, "
			       "0 marginal, 1 held, 0 unchecked");
	notify_collect(&n, 1500, "", "STATUS=", NULL, 0, &nstatus);
	CU_ASSERT_EQUAL(nstatus, 0);

	/* without -d there is no stall */
	dconn_close(c);
	daemon_stop(fx);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT(daemon_cmd(fx, "debug stall 1s", R, sizeof(R)) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: debug stall needs pathcheckd -d\n");
	CU_ASSERT(daemon_cmd(fx, "debug stall", R, sizeof(R)) > 0);
	CU_ASSERT_STRING_EQUAL(R, "error: debug stall needs a duration (debug stall DUR)\n");
	daemon_stop(fx);
	close(n.fd);
	daemon_fx_free(fx);
}

/* --- logging --------------------------------------------------------------------- */

/*
 * pathcheckd without -f or --log (so the config's log decides), stderr
 * into a file, $JOURNAL_STREAM naming it if asked; stopped once it logged "ready" (or 5 s).
 * The log in out.
 */
extern char **environ;

static int run_plain(struct daemon_fx *fx, bool journal_stream, char *out, size_t len)
{
	char logp[PATH_MAX], js[64], *envv[512], *text;
	const char *argv[] = { fx->bin, "-c", fx->conf, "-s", fx->sock, "--state-dir",
			       fx->state, NULL };
	int fd, st, k = 0;
	struct stat sb;
	pid_t pid;

	snprintf(logp, sizeof(logp), "%s/plain.log", fx->dir);
	unlink(logp);
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &sb))
		return -errno;
	/* ours (sanitizer options too), without what systemd would set */
	for (char **e = environ; *e && k < 500; e++)
		if (strncmp(*e, "JOURNAL_STREAM=", 15) && strncmp(*e, "NOTIFY_SOCKET=", 14) &&
		    strncmp(*e, "WATCHDOG_", 9))
			envv[k++] = *e;
	snprintf(js, sizeof(js), "JOURNAL_STREAM=%llu:%llu", (unsigned long long)sb.st_dev,
		 (unsigned long long)sb.st_ino);
	if (journal_stream)
		envv[k++] = js;
	envv[k] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execve(argv[0], (char *const *)argv, envv);
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		return -errno;
	for (int i = 0; i < 500; i++) {
		text = pc_test_read_file(logp, NULL);
		bool ready = text && strstr(text, "pathcheckd: ready");

		free(text);
		if (ready)
			break;
		pc_test_sleep_ms(10);
	}
	kill(pid, SIGTERM);
	st = pc_test_wait_exit(pid, 10000);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		pc_test_wait_exit(pid, 10000);
	}
	text = pc_test_read_file(logp, NULL);
	snprintf(out, len, "%s", text ? text : "");
	free(text);
	return st;
}

static void test_logging(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	const char *extra[] = { "--log", "journal", NULL };
	struct stat st;

	if (!fx)
		return;
	if (stat("/dev/log", &st) == 0) {
		daemon_fx_free(fx);
		PC_SKIP("/dev/log exists here: the fallback without it cannot be shown");
	}
	PC_REQUIRE(daemon_config(fx, "path %s/f0\n", fx->dir) == 0);

	/* no terminal, no /dev/log, no journal: prefixed lines on stderr */
	CU_ASSERT_EQUAL(run_plain(fx, false, R, sizeof(R)), 0);
	CU_ASSERT(reply_starts_with(R, "<4>no /dev/log to log to: logging to standard error\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\n<5>pathcheckd: ready, 1 paths, socket "));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\n<5>pathcheckd: stopped in "));
	/* log syslog, the same */
	PC_REQUIRE(daemon_config(fx, "log syslog\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT_EQUAL(run_plain(fx, false, R, sizeof(R)), 0);
	CU_ASSERT(reply_starts_with(R, "<4>no /dev/log to log to: logging to standard error\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\n<5>pathcheckd: ready, 1 paths"));
	/* auto under systemd: $JOURNAL_STREAM names our stderr, no warning */
	PC_REQUIRE(daemon_config(fx, "path %s/f0\n", fx->dir) == 0);
	CU_ASSERT_EQUAL(run_plain(fx, true, R, sizeof(R)), 0);
	if (!strstr(R, "<5>pathcheckd: ready, 1 paths") || strstr(R, "<4>"))
		printf("\n  log: %s\n", R);
	/* every line prefixed (the first may be hotplug's "following device
	 * events"), and no warning */
	CU_ASSERT(reply_starts_with(R, "<") && !strstr(R, "\n\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "<5>pathcheckd: ready, 1 paths"));
	CU_ASSERT_PTR_NULL(strstr(R, "<4>"));
	/* log stderr: plain */
	PC_REQUIRE(daemon_config(fx, "log stderr\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT_EQUAL(run_plain(fx, true, R, sizeof(R)), 0);
	CU_ASSERT(reply_starts_with(R, "pathcheckd: ready, 1 paths") ||
		  strstr(R, "\npathcheckd: ready, 1 paths"));
	CU_ASSERT_PTR_NULL(strstr(R, "<5>"));
	/* --log journal, and a reconfigure to stderr applies at once */
	PC_REQUIRE(daemon_config(fx, "path %s/f0\n", fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, extra) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "<5>pathcheckd: ready, 1 paths"), 1);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- the unit ------------------------------------------------------------------------ */

static const char *analyze_bin(void)
{
	static const char *const c[] = { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" };

	for (size_t i = 0; i < 2; i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

/* The unit as make install writes it, into dir/pathcheckd.service. */
static int write_unit(const char *dir, const char *build, char *path, size_t len)
{
	char *text = pc_test_read_file("tools/pathcheckd/pathcheckd.service", NULL), *p;
	FILE *f;

	if (!text)
		return -errno;
	snprintf(path, len, "%s/pathcheckd.service", dir);
	f = fopen(path, "w");
	if (!f) {
		free(text);
		return -errno;
	}
	for (p = text; *p;) {
		if (!strncmp(p, "@SBINDIR@", 9) || !strncmp(p, "@BINDIR@", 8)) {
			fputs(build, f);
			p += p[1] == 'S' ? 9 : 8;
		} else {
			fputc(*p++, f);
		}
	}
	free(text);
	return fclose(f) ? -errno : 0;
}

static void test_unit_security(void)
{
	const char *an = analyze_bin(), *b = getenv("PC_BUILD_DIR");
	char dir[] = "/tmp/pcd-unit.XXXXXX", unit[PATH_MAX], build[PATH_MAX], man[PATH_MAX + 64];
	char out[1 << 16], err[1 << 14], mp[PATH_MAX + 128], *line;
	const char *help[] = { an, "security", "--help", NULL };
	double score = 99;

	if (!an)
		PC_SKIP("no systemd-analyze");
	struct pc_test_run r = { .argv = help, .out = out, .err = err,
				 .out_cap = sizeof(out), .err_cap = sizeof(err) };

	PC_REQUIRE(pc_test_run(&r) == 0);
	if (!strstr(out, "--offline"))
		PC_SKIP("systemd-analyze security has no --offline (systemd < 250)");
	PC_REQUIRE(mkdtemp(dir) != NULL);
	PC_REQUIRE(realpath(b && *b ? b : "build", build) != NULL);
	PC_REQUIRE(write_unit(dir, build, unit, sizeof(unit)) == 0);

	const char *sec[] = { an, "security", "--offline=yes", unit, NULL };

	r.argv = sec;
	PC_REQUIRE(pc_test_run(&r) == 0);
	line = strstr(out, "Overall exposure level for pathcheckd.service: ");
	CU_ASSERT_PTR_NOT_NULL(line);
	if (line)
		score = strtod(line + strlen("Overall exposure level for pathcheckd.service: "),
			       NULL);
	printf("\n  exposure %.1f\n", score);
	CU_ASSERT(score <= 4.0);

	/* verify looks the Documentation= pages up: give it ours */
	snprintf(man, sizeof(man), "%s/man", dir);
	PC_REQUIRE(mkdir(man, 0755) == 0 || errno == EEXIST);
	{
		static const char *const pages[][2] = {
			{ "docs/man/pathcheckd.8", "man8/pathcheckd.8" },
			{ "docs/man/pathcheck.8", "man8/pathcheck.8" },
			{ "docs/man/pathcheckd.conf.5", "man5/pathcheckd.conf.5" },
		};
		char src[PATH_MAX], dst[PATH_MAX + 80];

		snprintf(dst, sizeof(dst), "%s/man5", man);
		mkdir(dst, 0755);
		snprintf(dst, sizeof(dst), "%s/man8", man);
		mkdir(dst, 0755);
		for (size_t i = 0; i < 3; i++) {
			PC_REQUIRE(realpath(pages[i][0], src) != NULL);
			snprintf(dst, sizeof(dst), "%s/%s", man, pages[i][1]);
			PC_REQUIRE(symlink(src, dst) == 0);
		}
	}
	snprintf(mp, sizeof(mp), "MANPATH=%s", man);
	char *env[] = { mp, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	const char *ver[] = { an, "verify", unit, NULL };

	r.argv = ver;
	r.envp = env;
	PC_REQUIRE(pc_test_run(&r) == 0);
	if (r.status != 0 || r.nerr)
		printf("\n  systemd-analyze verify: %d\n%s%s", r.status, out, err);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(r.nerr, 0);
	{
		char cmd[sizeof(dir) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "watchdog_status", test_watchdog_status },
		{ "logging", test_logging },
		{ "unit_security", test_unit_security },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_systemd", tests, argc, argv);
}
