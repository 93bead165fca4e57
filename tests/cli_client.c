/* SPDX-License-Identifier: MIT */
/*
 * pathcheck as pathcheckd's client, against a fake daemon that this test
 * serves from a thread on a temporary AF_UNIX socket (the protocol of
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

#include "cli_run.h"
#include "harness.h"
#include "pathsim_fixture.h"


static char scratch[256];		/* a 1 MiB file: a path that is up */

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
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", sock, "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, want);
	CU_ASSERT_EQUAL(cli_last.nout, 0);
	/* PATHCHECK_SOCKET when there is no --socket */
	snprintf(env, sizeof(env), "PATHCHECK_SOCKET=%s", sock);
	CU_ASSERT_EQUAL(cli_run(NULL, env, 0, "check", "sdb", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, want);
	CU_ASSERT_EQUAL(cli_run("show paths\n", env, 0, "-k", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, want);
	rmdir(dir);
}

static void test_client_show(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "--socket", s.path, "show", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(cli_last.out, TABLE);
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\n");
	/* An empty reply prints nothing. */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "reconfigure", NULL), 0);
	CU_ASSERT_EQUAL(cli_last.nout, 0);
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "reconfigure\n");
	srv_stop(&s);
}

static void test_client_json(void)
{
	char env[160];
	SERVER(s);

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "show", "paths", "--json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_STRING_EQUAL(cli_last.out, JSON);
	/* --json before the words, and an explicit json word is not doubled */
	snprintf(env, sizeof(env), "PATHCHECK_SOCKET=%s", s.path);
	CU_ASSERT_EQUAL(cli_run(NULL, env, 0, "--json", "show", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(cli_run(NULL, env, 0, "-j", "show", "paths", "json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_STRING_EQUAL(cli_last.out, JSON);
	srv_stop(&s);
}

static void test_client_error(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "show", "nothing", NULL), 1);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: unknown command 'show nothing' (try help)\n");
	CU_ASSERT_EQUAL(cli_last.nout, 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show nothing\n");
	srv_stop(&s);
}

/* Replies arriving a few bytes at a time, and one line longer than any buffer. */
static void test_client_pieces(void)
{
	SERVER(s, .conf.chunk = 3);

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "list", "paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(cli_last.out, TABLE);
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "show", "x", NULL), 1);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: unknown command 'show x' (try help)\n");
	srv_set(&s, (struct srv_conf){ .chunk = 4096 });
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "show", "big", "--json", NULL), 0);
	CU_ASSERT_EQUAL(cli_last.nout, BIG_LINE + 1);
	CU_ASSERT_EQUAL(strspn(cli_last.out, "x"), BIG_LINE);
	CU_ASSERT_EQUAL(cli_last.out[BIG_LINE], '\n');
	/* The daemon going away in the middle of a reply */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "show", "cut", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.out, "first line\nsecond li\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(cli_last.err, "pathcheck: pathcheckd closed the connection"));
	srv_stop(&s);
}

/* -k: each stdin line over one connection, each reply printed, no prompt. */
static void test_client_shell(void)
{
	SERVER(s);

	CU_ASSERT_EQUAL(cli_run("show paths\n  bad  \n\n\tshow paths json\nquit\nshow paths\n", NULL, 0,
			    "-s", s.path, "-k", NULL), 1);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\nbad\nshow paths json\n");
	CU_ASSERT_EQUAL(srv_connections(&s), 1);
	CU_ASSERT_STRING_EQUAL(cli_last.out, TABLE JSON);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: unknown command 'bad' (try help)\n");
	/* EOF ends it too; all replies fine: exit 0 */
	CU_ASSERT_EQUAL(cli_run("help\nshow paths", NULL, 0, "-s", s.path, "-k", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "help\nshow paths\n");
	CU_ASSERT_STRING_EQUAL(cli_last.out, "commands:\n  show paths [json]\n" TABLE);
	/* -k"cmd", -k 'cmd' and -k cmd words run that one command */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "-kshow paths", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\n");
	CU_ASSERT_STRING_EQUAL(cli_last.out, TABLE);
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "-k", "show paths", "--json", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "-kshow paths json", "-j", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths json\n");
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "-k", "show", "paths", NULL), 0);
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
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "subscribe", "--count", "2", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "subscribe\n");
	CU_ASSERT_STRING_EQUAL(cli_last.out, want);
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
	/* SIGTERM ends it, with exit 0 and every event printed */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 1000, "-s", s.path, "subscribe", NULL), 0);
	CU_ASSERT_EQUAL(cli_count_lines(cli_last.out), 3);
	CU_ASSERT_TRUE(cli_last.ms < 5000);
	/* EOF from the daemon ends it */
	srv_set(&s, (struct srv_conf){ .events = 3, .close_after_events = true });
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "subscribe", NULL), 0);
	CU_ASSERT_EQUAL(cli_count_lines(cli_last.out), 3);
	CU_ASSERT_EQUAL(cli_last.nerr, 0);
	/* ... before --count events came: the script is told */
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "subscribe", "--count", "5", NULL), 2);
	CU_ASSERT_EQUAL(cli_count_lines(cli_last.out), 3);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: pathcheckd closed the connection after 3 of 5 events\n");
	/* a subscribe inside -k streams until EOF */
	srv_received(&s);
	CU_ASSERT_EQUAL(cli_run("show paths\nsubscribe\nshow paths\n", NULL, 0, "-s", s.path, "-k", NULL), 0);
	CU_ASSERT_STRING_EQUAL(srv_received(&s), "show paths\nsubscribe\n");
	CU_ASSERT_EQUAL(strncmp(cli_last.out, TABLE, strlen(TABLE)), 0);
	CU_ASSERT_EQUAL(cli_count_lines(cli_last.out), cli_count_lines(TABLE) + 3);
	srv_stop(&s);
}

/* A daemon that never answers, or never accepts: exit 2 at --timeout. */
static void test_client_timeout(void)
{
	SERVER(s, .mode = SRV_SILENT);

	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", s.path, "--timeout", "1", "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: no reply from pathcheckd within 1 s\n");
	CU_ASSERT_TRUE(cli_last.ms >= 1000 && cli_last.ms < 3000);
	CU_ASSERT_EQUAL(cli_run("show paths\n", NULL, 0, "-s", s.path, "-t", "500ms", "-k", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: no reply from pathcheckd within 0.5 s\n");
	CU_ASSERT_TRUE(cli_last.ms >= 500 && cli_last.ms < 2500);
	srv_stop(&s);

	struct server q = { .mode = SRV_NO_ACCEPT };
	int ret = srv_start(&q);

	if (ret == -ENOSPC) {
		srv_stop(&q);
		PC_SKIP("connect to a full AF_UNIX backlog does not block here");
	}
	PC_REQUIRE(ret == 0);
	CU_ASSERT_EQUAL(cli_run(NULL, NULL, 0, "-s", q.path, "--timeout", "1", "show", "paths", NULL), 2);
	CU_ASSERT_STRING_EQUAL(cli_last.err, "pathcheck: no reply from pathcheckd within 1 s\n");
	CU_ASSERT_TRUE(cli_last.ms >= 1000 && cli_last.ms < 3000);
	srv_stop(&q);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
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

	if (access(cli_bin(), X_OK)) {
		fprintf(stderr, "cli_client: no %s (make tools)\n", cli_bin());
		return 1;
	}
	return pc_test_main_file("cli_client", tests, argc, argv, scratch, sizeof(scratch));
}
