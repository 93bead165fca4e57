/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd fuzzed: seeded random command lines, well-formed or not
 * (PC_FUZZ_SEED=N reproduces a run), over many
 * connections; every reply is what the protocol says, the daemon answers
 * throughout and ends with the descriptors it started with.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

static char R[4 << 20];

/* --- helpers ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return pc_test_rand(&rng_state);
}

static unsigned int rn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static unsigned int count_fds(pid_t pid)
{
	char path[64];
	unsigned int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The daemon's descriptors once this is its only client (-1: never). */
static int quiet_fds(struct daemon_fx *fx)
{
	struct dconn *c;
	uint64_t v = 0;
	int n = -1;

	if (dconn_open(fx, &c))
		return -1;
	for (uint64_t t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 2000;) {
		if (dconn_cmd(c, "show stats", R, sizeof(R), fx->reply_ms) > 0 &&
		    reply_kv_u64(R, "clients", &v) && v == 1) {
			n = (int)count_fds(fx->pid);
			break;
		}
		pc_test_sleep_ms(20);
	}
	dconn_close(c);
	return n;
}

/* --- (a) fuzz -------------------------------------------------------------------------- */

#define FUZZ_TOTAL	2000	/* lines the daemon gets */
#define FUZZ_CONNS	4	/* connections between liveness checks */
#define FUZZ_LINES	50	/* at most, per connection */

static const char *const vocab[] = {
	"show", "list", "paths", "path", "stats", "status", "daemon", "metrics", "json",
	"check", "add", "del", "remove", "reconfigure", "subscribe", "help", "f0", "f1",
	"f7", "nope", "@/f0", "@/f3", "@/nothing", "@", "/dev/null", "/", "..", "-1",
	"18446744073709551616", "%s%n%x", "\\", "\"", "{}", "json json", "show show",
};

/* Appends one random line (or a final fragment, then *last) to buf. */
static size_t fuzz_line(char *buf, size_t cap, const char *dir, bool *last)
{
	size_t n = 0;
	unsigned int kind = rn(100);

#define PUT(c) do { if (n < cap) buf[n++] = (char)(c); } while (0)
	if (kind < 72) {		/* words, sometimes too many */
		unsigned int words = 1 + rn(kind < 6 ? 14 : 5);

		for (unsigned int w = 0; w < words; w++) {
			const char *v = vocab[rn(sizeof(vocab) / sizeof(vocab[0]))];

			if (w)
				for (unsigned int s = 1 + rn(2); s; s--)
					PUT(rn(4) ? ' ' : '\t');
			for (; *v; v++) {
				if (*v == '@')
					for (const char *d = dir; *d; d++)
						PUT(*d);
				else
					PUT(*v);
			}
		}
		if (rn(8) == 0)
			PUT('\r');
		PUT('\n');
	} else if (kind < 84) {		/* random bytes, NUL rarely */
		bool nul = rn(6) == 0;

		for (unsigned int i = rn(200) + 1; i; i--)
			PUT(nul ? rn(256) : 1 + rn(255));
		PUT('\n');
	} else if (kind < 88) {		/* long lines: at and over the limit */
		unsigned int len = rn(2) ? 4090 + rn(7) : 4097 + rn(12000);

		for (unsigned int i = 0; i < len; i++)
			PUT(rn(5) ? 'a' + rn(26) : ' ');
		PUT('\n');
	} else if (kind < 90) {		/* a NUL in a command */
		const char *v = "show\0paths json";

		for (unsigned int i = 0; i < 15; i++)
			PUT(v[i]);
		PUT('\n');
	} else if (kind < 97) {		/* high bytes, controls */
		static const char *const odd[] = {
			"show p\xc3\xa4ths", "check \x1b[2Jf0", "show\x7fpaths", "\r", "\r\r",
			"show paths\r\r", "subscribe\r", " \tsubscribe \t",
		};
		const char *v = odd[rn(sizeof(odd) / sizeof(odd[0]))];

		for (; *v; v++)
			PUT(*v);
		PUT('\n');
	} else {			/* no newline, then the end */
		const char *v = vocab[rn(sizeof(vocab) / sizeof(vocab[0]))];

		for (; *v; v++)
			PUT(*v == '@' ? 'x' : *v);
		*last = true;
	}
#undef PUT
	return n;
}

/*
 * What the daemon must do with a connection's bytes (docs/man/pathcheckd.8):
 * one reply per line, ended by an empty line; none after `subscribe`
 * (events have no empty line); a line of 4097 bytes or more, or with a
 * NUL, gets an error and the connection is closed.
 */
struct oracle {
	unsigned int replies;		/* empty lines to expect */
	unsigned int lines;
	bool subscribed;
	const char *close_error;	/* the daemon closes after this reply */
};

static bool is_subscribe(const char *l, size_t len)
{
	size_t b = 0, e = len;

	if (e && l[e - 1] == '\r')
		e--;
	for (size_t i = 0; i < e; i++)
		if ((unsigned char)l[i] < 0x20 && l[i] != '\t')
			return false;
	while (b < e && (l[b] == ' ' || l[b] == '\t'))
		b++;
	while (e > b && (l[e - 1] == ' ' || l[e - 1] == '\t'))
		e--;
	return e - b == 9 && !memcmp(l + b, "subscribe", 9);
}

static void oracle_line(struct oracle *o, const char *l, size_t len)
{
	o->lines++;
	if (len >= 4097) {
		o->replies++;
		o->close_error = "error: command longer than 4096 bytes";
	} else if (memchr(l, '\0', len)) {
		o->replies++;
		o->close_error = "error: NUL byte in command";
	} else if (!o->subscribed) {
		o->replies++;
		o->subscribed = is_subscribe(l, len);
	}
}

/* Cuts buf after the line that closes the connection, if any. */
static size_t oracle_feed(struct oracle *o, const char *buf, size_t len, size_t *tail)
{
	size_t off = 0;

	while (off < len && !o->close_error) {
		const char *nl = memchr(buf + off, '\n', len - off);

		if (!nl)
			break;
		oracle_line(o, buf + off, (size_t)(nl - buf - off));
		off = (size_t)(nl - buf) + 1;
	}
	*tail = o->close_error ? 0 : len - off;
	return o->close_error ? off : len;
}

struct seen {
	unsigned int replies;
	char last[160];		/* the last reply's first line */
	bool new_reply;
	bool eof;
};

/* Reads lines until want replies came (and EOF, if eof), or ms passed;
 * then a moment more, to catch a reply too many. */
static void read_replies(struct dconn *c, struct seen *s, unsigned int want, bool eof,
			 unsigned int ms)
{
	static char line[64 * 1024];
	uint64_t deadline = pc_test_now_ms() + ms;
	bool extra = false;

	s->new_reply = s->new_reply || s->replies == 0;
	while (!s->eof) {
		uint64_t now = pc_test_now_ms();
		unsigned int wait;
		int n;

		if (s->replies >= want && !eof) {
			if (extra)
				break;
			extra = true;
			wait = 30;
		} else {
			wait = now < deadline ? (unsigned int)(deadline - now) : 0;
		}
		n = wait ? dconn_line(c, line, sizeof(line), wait) : -ETIMEDOUT;
		if (n == -ECONNRESET)
			s->eof = true;
		if (n == -ETIMEDOUT || n == -ECONNRESET)
			break;
		if (n == 0) {
			s->replies++;
			s->new_reply = true;
		} else if (s->new_reply) {
			snprintf(s->last, sizeof(s->last), "%.150s", n > 0 ? line : "(long)");
			s->new_reply = false;
		}
	}
}

/*
 * One fuzz connection: random lines written in random pieces, then it ends
 * one of three ways; what the daemon sent back is held to the oracle.
 * Returns the lines the daemon got, or -1 on a wrong answer.
 */
static int fuzz_conn(struct daemon_fx *fx, uint64_t seed)
{
	static char buf[128 * 1024];
	struct oracle o = { 0 };
	struct seen seen = { 0 };
	struct dconn *c;
	bool last = false, ok = true;
	size_t len = 0, tail, cut;
	unsigned int lines = 0, ending;

	while (lines < FUZZ_LINES && !last && len < sizeof(buf) - 20000)
		len += fuzz_line(buf + len, sizeof(buf) - len, fx->dir, &last), lines++;
	cut = oracle_feed(&o, buf, len, &tail);
	ending = o.close_error ? 3 : rn(3);
	if (dconn_open(fx, &c))
		return -1;
	for (size_t off = 0; off < cut;) {
		size_t piece = 1 + rn(rn(4) ? 64 : 8192);
		int ret;

		if (piece > cut - off)
			piece = cut - off;
		ret = dconn_write(c, buf + off, piece, 5000);
		/* a line too long is cut at 4097 bytes: the rest may find it closed */
		if (ret && o.close_error && (ret == -EPIPE || ret == -ECONNRESET))
			break;
		if (ret) {
			printf("\n  fuzz: write: %s\n", strerror(-ret));
			ok = false;
			break;
		}
		off += piece;
	}
	switch (ending) {
	case 0:		/* just close */
		break;
	case 1:		/* half-close: the last fragment is a line too */
		if (tail)
			oracle_line(&o, buf + cut - tail, tail);
		shutdown(dconn_fd(c), SHUT_WR);
		read_replies(c, &seen, o.replies, !o.subscribed, fx->reply_ms);
		break;
	case 2:		/* the replies to the complete lines, then close */
		read_replies(c, &seen, o.replies, false, fx->reply_ms);
		break;
	default:	/* the daemon closes */
		read_replies(c, &seen, o.replies, true, fx->reply_ms);
		break;
	}
	if (ok && ending) {
		bool want_eof = ending == 3 || (ending == 1 && !o.subscribed);

		if (seen.replies != o.replies || seen.eof != want_eof ||
		    (o.close_error && strcmp(seen.last, o.close_error))) {
			printf("\n  fuzz (seed %" PRIu64 "): %u lines, ending %u%s: wanted %u replies%s%s%s,"
			       " got %u%s, last '%s'\n", seed, o.lines, ending,
			       o.subscribed ? " (subscribed)" : "", o.replies,
			       want_eof ? " and EOF" : "", o.close_error ? " ending " : "",
			       o.close_error ? o.close_error : "", seen.replies,
			       seen.eof ? " and EOF" : "", seen.last);
			ok = false;
		}
	}
	dconn_close(c);
	return ok ? (int)o.lines : -1;
}

static void test_fuzz(void)
{
	const char *env = getenv("PC_FUZZ_SEED");
	struct daemon_fx *fx = daemon_fx_files(8);
	uint64_t seed, v, t0 = pc_test_now_ms(), cmds0 = 0, cmds1 = 0;
	int fds0, fds1;
	unsigned int lines = 0, conns = 0, bad = 0;

	if (!fx)
		return;
	seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)pc_test_now_us() ^ (uint64_t)getpid();
	rng_state = seed;
	printf("\n  fuzz seed %" PRIu64 " (PC_FUZZ_SEED=%" PRIu64 " reproduces)\n", seed, seed);
	PC_REQUIRE(daemon_start(fx, "interval 100ms\ntimeout 2s\npath %s/f*\n", fx->dir) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 8, "ready", 200 + daemon_slack_ms()) == 0);
	fds0 = quiet_fds(fx);
	CU_ASSERT(fds0 > 0);
	CU_ASSERT(daemon_stat(fx, "commands", &cmds0));

	while (lines < FUZZ_TOTAL && conns < 400) {
		for (int k = 0; k < FUZZ_CONNS; k++, conns++) {
			int n = fuzz_conn(fx, seed);

			if (n < 0)
				bad++;
			else
				lines += (unsigned int)n;
		}
		if (daemon_exited(fx) != -EBUSY) {
			printf("\n  after %u lines: pathcheckd exited with %d (seed %" PRIu64 ")\n",
			       lines, fx->status, seed);
			daemon_log_print(fx);
			CU_FAIL("pathcheckd died under fuzzing");
			break;
		}
		/* a fresh connection is served */
		if (!daemon_stat(fx, "records", &v)) {
			printf("\n  after %u lines: no answer to show stats (seed %" PRIu64 ")\n",
			       lines, seed);
			CU_FAIL("pathcheckd stopped answering under fuzzing");
			break;
		}
		if (!daemon_log_clean(fx))
			break;
	}
	CU_ASSERT(daemon_stat(fx, "commands", &cmds1));
	printf("  %u lines in %u connections (%llu commands run), %llu ms\n", lines, conns,
	       (unsigned long long)(cmds1 - cmds0), (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(lines >= FUZZ_TOTAL);

	/* afterwards: the config's paths, all ready; no client or fd left over */
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) >= 0 && !strcmp(R, "ok\n"));
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 8, "ready", 200 + daemon_slack_ms()), 0);
	fds1 = quiet_fds(fx);
	if (fds1 != fds0)
		printf("\n  pathcheckd had %d fds before, %d after (-1: clients left over)\n",
		       fds0, fds1);
	CU_ASSERT_EQUAL(fds1, fds0);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "fuzz", test_fuzz },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_fuzz", tests, argc, argv);
}
