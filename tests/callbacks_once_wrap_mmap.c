/* SPDX-License-Identifier: MIT */
/*
 * on_result runs exactly once for every check that finishes, timeouts
 * included (pathcheck(3), "Result delivery"), however the check finished:
 * answered and reaped by the worker or by a PC_SYNC caller, timed out by
 * the worker or by a caller that saw the deadline first, or refused before
 * it reached the kernel.  Two cases pin it: a result a caller finished
 * (owed to the worker) survives the worker reaping the path's next answer
 * before it pays what it owes (one worker, slow callbacks, a polling
 * thread); and a check that cannot get a read buffer still gets its one
 * on_result, even when its caller, not the worker, finishes it: PC_SYNC
 * checks of one path, one after another, each refused a buffer and
 * finished DOWN by the caller past the deadline while the only worker is
 * busy in a callback, each get theirs once the worker is free (issue 18:
 * 5 checks got 1 callback).
 *
 * Built with -Wl,--wrap=mmap (the library is linked in statically): the
 * buffer pool's mmap() fails while the test says so.  The same case runs
 * again in a child whose RLIMIT_AS leaves no room for a new slab, so that
 * the kernel refuses it, not the wrapper.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);

static atomic_int mmap_failures;	/* > 0: fail that many more */

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	int left = atomic_load(&mmap_failures);

	while (left > 0)
		if (atomic_compare_exchange_weak(&mmap_failures, &left,
						 left - 1)) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

static char file[256];

#define NPATHS	8

static atomic_uint calls[NPATHS];
static atomic_int slow_cb_us;

static void count_result(struct pc_path *path, int state, void *arg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	atomic_fetch_add(&calls[i], 1);
	if (atomic_load(&slow_cb_us)) {
		struct timespec ts = { 0, atomic_load(&slow_cb_us) * 1000L };

		nanosleep(&ts, NULL);
	}
}

static unsigned int total_calls(void)
{
	unsigned int n = 0;

	for (int i = 0; i < NPATHS; i++)
		n += atomic_load(&calls[i]);
	return n;
}

static uint64_t checks_finished(struct pc_engine *e)
{
	struct pc_stats st;

	pc_engine_stats(e, &st);
	return st.checks;
}

/* Waits until the callbacks match the checks finished, or ms pass. */
static bool wait_paid(struct pc_engine *e, unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;

	while (total_calls() != checks_finished(e)) {
		if (pc_test_now_ms() > until)
			return false;
		pc_test_sleep_ms(5);
	}
	return true;
}

struct driver {
	struct pc_path **p;
	atomic_int stop;
	int mode;		/* 0: pc_check, 1: pc_path_state, 2: PC_SYNC */
};

static void *drive(void *arg)
{
	struct driver *d = arg;

	while (!atomic_load(&d->stop))
		for (int i = 0; i < NPATHS; i++)
			if (d->mode == 0)
				pc_check(d->p[i], 0);
			else if (d->mode == 1)
				pc_path_state(d->p[i]);
			else
				pc_check(d->p[i], PC_SYNC);
	return NULL;
}

/*
 * One worker whose callbacks take 200 us, reads that answer just after
 * their deadline, and threads that start checks, poll states (finishing
 * overdue checks themselves) and wait on PC_SYNC checks (reaping answers
 * themselves): every finished check gets its one callback.
 */
static void test_owed_not_lost(void)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 3,
				.on_result = count_result };
	struct driver d[3];
	struct pc_path *p[NPATHS];
	struct pathsim *sim;
	struct pc_engine *e;
	pthread_t t[3];
	struct pc_result r;
	uint64_t n;

	PATHSIM_START(sim, NPATHS, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < NPATHS; i++) {
		atomic_store(&calls[i], 0);
		PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, i),
					(void *)(uintptr_t)i, &p[i]) == 0);
	}
	pathsim_set(sim, "0-3", "slow:4");
	atomic_store(&slow_cb_us, 200);
	for (int k = 0; k < 3; k++) {
		d[k].p = p;
		d[k].mode = k;
		atomic_store(&d[k].stop, 0);
		PC_REQUIRE(pthread_create(&t[k], NULL, drive, &d[k]) == 0);
	}
	pc_test_sleep_ms(1500);
	for (int k = 0; k < 3; k++) {
		atomic_store(&d[k].stop, 1);
		pthread_join(t[k], NULL);
	}
	atomic_store(&slow_cb_us, 0);
	pathsim_set(sim, "all", "up");
	CU_ASSERT_TRUE(wait_paid(e, 5000));
	pc_test_sleep_ms(100);		/* nothing more comes */
	n = checks_finished(e);
	printf("\n  %llu checks finished, %u callbacks\n",
	       (unsigned long long)n, total_calls());
	CU_ASSERT_TRUE(n > 0);
	CU_ASSERT_EQUAL(total_calls(), n);
	for (int i = 0; i < NPATHS; i++) {
		PC_REQUIRE(pc_path_result(p[i], &r) == 0);
		CU_ASSERT_EQUAL(r.checks, atomic_load(&calls[i]));
	}
	for (int i = 0; i < NPATHS; i++)
		pc_path_free(p[i]);
	pc_engine_free(e);
	pathsim_stop(sim);
}

/* Checks that get no read buffer finish DOWN, each with its callback. */
static void test_no_buffer(void)
{
	struct pc_options o = { .workers = 1, .on_result = count_result };
	struct pc_path *p[NPATHS];
	struct pc_engine *e;
	struct pc_result r;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	PC_REQUIRE(fd >= 0);
	for (int i = 0; i < NPATHS; i++)
		atomic_store(&calls[i], 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 5; i++) {
		PC_REQUIRE(pc_path_new(e, fd, (void *)(uintptr_t)i, &p[i]) == 0);
	}
	atomic_store(&mmap_failures, 5);
	CU_ASSERT_EQUAL(pc_check(p[0], 0), PC_PENDING);
	CU_ASSERT_EQUAL(pc_check(p[1], PC_SYNC), PC_DOWN);
	CU_ASSERT_EQUAL(pc_check_many(p + 2, 3), 3);
	CU_ASSERT_EQUAL(atomic_load(&mmap_failures), 0);
	CU_ASSERT_TRUE(wait_paid(e, 5000));
	pc_test_sleep_ms(50);
	CU_ASSERT_EQUAL(checks_finished(e), 5);
	CU_ASSERT_EQUAL(total_calls(), 5);
	for (int i = 0; i < 5; i++) {
		PC_REQUIRE(pc_path_result(p[i], &r) == 0);
		CU_ASSERT_EQUAL(r.state, PC_DOWN);
		CU_ASSERT_EQUAL(r.reason, PC_REASON_SUBMIT_ERROR);
		CU_ASSERT_EQUAL(r.error, ENOMEM);
		CU_ASSERT_EQUAL(atomic_load(&calls[i]), 1);
	}
	/* Memory back: checks work again. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(pc_check(p[i], PC_SYNC), PC_UP);
	CU_ASSERT_TRUE(wait_paid(e, 5000));
	CU_ASSERT_EQUAL(total_calls(), 10);
	for (int i = 0; i < 5; i++)
		pc_path_free(p[i]);
	pc_engine_free(e);
	close(fd);
}

/*
 * The busy-worker case.  Paths 0 .. NOBUF-1 are refused their buffers;
 * path BUSY's first on_result holds the only worker until released.
 */
#define NOBUF	5
#define BUSY	NOBUF

static atomic_uint downs[NPATHS];
static atomic_int busy_in, busy_release;

static void busy_result(struct pc_path *path, int state, void *arg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	(void)path;
	if (state == PC_DOWN)
		atomic_fetch_add(&downs[i], 1);
	if (atomic_fetch_add(&calls[i], 1) || i != BUSY)
		return;
	atomic_store(&busy_in, 1);
	/* Bounded: a failing test must not hang the worker for ever. */
	for (int ms = 0; ms < 10000 && !atomic_load(&busy_release); ms++)
		pc_test_sleep_ms(1);
}

/* How new slabs are refused: 0 or -errno. */
static int refuse_mmap(bool on)
{
	atomic_store(&mmap_failures, on ? INT_MAX : 0);
	return 0;
}

static int refuse_rlimit(bool on)
{
	static struct rlimit saved;
	struct rlimit lim;

	if (!on)
		return setrlimit(RLIMIT_AS, &saved) ? -errno : 0;
	if (getrlimit(RLIMIT_AS, &saved))
		return -errno;
	lim = saved;
	lim.rlim_cur = pc_test_vm_size();	/* the soft limit: it can go back up */
	return setrlimit(RLIMIT_AS, &lim) ? -errno : 0;
}

/* Step failed (10 + step), saying why; the first failure is kept. */
static int step_fail(int *failed, int step, const char *why)
{
	fprintf(stderr, "step %d: %s\n", step, why);
	if (!*failed)
		*failed = 10 + step;
	return *failed;
}

/* Every no-buffer path's result is DOWN, SUBMIT_ERROR, ENOMEM, and it
 * got one on_result, DOWN, per check it finished. */
static void check_no_buffer_results(struct pc_path **p, int *failed)
{
	struct pc_result r;

	for (int i = 0; i < NOBUF; i++) {
		if (pc_path_result(p[i], &r) || r.state != PC_DOWN ||
		    r.reason != PC_REASON_SUBMIT_ERROR || r.error != ENOMEM)
			step_fail(failed, 8, "not DOWN, SUBMIT_ERROR, ENOMEM");
		if (r.checks != atomic_load(&calls[i]) ||
		    r.checks != atomic_load(&downs[i])) {
			fprintf(stderr, "path %d: %llu checks, %u callbacks, "
				"%u DOWN\n", i, (unsigned long long)r.checks,
				atomic_load(&calls[i]), atomic_load(&downs[i]));
			step_fail(failed, 9, "not one DOWN on_result a check");
		}
	}
}

/*
 * With new slabs refused (refuse()) and the only worker held in a
 * callback: NOBUF PC_SYNC checks of path 0 in a row, each finished DOWN by
 * its caller past the deadline; an async check of path 1; a
 * pc_check_many() of paths 2 .. NOBUF-1.  Once the worker is free every
 * finished check has had its one on_result; with slabs allowed again a
 * check is UP.  Returns 0, or 10 + the step that went wrong.
 */
static int busy_worker_no_buffer(int (*refuse)(bool on))
{
	struct pc_options o = { .workers = 1, .group_size = 1,
				.on_result = busy_result,
				.log = pc_test_log_quiet };
	struct pc_path *p[BUSY + 1];
	struct pc_engine *e;
	struct pc_stats st;
	unsigned int calls0;
	int failed = 0;

	for (int i = 0; i < NPATHS; i++) {
		atomic_store(&calls[i], 0);
		atomic_store(&downs[i], 0);
	}
	atomic_store(&busy_in, 0);
	atomic_store(&busy_release, 0);
	if (pc_engine_new(&o, &e))
		return step_fail(&failed, 1, "pc_engine_new");
	/* group_size 1: each path has a pool of its own, none mapped yet. */
	for (int i = 0; i <= BUSY; i++)
		if (pc_path_open(e, file, (void *)(uintptr_t)i, &p[i]) ||
		    (i < BUSY && pc_path_set_timeout(p[i], 1)))
			return step_fail(&failed, 2, "pc_path_open");
	if (pc_check(p[BUSY], 0) != PC_PENDING ||
	    !pc_test_wait_flag(&busy_in, 5000))
		step_fail(&failed, 3, "the worker is not busy");
	if (refuse(true))
		step_fail(&failed, 4, "cannot refuse new slabs");
	for (int k = 0; k < NOBUF; k++)
		if (pc_check(p[0], PC_SYNC) != PC_DOWN)
			step_fail(&failed, 5, "PC_SYNC, no buffer: not DOWN");
	if (pc_check(p[1], 0) != PC_PENDING ||
	    pc_check_many(p + 2, NOBUF - 2) != NOBUF - 2)
		step_fail(&failed, 5, "checks without a buffer not started");
	if (refuse(false))
		step_fail(&failed, 4, "cannot allow new slabs again");
	atomic_store(&busy_release, 1);
	if (!wait_paid(e, 5000))
		step_fail(&failed, 6, "callbacks still missing after 5 s");
	pc_test_sleep_ms(100);		/* nothing more comes */
	pc_engine_stats(e, &st);
	printf("\n  path 0: %u checks, %u callbacks; all: %llu checks, "
	       "%u callbacks\n", NOBUF, atomic_load(&calls[0]),
	       (unsigned long long)st.checks, total_calls());
	/* path 0: NOBUF; paths 1 .. NOBUF-1: one each; BUSY: one */
	if (st.checks != 2 * NOBUF || total_calls() != st.checks ||
	    atomic_load(&calls[0]) != NOBUF || st.inflight) {
		fprintf(stderr, "path 0: %u checks, %u callbacks; all: %llu "
			"checks, %u callbacks, %llu in flight\n", NOBUF,
			atomic_load(&calls[0]), (unsigned long long)st.checks,
			total_calls(), (unsigned long long)st.inflight);
		step_fail(&failed, 7, "not one on_result a finished check");
	}
	check_no_buffer_results(p, &failed);
	/* Slabs allowed again: the same path works, and calls back. */
	calls0 = atomic_load(&calls[0]);
	if (pc_path_set_timeout(p[0], 10000) ||
	    pc_check(p[0], PC_SYNC) != PC_UP)
		step_fail(&failed, 10, "no UP check once buffers come back");
	for (int ms = 0; ms < 5000 && atomic_load(&calls[0]) == calls0; ms++)
		pc_test_sleep_ms(1);
	if (atomic_load(&calls[0]) != calls0 + 1)
		step_fail(&failed, 11, "not one on_result for the UP check");
	for (int i = 0; i <= BUSY; i++)
		pc_path_free(p[i]);
	pc_engine_free(e);
	return failed;
}

static void test_no_buffer_busy_worker(void)
{
	CU_ASSERT_EQUAL(busy_worker_no_buffer(refuse_mmap), 0);
}

/* The same, with the kernel refusing the mapping (RLIMIT_AS), in a fresh
 * process: the limit would break the other tests' threads and files. */
static void test_no_buffer_busy_worker_rlimit(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* Seen: ASan's alternate signal stack, TSan's signal context. */
	PC_SKIP("the sanitizers map memory of their own while the limit "
		"holds, and abort when refused (no_buffer_busy_worker "
		"refuses the mapping with --wrap=mmap instead)");
#endif
	CU_ASSERT_EQUAL(pc_test_run_child("no_buffer_busy_worker_rlimit", file,
					  30000), 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "owed_not_lost", test_owed_not_lost },
		{ "no_buffer", test_no_buffer },
		{ "no_buffer_busy_worker", test_no_buffer_busy_worker },
		{ "no_buffer_busy_worker_rlimit",
		  test_no_buffer_busy_worker_rlimit },
		{ NULL, NULL },
	};

	if (getenv("PC_TEST_CHILD")) {	/* no_buffer_busy_worker_rlimit */
		snprintf(file, sizeof(file), "%s", getenv("PC_TEST_FILE"));
		return busy_worker_no_buffer(refuse_rlimit);
	}
	return pc_test_main_file("callbacks_once_wrap_mmap", tests, argc, argv,
				 file, sizeof(file));
}
