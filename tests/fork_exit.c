/* SPDX-License-Identifier: MIT */
/*
 * fork() and exit() (pathcheck(3), "fork and exit"): a child of fork() can
 * exit() and can make and use its own engine, whatever the parent's engine
 * did before (a pc_path_free, a second group: grace-period work); exit()
 * never waits for an on_result, even one blocked on a lock the exiting
 * thread holds; and fork() never waits for one either, even one blocked on
 * a lock the forking thread holds while a grace period is in progress
 * (callbacks run outside the workers' read-side sections).  Each child runs
 * under a watchdog, so that a hang fails the test instead of stalling it.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define CHILD_MS	20000u

/* ThreadSanitizer ends a child of a threaded parent that starts threads,
 * which is what is tested here. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}

/*
 * AddressSanitizer (gcc 12's) takes no lock of its allocator around
 * fork(): a child forked while a library thread was in malloc() or free()
 * finds that lock held for ever, and LeakSanitizer's check at exit waits
 * on it.  That is the sanitizer's own hang, not the library's, so a child
 * skips the leak check; its exit() still runs every destructor.
 */
static volatile int in_child;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return in_child;
}

static char file[256];

/* Child NAME of this file in a fresh process, under the watchdog. */
static int run_child(const char *name)
{
	return pc_test_run_child(name, file, CHILD_MS);
}

/* The child's status, or -1 after killing it at the watchdog. */
static int reap(pid_t pid)
{
	int rc = pc_test_wait_exit(pid, CHILD_MS);

	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "child %d still runs after %u ms: killed\n",
			(int)pid, CHILD_MS);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return rc;
}

/* A parent engine that did call_rcu() work: two groups, a path freed. */
static struct pc_engine *busy_parent(struct pc_path **keep)
{
	struct pc_options o = { .workers = 1, .group_size = 1 };
	struct pc_engine *e = NULL;
	struct pc_path *gone = NULL;

	if (pc_engine_new(&o, &e))
		return NULL;
	if (pc_path_open(e, file, NULL, keep) ||
	    pc_path_open(e, file, NULL, &gone) ||
	    pc_check(*keep, PC_SYNC) != PC_UP ||
	    pc_check(gone, PC_SYNC) != PC_UP) {
		pc_engine_free(e);
		return NULL;
	}
	pc_path_free(gone);
	return e;
}

static void test_child_exits(void)
{
	struct pc_path *keep = NULL;
	struct pc_engine *e = busy_parent(&keep);
	pid_t pid;

	PC_REQUIRE(e);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0) {
		in_child = 1;
		exit(0);	/* destructors included */
	}
	CU_ASSERT_EQUAL(reap(pid), 0);
	/* The parent's engine goes on. */
	CU_ASSERT_EQUAL(pc_check(keep, PC_SYNC), PC_UP);
	pc_engine_free(e);
}

/* A thread of this process is named name, and blocks SIGTERM. */
static bool quiet_thread_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		char path[300], *comm, *status, *blk;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		comm = pc_test_read_file(path, NULL);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 de->d_name);
		status = pc_test_read_file(path, NULL);
		blk = status ? strstr(status, "\nSigBlk:") : NULL;
		found = comm && !strncmp(comm, name, strlen(name)) && blk &&
			(strtoull(blk + 8, NULL, 16) & (1ULL << (SIGTERM - 1)));
		free(comm);
		free(status);
	}
	if (d)
		closedir(d);
	return found;
}

/* In the child: an engine of its own checks the file.  Its frees go to
 * pc-rcu, started again in the child, signals blocked. */
static int child_engine(void)
{
	struct pc_options o = { .workers = 2, .group_size = 1 };
	struct pc_engine *e = NULL;
	struct pc_path *a = NULL, *b = NULL;
	int ok;

	if (pc_engine_new(&o, &e))
		return 2;
	ok = pc_path_open(e, file, NULL, &a) == 0 &&
	     pc_path_open(e, file, NULL, &b) == 0 &&
	     pc_check(a, PC_SYNC) == PC_UP && pc_check(b, PC_SYNC) == PC_UP;
	pc_path_free(a);
	ok = ok && pc_engine_reset(e) >= 0 && pc_check(b, PC_SYNC) == PC_UP;
	pc_engine_free(e);
	if (!ok)
		return 3;
	return quiet_thread_named("pc-rcu") ? 0 : 4;
}

static void test_child_own_engine(void)
{
	struct pc_path *keep = NULL;
	struct pc_engine *e;
	pid_t pid;

#if defined(__SANITIZE_THREAD__)
	PC_SKIP("ThreadSanitizer cannot follow threads started in a child "
		"of a threaded process (\"dup thread with used id\")");
#endif
	e = busy_parent(&keep);
	PC_REQUIRE(e);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0) {
		in_child = 1;
		exit(child_engine());
	}
	CU_ASSERT_EQUAL(reap(pid), 0);
	CU_ASSERT_EQUAL(pc_check(keep, PC_SYNC), PC_UP);
	pc_engine_free(e);
}

static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int in_callback;

static void wait_for_app(struct pc_path *p, int state, void *arg)
{
	(void)p;
	(void)state;
	(void)arg;
	atomic_store(&in_callback, 1);
	pthread_mutex_lock(&app_lock);
	pthread_mutex_unlock(&app_lock);
}

/* In the child: exit() with app_lock held and an on_result waiting for
 * it.  Exits 0 when exit() returns to the kernel. */
static int child_exit_holding_lock(void)
{
	struct pc_options o = { .workers = 1, .on_result = wait_for_app };
	struct pc_engine *e = NULL;
	struct pc_path *p = NULL, *q = NULL;

	if (pc_engine_new(&o, &e) || pc_path_open(e, file, NULL, &p) ||
	    pc_path_open(e, file, NULL, &q))
		return 2;
	pc_path_free(q);	/* call_rcu() work queued */
	pthread_mutex_lock(&app_lock);
	if (pc_check(p, 0) != PC_PENDING ||
	    !pc_test_wait_flag(&in_callback, 10000))
		return 3;
	exit(0);
}

static void test_exit_holding_lock(void)
{
	CU_ASSERT_EQUAL(run_child("exit_holding_lock"), 0);
}

/*
 * In the child: fork() with app_lock held, an on_result waiting for it,
 * and a grace period in progress: pc_path_free() queues the path's memory
 * to pc-rcu, which starts its grace period 10 ms later (thread.c); we give
 * it ample time to be waiting in it (were the callback in a read section,
 * it would wait for ever).  The grandchild exit()s at once; exits 0 when
 * fork() returned and the grandchild exited.
 */
static int child_fork_holding_lock(void)
{
	struct pc_options o = { .workers = 1, .on_result = wait_for_app };
	struct timespec gp = { 0, 200 * 1000 * 1000L };
	struct pc_engine *e = NULL;
	struct pc_path *p = NULL, *q = NULL;
	pid_t pid;
	int rc;

	if (pc_engine_new(&o, &e) || pc_path_open(e, file, NULL, &p) ||
	    pc_path_open(e, file, NULL, &q))
		return 2;
	pthread_mutex_lock(&app_lock);
	if (pc_check(p, 0) != PC_PENDING ||
	    !pc_test_wait_flag(&in_callback, 10000))
		return 3;
	pc_path_free(q);	/* pc-rcu: a grace period */
	nanosleep(&gp, NULL);
	pid = fork();
	if (pid < 0)
		return 4;
	if (pid == 0) {
		in_child = 1;
		exit(0);	/* destructors included */
	}
	pthread_mutex_unlock(&app_lock);
	rc = reap(pid);
	pc_engine_free(e);
	return rc ? 5 : 0;
}

static void test_fork_holding_lock(void)
{
	CU_ASSERT_EQUAL(run_child("fork_holding_lock"), 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "child_exits", test_child_exits },
		{ "child_own_engine", test_child_own_engine },
		{ "exit_holding_lock", test_exit_holding_lock },
		{ "fork_holding_lock", test_fork_holding_lock },
		{ NULL, NULL },
	};

	if (getenv("PC_TEST_CHILD")) {
		snprintf(file, sizeof(file), "%s", getenv("PC_TEST_FILE"));
		if (!strcmp(getenv("PC_TEST_CHILD"), "fork_holding_lock"))
			return child_fork_holding_lock();
		return child_exit_holding_lock();
	}
	return pc_test_main_file("fork_exit", tests, argc, argv, file,
				 sizeof(file));
}
