/* SPDX-License-Identifier: MIT */
/*
 * A path's life from pc_path_new()/pc_path_open() to pc_path_free(), and
 * an engine's from pc_engine_new() to pc_engine_free() (pathcheck(3),
 * pc_path_new(3), pc_path_open(3)): groups are made lazily and their slots
 * reused, a caller's fd is left as it was given, pc_engine_reset() starts
 * over, teardown leaves no fd behind, and every kind of bad input is
 * refused with a negative errno and a log line naming what the caller
 * named.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static struct pc_stats stats_of(struct pc_engine *e)
{
	struct pc_stats st;

	pc_engine_stats(e, &st);
	return st;
}

static int wait_groups(struct pc_engine *e, uint64_t groups, unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;

	while (stats_of(e).groups != groups && pc_test_now_ms() < until)
		pc_test_sleep_ms(2);
	return stats_of(e).groups == groups;
}

static void quiet_log(void *arg, int prio, const char *msg)
{
	(void)arg; (void)prio; (void)msg;
}

static void test_many_paths(void)
{
	enum { N = 4096 };
	struct pc_options o = { .log = quiet_log };
	struct pc_path **p = calloc(N, sizeof(*p));
	struct pc_engine *e;
	int fds = count_fds();

	PC_REQUIRE(p && pc_engine_new(&o, &e) == 0);
	CU_ASSERT_EQUAL(stats_of(e).groups, 0);	/* made lazily */
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(pc_path_open(e, file, NULL, &p[i]), 0);
	CU_ASSERT_EQUAL(stats_of(e).paths, N);
	CU_ASSERT_EQUAL(stats_of(e).groups, N / 1024);
	CU_ASSERT_EQUAL(stats_of(e).aio_slots, N);
	CU_ASSERT_EQUAL(pc_check_many(p, N), N);
	for (int i = 0; i < N; i++)
		pc_path_free(p[i]);
	CU_ASSERT_EQUAL(stats_of(e).paths, 0);
	CU_ASSERT_EQUAL(stats_of(e).groups, N / 1024); /* kept until reset */
	CU_ASSERT_EQUAL(pc_engine_reset(e), N / 1024);
	CU_ASSERT_TRUE(wait_groups(e, 0, 5000));
	CU_ASSERT_EQUAL(stats_of(e).groups_destroyed, N / 1024);
	CU_ASSERT_EQUAL(stats_of(e).aio_slots, 0);
	pc_engine_free(e);
	CU_ASSERT_EQUAL(count_fds(), fds);
	free(p);
}

/* Freed slots are reused before any new group is made. */
static void test_mixed(void)
{
	enum { N = 1000 };
	struct pc_options o = { .group_size = 100 };
	struct pc_path *p[N];
	struct pc_engine *e;

	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < N; i++)
		PC_REQUIRE(pc_path_open(e, file, NULL, &p[i]) == 0);
	CU_ASSERT_EQUAL(stats_of(e).groups, 10);
	for (int i = 0; i < N; i += 2)
		pc_path_free(p[i]);
	for (int i = 0; i < N; i += 2)
		CU_ASSERT_EQUAL(pc_path_open(e, file, NULL, &p[i]), 0);
	CU_ASSERT_EQUAL(stats_of(e).groups, 10);
	CU_ASSERT_EQUAL(stats_of(e).groups_created, 10);
	for (int i = 0; i < N; i += 3)
		CU_ASSERT_EQUAL(pc_check(p[i], PC_SYNC), PC_UP);
	/* Only empty groups go at reset: free the first 300 paths. */
	for (int i = 0; i < 300; i++)
		pc_path_free(p[i]);
	CU_ASSERT_EQUAL(pc_engine_reset(e), 3);
	CU_ASSERT_TRUE(wait_groups(e, 7, 5000));
	for (int i = 300; i < N; i++)
		CU_ASSERT_EQUAL(pc_path_state(p[i]) >= 0, 1);
	pc_engine_free(e);	/* frees the other 700 */
}

/* The caller's fd keeps its flags and stays open. */
static void test_caller_fd(void)
{
	struct pc_engine *e;
	struct pc_path *p;
	int fd = open(file, O_RDONLY);

	PC_REQUIRE(fd >= 0 && pc_engine_new(NULL, &e) == 0);
	CU_ASSERT_EQUAL(pc_path_new(e, fd, &fd, &p), 0);
	CU_ASSERT_PTR_EQUAL(pc_path_arg(p), &fd);
	CU_ASSERT_NOT_EQUAL(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_path_free(p);
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	close(fd);
	pc_engine_free(e);
}

struct logbuf {
	char last[512];
	atomic_int count;
};

static void keep_log(void *arg, int prio, const char *msg)
{
	struct logbuf *l = arg;

	if (prio <= LOG_WARNING) {
		snprintf(l->last, sizeof(l->last), "%s", msg);
		atomic_fetch_add(&l->count, 1);
	}
}

/* Without an engine (NULL, or after a failed new): -EINVAL, nothing crashes. */
static void test_bad_input_no_engine(void)
{
	struct pc_options big = { .group_size = 1u << 20 };
	struct pc_engine *e = (void *)1;
	struct pc_path *p = (void *)1;
	struct pc_result r;
	struct pc_stats st;

	CU_ASSERT_EQUAL(pc_engine_new(NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pc_engine_new(&big, &e), -EINVAL);
	CU_ASSERT_PTR_NULL(e);
	{
		/* Reserved space is for later releases: refused if set. */
		struct pc_options later = { .workers = 1 };

		/* the last slot, whatever fields took the first ones */
		later.resv[sizeof(later.resv) / sizeof(later.resv[0]) - 1] = 1;
		e = (void *)1;
		CU_ASSERT_EQUAL(pc_engine_new(&later, &e), -EINVAL);
		CU_ASSERT_PTR_NULL(e);
	}
	/* Calls after a failed new get -EINVAL, nothing crashes. */
	CU_ASSERT_EQUAL(pc_path_open(e, file, NULL, &p), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(pc_path_new(e, 0, NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(pc_engine_reset(e), -EINVAL);
	CU_ASSERT_EQUAL(pc_engine_stats(e, &st), -EINVAL);
	pc_engine_free(e);
	pc_path_free(NULL);
	CU_ASSERT_EQUAL(pc_check(NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(pc_check_many(NULL, 1), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_state(NULL), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_result(NULL, &r), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_set_timeout(NULL, 5), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_blksize(NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(pc_path_arg(NULL));
	CU_ASSERT_STRING_EQUAL(pc_state_name(PC_DOWN), "down");
	CU_ASSERT_STRING_EQUAL(pc_state_name(99), "unknown");
	CU_ASSERT_STRING_EQUAL(pc_reason_name(PC_REASON_TIMEOUT), "timeout");
	CU_ASSERT_STRING_EQUAL(pc_reason_name(-1), "unknown");
}

/* Descriptors and paths that are not block devices or files are refused
 * with their reason, leak nothing, and the engine still works. */
static void test_bad_input(void)
{
	struct logbuf log = { .count = 0 };
	struct pc_options o = { .log = keep_log, .log_arg = &log };
	struct pc_engine *e = NULL;
	struct pc_path *p = (void *)1;
	char dir[128], fifo[300];
	int fds, pfd[2], sv[2], wfd, cfd;
	struct pc_stats st;

	fds = count_fds();
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	memset(&st, 0xff, sizeof(st));
	CU_ASSERT_EQUAL(pc_engine_stats(e, &st), 0);
	for (size_t i = 0; i < sizeof(st.resv) / sizeof(st.resv[0]); i++)
		CU_ASSERT_EQUAL(st.resv[i], 0);
	CU_ASSERT_EQUAL(pc_path_new(e, -1, NULL, &p), -EBADF);
	CU_ASSERT_PTR_NULL(p);
	cfd = open(file, O_RDONLY);
	close(cfd);
	CU_ASSERT_EQUAL(pc_path_new(e, cfd, NULL, &p), -EBADF);
	wfd = open(file, O_WRONLY);
	CU_ASSERT_EQUAL(pc_path_new(e, wfd, NULL, &p), -EBADF);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "not open for reading"), NULL);
	close(wfd);
	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pctest.dir") == 0);
	CU_ASSERT_EQUAL(pc_path_open(e, dir, NULL, &p), -EISDIR);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "a directory"), NULL);
	/* Messages name what the caller named. */
	CU_ASSERT_NOT_EQUAL(strstr(log.last, dir), NULL);
	CU_ASSERT_EQUAL(pc_path_open(e, "/dev/null", NULL, &p), -ENOTBLK);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "/dev/null is a character device"),
			    NULL);
	PC_REQUIRE(pipe(pfd) == 0);
	CU_ASSERT_EQUAL(pc_path_new(e, pfd[0], NULL, &p), -ENOTBLK);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "a pipe"), NULL);
	close(pfd[0]);
	close(pfd[1]);
	PC_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_EQUAL(pc_path_new(e, sv[0], NULL, &p), -ENOTBLK);
	close(sv[0]);
	close(sv[1]);
	/* A FIFO nobody writes: refused at once, not waited on. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	PC_REQUIRE(mkfifo(fifo, 0600) == 0);
	CU_ASSERT_EQUAL(pc_path_open(e, fifo, NULL, &p), -ENOTBLK);
	unlink(fifo);
	rmdir(dir);
	CU_ASSERT_EQUAL(pc_path_open(e, "/nonexistent/dev", NULL, &p), -ENOENT);
	CU_ASSERT_EQUAL(pc_path_open(e, "", NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_open(e, NULL, NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_open(e, file, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(stats_of(e).paths, 0);

	/* And the engine still works. */
	PC_REQUIRE(pc_path_open(e, file, NULL, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, 0x100), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_set_timeout(p, 0), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_set_timeout(p, 25u * 3600 * 1000), -EINVAL);
	CU_ASSERT_EQUAL(pc_path_set_timeout(p, 500), 0);
	CU_ASSERT_EQUAL(pc_path_result(p, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pc_engine_stats(e, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_path_free(p);
	pc_engine_free(e);
	CU_ASSERT_EQUAL(count_fds(), fds);
}

static int write_sysctl(const char *path, unsigned long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -errno;
	ok = fprintf(f, "%lu\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -EIO;
}

static unsigned long read_sysctl(const char *path)
{
	char *text = pc_test_read_file(path, NULL);
	unsigned long v = text ? strtoul(text, NULL, 10) : 0;

	free(text);
	return v;
}

/* io_setup() out of fs.aio-max-nr: -EAGAIN, and the log says what to do. */
static void test_aio_max_nr(void)
{
	static const char *max_nr = "/proc/sys/fs/aio-max-nr";
	struct logbuf log = { .count = 0 };
	struct pc_options o = { .log = keep_log, .log_arg = &log,
				.group_size = 4096 };
	unsigned long old = read_sysctl(max_nr);
	unsigned long nr = read_sysctl("/proc/sys/fs/aio-nr");
	struct pc_engine *e;
	struct pc_path *p = NULL;
	int err;

	if (pc_test_need_root())
		PC_SKIP("lowering fs.aio-max-nr: %s", pc_test_need_root());
	PC_REQUIRE(old > 0 && pc_engine_new(&o, &e) == 0);
	if (write_sysctl(max_nr, nr + 16)) {
		pc_engine_free(e);
		PC_SKIP("fs.aio-max-nr is not writable here");
	}
	err = pc_path_open(e, file, NULL, &p);
	write_sysctl(max_nr, old);
	CU_ASSERT_EQUAL(err, -EAGAIN);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "fs.aio-max-nr"), NULL);
	CU_ASSERT_NOT_EQUAL(strstr(log.last, "4096"), NULL);
	CU_ASSERT_EQUAL(stats_of(e).groups, 0);
	/* With the budget back, the same engine works. */
	CU_ASSERT_EQUAL(pc_path_open(e, file, NULL, &p), 0);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "many_paths", test_many_paths },
		{ "mixed", test_mixed },
		{ "caller_fd", test_caller_fd },
		{ "bad_input_no_engine", test_bad_input_no_engine },
		{ "bad_input", test_bad_input },
		{ "aio_max_nr", test_aio_max_nr },
		{ NULL, NULL },
	};

	return pc_test_main_file("path_lifetime", tests, argc, argv,
				 file, sizeof(file));
}
