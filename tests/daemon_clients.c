/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd and many clients: 100 at once, clients that never read their
 * replies or events (dropped, others served), and the client limit.
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

	if (reply_starts_with(cmd, "show paths json"))
		return reply_starts_with(reply, "{\"paths\":[{") &&
		       reply_count(reply, "{\"dev\":") == MANY_PATHS &&
		       !strcmp(reply + strlen(reply) - 4, "}]}\n");
	if (!strcmp(cmd, "show stats"))
		return reply_kv_u64(reply, "records", &v) && v == MANY_PATHS &&
		       reply_kv_u64(reply, "uptime_s", &v);
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
	struct daemon_fx *fx = daemon_fx_files(MANY_PATHS);
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
	CU_ASSERT(daemon_stat(fx, "checks", &checks0));
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
		if (daemon_stat(fx, "clients", &v) && v == NCLIENTS + 1)
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
	CU_ASSERT(daemon_stat(fx, "checks", &checks1));
	CU_ASSERT(checks1 > checks0);
	CU_ASSERT(daemon_stat(fx, "schedule_slips", &v));
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
		if (!reply_json_int(line, "seq", &seq)) {
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

/* What the other clients saw while the two that never read were pending. */
struct served {
	unsigned int queries, slow;	/* `show stats` asked; answered late or not */
	uint64_t max_ms;		/* the slowest answer */
	uint64_t dropped;		/* clients_dropped, last seen */
	uint64_t first_drop;		/* ms after t0 when the first was dropped */
};

/* New clients ask `show stats` until both lazy clients are dropped (or
 * past the bound); the reading subscriber reads on meanwhile. */
static void serve_until_dropped(struct daemon_fx *fx, struct dconn *sub, struct served *sv,
				unsigned long long *last_seq, unsigned long long *events,
				unsigned int *gaps)
{
	uint64_t t0 = pc_test_now_ms();
	struct dconn *c;
	int ret;

	while (pc_test_now_ms() - t0 < CTL_STALL_MS + 1000 + 2 * daemon_slack_ms()) {
		uint64_t q0 = pc_test_now_ms(), ms;

		ret = dconn_open(fx, &c);
		if (!ret)
			ret = dconn_cmd(c, "show stats", R, sizeof(R), 5000);
		dconn_close(c);
		ms = pc_test_now_ms() - q0;
		sv->queries++;
		if (ms > sv->max_ms)
			sv->max_ms = ms;
		if (ret <= 0 || ms >= 1000) {
			printf("\n  show stats: %d after %llu ms", ret, (unsigned long long)ms);
			sv->slow++;
		}
		if (ret > 0 && reply_kv_u64(R, "clients_dropped", &sv->dropped) && sv->dropped &&
		    !sv->first_drop)
			sv->first_drop = pc_test_now_ms() - t0;
		if (sv->dropped >= 2)
			break;
		read_sub(sub, last_seq, events, gaps, 100, false);
	}
}

static void test_slow_clients(void)
{
	struct pathsim *sim = pathsim_start_or_skip(FLAKY_PATHS + 1, 0);
	struct daemon_fx *fx;
	struct dconn *lazy_sub, *lazy_cmd, *sub;
	unsigned long long last_seq = 0, events = 0;
	unsigned int gaps = 0;
	struct served sv = { 0 };
	uint64_t t_stuff, t_both, v;
	char target[32];
	size_t stuffed;

	if (!sim)
		return;
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	/* no flapping (marginal) detection: every transition an event */
	PC_REQUIRE(daemon_start(fx, "interval 20ms\ntimeout 2s\nflap_threshold 1000\n"
				"path %s/p*\n",
				pathsim_mountpoint(sim)) == 0);
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
	serve_until_dropped(fx, sub, &sv, &last_seq, &events, &gaps);
	t_both = pc_test_now_ms() - t_stuff;
	printf("\n  first dropped after %llu ms, both after %llu ms (clients_dropped %llu); "
	       "%u queries, slowest %llu ms; the reading subscriber got %llu events\n",
	       (unsigned long long)sv.first_drop, (unsigned long long)t_both,
	       (unsigned long long)sv.dropped, sv.queries,
	       (unsigned long long)sv.max_ms, events);
	{
		char *log = daemon_log(fx);

		for (char *l = strstr(log, "control client"); l; l = strstr(l + 1, "control client"))
			printf("  %.*s\n", (int)strcspn(l, "\n"), l);
		free(log);
	}
	CU_ASSERT_EQUAL(sv.slow, 0);
	CU_ASSERT_EQUAL(sv.dropped, 2);
	/* the one with commands stalled: dropped after 10 s of no progress, not before */
	CU_ASSERT(t_both >= CTL_STALL_MS);
	CU_ASSERT(t_both <= CTL_STALL_MS + 1000 + daemon_slack_ms());
	/* the subscriber for its backlog (> 1 MiB), the other for its stall */
	CU_ASSERT_EQUAL(daemon_log_count(fx, "dropped: subscriber not reading its events"), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "dropped: not reading its replies"), 1);
	CU_ASSERT(sv.first_drop < CTL_STALL_MS);
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
	CU_ASSERT(daemon_stat(fx, "transitions", &v));
	CU_ASSERT_EQUAL(last_seq, v);
	CU_ASSERT(daemon_stat(fx, "subscribers", &v) && v == 1);
	dconn_close(sub);
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
	fx = daemon_fx_files(2);
	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
	/* the first: once it is the only client, the count is exact */
	PC_REQUIRE(dconn_open(fx, &conns[0]) == 0);
	for (uint64_t t0 = pc_test_now_ms(), v = 0; v != 1;) {
		CU_ASSERT(dconn_cmd(conns[0], "show stats", R, sizeof(R), fx->reply_ms) > 0);
		PC_REQUIRE(reply_kv_u64(R, "clients", &v));
		PC_REQUIRE(pc_test_now_ms() - t0 < 2000);
	}
	/* each one served, so accepted */
	for (opened = 1; opened < CLIENT_LIMIT; opened++) {
		if (dconn_open(fx, &conns[opened]))
			break;
		if (dconn_cmd(conns[opened], "show status json", R, sizeof(R), fx->reply_ms) <= 0 ||
		    !reply_starts_with(R, "{\"paths\":2,")) {
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
		if (ret > 0 && reply_starts_with(R, "{\"paths\":2,"))
			break;
		pc_test_sleep_ms(20);
	}
	CU_ASSERT(ret > 0 && reply_starts_with(R, "{\"paths\":2,"));
	for (int i = 0; i < opened; i++)
		dconn_close(conns[i]);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "many_clients", test_many_clients },
		{ "slow_clients", test_slow_clients },
		{ "client_limit", test_client_limit },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_clients", tests, argc, argv);
}
