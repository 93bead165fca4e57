/* SPDX-License-Identifier: MIT */
/*
 * pathcheck as pathcheckd's client: one command, a subscription, or the
 * -k shell (multipathd -k habit), all over one connection each.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lineedit.h"

static const char *const commands[] = {
	"show", "list", "check", "add", "del", "remove", "fail", "reinstate", "reconfigure",
	"subscribe", "shutdown", "help", "debug",
};

bool client_is_command(const char *word)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(word, commands[i]))
			return true;
	return false;
}

/* Edits (insert, delete, replace, swap two neighbours) from a to b, if at
 * most max; else max + 1.  The bound keeps the recursion short. */
static unsigned int edits(const char *a, const char *b, unsigned int max)
{
	unsigned int best = max + 1, d;

	while (*a && *a == *b)
		a++, b++;
	if (!*a || !*b) {
		d = (unsigned int)(strlen(a) + strlen(b));
		return d <= max ? d : max + 1;
	}
	if (!max)
		return 1;
	if (a[1] == *b && a[0] == b[1])
		best = 1 + edits(a + 2, b + 2, max - 1);
	d = 1 + edits(a + 1, b + 1, max - 1);
	best = d < best ? d : best;
	d = 1 + edits(a + 1, b, max - 1);
	best = d < best ? d : best;
	d = 1 + edits(a, b + 1, max - 1);
	return d < best ? d : best;
}

/*
 * A slip of the fingers keeps the first letter: one edit in a word of up to
 * four letters, two in a longer one.  "sdd" is not "add", "shwo" is "show".
 */
const char *client_near_command(const char *word)
{
	unsigned int max = strlen(word) <= 4 ? 1 : 2;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (word[0] == commands[i][0] && edits(word, commands[i], max) <= max)
			return commands[i];
	return NULL;
}

bool client_is_subscribe(const char *line)
{
	line += strspn(line, " \t");
	return !strncmp(line, "subscribe", 9) && strspn(line + 9, " \t") == strlen(line + 9);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* SIGINT and SIGTERM end the stream; an ignored SIGINT (a background job) stays ignored. */
static void catch_stop_signals(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = on_signal }, old;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigdelset(waitmask, SIGTERM);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
		sigaction(SIGINT, &sa, NULL);
		sigdelset(waitmask, SIGINT);
	}
}

/* After subscribe's empty ack: every event line until EOF, --count or a signal. */
static int stream_events(struct conn *c, const struct client_opts *o)
{
	sigset_t waitmask;
	long n;

	catch_stop_signals(&waitmask);
	n = conn_stream(c, stdout, o->count, &waitmask, &stop);
	if (n < 0)
		return conn_fail(c, (int)n);
	if (o->count && (unsigned long)n < o->count && !stop) {
		fprintf(stderr, "pathcheck: pathcheckd closed the connection after %ld of %lu events\n",
			n, o->count);
		return EXIT_TROUBLE;
	}
	return EXIT_ALL_UP;
}

/* Sends line and prints its reply; a subscribe goes on to stream events. */
static int run_line(struct conn *c, const struct client_opts *o, const char *line,
		    bool *streamed)
{
	int ret = conn_send(c, line);

	if (!ret)
		ret = conn_reply(c, stdout);
	if (ret < 0)
		return conn_fail(c, ret);
	if (ret == 1)
		return EXIT_SOME_DOWN;
	if (!client_is_subscribe(line))
		return EXIT_ALL_UP;
	*streamed = true;
	return stream_events(c, o);
}

int client_command(const struct client_opts *o, const char *line)
{
	struct conn c;
	bool streamed = false;
	int rc;

	if (conn_open(&c, o->socket, o->timeout_ms))
		return EXIT_TROUBLE;
	rc = run_line(&c, o, line, &streamed);
	conn_close(&c);
	return rc;
}

static char *trim(char *s)
{
	size_t len;

	s += strspn(s, " \t");
	len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* What the daemon would refuse and close the connection for; NULL if fine. */
static const char *bad_line(const char *line)
{
	if (strlen(line) > PATHCHECKD_LINE_MAX)
		return "command longer than " PATHCHECKD_LINE_MAX_STR " bytes";
	for (const char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return "control characters in command";
	return NULL;
}

/* pathcheckd drops idle connections only for its own reasons; come back once. */
static int reconnect_if_closed(struct conn *c, const struct client_opts *o)
{
	if (!conn_hung_up(c))
		return 0;
	conn_close(c);
	return conn_open(c, o->socket, o->timeout_ms);
}

int client_shell(const struct client_opts *o)
{
	struct conn c;
	bool streamed = false;
	struct line_in *in;
	char *buf, *line;
	const char *why;
	int rc = EXIT_ALL_UP, r;

	if (conn_open(&c, o->socket, o->timeout_ms))
		return EXIT_TROUBLE;
	in = line_in_open();
	if (!in) {
		fprintf(stderr, "pathcheck: out of memory\n");
		conn_close(&c);
		return EXIT_TROUBLE;
	}
	while ((buf = line_in_read(in))) {
		line = trim(buf);
		if (!*line)
			continue;
		line_in_history(in, line);
		if (!strcmp(line, "quit") || !strcmp(line, "exit"))
			break;
		if ((why = bad_line(line))) {
			fprintf(stderr, "pathcheck: %s\n", why);
			rc = EXIT_SOME_DOWN;
			continue;
		}
		if (reconnect_if_closed(&c, o)) {
			rc = EXIT_TROUBLE;
			break;
		}
		r = run_line(&c, o, line, &streamed);
		/* After a lost reply or a subscription the connection carries no more replies. */
		if (r == EXIT_TROUBLE || streamed) {
			rc = r;
			break;
		}
		if (r)
			rc = r;
	}
	line_in_close(in);
	conn_close(&c);
	return rc;
}

int client_check_line(const char *line)
{
	const char *why = bad_line(line);

	if (!why)
		return 0;
	fprintf(stderr, "pathcheck: %s\n", why);
	return -EINVAL;
}
