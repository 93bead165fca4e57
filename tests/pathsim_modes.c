/* SPDX-License-Identifier: MIT */
/*
 * pathsim's modes, read through real O_DIRECT AIO: up, eio, short, slow,
 * hung (and the release rule), flaky and its seed; 1,000 hung reads hold
 * up no one else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aio_reader.h"
#include "harness.h"
#include "pathsim_fixture.h"
#include "pathsim_probe.h"

#define BLK		AIO_READER_BLK
#define PATH_SIZE	PATHSIM_SIZE
#define MANY_HUNG	1000u
#define PROMPT_MS	1000u	/* "promptly": a healthy read among hung ones */
#define EXIT_BOUND_MS	3000u	/* a process freed from hung reads exits */

/* --- modes ----------------------------------------------------------------- */

static void test_mode_up(void)
{
	struct pathsim *sim;
	struct stat st;
	uint64_t ms;
	bool zeros;
	long res;

	PATHSIM_START(sim, 4, 0);
	CU_ASSERT(stat(pathsim_file(sim, 3), &st) == 0);
	CU_ASSERT(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444);
	CU_ASSERT_EQUAL(st.st_size, PATH_SIZE);
	CU_ASSERT_STRING_EQUAL(pathsim_dev(sim, 3), pathsim_file(sim, 3));
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), 2000, &res, &ms, &zeros) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(zeros);
	CU_ASSERT(pathsim_counts_are(sim, 0, 1, 1, 0, 0, 0));
	CU_ASSERT(pathsim_counts_are(sim, 1, 0, 0, 0, 0, 0));
	pathsim_stop(sim);
}

static void test_mode_eio(void)
{
	struct pathsim *sim;
	long res;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 1), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	CU_ASSERT(pathsim_counts_are(sim, 1, 1, 0, 1, 0, 0));
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	pathsim_stop(sim);
}

static void test_mode_short(void)
{
	struct pathsim *sim;
	long res = 0;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "0", "short") == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(res > 0 && res < (long)BLK);
	CU_ASSERT(pathsim_counts_are(sim, 0, 1, 0, 0, 1, 0));
	pathsim_stop(sim);
}

static void test_mode_slow(void)
{
	struct pathsim *sim;
	uint64_t ms = 0;
	long res;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "slow:200") == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 1), 2000, &res, &ms, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(ms >= 200 && ms < 300);
	if (ms < 200 || ms >= 300)
		printf("\n  slow:200 answered in %llu ms\n", (unsigned long long)ms);
	CU_ASSERT(pathsim_counts_are(sim, 1, 1, 1, 0, 0, 0));
	pathsim_stop(sim);
}

static void test_mode_hung(void)
{
	struct io_event ev[3];
	struct pathsim *sim;
	struct aio_reader r;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 0), 3, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 3) == 3);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 3, ev, 300), 0);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 3, 2000));
	CU_ASSERT(pathsim_counts_are(sim, 0, 3, 0, 0, 0, 3));
	/* io_cancel cannot take a read back from a FUSE server */
	CU_ASSERT_EQUAL(io_cancel(r.ctx, &r.cbs[0], &ev[0]), -EINVAL);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 3, ev, 2000), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL((long)ev[i].res, -EIO); /* still hung: EIO */
	CU_ASSERT(pathsim_counts_are(sim, 0, 3, 0, 3, 0, 0));
	aio_reader_close(&r);
	pathsim_stop(sim);
}

/* release answers with the mode the path has when released */
static void test_release_rule(void)
{
	struct io_event ev[2];
	struct pathsim *sim;
	struct aio_reader r0, r1;
	uint64_t t0, ms;

	PATHSIM_START(sim, 2, 0);
	PC_REQUIRE(aio_reader_open(&r0, pathsim_dev(sim, 0), 2, PATH_SIZE) == 0);
	PC_REQUIRE(aio_reader_open(&r1, pathsim_dev(sim, 1), 2, PATH_SIZE) == 0);

	/* set back to up, then released: full data */
	CU_ASSERT(pathsim_set(sim, "all", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 2) == 2);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 2, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "up") == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 2, ev, 200), 0); /* set alone frees nothing */
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 2, ev, 2000), 2);
	CU_ASSERT(ev[0].res == BLK && ev[1].res == BLK);
	CU_ASSERT(pc_test_all_zero(r0.bufs, 2 * BLK));

	/* short when released */
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 1, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "short") == 0);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 2000), 1);
	CU_ASSERT((long)ev[0].res > 0 && (long)ev[0].res < (long)BLK);

	/* slow when released: answered MS after the release */
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 1, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "slow:100") == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 2000), 1);
	ms = pc_test_now_ms() - t0;
	CU_ASSERT(ev[0].res == BLK && ms >= 100 && ms < 200);
	CU_ASSERT(pathsim_counts_are(sim, 0, 4, 3, 0, 1, 0));

	/* a release target leaves the other paths hung */
	CU_ASSERT(pathsim_set(sim, "all", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(aio_reader_submit(&r1, 1) == 1);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 1, 2000) && pathsim_wait_hung(sim, 1, 1, 2000));
	CU_ASSERT(pathsim_control_write(sim, "release p1\n") == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r1, 1, ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev[0].res, -EIO);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 200), 0);
	CU_ASSERT(pathsim_counts_are(sim, 0, 5, 3, 0, 1, 1));
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 2000), 1);
	aio_reader_close(&r0);
	aio_reader_close(&r1);
	pathsim_stop(sim);
}

static void test_flaky(void)
{
	enum { N = 200 };
	struct io_event ev[N];
	unsigned long ok = 0, failed = 0;
	struct pathsim *sim;
	struct aio_reader r;
	int got;

	PATHSIM_START(sim, 1, 0);
	CU_ASSERT(pathsim_set(sim, "all", "flaky:0.5") == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 0), N, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, N) == N);
	got = aio_reader_wait(&r, N, ev, 5000);
	CU_ASSERT_EQUAL(got, N);
	for (int i = 0; i < got; i++) {
		if ((long)ev[i].res == BLK)
			ok++;
		else if ((long)ev[i].res == -EIO)
			failed++;
	}
	CU_ASSERT_EQUAL(ok + failed, N);
	CU_ASSERT(ok > 0 && failed > 0);
	CU_ASSERT(pathsim_counts_are(sim, 0, N, ok, failed, 0, 0));

	CU_ASSERT(pathsim_reset(sim) == 0);
	CU_ASSERT(pathsim_set(sim, "all", "flaky:0") == 0);
	CU_ASSERT(aio_reader_submit(&r, 20) == 20);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 20, ev, 5000), 20);
	CU_ASSERT(pathsim_counts_are(sim, 0, 20, 20, 0, 0, 0));
	CU_ASSERT(pathsim_set(sim, "all", "flaky:1") == 0);
	CU_ASSERT(aio_reader_submit(&r, 20) == 20);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 20, ev, 5000), 20);
	CU_ASSERT(pathsim_counts_are(sim, 0, 40, 20, 20, 0, 0));
	aio_reader_close(&r);
	pathsim_stop(sim);
}

/* Same seed, same sequential reads: same coin flips; reset re-seeds. */
static unsigned long flaky_pattern(const char *file, unsigned int n)
{
	unsigned long bits = 0;
	struct io_event ev;
	struct aio_reader r;

	if (aio_reader_open(&r, file, 1, PATH_SIZE)) {
		aio_reader_close(&r);
		return ~0ul;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (aio_reader_submit(&r, 1) != 1 || aio_reader_wait(&r, 1, &ev, 2000) != 1)
			break;
		bits = bits << 1 | ((long)ev.res == -EIO);
	}
	aio_reader_close(&r);
	return bits;
}

static void test_flaky_seed(void)
{
	char dir[2][96], out[256], file[224], ctl[224];
	char self[16];
	char *argv[] = { NULL, "--seed", "7", "--size", "2M", "-n", "1",
			 "--parent-watch", self, NULL, NULL };
	unsigned long bits[3];
	pid_t pid[2];
	int fd[2];

	if (pathsim_skip_without_fuse())
		return;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (int i = 0; i < 2; i++) {
		PC_REQUIRE(pc_test_mkdtemp(dir[i], sizeof(dir[i]), "pathsim-seed") == 0);
		argv[9] = dir[i];
		fd[i] = pathsim_run(argv, out, 0, &pid[i]);
		PC_REQUIRE(fd[i] >= 0);
		CU_ASSERT(pathsim_read_ready(fd[i], 10000));
	}
	for (int i = 0; i < 2; i++) {
		struct stat st;

		snprintf(file, sizeof(file), "%s/p0", dir[i]);
		snprintf(ctl, sizeof(ctl), "%s/control", dir[i]);
		CU_ASSERT(stat(file, &st) == 0 && st.st_size == 2 << 20);
		CU_ASSERT(pc_test_write_file(ctl, "set 0 flaky:0.5\n") == 0);
		bits[i] = flaky_pattern(file, 48);
		if (i == 1) {
			CU_ASSERT(pc_test_write_file(ctl, "reset\nset 0 flaky:0.5\n") == 0);
			bits[2] = flaky_pattern(file, 48);
		}
	}
	CU_ASSERT(bits[0] != ~0ul && bits[0] != 0);
	CU_ASSERT_EQUAL(bits[0], bits[1]);
	CU_ASSERT_EQUAL(bits[1], bits[2]);
	for (int i = 0; i < 2; i++) {
		kill(pid[i], SIGTERM);
		CU_ASSERT_EQUAL(pc_test_wait_exit(pid[i], 5000), 0);
		close(fd[i]);
		CU_ASSERT(!pc_test_is_mounted(dir[i]));
		rmdir(dir[i]);
	}
}

/* --- 1,000 hung reads do not hold up anyone else ------------------------ */

struct watchdog {
	struct pathsim *sim;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

/*
 * If io_submit blocks (FUSE's max_background reached), the test would hang:
 * after 5 s this frees every read for good, and the bounds below fail.
 */
static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&w->lock);
	while (!w->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	pthread_mutex_unlock(&w->lock);
	if (ret == ETIMEDOUT) {
		printf("\n  watchdog: reads blocked, freeing them\n");
		pathsim_set(w->sim, "all", "up");
		pathsim_release(w->sim);
	}
	return NULL;
}

static void watchdog_done(struct watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void test_many_hung(void)
{
	static struct io_event ev[MANY_HUNG];
	struct watchdog w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	struct pathsim *sim;
	struct aio_reader r;
	pthread_t thr;
	uint64_t t0, submit_ms, ms = 0;
	long res = 0;
	int got, bad = 0;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 0), MANY_HUNG, PATH_SIZE) == 0);
	w.sim = sim;
	PC_REQUIRE(pthread_create(&thr, NULL, watchdog_main, &w) == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT_EQUAL(aio_reader_submit(&r, MANY_HUNG), (int)MANY_HUNG);
	submit_ms = pc_test_now_ms() - t0;
	CU_ASSERT(submit_ms < PROMPT_MS);
	CU_ASSERT(pathsim_wait_hung(sim, 0, MANY_HUNG, 5000));
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 1), 5000, &res, &ms, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(ms < PROMPT_MS);
	watchdog_done(&w);
	pthread_join(thr, NULL);
	if (submit_ms >= PROMPT_MS || ms >= PROMPT_MS)
		printf("\n  submit %llu ms, healthy read %llu ms\n",
		       (unsigned long long)submit_ms, (unsigned long long)ms);
	CU_ASSERT(pathsim_counts_are(sim, 0, MANY_HUNG, 0, 0, 0, MANY_HUNG));
	CU_ASSERT(pathsim_release(sim) == 0);
	got = aio_reader_wait(&r, MANY_HUNG, ev, 10000);
	CU_ASSERT_EQUAL(got, (int)MANY_HUNG);
	for (int i = 0; i < got; i++)
		bad += (long)ev[i].res != -EIO;
	CU_ASSERT_EQUAL(bad, 0);
	aio_reader_close(&r);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "mode_up", test_mode_up },
		{ "mode_eio", test_mode_eio },
		{ "mode_short", test_mode_short },
		{ "mode_slow", test_mode_slow },
		{ "mode_hung", test_mode_hung },
		{ "release_rule", test_release_rule },
		{ "flaky", test_flaky },
		{ "flaky_seed", test_flaky_seed },
		{ "many_hung", test_many_hung },
		{ NULL, NULL },
	};

	return pc_test_main("pathsim_modes", tests, argc, argv);
}
