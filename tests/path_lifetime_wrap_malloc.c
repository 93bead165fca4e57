/* SPDX-License-Identifier: MIT */
/*
 * pc_check_many() racing with pc_path_free() of one of its paths from
 * another thread answers as if the free came first or last (pathcheck.h,
 * note [1]): it never reads a path whose memory is gone.
 *
 * Built with -Wl,--wrap=malloc,--wrap=free (the library is linked in
 * statically): the first allocation pc_check_many() makes frees the path
 * there and then and waits, a while, for its memory to be released; the
 * released memory is scribbled over, so a later look at it crashes in
 * every build, not only under ASan.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

void *__real_malloc(size_t size);
void __real_free(void *ptr);
void *__wrap_malloc(size_t size);
void __wrap_free(void *ptr);

static char file[256];
static struct pc_path *victim;		/* freed inside pc_check_many */
static atomic_int armed, victim_released;
static _Thread_local bool inside;

void __wrap_free(void *ptr)
{
	if (ptr && ptr == (void *)victim) {
		memset(ptr, 0xa5, malloc_usable_size(ptr));
		atomic_store(&victim_released, 1);
	}
	__real_free(ptr);
}

void *__wrap_malloc(size_t size)
{
	if (!inside && atomic_exchange(&armed, 0)) {
		inside = true;
		pc_path_free(victim);
		/* Its memory goes once no reader can hold it: at once when
		 * pc_check_many has not yet said that it holds it. */
		pc_test_wait_flag(&victim_released, 500);
		inside = false;
	}
	return __real_malloc(size);
}

static void test_free_during_check_many(void)
{
	struct pc_options o = { .workers = 1, .group_size = 1 };
	struct pc_engine *e;
	struct pc_path *paths[2];
	int fd = open(file, O_RDONLY | O_CLOEXEC), n;

	PC_REQUIRE(fd >= 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &paths[0]) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &paths[1]) == 0);
	victim = paths[1];
	atomic_store(&armed, 1);
	n = pc_check_many(paths, 2);
	CU_ASSERT_EQUAL(atomic_load(&armed), 0);	/* the race did happen */
	CU_ASSERT_EQUAL(n, 1);		/* the freed path is skipped */
	CU_ASSERT_EQUAL(pc_check(paths[0], PC_SYNC), PC_UP);
	pc_path_free(paths[0]);
	pc_engine_free(e);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "free_during_check_many", test_free_during_check_many },
		{ NULL, NULL },
	};

	return pc_test_main_file("path_lifetime_wrap_malloc", tests, argc, argv,
				 file, sizeof(file));
}
