/* SPDX-License-Identifier: MIT */
/*
 * Many open file descriptions of one inode (pc_path_new(3)): the library
 * keeps them ordered by kcmp, so each pc_path_new() on a new description
 * costs a few dozen kcmp calls, not one per earlier description (16,000
 * opens of one device well within 20 s).  And the order keeps each
 * description apart: a dup'd fd joins its own, and each is restored when
 * its own last path goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define N	16000

static char file[256];

static int direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_DIRECT);
}

static void test_many_descriptions(void)
{
	struct pc_options o = { .workers = 1, .group_size = 4000,
				.log = pc_test_log_quiet };
	static int fds[N];
	static struct pc_path *paths[N];
	struct pc_path *dup_path;
	struct pc_engine *e;
	struct rlimit rl;
	uint64_t t0, open_ms, free_ms;
	uint64_t seed = 18;
	int n = 0, err = 0, d;

	PC_REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < N + 200)
		PC_SKIP("RLIMIT_NOFILE's hard limit %llu < %d",
			(unsigned long long)rl.rlim_max, N + 200);
	if (rl.rlim_cur < N + 200) {
		rl.rlim_cur = N + 200;
		PC_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	}
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < N; i++) {
		fds[i] = open(file, O_RDONLY | O_CLOEXEC);
		PC_REQUIRE(fds[i] >= 0);
	}
	t0 = pc_test_now_ms();
	for (n = 0; n < N; n++) {
		err = pc_path_new(e, fds[n], NULL, &paths[n]);
		if (err)
			break;
	}
	open_ms = pc_test_now_ms() - t0;
	if (err == -EAGAIN) {	/* fs.aio-max-nr taken by others */
		for (int i = 0; i < n; i++)
			pc_path_free(paths[i]);
		pc_engine_free(e);
		for (int i = 0; i < N; i++)
			close(fds[i]);
		PC_SKIP("io_setup: no aio slots left for %d paths", N);
	}
	CU_ASSERT_EQUAL(err, 0);
	printf("\n  %d paths on %d descriptions of one file: %llu ms\n", n, N,
	       (unsigned long long)open_ms);
	/* Well under a second on a quiet machine; 313 s before. */
	CU_ASSERT_TRUE(open_ms < 20000);
	for (int i = 0; i < n; i++)
		CU_ASSERT_TRUE(direct(fds[i]));

	/* A dup of one in the middle joins that description. */
	d = dup(fds[N / 2]);
	PC_REQUIRE(d >= 0);
	PC_REQUIRE(pc_path_new(e, d, NULL, &dup_path) == 0);
	pc_path_free(paths[N / 2]);
	paths[N / 2] = NULL;
	CU_ASSERT_TRUE(direct(d));
	CU_ASSERT_EQUAL(pc_check(dup_path, PC_SYNC), PC_UP);
	pc_path_free(dup_path);
	CU_ASSERT_FALSE(direct(d));
	close(d);

	/* Freed in a random order, each description is restored when its
	 * path goes, and only then. */
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(pc_test_rand(&seed) % (uint64_t)(i + 1));
		struct pc_path *p = paths[i];
		int f = fds[i];

		paths[i] = paths[j];
		fds[i] = fds[j];
		paths[j] = p;
		fds[j] = f;
	}
	t0 = pc_test_now_ms();
	for (int i = 0; i < n; i++) {
		if (!paths[i])
			continue;
		pc_path_free(paths[i]);
		if (!(i % 97)) {
			CU_ASSERT_FALSE(direct(fds[i]));
			if (i + 1 < n && paths[i + 1])
				CU_ASSERT_TRUE(direct(fds[i + 1]));
		}
	}
	free_ms = pc_test_now_ms() - t0;
	printf("  freed in a random order: %llu ms\n",
	       (unsigned long long)free_ms);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_FALSE(direct(fds[i]));
		close(fds[i]);
	}
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "many_descriptions", test_many_descriptions },
		{ NULL, NULL },
	};

	return pc_test_main_file("odirect_many_opens", tests, argc, argv, file,
				 sizeof(file));
}
