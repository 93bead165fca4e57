/* SPDX-License-Identifier: MIT */
/*
 * dlclose() after pc_engine_free() (pathcheck(3), "Unloading"), as plugin
 * loaders such as multipathd do.  pc_engine_free() abandons a destroyer
 * thread still in io_destroy() on a hung pathsim read after shutdown_ms;
 * the program then unloads the library and the read is released.  The
 * destroyer still finds its code: the library stays mapped while any of
 * its threads lives.  The scenario runs in a child process, so a crash is
 * a failure of this test and not of the test program.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "harness.h"

struct api {
	int (*engine_new)(const struct pc_options *, struct pc_engine **);
	void (*engine_free)(struct pc_engine *);
	int (*path_open)(struct pc_engine *, const char *, void *,
			 struct pc_path **);
	int (*check)(struct pc_path *, int);
};

static void so_path(char *buf, size_t len)
{
	const char *dir = getenv("PC_BUILD_DIR");

	snprintf(buf, len, "%s/libpathcheck.so", dir && *dir ? dir : "build");
}

/* The child: 0 when all went well, 2.. for setup failures; a crash is a
 * signal. */
static int child(struct pathsim *sim, const char *so)
{
	struct pc_options o = { .workers = 1, .timeout_ms = 100,
				.shutdown_ms = 100 };
	struct pc_engine *e;
	struct pc_path *p;
	struct api api;
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&api.engine_new = dlsym(h, "pc_engine_new");
	*(void **)&api.engine_free = dlsym(h, "pc_engine_free");
	*(void **)&api.path_open = dlsym(h, "pc_path_open");
	*(void **)&api.check = dlsym(h, "pc_check");
	if (!api.engine_new || !api.engine_free || !api.path_open ||
	    !api.check)
		return 3;
	if (api.engine_new(&o, &e) < 0)
		return 4;
	if (api.path_open(e, pathsim_dev(sim, 0), NULL, &p) < 0)
		return 5;
	api.check(p, 0);		/* hangs in pathsim */
	pc_test_sleep_ms(20);
	api.engine_free(e);		/* abandons the destroyer */
	dlclose(h);
	pathsim_release(sim);		/* the destroyer wakes up */
	pc_test_sleep_ms(300);
	return 0;
}

static void test_dlclose_with_abandoned_destroyer(void)
{
	char so[PATH_MAX];
	struct pathsim *sim;
	pid_t pid;
	int st;

	so_path(so, sizeof(so));
	if (access(so, R_OK))
		PC_SKIP("%s: %s (make lib first)", so, strerror(errno));
	PATHSIM_START(sim, 1, 0);
	PC_REQUIRE(pathsim_set(sim, "p0", "hung") == 0);
	fflush(NULL);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(child(sim, so));
	st = pc_test_wait_exit(pid, 10000);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	printf("\n  child exit status %d%s\n", st,
	       st > 128 ? " (killed by a signal)" : "");
	CU_ASSERT_EQUAL(st, 0);
	pathsim_set(sim, "all", "up");
	pathsim_release(sim);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "dlclose_with_abandoned_destroyer",
		  test_dlclose_with_abandoned_destroyer },
		{ NULL, NULL },
	};

	return pc_test_main("shutdown_dlclose", tests, argc, argv);
}
