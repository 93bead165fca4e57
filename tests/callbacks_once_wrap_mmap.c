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
 * on_result.
 *
 * Built with -Wl,--wrap=mmap (the library is linked in statically): the
 * buffer pool's mmap() fails while the test says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
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

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "owed_not_lost", test_owed_not_lost },
		{ "no_buffer", test_no_buffer },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks_once_wrap_mmap", tests, argc, argv,
				 file, sizeof(file));
}
