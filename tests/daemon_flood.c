/* SPDX-License-Identifier: MIT */
/*
 * No client can stall pathcheckd or lock root out of its control socket
 * (pathcheckd(8), Limits): pipelined commands run a share at a time, with
 * the 1 MiB output pause looked at before each command; a user other than
 * root has at most clients_per_uid connections and none of the slots and
 * descriptors kept for root; a connection that sends no complete command
 * is closed after client_idle_timeout.  And all at once: a flood, 1,030
 * idle clients and 2,000 paths at 1 s, while root's `show daemon` answers
 * within 1 s, memory stays bounded and no path slips.
 *
 * The other users are uid 65534 (nobody) and the uids below it, each in a
 * child process: tests that need them skip without root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"
#include "uid_pool.h"

#define FLOOD_PATHS	2000
#define IDLE_CLIENTS	1030
#define RSS_BOUND_KB	(64 * 1024)

static char R[8 << 20];

/* 1 s, as pathcheckd(8) promises; sanitized builds are slower throughout. */
static unsigned int answer_bound_ms(void)
{
	return 1000 + daemon_slack_ms() - 500;
}

/* --- the daemon's side ---------------------------------------------------------- */

static long rss_kb(pid_t pid)
{
	char path[64], *s, *v;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = pc_test_read_file(path, NULL);
	v = s ? strstr(s, "VmRSS:") : NULL;
	if (v)
		kb = atol(v + 6);
	free(s);
	return kb;
}

/* `show daemon` on a new connection: ms it took, or a huge number. */
static uint64_t root_asks(struct daemon_fx *fx)
{
	uint64_t t0 = pc_test_now_ms();
	int n = daemon_cmd(fx, "show daemon", R, sizeof(R));

	if (n <= 0 || !reply_starts_with(R, "pid ")) {
		printf("\n  show daemon: %d '%.100s'", n, n > 0 ? R : "");
		return UINT64_MAX;
	}
	return pc_test_now_ms() - t0;
}

/* Sends bytes of line after line in large writes (as a script's one write
 * would), never reading; stops when the socket takes no more for 500 ms. */
static size_t stuff(int fd, const char *line, size_t bytes)
{
	size_t sent = 0, len = strlen(line), fill = 0;
	char *buf = malloc(bytes);

	if (!buf)
		return 0;
	while (fill + len <= bytes) {
		memcpy(buf + fill, line, len);
		fill += len;
	}
	while (sent < fill) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf + sent, fill - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			break;
		if (poll(&pf, 1, 500) != 1)
			break;
	}
	free(buf);
	return sent;
}

static struct daemon_fx *sim_daemon(struct pathsim **simp, unsigned int paths,
				    const char *extra)
{
	struct pathsim *sim = pathsim_start_or_skip(paths, 0);
	struct daemon_fx *fx;

	*simp = sim;
	if (!sim)
		return NULL;
	fx = daemon_fx_new();
	if (!fx)
		return NULL;
	daemon_fx_attach_sim(fx, sim);
	if (daemon_start(fx, "interval 1s\ntimeout 2s\nsocket_mode 0666\n%spath %s/p*\n",
			 extra, pathsim_mountpoint(sim)) ||
	    daemon_wait_states(fx, paths, "ready", 3000 + daemon_slack_ms())) {
		CU_FAIL("daemon on pathsim ready");
		return fx;
	}
	/* others may pass through the directory to the socket */
	chmod(fx->dir, 0711);
	return fx;
}

static void sim_daemon_finish(struct daemon_fx *fx, struct pathsim *sim)
{
	if (fx)
		daemon_fx_finish(fx);
	pathsim_stop(sim);
}

/* --- (1) pipelined commands ---------------------------------------------------- */

/*
 * 64 KiB of `show paths` over 2,000 paths, never read: the daemon runs only
 * what fits under the 1 MiB pause (it ran all 5,957 and froze for 13 s),
 * and answers everyone else at once meanwhile.
 */
static void test_pipelined(void)
{
	struct pathsim *sim;
	struct daemon_fx *fx = sim_daemon(&sim, FLOOD_PATHS, "");
	uint64_t cmds0 = 0, cmds1 = 0, worst = 0;
	struct dconn *flood;
	long rss0, rss = 0;
	size_t sent;

	if (!fx)
		goto out;
	rss0 = rss_kb(fx->pid);
	CU_ASSERT(daemon_stat(fx, "commands", &cmds0));
	PC_REQUIRE(dconn_open(fx, &flood) == 0);
	sent = stuff(dconn_fd(flood), "show paths\n", 64 << 10);
	for (int i = 0; i < 20; i++) {
		uint64_t ms = root_asks(fx);
		long r = rss_kb(fx->pid);

		worst = ms > worst ? ms : worst;
		rss = r > rss ? r : rss;
		pc_test_sleep_ms(100);
	}
	CU_ASSERT(daemon_stat(fx, "commands", &cmds1));
	printf("\n  %zu bytes of show paths sent, never read: %llu commands run meanwhile "
	       "(20 ours); slowest show daemon %llu ms; RSS %ld -> %ld kB\n", sent,
	       (unsigned long long)(cmds1 - cmds0), (unsigned long long)worst, rss0, rss);
	CU_ASSERT(sent >= 32 << 10);
	CU_ASSERT(worst <= answer_bound_ms());
	/* 1 MiB of replies is a handful of these: not thousands */
	CU_ASSERT(cmds1 - cmds0 <= 20 + 2 + 64);
	CU_ASSERT(rss - rss0 <= RSS_BOUND_KB);
	dconn_close(flood);
out:
	sim_daemon_finish(fx, sim);
}

/* --- (2) other users: per uid, idle, root's slots and descriptors ---------------- */

static void test_per_uid(void)
{
	struct daemon_fx *fx;
	unsigned int refused = 0, eof = 0;
	char first[160] = "";
	struct pool p;

	if (pc_test_need_root())
		PC_SKIP("%s: connect as another user", pc_test_need_root());
	fx = daemon_fx_ready_files(1, NULL);
	if (!fx)
		return;
	PC_REQUIRE(chmod(fx->dir, 0711) == 0);
	/* the default, 64 */
	CU_ASSERT_EQUAL(pool_start(&p, fx->sock, 67, 67), 67);
	pc_test_sleep_ms(300);
	CU_ASSERT(pool_refused(&p, &refused, first, sizeof(first), &eof));
	printf("\n  67 connections of uid 65534: %u refused, first '%s'\n", refused, first);
	CU_ASSERT_EQUAL(refused, 3);
	CU_ASSERT_STRING_EQUAL(first, "error: too many clients of uid 65534 (clients_per_uid 64)");
	/* root is not counted */
	CU_ASSERT(root_asks(fx) <= answer_bound_ms());
	pool_stop(&p);
	daemon_fx_finish(fx);
}

static void test_idle_timeout(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(1, "client_idle_timeout 1s\n");
	struct dconn *quiet, *partial, *between;
	uint64_t t0, dropped = 0;
	int ret;

	if (!fx)
		return;
	PC_REQUIRE(dconn_open(fx, &quiet) == 0);
	PC_REQUIRE(dconn_open(fx, &partial) == 0);
	PC_REQUIRE(dconn_open(fx, &between) == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT(dconn_cmd(between, "show status", R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT_EQUAL(dconn_write(partial, "show da", 7, 1000), 0);
	/* dropped after 1 s without a complete command, looked at each second */
	ret = dconn_reply(quiet, R, sizeof(R), 2000 + daemon_slack_ms());
	CU_ASSERT(ret > 0 && !strcmp(R, "error: idle: no complete command within 1s\n"));
	CU_ASSERT_EQUAL(dconn_wait_eof(quiet, 1000 + daemon_slack_ms()), 0);
	ret = dconn_reply(partial, R, sizeof(R), 2000 + daemon_slack_ms());
	CU_ASSERT(ret > 0 && !strcmp(R, "error: idle: no complete command within 1s\n"));
	CU_ASSERT_EQUAL(dconn_wait_eof(partial, 1000 + daemon_slack_ms()), 0);
	printf("\n  idle clients closed after %llu ms\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT(pc_test_now_ms() - t0 >= 1000);
	/* one between two commands stays */
	pc_test_sleep_ms(1500);
	CU_ASSERT(dconn_cmd(between, "show stats", R, sizeof(R), fx->reply_ms) > 0);
	CU_ASSERT(reply_kv_u64(R, "clients_dropped", &dropped) && dropped == 2);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "dropped: idle: no complete command within 1s"), 2);
	dconn_close(quiet);
	dconn_close(partial);
	dconn_close(between);
	daemon_fx_finish(fx);
}

/* 1,030 idle connections of 17 users, 64 each: root still gets a slot. */
static void test_root_slot(void)
{
	struct daemon_fx *fx;
	unsigned int refused = 0, eof = 0;
	char first[160] = "";
	struct pool p;
	int n;

	if (pc_test_need_root())
		PC_SKIP("%s: connect as another user", pc_test_need_root());
	fx = daemon_fx_ready_files(1, NULL);
	if (!fx)
		return;
	PC_REQUIRE(chmod(fx->dir, 0711) == 0);
	n = pool_start(&p, fx->sock, IDLE_CLIENTS, 64);
	CU_ASSERT_EQUAL(n, IDLE_CLIENTS);
	pc_test_sleep_ms(500);
	CU_ASSERT(pool_refused(&p, &refused, first, sizeof(first), &eof));
	printf("\n  %d connections of 17 users: %u refused, first '%s'\n", n, refused, first);
	CU_ASSERT_EQUAL(refused, IDLE_CLIENTS - (1024 - 16));
	CU_ASSERT_STRING_EQUAL(first, "error: too many clients");
	for (int i = 0; i < 5; i++)
		CU_ASSERT(root_asks(fx) <= answer_bound_ms());
	pool_stop(&p);
	daemon_fx_finish(fx);
}

static unsigned int count_fds(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned int n = 0;

	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Few descriptors left, taken by nobody's idle connections: root still gets in. */
static void test_root_fds(void)
{
	struct daemon_fx *fx;
	unsigned int refused = 0, eof = 0, nfds = 0;
	char first[160] = "", dir[64];
	struct rlimit rl;
	struct pool p;

	if (pc_test_need_root())
		PC_SKIP("%s: connect as another user, lower the daemon's limit",
			pc_test_need_root());
	fx = daemon_fx_ready_files(2, NULL);
	if (!fx)
		return;
	PC_REQUIRE(chmod(fx->dir, 0711) == 0);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)fx->pid);
	nfds = count_fds(dir);
	PC_REQUIRE(nfds > 0);
	/* room for 20 more descriptors, no more */
	rl.rlim_cur = rl.rlim_max = nfds + 20;
	PC_REQUIRE(prlimit(fx->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	CU_ASSERT_EQUAL(pool_start(&p, fx->sock, 60, 60), 60);
	pc_test_sleep_ms(1500);
	CU_ASSERT(pool_refused(&p, &refused, first, sizeof(first), &eof));
	printf("\n  %u descriptors open, limit %u: of 60 connections of uid 65534, %u refused, "
	       "first '%s'\n", nfds, nfds + 20, refused, first);
	CU_ASSERT(refused >= 20 && refused < 60);	/* some took the 20 left */
	CU_ASSERT_STRING_EQUAL(first, "error: out of file descriptors (the last ones are kept "
			       "for root)");
	for (int i = 0; i < 5; i++)
		CU_ASSERT(root_asks(fx) <= answer_bound_ms());
	pool_stop(&p);
	daemon_fx_finish(fx);
}

/* --- all at once ------------------------------------------------------------------ */

struct reader {
	struct daemon_fx *fx;
	atomic_int stop;
	unsigned long replies;
	int err;
};

/* A client that pipelines show paths as fast as it reads the replies. */
static void *flood_reader(void *arg)
{
	struct reader *r = arg;
	static char buf[1 << 20];
	struct dconn *c;

	r->err = dconn_open(r->fx, &c);
	if (r->err)
		return NULL;
	while (!atomic_load(&r->stop)) {
		for (int i = 0; i < 16; i++)
			dconn_send(c, "show paths");
		for (int i = 0; i < 16; i++) {
			if (dconn_reply(c, buf, sizeof(buf), 10000) <= 0) {
				r->err = -EIO;
				break;
			}
			r->replies++;
		}
		if (r->err)
			break;
	}
	dconn_close(c);
	return NULL;
}

/*
 * Issue 20's "done when": a client that floods and never reads, one that
 * floods and reads, 1,030 idle clients of 17 users (closed after the
 * default 10 s), 2,000 paths at 1 s, for 12 s: root's `show daemon`
 * answers within 1 s every time, RSS stays within 64 MiB of its start, no
 * path slips.
 */
static void test_flood(void)
{
	struct pathsim *sim = NULL;
	struct daemon_fx *fx;
	struct reader rd = { 0 };
	struct dconn *lazy;
	unsigned int asked = 0, late = 0, refused = 0, eof = 0;
	uint64_t worst = 0, slips0 = 0, slips1 = 0, checks0 = 0, checks1 = 0;
	long rss0, rss = 0;
	char first[160];
	pthread_t th;
	struct pool p;
	int n;

	if (pc_test_need_root())
		PC_SKIP("%s: connect as another user", pc_test_need_root());
	fx = sim_daemon(&sim, FLOOD_PATHS, "");
	if (!fx || !sim)
		goto out;
	rss0 = rss_kb(fx->pid);
	CU_ASSERT(daemon_stat(fx, "schedule_slips", &slips0));
	CU_ASSERT(daemon_stat(fx, "checks", &checks0));
	n = pool_start(&p, fx->sock, IDLE_CLIENTS, 64);
	CU_ASSERT_EQUAL(n, IDLE_CLIENTS);
	PC_REQUIRE(dconn_open(fx, &lazy) == 0);
	stuff(dconn_fd(lazy), "show paths\n", 128 << 10);
	rd.fx = fx;
	PC_REQUIRE(pthread_create(&th, NULL, flood_reader, &rd) == 0);
	for (uint64_t t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 12000; asked++) {
		uint64_t ms = root_asks(fx);
		long r = rss_kb(fx->pid);

		late += ms > answer_bound_ms();
		worst = ms > worst ? ms : worst;
		rss = r > rss ? r : rss;
		pc_test_sleep_ms(100);
	}
	atomic_store(&rd.stop, 1);
	pthread_join(th, NULL);
	CU_ASSERT(daemon_stat(fx, "schedule_slips", &slips1));
	CU_ASSERT(daemon_stat(fx, "checks", &checks1));
	CU_ASSERT(pool_refused(&p, &refused, first, sizeof(first), &eof));
	printf("\n  %u show daemon, %u late, slowest %llu ms; RSS %ld -> %ld kB; "
	       "checks %llu, slips %llu -> %llu; the reading flood got %lu replies (%d); "
	       "of %d idle clients %u refused\n", asked, late, (unsigned long long)worst,
	       rss0, rss, (unsigned long long)(checks1 - checks0),
	       (unsigned long long)slips0, (unsigned long long)slips1, rd.replies, rd.err,
	       n, refused);
	CU_ASSERT_EQUAL(late, 0);
	CU_ASSERT(rss - rss0 <= RSS_BOUND_KB);
	CU_ASSERT_EQUAL(slips1, slips0);
	/* 12 s at 1 s over 2,000 paths */
	CU_ASSERT(checks1 - checks0 >= (uint64_t)FLOOD_PATHS * 10);
	CU_ASSERT_EQUAL(rd.err, 0);
	CU_ASSERT(rd.replies > 0);
	dconn_close(lazy);
	pool_stop(&p);
out:
	sim_daemon_finish(fx, sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "pipelined", test_pipelined },
		{ "per_uid", test_per_uid },
		{ "idle_timeout", test_idle_timeout },
		{ "root_slot", test_root_slot },
		{ "root_fds", test_root_fds },
		{ "flood", test_flood },
		{ NULL, NULL },
	};
	struct rlimit rl;

	/* 1,030 idle clients and 2,000 paths: the daemon and pathsim inherit it */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return pc_test_main("daemon_flood", tests, argc, argv);
}
