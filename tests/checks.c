/* SPDX-License-Identifier: MIT */
/*
 * The directio check on regular files and loop devices (pathcheck(3),
 * "The directio check", pc_path_check(3), pc_check_many(3)): a PC_SYNC
 * check answers UP; an async check's result is pulled with
 * pc_path_result() or pushed to on_result; pc_check_many() checks each of
 * its paths; a short read is DOWN; a path reads whole logical blocks of
 * its device's size; a read the kernel refuses fails its check DOWN with
 * PC_REASON_SUBMIT_ERROR.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static int make_file(char *name, size_t len, off_t size)
{
	int fd = pc_test_tmpfile(name, len, size);

	if (fd >= 0)
		close(fd);
	return fd;
}

static void test_sync_up(void)
{
	struct pc_engine *e;
	struct pc_path *p;
	struct pc_result r;
	char name[256];

	PC_REQUIRE(make_file(name, sizeof(name), 1 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	CU_ASSERT_EQUAL(pc_path_open(e, name, NULL, &p), 0);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_UNCHECKED);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_UP);
	CU_ASSERT_EQUAL(pc_path_result(p, &r), 0);
	CU_ASSERT_EQUAL(r.state, PC_UP);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_OK);
	CU_ASSERT_EQUAL(r.bytes, 4096u);
	CU_ASSERT_EQUAL(r.checks, 1u);
	CU_ASSERT_EQUAL(pc_path_blksize(p), 4096);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	pc_path_result(p, &r);
	CU_ASSERT_EQUAL(r.checks, 2u);
	pc_path_free(p);
	pc_engine_free(e);
	unlink(name);
}

/* Without on_result: start, then the result once, then a new read. */
static void test_async_pull(void)
{
	struct pc_engine *e;
	struct pc_path *p;
	char name[256];
	int st, polls = 0;

	PC_REQUIRE(make_file(name, sizeof(name), 1 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	PC_REQUIRE(pc_path_open(e, name, NULL, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	while ((st = pc_check(p, 0)) == PC_PENDING && polls++ < 2000)
		pc_test_sleep_ms(1);
	CU_ASSERT_EQUAL(st, PC_UP);
	CU_ASSERT_EQUAL(pc_path_state(p), PC_UP);
	/* The result was handed out: this call starts a new read. */
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	pc_path_free(p);
	pc_engine_free(e);
	unlink(name);
}

/* A file shorter than the block reads short: DOWN. */
static void test_short_read(void)
{
	struct pc_engine *e;
	struct pc_path *p;
	struct pc_result r;
	char name[256];

	PC_REQUIRE(make_file(name, sizeof(name), 1024) >= 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	PC_REQUIRE(pc_path_open(e, name, NULL, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_DOWN);
	pc_path_result(p, &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_SHORT_READ);
	CU_ASSERT_EQUAL(r.bytes, 1024u);
	pc_path_free(p);
	pc_engine_free(e);
	unlink(name);
}

struct counter {
	atomic_uint results[4];
	atomic_uint total;
};

static void count_result(struct pc_path *p, int state, void *arg)
{
	struct counter *c = arg;

	(void)p;
	if (state >= 0 && state < 4)
		atomic_fetch_add(&c->results[state], 1);
	atomic_fetch_add(&c->total, 1);
}

static void wait_total(struct counter *c, unsigned int n, unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;

	while (atomic_load(&c->total) < n && pc_test_now_ms() < until)
		pc_test_sleep_ms(1);
}

/* on_result: once per check, sync checks included. */
static void test_on_result(void)
{
	struct counter c = { 0 };
	struct pc_options o = { .on_result = count_result };
	struct pc_engine *e;
	struct pc_path *p;
	char name[256];

	PC_REQUIRE(make_file(name, sizeof(name), 1 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_open(e, name, &c, &p) == 0);
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	wait_total(&c, 1, 2000);
	CU_ASSERT_EQUAL(atomic_load(&c.total), 1);
	/* Delivered to on_result: pc_check starts a new read. */
	CU_ASSERT_EQUAL(pc_check(p, 0), PC_PENDING);
	wait_total(&c, 2, 2000);
	CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
	wait_total(&c, 3, 2000);
	pc_test_sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&c.total), 3);
	CU_ASSERT_EQUAL(atomic_load(&c.results[PC_UP]), 3);
	pc_path_free(p);
	pc_engine_free(e);
	unlink(name);
}

/* pc_check_many over several groups, unsorted, with duplicates. */
static void test_check_many(void)
{
	enum { N = 100 };
	struct counter c = { 0 };
	struct pc_options o = { .on_result = count_result, .group_size = 8 };
	struct pc_path *paths[N], *mixed[N + 10];
	struct pc_stats st;
	struct pc_engine *e;
	char name[256];
	int i, n;

	PC_REQUIRE(make_file(name, sizeof(name), 1 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (i = 0; i < N; i++)
		PC_REQUIRE(pc_path_open(e, name, &c, &paths[i]) == 0);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.groups, (N + 7) / 8);
	for (i = 0; i < N; i++)
		mixed[i] = paths[(i * 37) % N];
	for (i = 0; i < 10; i++)
		mixed[N + i] = paths[i];
	n = pc_check_many(mixed, N + 10);
	CU_ASSERT_EQUAL(n, N);
	wait_total(&c, N, 5000);
	pc_test_sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&c.total), N);
	CU_ASSERT_EQUAL(atomic_load(&c.results[PC_UP]), N);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.checks, N);
	CU_ASSERT_EQUAL(st.up, N);
	CU_ASSERT_EQUAL(st.inflight, 0);
	CU_ASSERT_EQUAL(pc_check_many(NULL, 0), 0);
	CU_ASSERT_EQUAL(pc_check_many(NULL, 3), -EINVAL);
	mixed[3] = NULL;
	CU_ASSERT_EQUAL(pc_check_many(mixed, 5), -EINVAL);
	for (i = 0; i < N; i++)
		pc_path_free(paths[i]);
	pc_engine_free(e);
	unlink(name);
}

/* Loop devices with logical block sizes 512..4096: read BLKBSZGET bytes. */
static void test_block_sizes(void)
{
	static const unsigned int sizes[] = { 512, 1024, 2048, 4096 };
	struct pc_engine *e;
	char name[256], dev[64];
	const char *why = pc_test_need_root();

	if (why)
		PC_SKIP("loop devices: %s", why);
	PC_REQUIRE(make_file(name, sizeof(name), 8 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct pc_path *p;
		struct pc_result r;
		int fd, bs = 0, err;

		err = pc_test_loop_attach(name, sizes[i], dev, sizeof(dev));
		if (err) {
			unlink(name);
			pc_engine_free(e);
			PC_SKIP("no loop device: %s", strerror(-err));
		}
		fd = open(dev, O_RDONLY);
		CU_ASSERT_TRUE(fd >= 0);
		CU_ASSERT_EQUAL(ioctl(fd, BLKBSZGET, &bs), 0);
		CU_ASSERT_EQUAL(pc_path_new(e, fd, NULL, &p), 0);
		CU_ASSERT_EQUAL(pc_path_blksize(p), bs);
		CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
		pc_path_result(p, &r);
		CU_ASSERT_EQUAL(r.bytes, (unsigned int)bs);
		pc_path_free(p);
		/* The caller's flags come back without O_DIRECT. */
		CU_ASSERT_EQUAL(fcntl(fd, F_GETFL) & O_DIRECT, 0);
		close(fd);
		CU_ASSERT_EQUAL(pc_test_loop_detach(dev), 0);
	}
	pc_engine_free(e);
	unlink(name);
}

/* io_submit() refusing a read (the caller closed its fd): the check
 * finishes DOWN on a worker like any other, once, and the rest of the
 * batch is unharmed. */
static void test_submit_error(void)
{
	struct counter c = { 0 };
	struct pc_options o = { .on_result = count_result, .group_size = 4 };
	struct pc_path *p[4];
	struct pc_result r;
	struct pc_stats st;
	struct pc_engine *e;
	char name[256];
	int fd, i;

	PC_REQUIRE(make_file(name, sizeof(name), 1 << 20) >= 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	fd = open(name, O_RDONLY);
	PC_REQUIRE(fd >= 0);
	PC_REQUIRE(pc_path_new(e, fd, &c, &p[0]) == 0);
	for (i = 1; i < 4; i++)
		PC_REQUIRE(pc_path_open(e, name, &c, &p[i]) == 0);
	close(fd);	/* behind the engine's back (after the opens: no reuse) */
	CU_ASSERT_EQUAL(pc_check(p[0], PC_SYNC), PC_DOWN);
	pc_path_result(p[0], &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_SUBMIT_ERROR);
	CU_ASSERT_EQUAL(r.error, EBADF);
	wait_total(&c, 1, 2000);
	CU_ASSERT_EQUAL(pc_check_many(p, 4), 4);
	wait_total(&c, 5, 2000);
	pc_test_sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&c.total), 5);
	CU_ASSERT_EQUAL(atomic_load(&c.results[PC_DOWN]), 2);
	CU_ASSERT_EQUAL(atomic_load(&c.results[PC_UP]), 3);
	pc_engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.inflight, 0);
	CU_ASSERT_EQUAL(st.checks, 5);
	pc_engine_free(e);
	unlink(name);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "sync_up", test_sync_up },
		{ "async_pull", test_async_pull },
		{ "short_read", test_short_read },
		{ "on_result", test_on_result },
		{ "check_many", test_check_many },
		{ "block_sizes", test_block_sizes },
		{ "submit_error", test_submit_error },
		{ NULL, NULL },
	};

	return pc_test_main("checks", tests, argc, argv);
}
