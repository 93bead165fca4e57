/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd under abuse: seeded random garbage on its socket
 * (PC_FUZZ_SEED=N reproduces a run), 100 clients at once while it checks,
 * clients that never read (dropped, never blocking anyone else),
 * reconfigure under load losing no path's state, the client limit, and
 * shutdown with hung reads within its bound.
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

/* splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static struct pathsim *start_sim(unsigned int n)
{
	struct pathsim *sim = NULL;
	const char *why = NULL;
	int ret = pathsim_start(&sim, n, 0, &why);

	if (ret && why)
		pc_test_skip("%s", why);
	else if (ret)
		CU_FAIL("pathsim did not start");
	return ret ? NULL : sim;
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

static bool stats_u64(struct daemon_fx *fx, const char *key, uint64_t *v)
{
	return daemon_cmd(fx, "show stats", R, sizeof(R)) > 0 && kv_u64(R, key, v);
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
		    kv_u64(R, "clients", &v) && v == 1) {
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
	struct daemon_fx *fx = daemon_files_fx(8);
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
	CU_ASSERT(stats_u64(fx, "commands", &cmds0));

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
		if (!stats_u64(fx, "records", &v)) {
			printf("\n  after %u lines: no answer to show stats (seed %" PRIu64 ")\n",
			       lines, seed);
			CU_FAIL("pathcheckd stopped answering under fuzzing");
			break;
		}
		if (!daemon_log_clean(fx))
			break;
	}
	CU_ASSERT(stats_u64(fx, "commands", &cmds1));
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

/* --- (b) 100 clients at once ------------------------------------------------------------- */

#define NCLIENTS	100
#define CLIENT_CMDS	20
#define MANY_PATHS	64

struct client_arg {
	struct daemon_fx *fx;
	pthread_barrier_t *connected, *go;
	int id;
	unsigned int done, bad;
	uint64_t max_ms;
	char why[256];
};

static void client_bad(struct client_arg *a, const char *cmd, int ret, const char *reply)
{
	if (!a->bad++)
		snprintf(a->why, sizeof(a->why), "'%s': %d '%.120s'", cmd, ret, reply);
}

static bool client_reply_ok(const char *cmd, const char *reply, int id)
{
	char want[64];
	uint64_t v;

	if (starts_with(cmd, "show paths json"))
		return starts_with(reply, "{\"paths\":[{") &&
		       count_str(reply, "{\"dev\":") == MANY_PATHS &&
		       !strcmp(reply + strlen(reply) - 4, "}]}\n");
	if (!strcmp(cmd, "show stats"))
		return kv_u64(reply, "records", &v) && v == MANY_PATHS &&
		       kv_u64(reply, "uptime_s", &v);
	snprintf(want, sizeof(want), "f%d: ready (", id % MANY_PATHS);
	return !strncmp(reply, want, strlen(want)) && !strcmp(reply + strlen(reply) - 5, " us)\n");
}

static void *client_main(void *p)
{
	struct client_arg *a = p;
	char *reply = malloc(256 * 1024), cmd[64];
	struct dconn *c = NULL;
	int ret = dconn_try_open(a->fx->sock, &c);

	pthread_barrier_wait(a->connected);
	pthread_barrier_wait(a->go);
	if (ret || !reply) {
		client_bad(a, "connect", ret, "");
		free(reply);
		return NULL;
	}
	for (int i = 0; i < CLIENT_CMDS; i++) {
		uint64_t t0 = pc_test_now_ms(), ms;

		switch ((i + a->id) % 3) {
		case 0: snprintf(cmd, sizeof(cmd), "show paths json"); break;
		case 1: snprintf(cmd, sizeof(cmd), "show stats"); break;
		default: snprintf(cmd, sizeof(cmd), "check f%d", (a->id + i) % MANY_PATHS); break;
		}
		/* odd clients also take a fresh connection now and then */
		if (a->id % 2 && i % 5 == 0)
			ret = daemon_cmd(a->fx, cmd, reply, 256 * 1024);
		else
			ret = dconn_cmd(c, cmd, reply, 256 * 1024, a->fx->reply_ms);
		ms = pc_test_now_ms() - t0;
		if (ms > a->max_ms)
			a->max_ms = ms;
		if (ret < 0 || !client_reply_ok(cmd, reply, a->id + i))
			client_bad(a, cmd, ret, ret < 0 ? "" : reply);
		else
			a->done++;
	}
	dconn_close(c);
	free(reply);
	return NULL;
}

static void test_many_clients(void)
{
	struct daemon_fx *fx = daemon_files_fx(MANY_PATHS);
	static struct client_arg args[NCLIENTS];
	pthread_t th[NCLIENTS];
	pthread_barrier_t connected, go;
	uint64_t t0, v = 0, max_ms = 0, checks0 = 0, checks1 = 0;
	unsigned int done = 0, bad = 0;
	int started = 0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 100ms\ntimeout 2s\npath %s/f*\n", fx->dir) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, MANY_PATHS, "ready", 200 + daemon_slack_ms()), 0);
	CU_ASSERT(stats_u64(fx, "checks", &checks0));
	pthread_barrier_init(&connected, NULL, NCLIENTS + 1);
	pthread_barrier_init(&go, NULL, NCLIENTS + 1);
	for (int i = 0; i < NCLIENTS; i++) {
		args[i] = (struct client_arg){ .fx = fx, .connected = &connected, .go = &go, .id = i };
		if (pthread_create(&th[i], NULL, client_main, &args[i]))
			break;
		started++;
	}
	PC_REQUIRE(started == NCLIENTS);
	pthread_barrier_wait(&connected);
	/* all 100 connected at once (and this one) */
	for (uint64_t end = pc_test_now_ms() + 5000; pc_test_now_ms() < end;) {
		if (stats_u64(fx, "clients", &v) && v == NCLIENTS + 1)
			break;
		pc_test_sleep_ms(10);
	}
	printf("\n  %llu clients connected at once\n", (unsigned long long)v);
	CU_ASSERT_EQUAL(v, NCLIENTS + 1);
	t0 = pc_test_now_ms();
	pthread_barrier_wait(&go);
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		done += args[i].done;
		bad += args[i].bad;
		if (args[i].bad)
			printf("  client %d: %u bad, first: %s\n", i, args[i].bad, args[i].why);
		if (args[i].max_ms > max_ms)
			max_ms = args[i].max_ms;
	}
	printf("  %u replies in %llu ms, slowest %llu ms\n", done,
	       (unsigned long long)(pc_test_now_ms() - t0), (unsigned long long)max_ms);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(done, NCLIENTS * CLIENT_CMDS);
	/* and it kept checking meanwhile */
	CU_ASSERT(stats_u64(fx, "checks", &checks1));
	CU_ASSERT(checks1 > checks0);
	CU_ASSERT(stats_u64(fx, "schedule_slips", &v));
	printf("  checks %llu -> %llu, schedule slips %llu\n", (unsigned long long)checks0,
	       (unsigned long long)checks1, (unsigned long long)v);
	pthread_barrier_destroy(&connected);
	pthread_barrier_destroy(&go);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- (c) clients that never read --------------------------------------------------------- */

#define FLAKY_PATHS	48
#define CTL_STALL_MS	10000	/* pathcheckd(8): output stalled this long, dropped */

/* Sends what the socket takes now, without ever reading. */
static size_t stuff(int fd, const char *line, unsigned int times)
{
	size_t sent = 0, len = strlen(line);

	for (unsigned int i = 0; i < times; i++) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		sent += (size_t)n;
		if ((size_t)n < len)
			break;
	}
	return sent;
}

/* Reads a subscriber's events, checking seq has no gap: waits ms for the
 * first, then takes what is there (or, settle, waits ms for each). */
static void read_sub(struct dconn *c, unsigned long long *last_seq, unsigned long long *n,
		     unsigned int *gaps, unsigned int ms, bool settle)
{
	char line[2048];
	long long seq;

	while (dconn_line(c, line, sizeof(line), ms) > 0) {
		if (!json_int(line, "seq", &seq)) {
			(*gaps)++;
			continue;
		}
		if (*last_seq && (unsigned long long)seq != *last_seq + 1)
			(*gaps)++;
		*last_seq = (unsigned long long)seq;
		(*n)++;
		if (!settle)
			ms = 0;
	}
}

static void test_slow_clients(void)
{
	struct pathsim *sim = start_sim(FLAKY_PATHS + 1);
	struct daemon_fx *fx;
	struct dconn *lazy_sub, *lazy_cmd, *sub, *c;
	unsigned long long last_seq = 0, events = 0;
	unsigned int gaps = 0, queries = 0, slow = 0;
	uint64_t t0, t_stuff, t_both, max_ms = 0, dropped = 0, first_drop = 0, v;
	char target[32];
	size_t stuffed;
	int ret;

	if (!sim)
		return;
	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	daemon_fx_attach_sim(fx, sim);
	/* no flapping (marginal) detection: every transition an event */
	PC_REQUIRE(daemon_start(fx, "interval 20ms\ntimeout 2s\nflap_threshold 1000\n"
				"path %s/p*\n", pathsim_mountpoint(sim)) == 0);
	PC_REQUIRE(daemon_wait_states(fx, FLAKY_PATHS + 1, "ready", 40 + daemon_slack_ms()) == 0);

	/* the one that reads, the ones that do not */
	PC_REQUIRE(dconn_open(fx, &sub) == 0);
	PC_REQUIRE(dconn_cmd(sub, "subscribe", R, sizeof(R), fx->reply_ms) == 0);
	PC_REQUIRE(dconn_open(fx, &lazy_sub) == 0);
	PC_REQUIRE(dconn_cmd(lazy_sub, "subscribe", R, sizeof(R), fx->reply_ms) == 0);
	PC_REQUIRE(dconn_open(fx, &lazy_cmd) == 0);
	t_stuff = pc_test_now_ms();
	stuffed = stuff(dconn_fd(lazy_cmd), "show paths json\n", 1000);
	printf("\n  %zu bytes of commands sent by a client that never reads", stuffed);
	snprintf(target, sizeof(target), "0-%d", FLAKY_PATHS - 1);
	PC_REQUIRE(pathsim_set(sim, target, "flaky:0.5") == 0);

	/* everyone else is served promptly until both are dropped */
	t0 = pc_test_now_ms();
	while (pc_test_now_ms() - t0 < CTL_STALL_MS + 1000 + 2 * daemon_slack_ms()) {
		uint64_t q0 = pc_test_now_ms(), ms;

		ret = dconn_open(fx, &c);
		if (!ret)
			ret = dconn_cmd(c, "show stats", R, sizeof(R), 5000);
		dconn_close(c);
		ms = pc_test_now_ms() - q0;
		queries++;
		if (ms > max_ms)
			max_ms = ms;
		if (ret <= 0 || ms >= 1000) {
			printf("\n  show stats: %d after %llu ms", ret, (unsigned long long)ms);
			slow++;
		}
		if (ret > 0 && kv_u64(R, "clients_dropped", &dropped) && dropped && !first_drop)
			first_drop = pc_test_now_ms() - t0;
		if (dropped >= 2)
			break;
		read_sub(sub, &last_seq, &events, &gaps, 100, false);
	}
	t_both = pc_test_now_ms() - t_stuff;
	printf("\n  first dropped after %llu ms, both after %llu ms (clients_dropped %llu); "
	       "%u queries, slowest %llu ms; the reading subscriber got %llu events\n",
	       (unsigned long long)first_drop, (unsigned long long)t_both,
	       (unsigned long long)dropped, queries,
	       (unsigned long long)max_ms, events);
	{
		char *log = daemon_log(fx);

		for (char *l = strstr(log, "control client"); l; l = strstr(l + 1, "control client"))
			printf("  %.*s\n", (int)strcspn(l, "\n"), l);
		free(log);
	}
	CU_ASSERT_EQUAL(slow, 0);
	CU_ASSERT_EQUAL(dropped, 2);
	/* the one with commands stalled: dropped after 10 s of no progress, not before */
	CU_ASSERT(t_both >= CTL_STALL_MS);
	CU_ASSERT(t_both <= CTL_STALL_MS + 1000 + daemon_slack_ms());
	/* the subscriber for its backlog (> 1 MiB), the other for its stall */
	CU_ASSERT_EQUAL(daemon_log_count(fx, "dropped: subscriber not reading its events"), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "dropped: not reading its replies"), 1);
	CU_ASSERT(first_drop < CTL_STALL_MS);
	/* the dropped ones see their stream end */
	CU_ASSERT_EQUAL(dconn_wait_eof(lazy_sub, 5000), 0);
	CU_ASSERT_EQUAL(dconn_wait_eof(lazy_cmd, 5000), 0);
	dconn_close(lazy_sub);
	dconn_close(lazy_cmd);

	/* the reading subscriber lost nothing and is still served */
	PC_REQUIRE(pathsim_set(sim, "all", "up") == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, FLAKY_PATHS + 1, "ready", 20 + daemon_slack_ms()), 0);
	read_sub(sub, &last_seq, &events, &gaps, 300, true);
	CU_ASSERT_EQUAL(gaps, 0);
	CU_ASSERT(events > 100);
	CU_ASSERT(stats_u64(fx, "transitions", &v));
	CU_ASSERT_EQUAL(last_seq, v);
	CU_ASSERT(stats_u64(fx, "subscribers", &v) && v == 1);
	dconn_close(sub);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

/* --- (d) reconfigure under load ---------------------------------------------------------- */

#define KEPT		200
#define EXTRA		10
#define RECONFIGS	20
#define QUERIERS	3

enum { HUNG_A = 5, HUNG_B = 6, EIO_A = 7, EIO_B = 8 };

struct path_seen {
	long long checks, transitions;
};

struct querier {
	struct daemon_fx *fx;
	int *stop;		/* atomic */
	struct path_seen seen[KEPT];
	unsigned int snapshots, bad;
	char why[512];
	char *reply;
};

static const char *want_state(int i)
{
	if (i == HUNG_A || i == HUNG_B)
		return "i/o timeout";
	if (i == EIO_A || i == EIO_B)
		return "faulty";
	return "ready";
}

static void __attribute__((format(printf, 2, 3)))
querier_bad(struct querier *q, const char *fmt, ...)
{
	va_list ap;

	if (q->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
}

/* One snapshot: every kept path there, in its state, counters not going back. */
static void querier_check(struct querier *q, const char *reply)
{
	const char *p = reply;
	bool present[KEPT] = { false };

	while ((p = strstr(p, "{\"dev\":\"p"))) {
		const char *end = strchr(p, '}');
		char obj[1024], st[32];
		long long checks, transitions;
		int i = atoi(p + 9);

		if (!end || (size_t)(end - p) >= sizeof(obj)) {
			querier_bad(q, "bad object at p%d", i);
			return;
		}
		memcpy(obj, p, (size_t)(end - p + 1));
		obj[end - p + 1] = '\0';
		p = end;
		if (i >= KEPT)
			continue;
		present[i] = true;
		if (!json_str(obj, "chk_st", st, sizeof(st)) || strcmp(st, want_state(i)) ||
		    !json_int(obj, "checks", &checks) || !json_int(obj, "transitions", &transitions)) {
			querier_bad(q, "p%d: wrong state or fields: %s", i, obj);
			continue;
		}
		if (checks < q->seen[i].checks)
			querier_bad(q, "p%d: checks went back from %lld to %lld", i,
				    q->seen[i].checks, checks);
		if (q->seen[i].transitions && transitions != q->seen[i].transitions)
			querier_bad(q, "p%d: transitions changed from %lld to %lld", i,
				    q->seen[i].transitions, transitions);
		q->seen[i].checks = checks;
		q->seen[i].transitions = transitions;
	}
	for (int i = 0; i < KEPT; i++)
		if (!present[i])
			querier_bad(q, "p%d missing from show paths", i);
	q->snapshots++;
}

static void *querier_main(void *p)
{
	struct querier *q = p;

	while (!__atomic_load_n(q->stop, __ATOMIC_ACQUIRE)) {
		int n = daemon_cmd(q->fx, "show paths json", q->reply, 1 << 20);

		if (n < 0) {
			querier_bad(q, "show paths json: %s", strerror(-n));
			break;
		}
		querier_check(q, q->reply);
	}
	return NULL;
}

static int write_paths_config(struct daemon_fx *fx, struct pathsim *sim, unsigned int n)
{
	size_t cap = 256 + (size_t)n * (PATH_MAX / 8);
	char *text = malloc(cap);
	size_t o;
	int ret;

	if (!text)
		return -ENOMEM;
	o = (size_t)snprintf(text, cap, "interval 100ms\ntimeout 300ms\n");
	for (unsigned int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(text + o, cap - o, "path %s\n", pathsim_dev(sim, i));
	ret = daemon_config(fx, "%s", text);
	free(text);
	return ret;
}

static bool snapshot_ok(struct daemon_fx *fx, struct path_seen *seen)
{
	char st[32];

	if (daemon_cmd(fx, "show paths json", R, sizeof(R)) < 0)
		return false;
	for (int i = 0; i < KEPT; i++) {
		char dev[16], obj[1024];

		snprintf(dev, sizeof(dev), "p%d", i);
		if (!json_path(R, dev, obj, sizeof(obj)) || !json_str(obj, "chk_st", st, sizeof(st)) ||
		    strcmp(st, want_state(i)))
			return false;
		if (seen) {
			json_int(obj, "checks", &seen[i].checks);
			json_int(obj, "transitions", &seen[i].transitions);
		}
	}
	return true;
}

static void test_reconfigure_under_load(void)
{
	struct pathsim *sim = start_sim(KEPT + EXTRA);
	struct daemon_fx *fx;
	static struct querier qs[QUERIERS];
	static struct path_seen base[KEPT], end[KEPT];
	struct pathsim_counts pc;
	pthread_t th[QUERIERS];
	int stop = 0;
	unsigned int bad = 0, snapshots = 0, wrong_count = 0;
	uint64_t t0, v;
	bool settled = false;

	if (!sim)
		return;
	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	daemon_fx_attach_sim(fx, sim);
	PC_REQUIRE(write_paths_config(fx, sim, KEPT) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, KEPT, "ready", 200 + daemon_slack_ms()), 0);
	PC_REQUIRE(pathsim_set(sim, "5-6", "hung") == 0);
	PC_REQUIRE(pathsim_set(sim, "7-8", "eio") == 0);
	for (t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 100 + 300 + daemon_slack_ms();) {
		if ((settled = snapshot_ok(fx, base)))
			break;
		pc_test_sleep_ms(20);
	}
	CU_ASSERT(settled);
	PC_REQUIRE(settled);

	for (int i = 0; i < QUERIERS; i++) {
		qs[i] = (struct querier){ .fx = fx, .stop = &stop, .reply = malloc(1 << 20) };
		PC_REQUIRE(qs[i].reply != NULL);
		memcpy(qs[i].seen, base, sizeof(base));
		PC_REQUIRE(pthread_create(&th[i], NULL, querier_main, &qs[i]) == 0);
	}
	t0 = pc_test_now_ms();
	for (int r = 0; r < RECONFIGS; r++) {
		/* A A B B A A ...: the same config again, then 10 more paths, then not */
		unsigned int n = (r / 2) % 2 ? KEPT + EXTRA : KEPT;
		char dev[16];

		CU_ASSERT_EQUAL(write_paths_config(fx, sim, n), 0);
		CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) >= 0 && !strcmp(R, "ok\n"));
		CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) >= 0);
		if (count_str(R, "{\"dev\":") != n) {
			printf("\n  after reconfigure %d: %u paths, wanted %u\n", r,
			       count_str(R, "{\"dev\":"), n);
			wrong_count++;
		}
		snprintf(dev, sizeof(dev), "\"p%d\"", KEPT + EXTRA - 1);
		CU_ASSERT_EQUAL(strstr(R, dev) != NULL, n > KEPT);
		pc_test_sleep_ms(100);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < QUERIERS; i++) {
		pthread_join(th[i], NULL);
		bad += qs[i].bad;
		snapshots += qs[i].snapshots;
		if (qs[i].bad)
			printf("\n  querier %d: %u bad, first: %s\n", i, qs[i].bad, qs[i].why);
		free(qs[i].reply);
	}
	printf("\n  %d reconfigures in %llu ms, %u snapshots of %d paths checked meanwhile\n",
	       RECONFIGS, (unsigned long long)(pc_test_now_ms() - t0), snapshots, KEPT);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(wrong_count, 0);
	CU_ASSERT(snapshots >= RECONFIGS);

	/* nothing reset: the same transitions, checks only up, hung reads not doubled */
	CU_ASSERT(snapshot_ok(fx, end));
	for (int i = 0; i < KEPT; i++) {
		if (end[i].transitions != base[i].transitions || end[i].checks < base[i].checks)
			printf("\n  p%d: transitions %lld -> %lld, checks %lld -> %lld\n", i,
			       base[i].transitions, end[i].transitions, base[i].checks, end[i].checks);
		CU_ASSERT_EQUAL(end[i].transitions, base[i].transitions);
		CU_ASSERT(end[i].checks >= base[i].checks);
	}
	CU_ASSERT(end[0].checks > base[0].checks);
	CU_ASSERT_EQUAL(pathsim_counts(sim, HUNG_A, &pc), 0);
	CU_ASSERT_EQUAL(pc.hung, 1);
	CU_ASSERT_EQUAL(pathsim_counts(sim, HUNG_B, &pc), 0);
	CU_ASSERT_EQUAL(pc.hung, 1);
	CU_ASSERT(stats_u64(fx, "reconfigures", &v) && v == RECONFIGS);
	CU_ASSERT(stats_u64(fx, "reconfigure_errors", &v) && v == 0);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

/* --- (e) the client limit ----------------------------------------------------------------- */

#define CLIENT_LIMIT 1024

static void test_client_limit(void)
{
	struct daemon_fx *fx;
	static struct dconn *conns[CLIENT_LIMIT];
	struct dconn *extra;
	struct rlimit rl;
	int opened = 0, ret;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < CLIENT_LIMIT + 200) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < CLIENT_LIMIT + 200)
		PC_SKIP("RLIMIT_NOFILE %llu: too few descriptors for %d clients",
			(unsigned long long)rl.rlim_cur, CLIENT_LIMIT);
	fx = daemon_files_fx(2);
	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
	/* the first: once it is the only client, the count is exact */
	PC_REQUIRE(dconn_open(fx, &conns[0]) == 0);
	for (uint64_t t0 = pc_test_now_ms(), v = 0; v != 1;) {
		CU_ASSERT(dconn_cmd(conns[0], "show stats", R, sizeof(R), fx->reply_ms) > 0);
		PC_REQUIRE(kv_u64(R, "clients", &v));
		PC_REQUIRE(pc_test_now_ms() - t0 < 2000);
	}
	/* each one served, so accepted */
	for (opened = 1; opened < CLIENT_LIMIT; opened++) {
		if (dconn_open(fx, &conns[opened]))
			break;
		if (dconn_cmd(conns[opened], "show status json", R, sizeof(R), fx->reply_ms) <= 0 ||
		    !starts_with(R, "{\"paths\":2,")) {
			printf("\n  client %d: '%s'\n", opened + 1, R);
			dconn_close(conns[opened]);
			break;
		}
	}
	CU_ASSERT_EQUAL(opened, CLIENT_LIMIT);
	/* one more: refused with a reason */
	PC_REQUIRE(dconn_open(fx, &extra) == 0);
	ret = dconn_reply(extra, R, sizeof(R), fx->reply_ms);
	CU_ASSERT(ret > 0 && !strcmp(R, "error: too many clients\n"));
	CU_ASSERT_EQUAL(dconn_wait_eof(extra, fx->reply_ms), 0);
	dconn_close(extra);
	/* one leaves: room again */
	dconn_close(conns[--opened]);
	for (uint64_t t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 2000;) {
		ret = dconn_open(fx, &extra);
		if (!ret)
			ret = dconn_cmd(extra, "show status json", R, sizeof(R), fx->reply_ms);
		dconn_close(extra);
		if (ret > 0 && starts_with(R, "{\"paths\":2,"))
			break;
		pc_test_sleep_ms(20);
	}
	CU_ASSERT(ret > 0 && starts_with(R, "{\"paths\":2,"));
	for (int i = 0; i < opened; i++)
		dconn_close(conns[i]);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/* --- (f) shutdown with hung reads ------------------------------------------------------- */

#define HUNG_PATHS	50
#define SHUTDOWN_MS	1000

/* Waits until each of the n paths has one read held by pathsim. */
static bool all_hung(struct pathsim *sim, unsigned int n, unsigned int ms)
{
	uint64_t t0 = pc_test_now_ms();

	do {
		unsigned int hung = 0;

		for (unsigned int i = 0; i < n; i++) {
			struct pathsim_counts pc;

			hung += pathsim_counts(sim, i, &pc) == 0 && pc.hung == 1;
		}
		if (hung == n)
			return true;
		pc_test_sleep_ms(10);
	} while (pc_test_now_ms() - t0 < ms);
	return false;
}

/*
 * Ends the daemon one way ("shutdown" or SIGTERM) with HUNG_PATHS reads
 * hung: it must log "stopped in N ms" within shutdown_timeout + 1 s, then
 * exit 0 once pathsim lets the reads go.
 */
static void stop_hung(struct daemon_fx *fx, struct pathsim *sim, bool by_command)
{
	uint64_t t0, logged;
	unsigned int n = 0;
	char *log, *at;
	int st;

	PC_REQUIRE(daemon_start(fx, "interval 100ms\ntimeout 10s\nshutdown_timeout %ums\n"
				"path %s/p*\n", SHUTDOWN_MS, pathsim_mountpoint(sim)) == 0);
	CU_ASSERT(all_hung(sim, HUNG_PATHS, 100 + daemon_slack_ms()));
	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	{
		uint64_t inflight = 0;

		CU_ASSERT(kv_u64(R, "inflight", &inflight) && inflight == HUNG_PATHS);
	}
	t0 = pc_test_now_ms();
	if (by_command) {
		CU_ASSERT(daemon_cmd(fx, "shutdown", R, sizeof(R)) > 0 && !strcmp(R, "ok\n"));
	} else {
		CU_ASSERT_EQUAL(kill(fx->pid, SIGTERM), 0);
	}
	CU_ASSERT_EQUAL(daemon_log_wait(fx, "pathcheckd: stopped in ", SHUTDOWN_MS + 1000), 0);
	logged = pc_test_now_ms() - t0;
	log = daemon_log(fx);
	at = strstr(log, "pathcheckd: stopped in ");
	CU_ASSERT(at && sscanf(at, "pathcheckd: stopped in %u ms", &n) == 1);
	printf("\n  %s: 'stopped in %u ms' logged %llu ms after\n",
	       by_command ? "shutdown" : "SIGTERM", n, (unsigned long long)logged);
	free(log);
	CU_ASSERT(logged <= SHUTDOWN_MS + 1000);
	CU_ASSERT(n <= SHUTDOWN_MS + 1000);
	/* the reads are let go: it exits, cleanly */
	PC_REQUIRE(pathsim_release(sim) == 0);
	st = daemon_wait_exit(fx, 5000);
	CU_ASSERT_EQUAL(st, 0);
	daemon_stop(fx);	/* only checks status and log now */
	CU_ASSERT_NOT_EQUAL(access(fx->sock, F_OK), 0);
}

static void test_shutdown_hung(void)
{
	struct pathsim *sim = start_sim(HUNG_PATHS);
	struct daemon_fx *fx;

	if (!sim)
		return;
	PC_REQUIRE(pathsim_set(sim, "all", "hung") == 0);
	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	daemon_fx_attach_sim(fx, sim);
	stop_hung(fx, sim, true);
	daemon_fx_free(fx);

	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	daemon_fx_attach_sim(fx, sim);
	stop_hung(fx, sim, false);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "fuzz", test_fuzz },
		{ "many_clients", test_many_clients },
		{ "slow_clients", test_slow_clients },
		{ "reconfigure_under_load", test_reconfigure_under_load },
		{ "client_limit", test_client_limit },
		{ "shutdown_hung", test_shutdown_hung },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_robust", tests, argc, argv);
}
