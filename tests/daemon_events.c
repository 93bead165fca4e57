/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's transitions over pathsim paths: paths made to fail, hang
 * and come back are seen by every subscriber exactly once each, in order,
 * with a daemon-wide seq that has no gap; `show paths` agrees with
 * pathsim's modes; `check` on a hung path answers within the path's
 * timeout; a flaky path's events match its counters and pathsim's reads.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

#define NPATHS		8
#define INTERVAL_MS	200
#define TIMEOUT_MS	500
#define MAX_EVENTS	4096

static char R[1 << 20];

struct ev {
	unsigned long long seq;
	char dev[32], from[16], to[16], reason[64];
	long long error;
	char line[1024];
};

struct sub {
	struct dconn *c;
	struct ev *ev;
	unsigned int n;
	bool broken;		/* a line that is not an event */
};

static bool parse_event(const char *line, struct ev *e)
{
	long long seq;

	memset(e, 0, sizeof(*e));
	if (strlen(line) >= sizeof(e->line))
		return false;
	memcpy(e->line, line, strlen(line) + 1);
	return reply_starts_with(line, "{\"event\":\"state\",") && line[strlen(line) - 1] == '}' &&
	       reply_json_int(line, "seq", &seq) && seq > 0 &&
	       reply_json_str(line, "dev", e->dev, sizeof(e->dev)) &&
	       reply_json_str(line, "from", e->from, sizeof(e->from)) &&
	       reply_json_str(line, "to", e->to, sizeof(e->to)) &&
	       reply_json_str(line, "reason", e->reason, sizeof(e->reason)) &&
	       reply_json_int(line, "error", &e->error) &&
	       (e->seq = (unsigned long long)seq);
}

/* Connects and subscribes (then half-closes, if asked: events go on). */
static int sub_open(struct daemon_fx *fx, struct sub *s, bool half_close)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->ev = calloc(MAX_EVENTS, sizeof(*s->ev));
	if (!s->ev)
		return -ENOMEM;
	ret = dconn_open(fx, &s->c);
	if (!ret)
		ret = dconn_cmd(s->c, "subscribe", R, sizeof(R), fx->reply_ms);
	if (ret > 0 || (ret == 0 && R[0])) {
		printf("\n  subscribe: '%s'\n", R);
		return -EPROTO;
	}
	if (!ret && half_close && shutdown(dconn_fd(s->c), SHUT_WR))
		ret = -errno;
	return ret;
}

static void sub_close(struct sub *s)
{
	dconn_close(s->c);
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

/* Reads one event line within ms: 1, 0 on timeout, -errno. */
static int sub_read(struct sub *s, unsigned int ms)
{
	char line[1024];
	int n = dconn_line(s->c, line, sizeof(line), ms);

	if (n == -ETIMEDOUT)
		return 0;
	if (n < 0)
		return n;
	if (s->n == MAX_EVENTS || !parse_event(line, &s->ev[s->n])) {
		printf("\n  not an event (or too many): '%s'\n", line);
		s->broken = true;
		return -EPROTO;
	}
	s->n++;
	return 1;
}

/* Reads events until one for dev going to `to` comes: its index, or -1
 * after ms. */
static int sub_until(struct sub *s, const char *dev, const char *to, unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	unsigned int from = s->n;

	for (;;) {
		uint64_t now = pc_test_now_ms();

		for (; from < s->n; from++)
			if (!strcmp(s->ev[from].dev, dev) && !strcmp(s->ev[from].to, to))
				return (int)from;
		if (now >= deadline || sub_read(s, (unsigned int)(deadline - now)) < 0)
			break;
	}
	printf("\n  no event %s -> %s within %u ms\n", dev, to, ms);
	return -1;
}

/* Reads until nothing came for quiet_ms. */
static void sub_drain(struct sub *s, unsigned int quiet_ms)
{
	while (sub_read(s, quiet_ms) > 0)
		;
}

/* The events of one path, "from>to" joined by spaces. */
static void sub_path(const struct sub *s, const char *dev, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < s->n && o < len; i++)
		if (!strcmp(s->ev[i].dev, dev))
			o += (size_t)snprintf(out + o, len - o, "%s%s>%s", o ? " " : "",
					      s->ev[i].from, s->ev[i].to);
}

/*
 * What holds of any event stream: seq goes up by exactly one (no event
 * lost, none twice), and each path's events chain (each starts where the
 * last one ended; only the first may come from undef).
 */
static void check_stream(const struct sub *s)
{
	CU_ASSERT_FALSE(s->broken);
	for (unsigned int i = 1; i < s->n; i++) {
		if (s->ev[i].seq != s->ev[i - 1].seq + 1)
			printf("\n  seq %llu after %llu\n", s->ev[i].seq, s->ev[i - 1].seq);
		CU_ASSERT_EQUAL(s->ev[i].seq, s->ev[i - 1].seq + 1);
	}
	for (unsigned int i = 0; i < s->n; i++) {
		const char *prev = NULL;

		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(s->ev[j].dev, s->ev[i].dev))
				prev = s->ev[j].to;
		if (prev ? strcmp(prev, s->ev[i].from) != 0 : false)
			printf("\n  %s: event from %s after one to %s\n", s->ev[i].dev,
			       s->ev[i].from, prev);
		CU_ASSERT(prev ? !strcmp(prev, s->ev[i].from) : true);
		CU_ASSERT(prev ? strcmp(s->ev[i].from, "undef") != 0 : true);
		CU_ASSERT_STRING_NOT_EQUAL(s->ev[i].from, s->ev[i].to);
		CU_ASSERT_STRING_NOT_EQUAL(s->ev[i].to, "undef");
	}
}

/*
 * The stream accounts for every transition of the daemon: its last seq is
 * the daemon's transition count, and per path, the events seen are the
 * path's transitions, less the first result when that came before the
 * subscription; the first seq counts those.
 */
static void check_accounts(struct daemon_fx *fx, const struct sub *s, const char *const *devs,
			   unsigned int ndevs)
{
	uint64_t transitions = 0;
	unsigned int missed_first = 0;

	CU_ASSERT(daemon_cmd(fx, "show stats", R, sizeof(R)) > 0);
	CU_ASSERT(reply_kv_u64(R, "transitions", &transitions));
	CU_ASSERT(s->n > 0);
	if (!s->n)
		return;
	CU_ASSERT_EQUAL(s->ev[s->n - 1].seq, transitions);
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	for (unsigned int d = 0; d < ndevs; d++) {
		char obj[2048];
		long long t = -1;
		unsigned int seen = 0;
		bool first = false;

		CU_ASSERT(reply_json_path(R, devs[d], obj, sizeof(obj)) &&
			  reply_json_int(obj, "transitions", &t));
		for (unsigned int i = 0; i < s->n; i++) {
			if (strcmp(s->ev[i].dev, devs[d]))
				continue;
			first |= !strcmp(s->ev[i].from, "undef");
			seen++;
		}
		missed_first += !first;
		if ((long long)seen + !first != t)
			printf("\n  %s: %u events seen%s, the daemon says %lld transitions\n",
			       devs[d], seen, first ? " (from undef)" : "", t);
		CU_ASSERT_EQUAL((long long)seen + !first, t);
	}
	CU_ASSERT_EQUAL(s->ev[0].seq, missed_first + 1);
}

/* pathsim's mode, in chk_st words. */
static const char *expected_chk(const char *mode)
{
	if (!strcmp(mode, "up"))
		return "ready";
	if (!strcmp(mode, "eio") || !strcmp(mode, "short"))
		return "faulty";
	if (!strcmp(mode, "hung"))
		return "i/o timeout";
	return "?";
}

/* `check dev` within ms: the reply in R and how long it took, or -1. */
static long long timed_check(struct daemon_fx *fx, const char *dev, unsigned int ms)
{
	char cmd[64];
	uint64_t t0 = pc_test_now_ms();
	unsigned int saved = fx->reply_ms;
	int n;

	snprintf(cmd, sizeof(cmd), "check %s", dev);
	fx->reply_ms = ms;
	n = daemon_cmd(fx, cmd, R, sizeof(R));
	fx->reply_ms = saved;
	return n > 0 ? (long long)(pc_test_now_ms() - t0) : -1;
}

/*
 * The scene of the transition tests: a daemon over NPATHS pathsim paths,
 * all ready, and two subscribers, A, and B (half-closed) a moment later.
 * Each test changes some paths, then scene_end() checks the invariants.
 */
struct scene {
	struct pathsim *sim;
	struct daemon_fx *fx;
	struct sub a, b;
	unsigned int slack;
};

static const char *const devs[NPATHS] = { "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7" };

/* False after a skip or a failure (already reported); then nothing to free. */
static bool scene_start(struct scene *s)
{
	memset(s, 0, sizeof(*s));
	s->slack = daemon_slack_ms();
	s->sim = pathsim_start_or_skip(NPATHS, 0);
	if (!s->sim)
		return false;
	s->fx = daemon_fx_new_sim(s->sim);
	if (!s->fx)
		goto fail;
	if (daemon_start(s->fx, "interval %ums\ntimeout %ums\npath %s/p*\n", INTERVAL_MS,
			 TIMEOUT_MS, pathsim_mountpoint(s->sim)) ||
	    sub_open(s->fx, &s->a, false) || sub_open(s->fx, &s->b, true)) {
		CU_FAIL("the scene did not start");
		goto fail;
	}
	CU_ASSERT_EQUAL(daemon_wait_states(s->fx, NPATHS, "ready", 2 * INTERVAL_MS + s->slack), 0);
	return true;
fail:
	sub_close(&s->a);
	sub_close(&s->b);
	daemon_fx_free(s->fx);
	pathsim_stop(s->sim);
	return false;
}

/* Invariant: once settled, `show paths` says what pathsim's modes make. */
static void invariant_show_paths_is_pathsim(struct scene *s)
{
	pc_test_sleep_ms(3 * INTERVAL_MS);
	CU_ASSERT(daemon_cmd(s->fx, "show paths json", R, sizeof(R)) > 0);
	for (unsigned int p = 0; p < NPATHS; p++) {
		char mode[32] = "", obj[2048], st[32] = "";

		CU_ASSERT_EQUAL(pathsim_mode(s->sim, p, mode, sizeof(mode)), 0);
		CU_ASSERT(reply_json_path(R, devs[p], obj, sizeof(obj)) &&
			  reply_json_str(obj, "chk_st", st, sizeof(st)));
		if (strcmp(st, expected_chk(mode)))
			printf("\n  %s: pathsim %s, daemon %s\n", devs[p], mode, st);
		CU_ASSERT_STRING_EQUAL(st, expected_chk(mode));
	}
}

/* B subscribed a moment after A, before any change: from there on, the same bytes. */
static void check_same_stream(const struct sub *a, const struct sub *b)
{
	unsigned int off = (unsigned int)(b->ev[0].seq - a->ev[0].seq);
	int first_change = -1;

	CU_ASSERT(b->ev[0].seq >= a->ev[0].seq);
	for (unsigned int k = 0; k < a->n && first_change < 0; k++)
		if (strcmp(a->ev[k].from, "undef"))
			first_change = (int)k;
	CU_ASSERT_EQUAL(a->n, b->n + off);
	CU_ASSERT(first_change >= 0 && (unsigned int)first_change >= off);
	for (unsigned int k = off; k < a->n || k - off < b->n; k++) {
		const char *la = k < a->n ? a->ev[k].line : "(none)";
		const char *lb = k - off < b->n ? b->ev[k - off].line : "(none)";

		if (strcmp(la, lb))
			printf("\n  event %u differs:\n  A: %s\n  B: %s\n", k, la, lb);
		CU_ASSERT_STRING_EQUAL(la, lb);
	}
}

/*
 * Invariant: every event once, in order, the same for both subscribers;
 * path p's events (after its first result) are want[p]; the stream
 * accounts for every transition the daemon counts.
 */
static void invariant_streams(struct scene *s, const char *const want[NPATHS])
{
	char got[1024];
	const char *rest;

	sub_drain(&s->a, 300);
	sub_drain(&s->b, 300);
	check_stream(&s->a);
	check_stream(&s->b);
	PC_REQUIRE(s->a.n > 0 && s->b.n > 0);
	check_same_stream(&s->a, &s->b);
	for (unsigned int p = 0; p < NPATHS; p++) {
		sub_path(&s->a, devs[p], got, sizeof(got));
		/* the first result, if it came after we subscribed */
		rest = reply_starts_with(got, "undef>ready") ? got + 11 + (got[11] == ' ') : got;
		if (strcmp(rest, want[p]))
			printf("\n  %s: events '%s', wanted '%s'\n", devs[p], got, want[p]);
		CU_ASSERT_STRING_EQUAL(rest, want[p]);
	}
	check_accounts(s->fx, &s->a, devs, NPATHS);
}

/* Both invariants, the log's count of down lines (one a transition), and the end. */
static void scene_end(struct scene *s, const char *const want[NPATHS], unsigned int downs)
{
	invariant_show_paths_is_pathsim(s);
	invariant_streams(s, want);
	CU_ASSERT_EQUAL(daemon_log_count(s->fx, "directio checker reports path is down"), downs);
	sub_close(&s->a);
	sub_close(&s->b);
	daemon_stop(s->fx);
	daemon_fx_free(s->fx);
	pathsim_stop(s->sim);
}

/* Sets dev's mode: the index in A's stream of the event dev -> to, or -1. */
static int set_mode_until(struct scene *s, const char *dev, const char *mode, const char *to)
{
	int i = -1;

	CU_ASSERT_EQUAL(pathsim_set(s->sim, dev, mode), 0);
	i = sub_until(&s->a, dev, to, INTERVAL_MS + s->slack);
	CU_ASSERT(i >= 0);
	return i;
}

/* p1 answers EIO: one event ready -> faulty, with the errno. */
static void test_eio(void)
{
	static const char *const want[NPATHS] = { "", "ready>faulty", "", "", "", "", "", "" };
	struct scene s;
	uint64_t t0 = pc_test_now_ms();
	int i;

	if (!scene_start(&s))
		return;
	i = set_mode_until(&s, "p1", "eio", "faulty");
	if (i >= 0) {
		CU_ASSERT_STRING_EQUAL(s.a.ev[i].from, "ready");
		CU_ASSERT_STRING_EQUAL(s.a.ev[i].reason, "io error: Input/output error");
		CU_ASSERT_EQUAL(s.a.ev[i].error, 5);
		CU_ASSERT_PTR_NOT_NULL(strstr(s.a.ev[i].line, "\"state\":\"down\""));
	}
	printf("\n  p1 faulty after %llu ms\n", (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT_EQUAL(daemon_log_count(s.fx, "p1: directio checker reports path is down "
					 "(io error: Input/output error)"), 1);
	scene_end(&s, want, 1);
}

/* Sets p2 hung: when, once the reads started before are answered. */
static uint64_t hang_p2(struct scene *s)
{
	uint64_t t0 = pc_test_now_ms();

	CU_ASSERT_EQUAL(pathsim_set(s->sim, "p2", "hung"), 0);
	pc_test_sleep_ms(50);	/* reads started before the set are answered */
	return t0;
}

/* p2 was set hung at t0: its event ready -> i/o timeout comes after the read's deadline. */
static void wait_p2_timeout(struct scene *s, uint64_t t0)
{
	int i;

	i = sub_until(&s->a, "p2", "i/o timeout", INTERVAL_MS + TIMEOUT_MS + s->slack);
	CU_ASSERT(i >= 0);
	if (i >= 0) {
		CU_ASSERT_STRING_EQUAL(s->a.ev[i].from, "ready");
		CU_ASSERT(reply_starts_with(s->a.ev[i].reason, "timeout after "));
	}
	printf("\n  p2 i/o timeout after %llu ms\n", (unsigned long long)(pc_test_now_ms() - t0));
}

/*
 * `check` of a path that hangs answers at the hung read's deadline, also
 * with a client that asked and left and commands queued behind it; while
 * the read stays hung, `check` answers at once and stacks no read.
 */
static void test_hung_check(void)
{
	static const char *const want[NPATHS] = { "", "", "ready>i/o timeout", "", "", "", "", "" };
	struct dconn *gone, *behind;
	struct pathsim_counts pc;
	unsigned int after = 0;
	struct scene s;
	long long ms;
	uint64_t t0;

	if (!scene_start(&s))
		return;
	t0 = hang_p2(&s);
	PC_REQUIRE(dconn_open(s.fx, &gone) == 0);
	CU_ASSERT_EQUAL(dconn_send(gone, "check p2"), 0);
	dconn_close(gone);
	PC_REQUIRE(dconn_open(s.fx, &behind) == 0);
	CU_ASSERT_EQUAL(dconn_send(behind, "check p2\nshow status json"), 0);
	ms = timed_check(s.fx, "p2", TIMEOUT_MS + s.slack);
	printf("\n  check p2 (hung) answered in %lld ms: %s", ms, R);
	CU_ASSERT(ms >= 0 && ms <= TIMEOUT_MS + s.slack);
	CU_ASSERT(sscanf(R, "p2: i/o timeout (timeout after %u ms)\n", &after) == 1);
	CU_ASSERT(after >= TIMEOUT_MS && after < TIMEOUT_MS + s.slack);
	/* the commands behind a check wait for it, in order */
	CU_ASSERT(dconn_reply(behind, R, sizeof(R), TIMEOUT_MS + s.slack) > 0);
	CU_ASSERT(reply_starts_with(R, "p2: i/o timeout (timeout after "));
	CU_ASSERT(dconn_reply(behind, R, sizeof(R), s.slack) > 0);
	CU_ASSERT(reply_starts_with(R, "{\"paths\":8,"));
	dconn_close(behind);
	wait_p2_timeout(&s, t0);
	/* its read still hung: `check` says so at once, starts no read */
	ms = timed_check(s.fx, "p2", s.slack);
	CU_ASSERT(ms >= 0 && ms < (long long)s.slack);
	CU_ASSERT(reply_starts_with(R, "p2: i/o timeout (timeout after "));
	pc_test_sleep_ms(3 * INTERVAL_MS);
	CU_ASSERT_EQUAL(pathsim_counts(s.sim, 2, &pc), 0);
	CU_ASSERT_EQUAL(pc.hung, 1);	/* no read stacked on the hung one */
	CU_ASSERT(daemon_cmd(s.fx, "show path p2 json", R, sizeof(R)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"chk_st\":\"i/o timeout\""));
	CU_ASSERT_EQUAL(daemon_log_count(s.fx, "p2: directio checker reports path is down "
					 "(timeout after "), 1);
	scene_end(&s, want, 1);
}

/* A hung path released and up again: one event back to ready, reason ok. */
static void test_hung_comes_back(void)
{
	static const char *const want[NPATHS] = {
		"", "", "ready>i/o timeout i/o timeout>ready", "", "", "", "", "",
	};
	struct scene s;
	uint64_t t0;
	int i;

	if (!scene_start(&s))
		return;
	t0 = hang_p2(&s);
	wait_p2_timeout(&s, t0);
	PC_REQUIRE(pathsim_set(s.sim, "p2", "up") == 0);
	PC_REQUIRE(pathsim_release(s.sim) == 0);
	i = sub_until(&s.a, "p2", "ready", INTERVAL_MS + s.slack);
	CU_ASSERT(i >= 0);
	if (i >= 0) {
		CU_ASSERT_STRING_EQUAL(s.a.ev[i].from, "i/o timeout");
		CU_ASSERT_STRING_EQUAL(s.a.ev[i].reason, "ok");
		CU_ASSERT_EQUAL(s.a.ev[i].error, 0);
	}
	CU_ASSERT_EQUAL(daemon_log_count(s.fx, "p2: directio checker reports path is down "
					 "(timeout after "), 1);
	CU_ASSERT_EQUAL(daemon_log_count(s.fx, "p2: directio checker reports path is up"), 1);
	scene_end(&s, want, 1);
}

/* p3 reads short: one event ready -> faulty, reason "short read". */
static void test_short_read(void)
{
	static const char *const want[NPATHS] = { "", "", "", "ready>faulty", "", "", "", "" };
	struct scene s;
	int i;

	if (!scene_start(&s))
		return;
	i = set_mode_until(&s, "p3", "short", "faulty");
	if (i >= 0)
		CU_ASSERT_STRING_EQUAL(s.a.ev[i].reason, "short read");
	CU_ASSERT_EQUAL(daemon_log_count(s.fx, "p3: directio checker reports path is down "
					 "(short read)"), 1);
	scene_end(&s, want, 1);
}

/*
 * A flaky path: its events alternate, there is one per transition the
 * daemon counts, and every read pathsim answered is one check counted.
 */
static void test_flaky(void)
{
	static const char *const flaky_devs[] = { "p0", "p1" };
	const unsigned int slack = daemon_slack_ms();
	struct pathsim *sim;
	struct daemon_fx *fx;
	struct pathsim_counts pc;
	struct sub a;
	char got[MAX_EVENTS * 8];
	long long d1 = -1, d2 = -1;
	unsigned long answered;
	unsigned int downs = 0;

	PATHSIM_START(sim, 2, 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	/* every transition on its own: no flapping (marginal) in the way;
	 * marginal paths are tests/daemon_flap */
	PC_REQUIRE(daemon_start(fx, "interval 50ms\ntimeout 2s\nflap_threshold 1000\n"
				"path %s/p*\n", pathsim_mountpoint(sim)) == 0);
	PC_REQUIRE(sub_open(fx, &a, false) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 100 + slack), 0);
	PC_REQUIRE(pathsim_set(sim, "p0", "flaky:0.5") == 0);
	for (uint64_t end = pc_test_now_ms() + 2000; pc_test_now_ms() < end;)
		sub_read(&a, 50);
	PC_REQUIRE(pathsim_set(sim, "p0", "up") == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 50 + slack), 0);
	sub_drain(&a, 300);
	check_stream(&a);
	check_accounts(fx, &a, flaky_devs, 2);
	sub_path(&a, "p0", got, sizeof(got));
	for (unsigned int i = 0; i < a.n; i++)
		downs += !strcmp(a.ev[i].dev, "p0") && !strcmp(a.ev[i].to, "faulty");
	printf("\n  p0: %u events, %u of them down", reply_count(got, ">"), downs);
	CU_ASSERT(downs >= 3);	/* ~40 draws at 0.5: this is certain */
	CU_ASSERT_EQUAL(daemon_log_count(fx, "p0: directio checker reports path is down"), downs);
	sub_path(&a, "p1", got, sizeof(got));
	CU_ASSERT(!strcmp(got, "") || !strcmp(got, "undef>ready"));

	/* every answered read is one check: d1 <= answered <= d2 + 1 (one
	 * read in flight at most) */
	CU_ASSERT(daemon_cmd(fx, "show path p0 json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_int(R, "checks", &d1));
	CU_ASSERT_EQUAL(pathsim_counts(sim, 0, &pc), 0);
	answered = pc.ok + pc.failed + pc.shortreads;
	CU_ASSERT(daemon_cmd(fx, "show path p0 json", R, sizeof(R)) > 0);
	CU_ASSERT(reply_json_int(R, "checks", &d2));
	printf("; checks %lld..%lld, pathsim answered %lu\n", d1, d2, answered);
	CU_ASSERT((unsigned long)d1 <= answered);
	CU_ASSERT(answered <= (unsigned long)d2 + 1);

	sub_close(&a);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "eio", test_eio },
		{ "hung_check", test_hung_check },
		{ "hung_comes_back", test_hung_comes_back },
		{ "short_read", test_short_read },
		{ "flaky", test_flaky },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_events", tests, argc, argv);
}
