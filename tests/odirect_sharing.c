/* SPDX-License-Identifier: MIT */
/*
 * O_DIRECT belongs to the open file description (pc_path_new(3)): with
 * two paths on one fd, or on dup'd fds, freeing one path leaves O_DIRECT
 * set under the other; the last one restores the caller's flags.  Two
 * separate open()s of one file are two descriptions, each restored when
 * its own path goes.  The caller's own O_DIRECT is never cleared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];

static int direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_DIRECT);
}

static struct pc_engine *engine(void)
{
	struct pc_options o = { .workers = 1 };
	struct pc_engine *e = NULL;

	pc_engine_new(&o, &e);
	return e;
}

static void test_two_paths_one_fd(void)
{
	struct pc_engine *e = engine();
	struct pc_path *a, *b;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	PC_REQUIRE(e && fd >= 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &b) == 0);
	CU_ASSERT_TRUE(direct(fd));
	pc_path_free(a);
	CU_ASSERT_TRUE(direct(fd));	/* b still reads through it */
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd));	/* the caller's flags again */
	close(fd);
	pc_engine_free(e);
}

static void test_dup_fds(void)
{
	struct pc_engine *e = engine();
	struct pc_path *a, *b;
	int fd = open(file, O_RDONLY | O_CLOEXEC), fd2;

	PC_REQUIRE(e && fd >= 0);
	fd2 = dup(fd);
	PC_REQUIRE(fd2 >= 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd2, NULL, &b) == 0);
	/* The first path goes, with its fd: the second's stays direct. */
	pc_path_free(a);
	close(fd);
	CU_ASSERT_TRUE(direct(fd2));
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd2));
	close(fd2);
	pc_engine_free(e);
}

/* Two engines, one fd: the registry is the process's, not an engine's. */
static void test_two_engines(void)
{
	struct pc_engine *e1 = engine(), *e2 = engine();
	struct pc_path *a, *b;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	PC_REQUIRE(e1 && e2 && fd >= 0);
	PC_REQUIRE(pc_path_new(e1, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e2, fd, NULL, &b) == 0);
	pc_engine_free(e1);
	CU_ASSERT_TRUE(direct(fd));
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd));
	pc_engine_free(e2);
	close(fd);
}

static void test_separate_opens(void)
{
	struct pc_engine *e = engine();
	struct pc_path *a, *b;
	int fd1 = open(file, O_RDONLY | O_CLOEXEC);
	int fd2 = open(file, O_RDONLY | O_CLOEXEC);

	PC_REQUIRE(e && fd1 >= 0 && fd2 >= 0);
	PC_REQUIRE(pc_path_new(e, fd1, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd2, NULL, &b) == 0);
	pc_path_free(a);
	CU_ASSERT_FALSE(direct(fd1));
	CU_ASSERT_TRUE(direct(fd2));
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd2));
	close(fd1);
	close(fd2);
	pc_engine_free(e);
}

static void test_callers_own_direct(void)
{
	struct pc_engine *e = engine();
	struct pc_path *a, *b;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_DIRECT);

	PC_REQUIRE(e);
	if (fd < 0)
		PC_SKIP("%s: O_DIRECT: %s", file, strerror(errno));
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &b) == 0);
	pc_path_free(a);
	pc_path_free(b);
	CU_ASSERT_TRUE(direct(fd));	/* it was never ours to clear */
	close(fd);
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "two_paths_one_fd", test_two_paths_one_fd },
		{ "dup_fds", test_dup_fds },
		{ "two_engines", test_two_engines },
		{ "separate_opens", test_separate_opens },
		{ "callers_own_direct", test_callers_own_direct },
		{ NULL, NULL },
	};

	return pc_test_main_file("odirect_sharing", tests, argc, argv, file,
				 sizeof(file));
}
