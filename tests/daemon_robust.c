/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd under change and at the end: reconfigure under load keeps the
 * kept paths' state and answers throughout; shutdown with hung reads is
 * prompt and clean, by signal or by command.
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
		if (!reply_json_str(obj, "chk_st", st, sizeof(st)) || strcmp(st, want_state(i)) ||
		    !reply_json_int(obj, "checks", &checks) || !reply_json_int(obj, "transitions", &transitions)) {
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
		if (!reply_json_path(R, dev, obj, sizeof(obj)) || !reply_json_str(obj, "chk_st", st, sizeof(st)) ||
		    strcmp(st, want_state(i)))
			return false;
		if (seen) {
			reply_json_int(obj, "checks", &seen[i].checks);
			reply_json_int(obj, "transitions", &seen[i].transitions);
		}
	}
	return true;
}

/* RECONFIGS reconfigures, A A B B A A ...: the same config again, then 10
 * more paths, then not.  How many times the path count was wrong after. */
static unsigned int reconfigure_many(struct daemon_fx *fx, struct pathsim *sim)
{
	unsigned int wrong_count = 0;

	for (int r = 0; r < RECONFIGS; r++) {
		unsigned int n = (r / 2) % 2 ? KEPT + EXTRA : KEPT;
		char dev[16];

		CU_ASSERT_EQUAL(write_paths_config(fx, sim, n), 0);
		CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) >= 0 && !strcmp(R, "ok\n"));
		CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) >= 0);
		if (reply_count(R, "{\"dev\":") != n) {
			printf("\n  after reconfigure %d: %u paths, wanted %u\n", r,
			       reply_count(R, "{\"dev\":"), n);
			wrong_count++;
		}
		snprintf(dev, sizeof(dev), "\"p%d\"", KEPT + EXTRA - 1);
		CU_ASSERT_EQUAL(strstr(R, dev) != NULL, n > KEPT);
		pc_test_sleep_ms(100);
	}
	return wrong_count;
}

static void test_reconfigure_under_load(void)
{
	struct pathsim *sim = pathsim_start_or_skip(KEPT + EXTRA, 0);
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
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
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
	wrong_count = reconfigure_many(fx, sim);
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
	CU_ASSERT(daemon_stat(fx, "reconfigures", &v) && v == RECONFIGS);
	CU_ASSERT(daemon_stat(fx, "reconfigure_errors", &v) && v == 0);
	daemon_stop(fx);
	daemon_fx_free(fx);
	pathsim_stop(sim);
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

		CU_ASSERT(reply_kv_u64(R, "inflight", &inflight) && inflight == HUNG_PATHS);
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
	struct pathsim *sim = pathsim_start_or_skip(HUNG_PATHS, 0);
	struct daemon_fx *fx;

	if (!sim)
		return;
	PC_REQUIRE(pathsim_set(sim, "all", "hung") == 0);
	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	stop_hung(fx, sim, true);
	daemon_fx_free(fx);

	fx = daemon_fx_new_sim(sim);
	PC_REQUIRE(fx != NULL);
	stop_hung(fx, sim, false);
	daemon_fx_free(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "reconfigure_under_load", test_reconfigure_under_load },
		{ "shutdown_hung", test_shutdown_hung },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_robust", tests, argc, argv);
}
