/* SPDX-License-Identifier: MIT */
/*
 * The pathcheck command line: the one-shot checker on temporary files and
 * pathsim paths, and the pathcheckd client against a fake daemon that this
 * test serves from a thread on a temporary AF_UNIX socket (the protocol of
 * docs/man/pathcheck.8: reply lines, then one empty line).
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

#include "harness.h"
#include "pathsim_fixture.h"

extern char **environ;

static char scratch[256];		/* a 1 MiB file: a path that is up */

static const char *pathcheck_bin(void)
{
	static char bin[PATH_MAX];
	const char *b = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathcheck", b && *b ? b : "build");
	return bin;
}

/* --- running pathcheck ------------------------------------------------------ */

#define RUN_LIMIT_MS 15000	/* a hung client is a failure, not a hung test */

struct run {
	int status;		/* exit status, 128 + signal, or -1 */
	uint64_t ms;		/* from fork to exit */
	size_t nout, nerr;
	char out[300000];
	char err[8192];
};

static struct run R;

/*
 * Runs pathcheck with the NULL-terminated args, input on its stdin (NULL:
 * /dev/null), env ("K=V" or NULL) added to the environment, and SIGTERM
 * sent term_ms after the start (0: never).  Output lands in R.
 */
static int run(const char *input, const char *env, unsigned int term_ms, ...)
{
	const char *argv[32] = { pathcheck_bin() };
	char *envp[256];
	int argc = 1, envc = 0;
	va_list ap;
	struct pc_test_run r = {
		.argv = argv, .envp = envp, .input = input, .term_ms = term_ms,
		.limit_ms = RUN_LIMIT_MS, .out = R.out, .out_cap = sizeof(R.out),
		.err = R.err, .err_cap = sizeof(R.err),
	};

	va_start(ap, term_ms);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	for (char **e = environ; *e && envc < 250; e++)
		if (strncmp(*e, "PATHCHECK_SOCKET=", 17))
			envp[envc++] = *e;
	if (env)
		envp[envc++] = (char *)env;
	envp[envc] = NULL;

	printf("\n  $%s%s%s", env ? " " : "", env ? env : "", input ? " <input" : "");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	R.status = -1;
	if (pc_test_run(&r))
		return -1;
	if (r.timed_out)
		printf("  still running after %u ms: killed\n", RUN_LIMIT_MS);
	R.nout = r.nout;
	R.nerr = r.nerr;
	R.ms = r.ms;
	R.status = r.sig ? 128 + r.sig : r.status;
	printf("  exit %d after %llu ms\n", R.status, (unsigned long long)R.ms);
	if (R.nout)
		printf("  stdout: %.600s%s", R.out, R.nout > 600 ? "...\n" : "");
	if (R.nerr)
		printf("  stderr: %s", R.err);
	return R.status;
}

/* The line of out that contains what, copied into line; false if none. */
static bool line_with(const char *out, const char *what, char *line, size_t len)
{
	const char *at = strstr(out, what), *bol, *eol;

	if (!at)
		return false;
	for (bol = at; bol > out && bol[-1] != '\n'; bol--)
		;
	eol = strchr(at, '\n');
	if (!eol)
		eol = at + strlen(at);
	snprintf(line, len, "%.*s", (int)(eol - bol), bol);
	return true;
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* --- one-shot checks ------------------------------------------------------ */

static void test_oneshot_up(void)
{
	char line[1024];

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, scratch, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "device"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "latency_us"));
	PC_REQUIRE(line_with(R.out, scratch, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ok"));
	CU_ASSERT_EQUAL(count_lines(R.out), 2);
	CU_ASSERT_EQUAL(R.nerr, 0);
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

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--json", scratch, NULL), 0);
	CU_ASSERT_EQUAL(R.out[0], '[');
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "\n]\n"));
	PC_REQUIRE(line_with(R.out, scratch, obj, sizeof(obj)));
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

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, missing, scratch, NULL), 1);
	PC_REQUIRE(line_with(R.out, missing, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " faulty "));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "cannot open: No such file or directory"));
	PC_REQUIRE(line_with(R.out, scratch, line, sizeof(line)));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--json", missing, NULL), 1);
	PC_REQUIRE(line_with(R.out, missing, line, sizeof(line)));
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
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--timeout", "300ms", pathsim_dev(sim, 0),
			    pathsim_dev(sim, 1), pathsim_dev(sim, 2), NULL), 1);
	if (line_with(R.out, pathsim_dev(sim, 0), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " ready "));
	} else {
		CU_FAIL("no line for p0");
	}
	if (line_with(R.out, pathsim_dev(sim, 1), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " faulty "));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "io error: Input/output error"));
	} else {
		CU_FAIL("no line for p1");
	}
	if (line_with(R.out, pathsim_dev(sim, 2), line, sizeof(line))) {
		CU_ASSERT_PTR_NOT_NULL(strstr(line, " i/o timeout "));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "timeout after 300 ms"));
	} else {
		CU_FAIL("no line for p2");
	}

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--json", pathsim_dev(sim, 0),
			    pathsim_dev(sim, 1), NULL), 1);
	if (line_with(R.out, pathsim_dev(sim, 1), line, sizeof(line))) {
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
	CU_ASSERT_EQUAL(R.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(R.err, what));
	CU_ASSERT_PTR_NOT_NULL(strstr(R.err, "pathcheck --help"));
	CU_ASSERT_EQUAL(R.nout, 0);
}

static void test_usage_errors(void)
{
	run(NULL, NULL, 0, "--bogus", scratch, NULL);
	expect_usage_error("usage: pathcheck");
	run(NULL, NULL, 0, "--timeout", "abc", scratch, NULL);
	expect_usage_error("bad --timeout 'abc'");
	run(NULL, NULL, 0, "--timeout", "0", scratch, NULL);
	expect_usage_error("bad --timeout '0'");
	run(NULL, NULL, 0, scratch, "show", NULL);
	expect_usage_error("'show' is a pathcheckd command word, not a device");
	run(NULL, NULL, 0, "--socket", "/tmp/x.sock", scratch, NULL);
	expect_usage_error("--socket applies to pathcheckd commands only");
	run(NULL, NULL, 0, "--all", "show", "paths", NULL);
	expect_usage_error("--all applies to one-shot checks only");
	run(NULL, NULL, 0, "--count", "2", "show", "paths", NULL);
	expect_usage_error("--count applies to subscribe only");
	run(NULL, NULL, 0, "--count", "x", "subscribe", NULL);
	expect_usage_error("bad --count 'x'");
	run(NULL, NULL, 0, "-k", "--json", NULL);
	expect_usage_error("--json needs a command");
	run(NULL, NULL, 0, "--timeout", "-1", "show", "paths", NULL);
	expect_usage_error("bad --timeout '-1'");

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--help", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "pathcheck [--json] [--timeout DUR] [--all] [DEV...]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "COMMAND [WORDS...]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(R.out, "-k[COMMAND]"));
	CU_ASSERT_EQUAL(R.nerr, 0);
}

/* --- the client, against a fake pathcheckd ------------------------------- */

#define TABLE "dev  chk_st  checks\nsdb  ready        3\nsdc  faulty       3\n"
#define JSON "{\"paths\":[{\"dev\":\"sdb\",\"chk_st\":\"ready\"}]}\n"
#define EVENT "{\"event\":\"state\",\"dev\":\"sdb\",\"from\":\"ready\",\"to\":\"faulty\",\"seq\":%d}\n"
#define BIG_LINE 200000

enum srv_mode {
	SRV_ANSWER = 0,		/* answers each command line (the default) */
	SRV_SILENT,		/* reads, never answers */
	SRV_NO_ACCEPT,		/* listens with a full backlog, never accepts */
};

/* How the server answers; the test changes it between clients (srv_set). */
struct srv_conf {
	unsigned int chunk;	/* write replies in pieces of this size, 1 ms apart (0: whole) */
	int events;		/* events after a subscribe's ack */
	bool close_after_events;
};

struct server {
	enum srv_mode mode;
	struct srv_conf conf;	/* under lock */
	struct srv_conf now;	/* the server thread's copy for this connection */
	char dir[80], path[108];	/* TMPDIR is under 60 bytes */
	int lfd, stop[2], backlog[4];
	pthread_t thread;
	pthread_mutex_t lock;
	char received[8192];	/* what clients sent, in order */
	size_t nreceived;
	unsigned int connections;
};

static void srv_write(struct server *s, int fd, const char *buf, size_t len)
{
	size_t step = s->now.chunk ? s->now.chunk : len;

	for (size_t done = 0; done < len; done += step) {
		size_t n = len - done < step ? len - done : step;

		if (send(fd, buf + done, n, MSG_NOSIGNAL) != (ssize_t)n)
			return;
		if (s->now.chunk)
			pc_test_sleep_ms(1);
	}
}

static void srv_say(struct server *s, int fd, const char *text)
{
	srv_write(s, fd, text, strlen(text));
}

/* Waits until the client hangs up (or the test ends). */
static void srv_hold(struct server *s, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };
	char buf[256];

	while (poll(p, 2, -1) >= 0 && !p[1].revents)
		if (p[0].revents && read(fd, buf, sizeof(buf)) <= 0)
			return;
}

/* Answers one command line; false when the connection is done. */
static bool srv_answer(struct server *s, int fd, const char *cmd)
{
	char ev[256];

	if (!strcmp(cmd, "show paths") || !strcmp(cmd, "list paths")) {
		srv_say(s, fd, TABLE "\n");
	} else if (!strcmp(cmd, "show paths json")) {
		srv_say(s, fd, JSON "\n");
	} else if (!strcmp(cmd, "help")) {
		srv_say(s, fd, "commands:\n  show paths [json]\n\n");
	} else if (!strcmp(cmd, "reconfigure")) {
		srv_say(s, fd, "\n");
	} else if (!strcmp(cmd, "show big json")) {
		char *big = malloc(BIG_LINE + 2);

		if (!big)
			return false;
		memset(big, 'x', BIG_LINE);
		memcpy(big + BIG_LINE, "\n\n", 2);
		srv_write(s, fd, big, BIG_LINE + 2);
		free(big);
	} else if (!strcmp(cmd, "show cut")) {
		srv_say(s, fd, "first line\nsecond li");
		return false;
	} else if (!strcmp(cmd, "subscribe")) {
		srv_say(s, fd, "\n");
		for (int i = 1; i <= s->now.events; i++) {
			snprintf(ev, sizeof(ev), EVENT, i);
			srv_say(s, fd, ev);
		}
		if (!s->now.close_after_events)
			srv_hold(s, fd);
		return false;
	} else {
		snprintf(ev, sizeof(ev), "error: unknown command '%.200s' (try help)\n\n", cmd);
		srv_say(s, fd, ev);
	}
	return true;
}

/* One connection: record every byte, answer every complete line. */
static void srv_serve(struct server *s, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };
	char line[8192];
	size_t len = 0;
	ssize_t n;
	char *nl;

	while (poll(p, 2, -1) >= 0 && !p[1].revents) {
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			return;
		pthread_mutex_lock(&s->lock);
		if (s->nreceived + (size_t)n < sizeof(s->received)) {
			memcpy(s->received + s->nreceived, line + len, (size_t)n);
			s->nreceived += (size_t)n;
		}
		pthread_mutex_unlock(&s->lock);
		len += (size_t)n;
		while (s->mode == SRV_ANSWER && (nl = memchr(line, '\n', len))) {
			size_t k = (size_t)(nl - line) + 1;

			*nl = '\0';
			if (!srv_answer(s, fd, line))
				return;
			memmove(line, line + k, len - k);
			len -= k;
		}
		if (len == sizeof(line) - 1)
			return;
	}
}

static void *srv_main(void *arg)
{
	struct server *s = arg;
	struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };

	while (poll(p, 2, -1) >= 0 && !p[1].revents) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		s->connections++;
		s->now = s->conf;
		pthread_mutex_unlock(&s->lock);
		srv_serve(s, fd);
		close(fd);
	}
	return NULL;
}

/* Fills the backlog of a listener that never accepts, so connect blocks. */
static int fill_backlog(struct server *s, struct sockaddr_un *sa)
{
	int i;

	for (i = 0; i < 4; i++) {
		s->backlog[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->backlog[i] < 0)
			return -errno;
		if (connect(s->backlog[i], (struct sockaddr *)sa, sizeof(*sa)) < 0)
			return errno == EAGAIN ? 0 : -errno;
	}
	return -ENOSPC;		/* never blocked: the test would prove nothing */
}

static int srv_start(struct server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	s->lfd = -1;
	for (int i = 0; i < 4; i++)
		s->backlog[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (pc_test_mkdtemp(s->dir, sizeof(s->dir), "pccli") || pipe2(s->stop, O_CLOEXEC))
		return -errno;
	snprintf(s->path, sizeof(s->path), "%s/pathcheckd.sock", s->dir);
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);	/* < 108 by the sizes */
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->lfd, s->mode == SRV_NO_ACCEPT ? 0 : 16))
		return -errno;
	if (s->mode == SRV_NO_ACCEPT)
		return fill_backlog(s, &sa);
	return -pthread_create(&s->thread, NULL, srv_main, s);
}

static void srv_stop(struct server *s)
{
	if (s->mode != SRV_NO_ACCEPT) {
		if (write(s->stop[1], "x", 1) != 1)
			perror("srv_stop");
		pthread_join(s->thread, NULL);
	}
	for (int i = 0; i < 4; i++)
		if (s->backlog[i] >= 0)
			close(s->backlog[i]);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	unlink(s->path);
	rmdir(s->dir);
	pthread_mutex_destroy(&s->lock);
}

/* What the server received so far, as a string. */
static const char *srv_received(struct server *s)
{
	static char copy[sizeof(s->received) + 1];

	pthread_mutex_lock(&s->lock);
	memcpy(copy, s->received, s->nreceived);
	copy[s->nreceived] = '\0';
	s->nreceived = 0;
	pthread_mutex_unlock(&s->lock);
	return copy;
}

static void srv_set(struct server *s, struct srv_conf conf)
{
	pthread_mutex_lock(&s->lock);
	s->conf = conf;
	pthread_mutex_unlock(&s->lock);
}

static unsigned int srv_connections(struct server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->connections;
	s->connections = 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

#define SERVER(name, ...) \
	struct server name = { __VA_ARGS__ }; \
	PC_REQUIRE(srv_start(&name) == 0)

static void test_client_no_daemon(void)
{
	char dir[96], sock[128], want[256], env[160];

	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pccli") == 0);
	snprintf(sock, sizeof(sock), "%s/missing.sock", dir);
	snprintf(want, sizeof(want), "pathcheck: cannot connect to %s: No such file or directory "
		 "(is pathcheckd running?)\n", sock);
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", sock, "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, want);
	CU_ASSERT_EQUAL(R.nout, 0);
	/* PATHCHECK_SOCKET when there is no --socket */
	snprintf(env, sizeof(env), "PATHCHECK_SOCKET=%s", sock);
	CU_ASSERT_EQUAL(run(NULL, env, 0, "check", "sdb", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, want);
	CU_ASSERT_EQUAL(run("show paths\n", env, 0, "-k", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, want);
	rmdir(dir);
}

static void test_client_show(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "--socket", s.path, "show", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(R.out, TABLE);
	CU_ASSERT_EQUAL(R.nerr, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\n");
	/* An empty reply prints nothing. */
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "reconfigure", NULL), 0);
	CU_ASSERT_EQUAL(R.nout, 0);
	CU_ASSERT_EQUAL(R.nerr, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "reconfigure\n");
	srv_stop(&s);
}

static void test_client_json(void)
{
	char env[160];
	SERVER(s);

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "show", "paths", "--json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_STRING_EQUAL(R.out, JSON);
	/* --json before the words, and an explicit json word is not doubled */
	snprintf(env, sizeof(env), "PATHCHECK_SOCKET=%s", s.path);
	CU_ASSERT_EQUAL(run(NULL, env, 0, "--json", "show", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(run(NULL, env, 0, "-j", "show", "paths", "json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_STRING_EQUAL(R.out, JSON);
	srv_stop(&s);
}

static void test_client_error(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "show", "nothing", NULL), 1);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: unknown command 'show nothing' (try help)\n");
	CU_ASSERT_EQUAL(R.nout, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show nothing\n");
	srv_stop(&s);
}

/* Replies arriving a few bytes at a time, and one line longer than any buffer. */
static void test_client_pieces(void)
{
	SERVER(s, .conf.chunk = 3);

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "list", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(R.out, TABLE);
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "show", "x", NULL), 1);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: unknown command 'show x' (try help)\n");
	srv_set(&s, (struct srv_conf){ .chunk = 4096 });
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "show", "big", "--json", NULL), 0);
	CU_ASSERT_EQUAL(R.nout, BIG_LINE + 1);
	CU_ASSERT_EQUAL(strspn(R.out, "x"), BIG_LINE);
	CU_ASSERT_EQUAL(R.out[BIG_LINE], '\n');
	/* The daemon going away in the middle of a reply */
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "show", "cut", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.out, "first line\nsecond li\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(R.err, "pathcheck: pathcheckd closed the connection"));
	srv_stop(&s);
}

/* -k: each stdin line over one connection, each reply printed, no prompt. */
static void test_client_shell(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(run("show paths\n  bad  \n\n\tshow paths json\nquit\nshow paths\n", NULL, 0,
			    "-s", s.path, "-k", NULL), 1);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\nbad\nshow paths json\n");
	CU_ASSERT_EQUAL(srv_connections(&s), 1);
	CU_ASSERT_STRING_EQUAL(R.out, TABLE JSON);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: unknown command 'bad' (try help)\n");
	/* EOF ends it too; all replies fine: exit 0 */
	CU_ASSERT_EQUAL(run("help\nshow paths", NULL, 0, "-s", s.path, "-k", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "help\nshow paths\n");
	CU_ASSERT_STRING_EQUAL(R.out, "commands:\n  show paths [json]\n" TABLE);
	/* -k"cmd", -k 'cmd' and -k cmd words run that one command */
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "-kshow paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\n");
	CU_ASSERT_STRING_EQUAL(R.out, TABLE);
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "-k", "show paths", "--json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "-kshow paths json", "-j", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "-k", "show", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\n");
	CU_ASSERT_EQUAL(srv_connections(&s), 5);
	srv_stop(&s);
}

static void test_client_subscribe(void)
{
	char want[512], ev[256];
	SERVER(s, .conf.events = 3);

	want[0] = '\0';
	for (int i = 1; i <= 2; i++) {
		snprintf(ev, sizeof(ev), EVENT, i);
		strcat(want, ev);
	}
	/* The server holds the connection open: --count ends it. */
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "subscribe", "--count", "2", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "subscribe\n");
	CU_ASSERT_STRING_EQUAL(R.out, want);
	CU_ASSERT_EQUAL(R.nerr, 0);
	/* SIGTERM ends it, with exit 0 and every event printed */
	CU_ASSERT_EQUAL(run(NULL, NULL, 1000, "-s", s.path, "subscribe", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(R.out), 3);
	CU_ASSERT_TRUE(R.ms < 5000);
	/* EOF from the daemon ends it */
	srv_set(&s, (struct srv_conf){ .events = 3, .close_after_events = true });
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "subscribe", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(R.out), 3);
	CU_ASSERT_EQUAL(R.nerr, 0);
	/* ... before --count events came: the script is told */
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "subscribe", "--count", "5", NULL), 2);
	CU_ASSERT_EQUAL(count_lines(R.out), 3);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: pathcheckd closed the connection after 3 of 5 events\n");
	/* a subscribe inside -k streams until EOF */
	srv_received(&s);
	CU_ASSERT_EQUAL(run("show paths\nsubscribe\nshow paths\n", NULL, 0, "-s", s.path, "-k", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\nsubscribe\n");
	CU_ASSERT_EQUAL(strncmp(R.out, TABLE, strlen(TABLE)), 0);
	CU_ASSERT_EQUAL(count_lines(R.out), count_lines(TABLE) + 3);
	srv_stop(&s);
}

/* A daemon that never answers, or never accepts: exit 2 at --timeout. */
static void test_client_timeout(void)
{
	SERVER(s, .mode = SRV_SILENT);

	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", s.path, "--timeout", "1", "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: no reply from pathcheckd within 1 s\n");
	CU_ASSERT_TRUE(R.ms >= 1000 && R.ms < 3000);
	CU_ASSERT_EQUAL(run("show paths\n", NULL, 0, "-s", s.path, "-t", "500ms", "-k", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: no reply from pathcheckd within 0.5 s\n");
	CU_ASSERT_TRUE(R.ms >= 500 && R.ms < 2500);
	srv_stop(&s);

	struct server q = { .mode = SRV_NO_ACCEPT };
	int ret = srv_start(&q);

	if (ret == -ENOSPC) {
		srv_stop(&q);
		PC_SKIP("connect to a full AF_UNIX backlog does not block here");
	}
	PC_REQUIRE(ret == 0);
	CU_ASSERT_EQUAL(run(NULL, NULL, 0, "-s", q.path, "--timeout", "1", "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(R.err, "pathcheck: no reply from pathcheckd within 1 s\n");
	CU_ASSERT_TRUE(R.ms >= 1000 && R.ms < 3000);
	srv_stop(&q);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "oneshot_up", test_oneshot_up },
		{ "oneshot_json", test_oneshot_json },
		{ "oneshot_missing", test_oneshot_missing },
		{ "oneshot_pathsim", test_oneshot_pathsim },
		{ "usage_errors", test_usage_errors },
		{ "client_no_daemon", test_client_no_daemon },
		{ "client_show", test_client_show },
		{ "client_json", test_client_json },
		{ "client_error", test_client_error },
		{ "client_pieces", test_client_pieces },
		{ "client_shell", test_client_shell },
		{ "client_subscribe", test_client_subscribe },
		{ "client_timeout", test_client_timeout },
		{ NULL, NULL },
	};

	if (access(pathcheck_bin(), X_OK)) {
		fprintf(stderr, "cli: no %s (make tools)\n", pathcheck_bin());
		return 1;
	}
	return pc_test_main_file("cli", tests, argc, argv, scratch, sizeof(scratch));
}
