/* SPDX-License-Identifier: MIT */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "loop.h"

static unsigned int skipped;
static int current_skipped;

void pc_test_skip(const char *fmt, ...)
{
	va_list ap;

	printf("\n  SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	current_skipped = 1;
}

static const struct pc_test *tests_run;

static void run_one(const struct pc_test *t)
{
	current_skipped = 0;
	t->fn();
	if (current_skipped)
		skipped++;
}

/* CUnit calls plain void(void) functions: trampolines for up to 64 tests. */
#define TRAMP(a, b) \
	static void tramp##a##b(void) { run_one(&tests_run[8 * a + b]); }
#define T8(a) TRAMP(a, 0) TRAMP(a, 1) TRAMP(a, 2) TRAMP(a, 3) \
	      TRAMP(a, 4) TRAMP(a, 5) TRAMP(a, 6) TRAMP(a, 7)
T8(0) T8(1) T8(2) T8(3) T8(4) T8(5) T8(6) T8(7)
#define R8(a) tramp##a##0, tramp##a##1, tramp##a##2, tramp##a##3, \
	      tramp##a##4, tramp##a##5, tramp##a##6, tramp##a##7
static void (*const tramps[64])(void) = {
	R8(0), R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7)
};

int pc_test_main(const char *suite_name, const struct pc_test *tests,
		 int argc, char **argv)
{
	CU_pSuite suite;
	unsigned int n, ran, failed, passed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tests_run = tests;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, NULL, NULL);
	for (n = 0; suite && tests[n].name; n++) {
		if (n >= 64) {
			fprintf(stderr, "harness: at most 64 tests a file\n");
			return 1;
		}
		if (argc > 1 && strcmp(argv[1], tests[n].name))
			continue;
		CU_add_test(suite, tests[n].name, tramps[n]);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	ran = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	passed = ran - failed - skipped;
	CU_cleanup_registry();
	printf("\n%s: %u passed, %u failed, %u skipped\n", suite_name,
	       passed, failed, skipped);
	if (failed)
		return 1;
	return ran && skipped == ran ? 77 : 0;
}

int pc_test_main_file(const char *suite, const struct pc_test *tests,
		      int argc, char **argv, char *file, size_t len)
{
	int fd = pc_test_tmpfile(file, len, 1 << 20), ret;

	if (fd < 0) {
		fprintf(stderr, "%s: scratch file: %s\n", suite, strerror(-fd));
		return 1;
	}
	close(fd);
	ret = pc_test_main(suite, tests, argc, argv);
	unlink(file);
	return ret;
}

uint64_t pc_test_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t pc_test_now_ms(void)
{
	return pc_test_now_us() / 1000u;
}

void pc_test_sleep_ms(unsigned int ms)
{
	struct timespec ts = ts_from_ms(ms);

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

const char *pc_test_need_root(void)
{
	return geteuid() == 0 ? NULL : "needs root";
}

const char *pc_test_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t && strlen(t) < 60 ? t : "/tmp";
}

int pc_test_mkdtemp(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s.XXXXXX", pc_test_tmpdir(), name);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;	/* callers may use errno */
		return -ENAMETOOLONG;
	}
	return mkdtemp(buf) ? 0 : -errno;
}

int pc_test_tmpfile(char *buf, size_t len, off_t size)
{
	int fd;

	snprintf(buf, len, "%s/pctest.XXXXXX", pc_test_tmpdir());
	fd = mkstemp(buf);
	if (fd < 0)
		return -errno;
	if (size && ftruncate(fd, size) < 0) {
		int err = -errno;

		close(fd);
		unlink(buf);
		return err;
	}
	return fd;
}

int pc_test_loop_attach(const char *file, unsigned int blksize,
			char *dev, size_t len)
{
	int lfd = loop_attach_free(file, blksize, 0, dev, len);

	if (lfd < 0)
		return lfd;
	close(lfd);
	return 0;
}

int pc_test_loop_detach(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* One write(2) of text to path: 0 or -errno. */
int pc_test_no_fds_left(struct rlimit *saved)
{
	struct rlimit rl;
	int lowest = dup(0);

	if (lowest < 0)
		return -errno;
	close(lowest);
	if (getrlimit(RLIMIT_NOFILE, saved))
		return -errno;
	rl = *saved;
	rl.rlim_cur = (rlim_t)lowest;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

int pc_test_write_file(const char *path, const char *text)
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

bool pc_test_is_mounted(const char *dir)
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

bool pc_test_all_zero(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/* splitmix64: small, seedable, good enough for tests' dice */
uint64_t pc_test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int pc_test_wait_flag(atomic_int *flag, unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;

	while (!atomic_load(flag) && pc_test_now_ms() < until)
		pc_test_sleep_ms(1);
	return atomic_load(flag);
}

void pc_test_log_quiet(void *arg, int priority, const char *msg)
{
	(void)arg;
	(void)priority;
	(void)msg;
}
