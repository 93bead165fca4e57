/* SPDX-License-Identifier: MIT */
/*
 * A PC_SYNC check keeps its group alive (docs/design.md, "A group's
 * life"): the check pins the group from its io_submit() to its return, so
 * the group outlives its path being freed (an orphan) and its group-mate
 * freed too while the waiter is between its RCU read section and
 * io_submit().
 *
 * Built with -Wl,--wrap=io_submit (the library is linked in statically):
 * a thread marked to pause stops in io_submit() until the test lets it go,
 * standing in for preemption or a page fault at the worst moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

int __real_io_submit(io_context_t ctx, long nr, struct iocb **iocbs);
int __wrap_io_submit(io_context_t ctx, long nr, struct iocb **iocbs);

static char file[256];
static _Thread_local atomic_int *pause_flag;	/* set: pause, then wait go */
static _Thread_local atomic_int *go_flag;

int __wrap_io_submit(io_context_t ctx, long nr, struct iocb **iocbs)
{
	if (pause_flag) {
		atomic_store(pause_flag, 1);
		pc_test_wait_flag(go_flag, 10000);
		pause_flag = NULL;
	}
	return __real_io_submit(ctx, nr, iocbs);
}

struct checker {
	struct pc_path *path;
	atomic_int paused, go;
	int ret;
};

static void *check_paused(void *arg)
{
	struct checker *c = arg;

	pause_flag = &c->paused;
	go_flag = &c->go;
	c->ret = pc_check(c->path, PC_SYNC);
	return NULL;
}

static void *free_path(void *arg)
{
	pc_path_free(arg);
	return NULL;
}

static uint64_t stat_of(struct pc_engine *e, size_t off)
{
	struct pc_stats st;

	pc_engine_stats(e, &st);
	return *(uint64_t *)((char *)&st + off);
}

static bool wait_stat(struct pc_engine *e, size_t off, uint64_t want,
		      unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;

	while (stat_of(e, off) != want)
		if (pc_test_now_ms() > until)
			return false;
		else
			pc_test_sleep_ms(1);
	return true;
}

#define WAIT_STAT(e, f, want, ms) \
	wait_stat(e, offsetof(struct pc_stats, f), want, ms)

/*
 * A and B share a group of two slots; both are in a PC_SYNC check, paused
 * before io_submit.  Both are freed (orphans: every slot taken, no path
 * left).  B's checker goes on and returns, so B's free returns; then,
 * a while later, A's checker goes on.  The group must still be there for
 * it, and must retire and be destroyed once it is done.
 */
static void test_group_outlives_sync_check(void)
{
	struct pc_options o = { .workers = 1, .group_size = 2,
				.timeout_ms = 2000 };
	struct checker a = { .ret = 0 }, b = { .ret = 0 };
	pthread_t ta, tb, fa, fb;
	struct pc_engine *e;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	PC_REQUIRE(fd >= 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a.path) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &b.path) == 0);
	CU_ASSERT_EQUAL(stat_of(e, offsetof(struct pc_stats, groups)), 1);
	PC_REQUIRE(pthread_create(&ta, NULL, check_paused, &a) == 0);
	PC_REQUIRE(pthread_create(&tb, NULL, check_paused, &b) == 0);
	CU_ASSERT_TRUE(pc_test_wait_flag(&a.paused, 5000));
	CU_ASSERT_TRUE(pc_test_wait_flag(&b.paused, 5000));
	PC_REQUIRE(pthread_create(&fa, NULL, free_path, a.path) == 0);
	PC_REQUIRE(pthread_create(&fb, NULL, free_path, b.path) == 0);
	/* Both unlinked: their reads are orphans, the group fully so. */
	CU_ASSERT_TRUE(WAIT_STAT(e, orphans, 2, 5000));
	atomic_store(&b.go, 1);
	pthread_join(tb, NULL);
	pthread_join(fb, NULL);
	CU_ASSERT_EQUAL(b.ret, -ENODEV);
	/* Time for a reaper and a destroyer to free the group, were it
	 * not held. */
	pc_test_sleep_ms(300);
	CU_ASSERT_EQUAL(stat_of(e, offsetof(struct pc_stats, groups_destroyed)), 0);
	atomic_store(&a.go, 1);
	pthread_join(ta, NULL);
	pthread_join(fa, NULL);
	CU_ASSERT_EQUAL(a.ret, -ENODEV);
	/* The orphans answered and went; the group, retired by the last
	 * checker out or left empty, takes a new path or goes with a reset. */
	CU_ASSERT_TRUE(WAIT_STAT(e, inflight, 0, 5000));
	CU_ASSERT_TRUE(WAIT_STAT(e, orphans, 0, 5000));
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a.path) == 0);
	CU_ASSERT_EQUAL(pc_check(a.path, PC_SYNC), PC_UP);
	pc_path_free(a.path);
	CU_ASSERT_TRUE(pc_engine_reset(e) >= 0);
	CU_ASSERT_TRUE(WAIT_STAT(e, groups, 0, 5000));
	pc_engine_free(e);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "group_outlives_sync_check", test_group_outlives_sync_check },
		{ NULL, NULL },
	};

	return pc_test_main_file("sync_checks_wrap_io_submit", tests, argc, argv,
				 file, sizeof(file));
}
