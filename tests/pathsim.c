/* SPDX-License-Identifier: MIT */
/*
 * pathsim itself, against the real kernel: every mode read through Linux
 * AIO with O_DIRECT (a small reader here, not the engine), the control
 * language, the loop devices, and clean exits when things go wrong.
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

#define BLK		AIO_READER_BLK
#define PATH_SIZE	(1u << 20)
#define MANY_HUNG	1000u
#define PROMPT_MS	1000u	/* "promptly": a healthy read among hung ones */
#define EXIT_BOUND_MS	3000u	/* a process freed from hung reads exits */

static bool all_zero(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/*
 * One read of BLK at off; its result in *res and its latency in *ms.
 * Returns 0, or -ETIMEDOUT after releasing the sim so nothing is left.
 */
static int read_once(struct pathsim *sim, const char *path, unsigned int ms,
		     long *res, uint64_t *lat_ms, bool *zeros)
{
	struct aio_reader r;
	struct io_event ev;
	uint64_t t0;
	int ret;

	ret = aio_reader_open(&r, path, 1, PATH_SIZE);
	if (ret) {
		aio_reader_close(&r);
		return ret;
	}
	t0 = pc_test_now_ms();
	if (aio_reader_submit(&r, 1) != 1) {
		aio_reader_close(&r);
		return -EIO;
	}
	if (aio_reader_wait(&r, 1, &ev, ms) != 1) {
		pathsim_release(sim);
		aio_reader_wait(&r, 1, &ev, 5000);
		aio_reader_close(&r);
		return -ETIMEDOUT;
	}
	*res = (long)ev.res;
	if (lat_ms)
		*lat_ms = pc_test_now_ms() - t0;
	if (zeros)
		*zeros = *res > 0 && all_zero(r.bufs, (size_t)*res);
	aio_reader_close(&r);
	return 0;
}

/* --- helpers --------------------------------------------------------------- */

static bool counts_are(struct pathsim *sim, unsigned int i, unsigned long reads,
		       unsigned long ok, unsigned long failed,
		       unsigned long shortreads, unsigned long hung)
{
	struct pathsim_counts c;

	if (pathsim_counts(sim, i, &c))
		return false;
	if (c.reads == reads && c.ok == ok && c.failed == failed &&
	    c.shortreads == shortreads && c.hung == hung)
		return true;
	printf("\n  p%u: reads=%lu ok=%lu failed=%lu short=%lu hung=%lu, "
	       "expected %lu %lu %lu %lu %lu\n", i, c.reads, c.ok, c.failed,
	       c.shortreads, c.hung, reads, ok, failed, shortreads, hung);
	return false;
}

/* Waits up to ms for path i to hold n hung reads. */
static bool wait_hung(struct pathsim *sim, unsigned int i, unsigned long n,
		      unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	struct pathsim_counts c;

	do {
		if (!pathsim_counts(sim, i, &c) && c.hung == n)
			return true;
		pc_test_sleep_ms(5);
	} while (pc_test_now_ms() < deadline);
	return false;
}

static char *control_table(struct pathsim *sim)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
	return pc_test_read_file(path, NULL);
}

/* The mode column of path i in a control table. */
static bool mode_is(const char *table, unsigned int i, const char *mode)
{
	char key[24], got[64];
	const char *line;

	snprintf(key, sizeof(key), "\np%u ", i);
	line = strstr(table, key);
	if (!line || sscanf(line + strlen(key), "%63s", got) != 1)
		return false;
	if (strcmp(got, mode)) {
		printf("\n  p%u is %s, expected %s\n", i, got, mode);
		return false;
	}
	return true;
}

/* One write(2) of text to path: 0 or -errno. */
static int write_file(const char *path, const char *text)
{
	ssize_t n;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	ret = n < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int control_write(struct pathsim *sim, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
	return write_file(path, text);
}

static bool is_mounted(const char *dir)
{
	char *mounts = pc_test_read_file("/proc/self/mounts", NULL), pat[PATH_MAX + 2];
	bool found;

	if (!mounts)
		return true;
	snprintf(pat, sizeof(pat), " %s ", dir);
	found = strstr(mounts, pat) != NULL;
	free(mounts);
	return found;
}

static const char *pathsim_bin(void)
{
	static char bin[PATH_MAX];
	const char *dir = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathsim", dir && *dir ? dir : "build");
	return bin;
}

/* Runs pathsim with argv (argv[0] ignored); stdout into out; status. */
static int run_pathsim(char **argv, char *out, size_t len, pid_t *pidp)
{
	int pfd[2], devnull, status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	argv[0] = (char *)pathsim_bin();
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(pfd[1], 1);
		dup2(devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (pidp) {		/* a server: the caller reads "ready" */
		*pidp = pid;
		return pfd[0];
	}
	while (used + 1 < len && (n = read(pfd[0], out + used,
					   len - 1 - used)) > 0)
		used += (size_t)n;
	if (len)
		out[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -ECHILD;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads a server's stdout until "ready"; true when it came in time. */
static bool read_ready(int fd, unsigned int ms)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (len + 1 < sizeof(buf) && poll(&pfd, 1, (int)ms) == 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "ready "))
			return true;
	}
	return false;
}

static bool skip_without_fuse(void)
{
	if (access("/dev/fuse", R_OK | W_OK) == 0 &&
	    access(pathsim_bin(), X_OK) == 0)
		return false;
	pc_test_skip("needs /dev/fuse and %s", pathsim_bin());
	return true;
}

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
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), 2000, &res, &ms, &zeros) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(zeros);
	CU_ASSERT(counts_are(sim, 0, 1, 1, 0, 0, 0));
	CU_ASSERT(counts_are(sim, 1, 0, 0, 0, 0, 0));
	pathsim_stop(sim);
}

static void test_mode_eio(void)
{
	struct pathsim *sim;
	long res;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 1), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	CU_ASSERT(counts_are(sim, 1, 1, 0, 1, 0, 0));
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	pathsim_stop(sim);
}

static void test_mode_short(void)
{
	struct pathsim *sim;
	long res = 0;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "0", "short") == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(res > 0 && res < (long)BLK);
	CU_ASSERT(counts_are(sim, 0, 1, 0, 0, 1, 0));
	pathsim_stop(sim);
}

static void test_mode_slow(void)
{
	struct pathsim *sim;
	uint64_t ms = 0;
	long res;

	PATHSIM_START(sim, 2, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "slow:200") == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 1), 2000, &res, &ms, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(ms >= 200 && ms < 300);
	if (ms < 200 || ms >= 300)
		printf("\n  slow:200 answered in %llu ms\n", (unsigned long long)ms);
	CU_ASSERT(counts_are(sim, 1, 1, 1, 0, 0, 0));
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
	CU_ASSERT(wait_hung(sim, 0, 3, 2000));
	CU_ASSERT(counts_are(sim, 0, 3, 0, 0, 0, 3));
	/* io_cancel cannot take a read back from a FUSE server */
	CU_ASSERT_EQUAL(io_cancel(r.ctx, &r.cbs[0], &ev[0]), -EINVAL);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 3, ev, 2000), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL((long)ev[i].res, -EIO); /* still hung: EIO */
	CU_ASSERT(counts_are(sim, 0, 3, 0, 3, 0, 0));
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
	CU_ASSERT(wait_hung(sim, 0, 2, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "up") == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 2, ev, 200), 0); /* set alone frees nothing */
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 2, ev, 2000), 2);
	CU_ASSERT(ev[0].res == BLK && ev[1].res == BLK);
	CU_ASSERT(all_zero(r0.bufs, 2 * BLK));

	/* short when released */
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(wait_hung(sim, 0, 1, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "short") == 0);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 2000), 1);
	CU_ASSERT((long)ev[0].res > 0 && (long)ev[0].res < (long)BLK);

	/* slow when released: answered MS after the release */
	CU_ASSERT(pathsim_set(sim, "p0", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(wait_hung(sim, 0, 1, 2000));
	CU_ASSERT(pathsim_set(sim, "p0", "slow:100") == 0);
	t0 = pc_test_now_ms();
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 2000), 1);
	ms = pc_test_now_ms() - t0;
	CU_ASSERT(ev[0].res == BLK && ms >= 100 && ms < 200);
	CU_ASSERT(counts_are(sim, 0, 4, 3, 0, 1, 0));

	/* a release target leaves the other paths hung */
	CU_ASSERT(pathsim_set(sim, "all", "hung") == 0);
	CU_ASSERT(aio_reader_submit(&r0, 1) == 1);
	CU_ASSERT(aio_reader_submit(&r1, 1) == 1);
	CU_ASSERT(wait_hung(sim, 0, 1, 2000) && wait_hung(sim, 1, 1, 2000));
	CU_ASSERT(control_write(sim, "release p1\n") == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r1, 1, ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev[0].res, -EIO);
	CU_ASSERT_EQUAL(aio_reader_wait(&r0, 1, ev, 200), 0);
	CU_ASSERT(counts_are(sim, 0, 5, 3, 0, 1, 1));
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
	CU_ASSERT(counts_are(sim, 0, N, ok, failed, 0, 0));

	CU_ASSERT(pathsim_reset(sim) == 0);
	CU_ASSERT(pathsim_set(sim, "all", "flaky:0") == 0);
	CU_ASSERT(aio_reader_submit(&r, 20) == 20);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 20, ev, 5000), 20);
	CU_ASSERT(counts_are(sim, 0, 20, 20, 0, 0, 0));
	CU_ASSERT(pathsim_set(sim, "all", "flaky:1") == 0);
	CU_ASSERT(aio_reader_submit(&r, 20) == 20);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 20, ev, 5000), 20);
	CU_ASSERT(counts_are(sim, 0, 40, 20, 20, 0, 0));
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

	if (skip_without_fuse())
		return;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (int i = 0; i < 2; i++) {
		PC_REQUIRE(pc_test_mkdtemp(dir[i], sizeof(dir[i]), "pathsim-seed") == 0);
		argv[9] = dir[i];
		fd[i] = run_pathsim(argv, out, 0, &pid[i]);
		PC_REQUIRE(fd[i] >= 0);
		CU_ASSERT(read_ready(fd[i], 10000));
	}
	for (int i = 0; i < 2; i++) {
		struct stat st;

		snprintf(file, sizeof(file), "%s/p0", dir[i]);
		snprintf(ctl, sizeof(ctl), "%s/control", dir[i]);
		CU_ASSERT(stat(file, &st) == 0 && st.st_size == 2 << 20);
		CU_ASSERT(write_file(ctl, "set 0 flaky:0.5\n") == 0);
		bits[i] = flaky_pattern(file, 48);
		if (i == 1) {
			CU_ASSERT(write_file(ctl, "reset\nset 0 flaky:0.5\n") == 0);
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
		CU_ASSERT(!is_mounted(dir[i]));
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
	CU_ASSERT(wait_hung(sim, 0, MANY_HUNG, 5000));
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 1), 5000, &res, &ms, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(ms < PROMPT_MS);
	watchdog_done(&w);
	pthread_join(thr, NULL);
	if (submit_ms >= PROMPT_MS || ms >= PROMPT_MS)
		printf("\n  submit %llu ms, healthy read %llu ms\n",
		       (unsigned long long)submit_ms, (unsigned long long)ms);
	CU_ASSERT(counts_are(sim, 0, MANY_HUNG, 0, 0, 0, MANY_HUNG));
	CU_ASSERT(pathsim_release(sim) == 0);
	got = aio_reader_wait(&r, MANY_HUNG, ev, 10000);
	CU_ASSERT_EQUAL(got, (int)MANY_HUNG);
	for (int i = 0; i < got; i++)
		bad += (long)ev[i].res != -EIO;
	CU_ASSERT_EQUAL(bad, 0);
	aio_reader_close(&r);
	pathsim_stop(sim);
}

/* --- the control language ------------------------------------------------ */

static bool modes_are(struct pathsim *sim, const char *const *modes,
		      unsigned int n)
{
	char *table = control_table(sim);
	bool ok = table != NULL;

	for (unsigned int i = 0; ok && i < n; i++)
		ok = mode_is(table, i, modes[i]);
	free(table);
	return ok;
}

static void test_targets(void)
{
	static const char *const a[] = { "up", "up", "eio", "eio", "eio",
					 "up", "up", "up", "up", "up" };
	static const char *const b[] = { "short", "short", "short", "eio", "eio",
					 "up", "up", "up", "up", "up" };
	static const char *const c[] = { "hung", "hung", "hung", "hung", "hung",
					 "up", "up", "slow:10", "up", "flaky:0.25" };
	static const char *const d[] = { "up", "up", "up", "up", "up",
					 "up", "up", "up", "up", "up" };
	static const char *const e[] = { "eio", "eio", "eio", "eio", "up",
					 "up", "up", "up", "up", "up" };
	struct pathsim *sim;

	PATHSIM_START(sim, 10, 0);
	CU_ASSERT(pathsim_set(sim, "2-4", "eio") == 0);
	CU_ASSERT(modes_are(sim, a, 10));
	CU_ASSERT(pathsim_set(sim, "0.25", "short") == 0);	/* round(2.5) */
	CU_ASSERT(modes_are(sim, b, 10));
	CU_ASSERT(pathsim_set(sim, "50%", "hung") == 0);
	CU_ASSERT(pathsim_set(sim, "p7", "slow:10") == 0);
	CU_ASSERT(pathsim_set(sim, "9", "flaky:0.25") == 0);
	CU_ASSERT(modes_are(sim, c, 10));
	CU_ASSERT(pathsim_set(sim, "all", "up") == 0);
	CU_ASSERT(modes_are(sim, d, 10));
	CU_ASSERT(pathsim_set(sim, "35%", "eio") == 0);	/* round(3.5) */
	CU_ASSERT(pathsim_set(sim, "0.0", "hung") == 0);	/* no path */
	CU_ASSERT(pathsim_set(sim, "0%", "hung") == 0);
	CU_ASSERT(modes_are(sim, e, 10));
	CU_ASSERT(pathsim_set(sim, "100%", "up") == 0);
	CU_ASSERT(pathsim_set(sim, "1.0", "up") == 0);
	CU_ASSERT(pathsim_set(sim, "9-9", "up") == 0);
	CU_ASSERT(modes_are(sim, d, 10));
	pathsim_stop(sim);
}

static void test_bad_commands(void)
{
	static const char *const bad[] = {
		"set\n", "set all\n", "set all bogus\n", "set all up extra\n",
		"set p8 up\n", "set 8 up\n", "set p01 up\n", "set -1 up\n",
		"set 5-3 up\n", "set 3- up\n", "set 0-8 up\n", "set 1.5 up\n",
		"set 101% up\n", "set % up\n", "set .5 up\n", "set 0x1 up\n",
		"set all slow:\n", "set all slow:abc\n", "set all slow:-1\n",
		"set all slow:99999999999\n", "set all flaky:2\n",
		"set all flaky:nan\n", "set all flaky:0.5x\n", "set all flaky:\n",
		"set all UP\n", "frobnicate\n", "reset now\n", "release p9\n",
		"release all more\n", "set all up\nset all bogus\n",
		"set p1 eio\nfrobnicate\n",
	};
	struct pathsim *sim;
	char *before, *after;
	int refused = 0;

	PATHSIM_START(sim, 8, 0);
	CU_ASSERT(pathsim_set(sim, "p3", "hung") == 0);
	before = control_table(sim);
	PC_REQUIRE(before != NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = control_write(sim, bad[i]);

		refused += ret == -EINVAL;
		if (ret != -EINVAL)
			printf("\n  accepted: %s", bad[i]);
	}
	{	/* an embedded NUL */
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
		fd = open(path, O_WRONLY | O_CLOEXEC);
		CU_ASSERT(fd >= 0 && write(fd, "set all up\0\n", 12) < 0 &&
			  errno == EINVAL);
		if (fd >= 0)
			close(fd);
	}
	CU_ASSERT_EQUAL(refused, (int)(sizeof(bad) / sizeof(bad[0])));
	after = control_table(sim);
	CU_ASSERT(after && !strcmp(before, after));
	CU_ASSERT(before[0] == '#');
	/* several good lines in one write: all applied */
	CU_ASSERT(control_write(sim, "set p1 eio\n# comment\n\nset p2 short") == 0);
	free(after);
	after = control_table(sim);
	CU_ASSERT(after && mode_is(after, 1, "eio") && mode_is(after, 2, "short") &&
		  mode_is(after, 3, "hung"));
	free(before);
	free(after);
	pathsim_stop(sim);
}

static void test_counts_reset(void)
{
	struct pathsim *sim;
	struct io_event ev;
	struct aio_reader r;
	long res;
	char *table;
	static const char *const up[] = { "up", "up", "up" };

	PATHSIM_START(sim, 3, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(pathsim_set(sim, "p2", "hung") == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 1), 2000, &res, NULL, NULL) == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 2), 1, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 1) == 1);
	CU_ASSERT(wait_hung(sim, 2, 1, 2000));
	CU_ASSERT(counts_are(sim, 0, 2, 2, 0, 0, 0));
	CU_ASSERT(counts_are(sim, 1, 1, 0, 1, 0, 0));
	CU_ASSERT(counts_are(sim, 2, 1, 0, 0, 0, 1));
	/* reset: all up, the hung read answered in full, counters zero */
	CU_ASSERT(pathsim_reset(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev.res, BLK);
	for (unsigned int i = 0; i < 3; i++)
		CU_ASSERT(counts_are(sim, i, 0, 0, 0, 0, 0));
	CU_ASSERT(modes_are(sim, up, 3));
	table = control_table(sim);
	CU_ASSERT(table && !strncmp(table, "# pathsim 1 paths=3 ", 20));
	free(table);
	aio_reader_close(&r);
	pathsim_stop(sim);
}

static void test_ctl_cli(void)
{
	char mp[PATH_MAX], out[8192];
	char *set_eio[] = { NULL, "ctl", mp, "set", "p1", "eio", NULL };
	char *set_bad[] = { NULL, "ctl", mp, "set", "p1", "bogus", NULL };
	char *release[] = { NULL, "ctl", mp, "release", NULL };
	char *reset[] = { NULL, "ctl", mp, "reset", NULL };
	char *show[] = { NULL, "ctl", mp, "show", NULL };
	char *json[] = { NULL, "ctl", mp, "show", "--json", NULL };
	char *nomnt[] = { NULL, "ctl", "/nonexistent", "show", NULL };
	char *usage[] = { NULL, "ctl", mp, NULL };
	char *two[] = { NULL, "ctl", mp, "set", "p1 eio", "up", NULL };
	struct pathsim *sim;

	PATHSIM_START(sim, 3, 0);
	snprintf(mp, sizeof(mp), "%s", pathsim_mountpoint(sim));
	CU_ASSERT_EQUAL(run_pathsim(set_eio, out, sizeof(out), NULL), 0);
	CU_ASSERT_EQUAL(run_pathsim(json, out, sizeof(out), NULL), 0);
	CU_ASSERT(out[0] == '[' && strstr(out, "{\"path\":\"p1\",\"mode\":\"eio\","
		  "\"reads\":0,\"ok\":0,\"failed\":0,\"short\":0,\"hung\":0}") &&
		  strstr(out, "{\"path\":\"p2\",\"mode\":\"up\","));
	CU_ASSERT_EQUAL(run_pathsim(show, out, sizeof(out), NULL), 0);
	CU_ASSERT(out[0] == '#' && strstr(out, "\np1 eio reads=0 ok=0 failed=0 "
					  "short=0 hung=0\n"));
	CU_ASSERT_EQUAL(run_pathsim(set_bad, out, sizeof(out), NULL), 1);
	CU_ASSERT_EQUAL(run_pathsim(two, out, sizeof(out), NULL), 2);
	CU_ASSERT_EQUAL(run_pathsim(release, out, sizeof(out), NULL), 0);
	CU_ASSERT_EQUAL(run_pathsim(nomnt, out, sizeof(out), NULL), 1);
	CU_ASSERT_EQUAL(run_pathsim(usage, out, sizeof(out), NULL), 2);
	CU_ASSERT_EQUAL(run_pathsim(reset, out, sizeof(out), NULL), 0);
	CU_ASSERT(modes_are(sim, (const char *const[]){ "up", "up", "up" }, 3));
	pathsim_stop(sim);
}

static void test_options(void)
{
	char dir[96], out[4096];
	char *cases[][6] = {
		{ NULL, "--paths", "0", dir, NULL },
		{ NULL, "--paths", "x", dir, NULL },
		{ NULL, "-n", "1000001", dir, NULL },
		{ NULL, "--size", "1000", dir, NULL },
		{ NULL, "--size", "1M1", dir, NULL },
		{ NULL, "--size", "1049000", dir, NULL },
		{ NULL, "--seed", "-1", dir, NULL },
		{ NULL, "--parent-watch", "0", dir, NULL },
		{ NULL, "--loop-block-size", "768", dir, NULL },
		{ NULL, "--paths", NULL },
		{ NULL, "--bogus", dir, NULL },
		{ NULL, NULL },
		{ NULL, dir, dir, NULL },
		{ NULL, "/nonexistent/pathsim", NULL },
	};
	char *help[] = { NULL, "--help", NULL };

	if (skip_without_fuse())
		return;
	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pathsim-opt") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = run_pathsim(cases[i], out, sizeof(out), NULL);

		CU_ASSERT_EQUAL(st, 2);
		if (st != 2)
			printf("\n  case %zu: status %d\n", i, st);
	}
	CU_ASSERT(!is_mounted(dir));
	CU_ASSERT_EQUAL(run_pathsim(help, out, sizeof(out), NULL), 0);
	CU_ASSERT(strstr(out, "usage: pathsim") != NULL);
	rmdir(dir);
}

static void test_many_paths(void)
{
	struct pathsim *sim;
	struct pathsim_counts c;
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];
	unsigned int entries = 0;
	long res;
	DIR *d;

	PATHSIM_START(sim, 10000, 0);
	CU_ASSERT(stat(pathsim_file(sim, 9999), &st) == 0 &&
		  st.st_size == PATH_SIZE);
	snprintf(path, sizeof(path), "%s/p10000", pathsim_mountpoint(sim));
	CU_ASSERT(stat(path, &st) < 0 && errno == ENOENT);
	d = opendir(pathsim_mountpoint(sim));
	PC_REQUIRE(d != NULL);
	while ((de = readdir(d)))
		entries += de->d_name[0] != '.';
	closedir(d);
	CU_ASSERT_EQUAL(entries, 10001);	/* p0..p9999 and control */
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 9999), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "9990-9999", "eio") == 0);
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 9995), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	CU_ASSERT(pathsim_counts(sim, 9995, &c) == 0 && c.failed == 1);
	CU_ASSERT(counts_are(sim, 9999, 1, 1, 0, 0, 0));
	pathsim_stop(sim);
}

/* --- loop devices (root) ------------------------------------------------- */

static bool loop_sysfs(const char *dev, const char *attr, char *buf,
		       size_t len)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/block/%s/%s", dev + 5, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void test_loop(void)
{
	struct pathsim *sim;
	struct io_event ev;
	struct aio_reader r;
	char dev[64], buf[PATH_MAX];
	uint64_t deadline;
	long res = 0;
	int fd, lbs = 0;
	bool gone = false;

	PATHSIM_START(sim, 2, PATHSIM_LOOP);
	snprintf(dev, sizeof(dev), "%s", pathsim_dev(sim, 1));
	CU_ASSERT(!strncmp(dev, "/dev/loop", 9));
	CU_ASSERT(loop_sysfs(dev, "loop/dio", buf, sizeof(buf)) && buf[0] == '1');
	CU_ASSERT(loop_sysfs(dev, "loop/backing_file", buf, sizeof(buf)) &&
		  !strncmp(buf, pathsim_file(sim, 1), strlen(pathsim_file(sim, 1))));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	CU_ASSERT(fd >= 0 && ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs == 512);
	if (fd >= 0)
		close(fd);

	CU_ASSERT(read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	/* a block device cannot read short: the loop driver retries the rest,
	 * halving each time, until nothing comes back, then fails */
	CU_ASSERT(pathsim_set(sim, "p1", "short") == 0);
	CU_ASSERT(read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);

	CU_ASSERT(pathsim_set(sim, "p1", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, dev, 1, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 1) == 1);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 300), 0);
	CU_ASSERT(wait_hung(sim, 1, 1, 2000));
	CU_ASSERT_EQUAL(io_cancel(r.ctx, &r.cbs[0], &ev), -EINVAL);
	/* the other loop device is not held up */
	CU_ASSERT(read_once(sim, pathsim_dev(sim, 0), PROMPT_MS, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "p1", "up") == 0);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev.res, BLK);
	aio_reader_close(&r);

	/* pathsim's exit detaches its loop devices */
	CU_ASSERT_EQUAL(pathsim_stop_status(sim), 0);
	deadline = pc_test_now_ms() + 2000;
	while (!gone && pc_test_now_ms() < deadline) {
		gone = !loop_sysfs(dev, "loop/backing_file", buf, sizeof(buf));
		if (!gone)
			pc_test_sleep_ms(10);
	}
	CU_ASSERT(gone);
}

/* --- clean exits ----------------------------------------------------------- */

/* SIGTERM with reads hung: they fail, pathsim unmounts and exits 0. */
static void test_exit_sigterm(void)
{
	struct io_event ev[2];
	struct pathsim *sim;
	struct aio_reader r;
	char dir[PATH_MAX];

	PATHSIM_START(sim, 1, 0);
	snprintf(dir, sizeof(dir), "%s", pathsim_mountpoint(sim));
	CU_ASSERT(pathsim_set(sim, "all", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 0), 2, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 2) == 2);
	CU_ASSERT(wait_hung(sim, 0, 2, 2000));
	CU_ASSERT(kill(pathsim_pid(sim), SIGTERM) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 2, ev, EXIT_BOUND_MS), 2);
	CU_ASSERT(ev[0].res == (unsigned long)-EIO && ev[1].res == (unsigned long)-EIO);
	CU_ASSERT_EQUAL(pc_test_wait_exit(pathsim_pid(sim), EXIT_BOUND_MS), 0);
	CU_ASSERT(!is_mounted(dir));
	aio_reader_close(&r);
	pathsim_stop(sim);	/* already reaped: frees and removes dir */
	CU_ASSERT(access(dir, F_OK) < 0);
}

/* The child: holds hung AIO reads on its own pathsim, then waits to die. */
static void hold_hung_reads(int out)
{
	struct pathsim *sim;
	struct aio_reader r;
	const char *why;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the test */
	if (pathsim_start(&sim, 1, 0, &why)) {
		dprintf(out, "SKIP %s\n", why ? why : "pathsim did not start");
		_exit(0);
	}
	if (pathsim_set(sim, "p0", "hung") ||
	    aio_reader_open(&r, pathsim_dev(sim, 0), 4, PATH_SIZE) ||
	    aio_reader_submit(&r, 4) != 4 || !wait_hung(sim, 0, 4, 5000)) {
		dprintf(out, "FAIL setup\n");
		pathsim_stop(sim);
		_exit(1);
	}
	dprintf(out, "OK %d %s\n", (int)pathsim_pid(sim),
		pathsim_mountpoint(sim));
	for (;;)
		pause();
}

static bool read_line(int fd, char *buf, size_t len, unsigned int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && poll(&pfd, 1, (int)ms) == 1) {
		n = read(fd, buf + used, len - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strchr(buf, '\n'))
			return true;
	}
	return false;
}

/*
 * kill -9 of a process holding hung AIO reads: it waits in the kernel
 * for them (exit_aio) until its pathsim notices PF_EXITING and answers.
 * Then that pathsim, whose parent is gone, unmounts and exits 0.
 */
static void test_exit_killed_reader(void)
{
	char line[PATH_MAX + 64], mp[PATH_MAX], ctl[PATH_MAX + 16];
	int pfd[2], st, sim_pid = 0;
	pid_t child;

	if (skip_without_fuse())
		return;
	PC_REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	PC_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
	fflush(NULL);
	child = fork();
	PC_REQUIRE(child >= 0);
	if (child == 0) {
		close(pfd[0]);
		hold_hung_reads(pfd[1]);
	}
	close(pfd[1]);
	if (!read_line(pfd[0], line, sizeof(line), 15000) ||
	    sscanf(line, "OK %d %4095s", &sim_pid, mp) != 2) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		close(pfd[0]);
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		if (!strncmp(line, "SKIP ", 5))
			PC_SKIP("%s", line + 5);
		CU_FAIL_FATAL("the child could not hold hung reads");
		return;
	}
	close(pfd[0]);
	CU_ASSERT(kill(child, SIGKILL) == 0);
	st = pc_test_wait_exit(child, EXIT_BOUND_MS);
	CU_ASSERT_EQUAL(st, 128 + SIGKILL);
	if (st == -ETIMEDOUT) {		/* stuck in exit_aio: free it */
		snprintf(ctl, sizeof(ctl), "%s/control", mp);
		st = open(ctl, O_WRONLY);
		if (st >= 0 && write(st, "release\n", 8) < 0)
			printf("\n  release failed\n");
		if (st >= 0)
			close(st);
		pc_test_wait_exit(child, 10000);
	}
	CU_ASSERT_EQUAL(pc_test_wait_exit(sim_pid, EXIT_BOUND_MS), 0);
	CU_ASSERT(!is_mounted(mp));
	rmdir(mp);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* --parent-watch: the watched process exits, pathsim follows cleanly. */
static void test_exit_parent_gone(void)
{
	char dir[96], pidbuf[16], out[16];
	char *argv[] = { NULL, "-n", "2", "--parent-watch", pidbuf, dir, NULL };
	pid_t watched, sim_pid;
	int fd;

	if (skip_without_fuse())
		return;
	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pathsim-watch") == 0);
	watched = fork();
	PC_REQUIRE(watched >= 0);
	if (watched == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)watched);
	fd = run_pathsim(argv, out, 0, &sim_pid);
	PC_REQUIRE(fd >= 0);
	CU_ASSERT(read_ready(fd, 10000));
	CU_ASSERT(is_mounted(dir));
	kill(watched, SIGKILL);
	waitpid(watched, NULL, 0);
	CU_ASSERT_EQUAL(pc_test_wait_exit(sim_pid, EXIT_BOUND_MS), 0);
	CU_ASSERT(!is_mounted(dir));
	close(fd);
	rmdir(dir);
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
		{ "targets", test_targets },
		{ "bad_commands", test_bad_commands },
		{ "counts_reset", test_counts_reset },
		{ "ctl_cli", test_ctl_cli },
		{ "options", test_options },
		{ "many_paths", test_many_paths },
		{ "loop", test_loop },
		{ "exit_sigterm", test_exit_sigterm },
		{ "exit_killed_reader", test_exit_killed_reader },
		{ "exit_parent_gone", test_exit_parent_gone },
		{ NULL, NULL },
	};

	return pc_test_main("pathsim", tests, argc, argv);
}
