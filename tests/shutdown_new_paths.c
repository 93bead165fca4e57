/* SPDX-License-Identifier: MIT */
/*
 * Paths made while pc_engine_free() runs (pathcheck(3), "Shutdown",
 * pc_path_new(3)): an on_result that makes a new path (pc_path_new or
 * pc_path_open, say to reopen a failed device) once pc_engine_free() has
 * begun is refused with -ESHUTDOWN, and nothing of the engine is left
 * behind: the caller's fd gets its flags back and no fd leaks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];
static int fd;
static struct pc_engine *engine;
static struct pc_path *a, *b;
static atomic_int in_callback, new_rc, open_rc, saw_free;

/* b's callback, held until pc_engine_free() has freed a (group 0; b is in
 * group 1, freed after), then makes two paths. */
static void on_result(struct pc_path *p, int state, void *arg)
{
	struct pc_path *n = NULL, *o = NULL;

	(void)state;
	(void)arg;
	if (p != b)
		return;
	atomic_store(&in_callback, 1);
	/* Callbacks still running may look at any path of the engine while
	 * pc_engine_free() frees them (pathcheck.h, note [3]). */
	for (int i = 0; i < 2000 && pc_path_state(a) != -ENODEV; i++)
		pc_test_sleep_ms(1);
	atomic_store(&saw_free, pc_path_state(a) == -ENODEV);
	atomic_store(&new_rc, pc_path_new(engine, fd, NULL, &n));
	atomic_store(&open_rc, pc_path_open(engine, file, NULL, &o));
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_new_path_during_free(void)
{
	struct pc_options o = { .workers = 1, .group_size = 1,
				.on_result = on_result };

	int fds;

	atomic_store(&new_rc, 1);
	atomic_store(&open_rc, 1);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(fd >= 0);
	fds = open_fds();
	PC_REQUIRE(pc_engine_new(&o, &engine) == 0);
	PC_REQUIRE(pc_path_new(engine, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(engine, fd, NULL, &b) == 0);
	PC_REQUIRE(pc_check(b, 0) == PC_PENDING);
	PC_REQUIRE(pc_test_wait_flag(&in_callback, 5000));
	pc_engine_free(engine);
	CU_ASSERT_TRUE(atomic_load(&saw_free));
	CU_ASSERT_EQUAL(atomic_load(&new_rc), -ESHUTDOWN);
	CU_ASSERT_EQUAL(atomic_load(&open_rc), -ESHUTDOWN);
	/* Every path on fd is gone: the caller's flags are back. */
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	/* pc_path_open's descriptor was closed, with the engine's own. */
	CU_ASSERT_EQUAL(open_fds(), fds);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "new_path_during_free", test_new_path_during_free },
		{ NULL, NULL },
	};

	return pc_test_main_file("shutdown_new_paths", tests, argc, argv, file,
				 sizeof(file));
}
