/* SPDX-License-Identifier: MIT */
/*
 * No library lock is held across a callback (pathcheck(3), "Locks and
 * callbacks"), the log callback included.  A log callback takes an
 * application lock; another thread holding that lock calls
 * pc_path_open(), which needs a new aio group: both complete.  The
 * scenario runs in a child process that the test kills if it hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];
static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int in_log, holder_ready;
static __thread int logs_take_app_lock;
static struct pc_engine *engine;

/* The application's log: takes its own lock, as loggers do. */
static void app_log(void *arg, int prio, const char *msg)
{
	(void)arg; (void)prio; (void)msg;
	if (!logs_take_app_lock)
		return;
	atomic_store(&in_log, 1);
	/* Give the lock holder time to reach pc_path_open's group lock. */
	while (!atomic_load(&holder_ready))
		pc_test_sleep_ms(1);
	pc_test_sleep_ms(50);
	pthread_mutex_lock(&app_lock);
	pthread_mutex_unlock(&app_lock);
}

/* Holds the application lock and opens a path (a new aio group). */
static void *holder(void *arg)
{
	struct pc_path *p;

	(void)arg;
	pthread_mutex_lock(&app_lock);
	while (!atomic_load(&in_log))
		pc_test_sleep_ms(1);
	atomic_store(&holder_ready, 1);
	if (pc_path_open(engine, file, NULL, &p) == 0)
		pc_path_free(p);
	pthread_mutex_unlock(&app_lock);
	return NULL;
}

static void *opener(void *arg)
{
	struct pc_path *p;

	(void)arg;
	logs_take_app_lock = 1;
	if (pc_path_open(engine, file, NULL, &p) == 0)
		pc_path_free(p);
	return NULL;
}

static int child(void)
{
	/* group_size 1: every open creates a group, which logs. */
	struct pc_options o = { .workers = 1, .group_size = 1,
				.log = app_log };
	pthread_t a, b;

	if (pc_engine_new(&o, &engine) < 0)
		return 2;
	pthread_create(&a, NULL, opener, NULL);
	pthread_create(&b, NULL, holder, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pc_engine_free(engine);
	return 0;
}

static void test_log_callback_takes_app_lock(void)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(child());
	st = pc_test_wait_exit(pid, 5000);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		printf("\n  deadlock: the log callback ran under a library lock\n");
	}
	CU_ASSERT_EQUAL(st, 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "log_callback_takes_app_lock",
		  test_log_callback_takes_app_lock },
		{ NULL, NULL },
	};

	return pc_test_main_file("callbacks_no_lock_held", tests, argc, argv,
				 file, sizeof(file));
}
