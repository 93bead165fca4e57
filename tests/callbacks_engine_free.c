/* SPDX-License-Identifier: MIT */
/*
 * pc_engine_free() must not be called from on_result (pathcheck(3), "What
 * on_result may call", pc_engine_free(3)): called from any library worker,
 * whichever engine's, it is refused and logged.  Two engines whose
 * callbacks free each other's engine therefore do not deadlock.  Run in a
 * child process, so that a hang fails the test instead of stalling it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];
static struct pc_engine *eng[2];
static struct pc_path *path[2];
static atomic_int entered[2], done[2], refusals;

static void count_refusal(void *arg, int priority, const char *msg)
{
	(void)arg;
	if (priority <= LOG_CRIT && strstr(msg, "refused"))
		atomic_fetch_add(&refusals, 1);
}

static void on_result(struct pc_path *p, int state, void *arg)
{
	int me = p == path[1], other = !me;

	(void)state;
	(void)arg;
	atomic_store(&entered[me], 1);
	/* Both callbacks at once: each frees the other's engine. */
	pc_test_wait_flag(&entered[other], 2000);
	pc_engine_free(eng[other]);
	atomic_store(&done[me], 1);
}

/* The child: 0 when both calls were refused and returned. */
static int cross_free(void)
{
	struct pc_options o = { .workers = 1, .log = count_refusal,
				.on_result = on_result };

	for (int i = 0; i < 2; i++) {
		if (pc_engine_new(&o, &eng[i]) ||
		    pc_path_open(eng[i], file, NULL, &path[i]))
			return 2;
	}
	/* The pointers are all set before any callback can run. */
	for (int i = 0; i < 2; i++)
		pc_check(path[i], 0);
	for (int i = 0; i < 2; i++)
		if (!pc_test_wait_flag(&done[i], 5000))
			return 3;
	if (atomic_load(&refusals) != 2)
		return 4;
	pc_engine_free(eng[0]);
	pc_engine_free(eng[1]);
	return 0;
}

static void test_callbacks_free_each_others_engine(void)
{
	pid_t pid = fork();
	int st;

	PC_REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(cross_free());
	st = pc_test_wait_exit(pid, 15000);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CU_ASSERT_EQUAL(st, 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "callbacks_free_each_others_engine",
		  test_callbacks_free_each_others_engine },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks_engine_free", tests, argc, argv,
				 file, sizeof(file));
}
