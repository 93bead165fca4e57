/* SPDX-License-Identifier: MIT */
/*
 * The multipath-tools 0.9 family plugin (build/multipath/mpt-0.9/
 * libcheckpathcheck.so) loaded with dlopen and driven by 0.9's checker
 * loop (tests/lib/mpt_driver.h) on pathsim paths behind loop devices, with
 * Debian's own libcheckdirectio.so through the same loop where a
 * comparison says something.  Skips when multipath-tools is absent.
 *
 * With arguments "--bench ..." it is bench/multipath.sh's driver instead
 * (tests/multipath_bench.h).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "checkers.h"
#include "harness.h"
#include "mpt_driver.h"
#include "pathsim_fixture.h"

#define NPATHS 8
#define TICK_MS 300

static const char *multipath_dir(void)
{
	static const char *const dirs[] = { "/lib/multipath", "/usr/lib/multipath",
		"/usr/lib64/multipath", NULL };
	static char buf[256];
	unsigned int i;

	for (i = 0; dirs[i]; i++) {
		snprintf(buf, sizeof(buf), "%s/libcheckdirectio.so", dirs[i]);
		if (!access(buf, R_OK))
			return buf;
	}
	return NULL;
}

/* Loads the pathcheck plugin (directio: Debian's directio) or skips. */
static bool load(struct mpt_plugin *p, bool directio)
{
	const char *why = mpt_unavailable();
	char path[4096];

	if (why) {
		pc_test_skip("%s", why);
		return false;
	}
	if (directio) {
		if (!multipath_dir()) {
			pc_test_skip("no libcheckdirectio.so: apt-get install multipath-tools");
			return false;
		}
		snprintf(path, sizeof(path), "%s", multipath_dir());
	} else {
		mpt_pathcheck_path(path, sizeof(path), "0.9");
	}
	if (mpt_load(p, path, directio ? "directio" : "pathcheck")) {
		CU_FAIL("dlopen");
		return false;
	}
	return true;
}

static struct pathsim *start_sim(void)
{
	return pathsim_start_or_skip(NPATHS, getuid() == 0 ? PATHSIM_LOOP : 0);
}

static int init_all(struct mpt_plugin *p, struct checker *c,
		    struct pathsim *sim, unsigned int timeout_s)
{
	unsigned int i;

	for (i = 0; i < NPATHS; i++)
		if (mpt_path_init(p, &c[i], pathsim_dev(sim, i), timeout_s))
			return -1;
	return 0;
}

static void free_all(struct mpt_plugin *p, struct checker *c)
{
	unsigned int i;

	for (i = 0; i < NPATHS; i++)
		mpt_path_free(p, &c[i]);
}

static void healthy_up(bool directio)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	unsigned int i, t, up = 0;
	bool seen[NPATHS] = { false };
	short msgid = -1;

	if (!load(&p, directio))
		return;
	sim = start_sim();
	if (!sim)
		goto out;
	PC_REQUIRE(init_all(&p, c, sim, 30) == 0);
	/* every path UP at least once: a path whose device took longer than
	 * the wait answers on the next tick, so paths may be out of step */
	for (t = 0; t < 6 && up < NPATHS; t++) {
		mpt_tick(&p, c, NPATHS, states);
		for (i = 0; i < NPATHS; i++) {
			up += states[i] == PATH_UP && !seen[i];
			seen[i] |= states[i] == PATH_UP;
		}
		if (states[0] == PATH_UP)
			msgid = c[0].msgid;
		pc_test_sleep_ms(TICK_MS);
	}
	printf("\n  all %u up within %u ticks: \"%s checker%s\"\n", up, t,
	       p.cls.name, msgid == CHECKER_MSGID_UP ? " reports path is up" : "?");
	CU_ASSERT_EQUAL(up, NPATHS);
	CU_ASSERT_EQUAL(msgid, CHECKER_MSGID_UP);
	free_all(&p, c);
	pathsim_stop(sim);
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

static void test_healthy_up(void)
{
	healthy_up(false);
}

static void test_directio_healthy_up(void)
{
	healthy_up(true);
}

/*
 * p1 fails its reads, p2 hangs (after the timeout was lowered from 30 s to
 * 1 s on the fly): both DOWN within timeout + one tick, and no tick is held
 * up by the hung path, so the others keep being checked every tick.
 */
static void test_failing_paths(void)
{
	unsigned int i, t, ticks = 10, answered[NPATHS] = { 0 };
	uint64_t t0, took, longest = 0, down_at[NPATHS] = { 0 };
	const char *why[NPATHS] = { NULL };
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;

	if (!load(&p, false))
		return;
	sim = start_sim();
	if (!sim)
		goto out;
	PC_REQUIRE(init_all(&p, c, sim, 30) == 0);
	mpt_tick(&p, c, NPATHS, states);
	for (i = 0; i < NPATHS; i++)
		c[i].timeout = 1;
	PC_REQUIRE(pathsim_set(sim, "p1", "eio") == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	pc_test_sleep_ms(TICK_MS);
	t0 = pc_test_now_ms();
	for (t = 0; t < ticks; t++) {
		took = mpt_tick(&p, c, NPATHS, states);
		longest = took > longest ? took : longest;
		for (i = 0; i < NPATHS; i++) {
			answered[i] += states[i] == PATH_UP || states[i] == PATH_DOWN;
			if (states[i] == PATH_DOWN && !down_at[i]) {
				down_at[i] = pc_test_now_ms() - t0 + 1;
				why[i] = mpt_message(&p, &c[i]);
			}
		}
		pc_test_sleep_ms(TICK_MS);
	}
	printf("\n  eio down after %llu ms (\"%s\"), hung down after %llu ms (\"%s\"), "
	       "longest tick %llu us\n", (unsigned long long)down_at[1],
	       why[1], (unsigned long long)down_at[2], why[2],
	       (unsigned long long)longest);
	CU_ASSERT(why[1] && strstr(why[1], "read error"));
	CU_ASSERT(why[2] && strstr(why[2], "no answer in time"));
	CU_ASSERT(down_at[1] > 0 && down_at[1] <= 2 * TICK_MS);
	/* timeout + one tick, plus a tick of slack for a noisy machine */
	CU_ASSERT(down_at[2] > 0 && down_at[2] <= 1000 + 2 * TICK_MS + 100);
	CU_ASSERT(longest < 500 * 1000);
	for (i = 3; i < NPATHS; i++)
		CU_ASSERT(answered[i] >= ticks / 2);
	pathsim_release(sim);
	free_all(&p, c);
	pathsim_stop(sim);
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

/* Sync (force_sync): a hung path blocks the loop once, for its timeout;
 * then it is DOWN at once while the kernel still holds the read. */
static void test_sync_hung_once(void)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	uint64_t first, second;
	unsigned int i;

	if (!load(&p, false))
		return;
	mpt_set_sync(&p, true);
	sim = start_sim();
	if (!sim)
		goto out;
	PC_REQUIRE(init_all(&p, c, sim, 1) == 0);
	mpt_tick(&p, c, NPATHS, states);
	for (i = 0; i < NPATHS; i++)
		CU_ASSERT_EQUAL(states[i], PATH_UP);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	first = mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_DOWN);
	second = mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_DOWN);
	CU_ASSERT_EQUAL(states[3], PATH_UP);
	printf("\n  sync pass with a hung path: %llu us, the next one %llu us\n",
	       (unsigned long long)first, (unsigned long long)second);
	CU_ASSERT(first >= 900 * 1000 && first < 3000 * 1000);
	CU_ASSERT(second < 300 * 1000);
	pathsim_release(sim);
	free_all(&p, c);
	pathsim_stop(sim);
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

struct loop_arg {
	struct mpt_plugin *p;
	struct checker *c;
	int states[NPATHS];
	atomic_int started;
};

/* Not instrumented by ASan: the cancellation unwinds this frame without
 * unpoisoning its red zones, and libc's exit of the thread then writes
 * over them (a false stack-buffer-underflow). */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static void *sync_loop(void *arg)
{
	struct loop_arg *a = arg;

	atomic_store(&a->started, 1);
	for (;;) {
		mpt_tick(a->p, a->c, NPATHS, a->states);
		pthread_testcancel();
	}
	return NULL;
}

/*
 * multipathd stops its checker thread with pthread_cancel, then frees the
 * paths and unloads the class: cancelled inside a sync check of a hung
 * path, the thread ends within the check's timeout, and the frees and the
 * reset that follow neither hang nor crash.
 */
static void test_cancel_sync(void)
{
	struct loop_arg a = { 0 };
	struct checker c[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	struct timespec end;
	pthread_t th;
	uint64_t t0;
	int ret;

	if (!load(&p, false))
		return;
	mpt_set_sync(&p, true);
	sim = start_sim();
	if (!sim)
		goto out;
	PC_REQUIRE(init_all(&p, c, sim, 1) == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	a.p = &p;
	a.c = c;
	PC_REQUIRE(pthread_create(&th, NULL, sync_loop, &a) == 0);
	pc_test_wait_flag(&a.started, 5000);
	pc_test_sleep_ms(200);		/* inside p2's sync check */
	t0 = pc_test_now_ms();
	pthread_cancel(th);
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	ret = pthread_timedjoin_np(th, NULL, &end);
	CU_ASSERT_EQUAL(ret, 0);
	printf("\n  cancelled checker thread joined after %llu ms\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	PC_REQUIRE(ret == 0);
	t0 = pc_test_now_ms();
	free_all(&p, c);
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
	printf("  then free and reset: %llu ms\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	CU_ASSERT(pc_test_now_ms() - t0 < 3000);
	pathsim_release(sim);
	pathsim_stop(sim);
	return;
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

/* Freeing every path with a hung read in flight: the last free ends the
 * engine, which waits for the orphan at most shutdown_ms (1 s). */
static void test_reset_orphans(void)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	uint64_t t0, took;

	if (!load(&p, false))
		return;
	sim = start_sim();
	if (!sim)
		goto out;
	PC_REQUIRE(init_all(&p, c, sim, 30) == 0);
	PC_REQUIRE(pathsim_set(sim, "p2", "hung") == 0);
	mpt_tick(&p, c, NPATHS, states);
	CU_ASSERT_EQUAL(states[2], PATH_PENDING);
	t0 = pc_test_now_ms();
	free_all(&p, c);
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
	took = pc_test_now_ms() - t0;
	printf("\n  free and reset with a hung read orphaned: %llu ms\n",
	       (unsigned long long)took);
	CU_ASSERT(took >= 900 && took < 1000 + 1500);
	pathsim_release(sim);
	pathsim_stop(sim);
	return;
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

/* The threads of an engine: its workers and its reaper.  Not pc-rcu
 * (one a process, kept), nor a pc-destroy, which may finish an idle
 * group's io_destroy() after pc_engine_free() has returned. */
static unsigned int engine_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	unsigned int n = 0;

	while (d && (de = readdir(d))) {
		char path[300], *comm;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		comm = pc_test_read_file(path, NULL);
		n += comm && (!strncmp(comm, "pc-worker", 9) ||
			      !strncmp(comm, "pc-reaper", 9));
		free(comm);
	}
	if (d)
		closedir(d);
	return n;
}

/* One engine for all paths, made by the first init, gone with the last
 * free: its threads appear once and leave with it. */
static void test_one_engine(void)
{
	unsigned int before, one, all, after;
	struct checker c[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;

	if (!load(&p, false))
		return;
	sim = start_sim();
	if (!sim)
		goto out;
	before = engine_threads();
	PC_REQUIRE(mpt_path_init(&p, &c[0], pathsim_dev(sim, 0), 30) == 0);
	one = engine_threads();
	PC_REQUIRE(mpt_path_init(&p, &c[1], pathsim_dev(sim, 1), 30) == 0);
	PC_REQUIRE(mpt_path_init(&p, &c[2], pathsim_dev(sim, 2), 30) == 0);
	all = engine_threads();
	mpt_path_free(&p, &c[0]);
	mpt_path_free(&p, &c[1]);
	CU_ASSERT_EQUAL(engine_threads(), all);
	mpt_path_free(&p, &c[2]);
	/* A thread pthread_join() has returned for may still be listed for a
	 * moment while the kernel finishes its exit: give that 2 s. */
	for (int ms = 0; (after = engine_threads()) && ms < 2000; ms += 10)
		pc_test_sleep_ms(10);
	printf("\n  engine threads: %u, one path %u, three %u, none %u\n",
	       before, one, all, after);
	CU_ASSERT_EQUAL(before, 0);
	CU_ASSERT(one > 0);
	CU_ASSERT_EQUAL(all, one);
	CU_ASSERT_EQUAL(after, 0);
	pathsim_stop(sim);
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
}

/* dlclose, as libmultipath unloads a class, then loaded and used again. */
static void test_dlclose(void)
{
	struct checker c[NPATHS];
	int states[NPATHS];
	struct mpt_plugin p;
	struct pathsim *sim;
	unsigned int round, t;

	sim = start_sim();
	if (!sim)
		return;
	for (round = 0; round < 2; round++) {
		if (!load(&p, false))
			break;
		PC_REQUIRE(init_all(&p, c, sim, 30) == 0);
		/* UP at the latest on the tick after a check was started */
		for (t = 0, states[0] = PATH_PENDING; t < 3 && states[0] != PATH_UP; t++) {
			mpt_tick(&p, c, NPATHS, states);
			pc_test_sleep_ms(TICK_MS);
		}
		CU_ASSERT_EQUAL(states[0], PATH_UP);
		free_all(&p, c);
		CU_ASSERT_EQUAL(mpt_unload(&p), 0);
	}
	pathsim_stop(sim);
}

static long status_kb(const char *field)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			kb = atol(line + strlen(field) + 1);
	fclose(f);
	return kb;
}

/* multipathd runs under mlockall(MCL_CURRENT | MCL_FUTURE): what each
 * checker adds to resident and locked memory, reported. */
static void mlock_memory(bool directio)
{
	struct checker c[NPATHS];
	int states[NPATHS] = { 0 };
	struct mpt_plugin p;
	struct pathsim *sim;
	unsigned int t;
	long rss, lck;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	PC_SKIP("memory figures mean nothing under a sanitizer");
#endif
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		PC_SKIP("mlockall: %s", strerror(errno));
	if (!load(&p, directio))
		goto unlock;
	sim = start_sim();
	if (!sim)
		goto out;
	rss = status_kb("VmRSS:");
	lck = status_kb("VmLck:");
	PC_REQUIRE(init_all(&p, c, sim, 30) == 0);
	for (t = 0; t < 5 && states[0] != PATH_UP; t++) {
		mpt_tick(&p, c, NPATHS, states);
		pc_test_sleep_ms(TICK_MS);
	}
	if (states[0] != PATH_UP)
		printf("\n  state %d \"%s\"", states[0], mpt_message(&p, &c[0]));
	CU_ASSERT_EQUAL(states[0], PATH_UP);
	printf("\n  %s, %u paths under mlockall: +%ld kB resident, +%ld kB locked "
	       "(now %ld / %ld kB)\n", p.cls.name, NPATHS,
	       status_kb("VmRSS:") - rss, status_kb("VmLck:") - lck,
	       status_kb("VmRSS:"), status_kb("VmLck:"));
	free_all(&p, c);
	pathsim_stop(sim);
out:
	CU_ASSERT_EQUAL(mpt_unload(&p), 0);
unlock:
	munlockall();
}

static void test_mlock_memory(void)
{
	mlock_memory(false);
}

static void test_directio_mlock_memory(void)
{
	mlock_memory(true);
}

#include "multipath_bench.h"

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		/* first: thread stacks that earlier tests freed would be
		 * cached by libc, already locked */
		{ "mlock_memory", test_mlock_memory },
		{ "directio_mlock_memory", test_directio_mlock_memory },
		{ "healthy_up", test_healthy_up },
		{ "directio_healthy_up", test_directio_healthy_up },
		{ "failing_paths", test_failing_paths },
		{ "sync_hung_once", test_sync_hung_once },
		{ "cancel_sync", test_cancel_sync },
		{ "reset_orphans", test_reset_orphans },
		{ "one_engine", test_one_engine },
		{ "dlclose", test_dlclose },
		{ NULL, NULL },
	};

	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return mpt_bench(argc - 1, argv + 1);
	return pc_test_main("multipath_09", tests, argc, argv);
}
