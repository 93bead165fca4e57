/* SPDX-License-Identifier: MIT */
/*
 * Thread attributes (pathcheck(3), "Threads", pc_engine_new(3)): library
 * threads get the stack pc_options.stack_size asks for
 * (PC_DEFAULT_STACK_SIZE when 0), and the scheduling
 * pc_options.sched_policy/sched_priority ask for (SCHED_OTHER when 0),
 * never the creating thread's SCHED_RR.  Under mlockall(MCL_CURRENT |
 * MCL_FUTURE), as multipathd runs, an engine then locks little.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define CHILD_MS	30000u

static char file[256];
static atomic_int got, policy, priority;
static _Atomic size_t stack;

static void on_result(struct pc_path *p, int state, void *arg)
{
	pthread_attr_t attr;
	struct sched_param sp;
	size_t sz = 0;
	int pol;

	(void)p;
	(void)state;
	(void)arg;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstacksize(&attr, &sz);
		pthread_attr_destroy(&attr);
	}
	pthread_getschedparam(pthread_self(), &pol, &sp);
	atomic_store(&stack, sz);
	atomic_store(&policy, pol);
	atomic_store(&priority, sp.sched_priority);
	atomic_store(&got, 1);
}

/* One check; the worker's stack size and scheduling, as on_result saw. */
static int probe(struct pc_options *o)
{
	struct pc_engine *e = NULL;
	struct pc_path *p = NULL;
	int err;

	o->workers = 1;
	o->on_result = on_result;
	atomic_store(&got, 0);
	err = pc_engine_new(o, &e);
	if (err)
		return err;
	err = pc_path_open(e, file, NULL, &p);
	if (!err && (pc_check(p, 0) != PC_PENDING ||
		     !pc_test_wait_flag(&got, 10000)))
		err = -EIO;
	pc_engine_free(e);
	return err;
}

static void test_refused(void)
{
	struct pc_options bad[] = {
		{ .stack_size = PC_MIN_STACK_SIZE - 1 },
		{ .sched_policy = 12345 },
		{ .sched_policy = SCHED_RR },		/* priority 0 */
		{ .sched_policy = SCHED_OTHER, .sched_priority = 1 },
		{ .resv32b = 1 },
	};
	struct pc_engine *e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = (void *)1;
		CU_ASSERT_EQUAL(pc_engine_new(&bad[i], &e), -EINVAL);
		CU_ASSERT_PTR_NULL(e);
	}
}

static void test_stack_size(void)
{
	struct pc_options o = { 0 };

	PC_REQUIRE(probe(&o) == 0);
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer enlarges small stacks (here to 904 KiB). */
	CU_ASSERT_TRUE(atomic_load(&stack) >= PC_DEFAULT_STACK_SIZE);
#else
	CU_ASSERT_EQUAL(atomic_load(&stack), PC_DEFAULT_STACK_SIZE);
#endif
	o = (struct pc_options){ .stack_size = 1024 * 1024 };
	PC_REQUIRE(probe(&o) == 0);
	CU_ASSERT_EQUAL(atomic_load(&stack), 1024 * 1024);
}

/* The creating thread runs SCHED_RR; the library's threads do not. */
static void test_sched_not_inherited(void)
{
	struct sched_param rr = { .sched_priority = 10 }, old;
	struct pc_options o = { 0 };
	int oldpol, err;

	pthread_getschedparam(pthread_self(), &oldpol, &old);
	if (pthread_setschedparam(pthread_self(), SCHED_RR, &rr))
		PC_SKIP("cannot run SCHED_RR here (needs CAP_SYS_NICE)");
	err = probe(&o);
	if (!err) {
		CU_ASSERT_EQUAL(atomic_load(&policy), SCHED_OTHER);
		CU_ASSERT_EQUAL(atomic_load(&priority), 0);
		o = (struct pc_options){ .sched_policy = SCHED_FIFO,
					 .sched_priority = 5 };
		err = probe(&o);
	}
	pthread_setschedparam(pthread_self(), oldpol, &old);
	PC_REQUIRE(err == 0);
	CU_ASSERT_EQUAL(atomic_load(&policy), SCHED_FIFO);
	CU_ASSERT_EQUAL(atomic_load(&priority), 5);
}

/* VmLck of this process, in KiB; -1 when unknown. */
static long vmlck_kib(void)
{
	char *s = pc_test_read_file("/proc/self/status", NULL), *l;
	long kib = -1;

	if (s && (l = strstr(s, "\nVmLck:")))
		kib = atol(l + 7);
	free(s);
	return kib;
}

/* In a child: locked KiB an engine of 4 workers with a checked path adds
 * under mlockall(MCL_CURRENT | MCL_FUTURE), written to fd. */
static int child_locked(int fd)
{
	struct pc_options o = { .workers = 4 };
	struct pc_engine *e = NULL;
	struct pc_path *p = NULL;
	long before, after;

	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return 2;
	before = vmlck_kib();
	if (pc_engine_new(&o, &e) || pc_path_open(e, file, NULL, &p) ||
	    pc_check(p, PC_SYNC) != PC_UP)
		return 3;
	after = vmlck_kib();
	pc_engine_free(e);
	dprintf(fd, "%ld %ld\n", before, after);
	return 0;
}

static void test_mlockall(void)
{
	long before = -1, after = -1;
	int pfd[2], rc;
	char buf[64] = "";
	pid_t pid;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	PC_SKIP("sanitizer shadow memory cannot be locked");
#endif
	PC_REQUIRE(pipe(pfd) == 0);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0)
		exit(child_locked(pfd[1]));
	close(pfd[1]);
	rc = pc_test_wait_exit(pid, CHILD_MS);
	if (rc == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (read(pfd[0], buf, sizeof(buf) - 1) > 0)
		sscanf(buf, "%ld %ld", &before, &after);
	close(pfd[0]);
	if (rc == 2)
		PC_SKIP("mlockall refused here (RLIMIT_MEMLOCK)");
	PC_REQUIRE(rc == 0 && before >= 0);
	printf("\nlocked by an engine of 4 workers and one path: %ld KiB "
	       "(VmLck %ld -> %ld KiB)\n", after - before, before, after);
	/* Five 256 KiB stacks, pc-rcu's 64 KiB, buffers and rings: 1.4 MiB
	 * here.  With 8 MiB stacks (and liburcu's call_rcu thread) it was
	 * 41 MiB. */
	CU_ASSERT_TRUE(after - before < 4 * 1024);
}

static void *nothing(void *arg)
{
	return arg;
}

/*
 * In a fresh process whose main thread runs SCHED_RR 10 before its first
 * engine: every other thread (workers, reaper, a destroyer, pc-rcu)
 * runs SCHED_OTHER.
 * Exits 77 when SCHED_RR is not permitted.
 */
static int child_rr_caller(void)
{
	struct sched_param rr = { .sched_priority = 10 };
	struct pc_options o = { .workers = 2, .group_size = 1 };
	struct pc_engine *e = NULL;
	struct pc_path *p[2] = { NULL };
	struct dirent *de;
	int bad = 0, seen = 0;
	DIR *d;

	pthread_t dummy;

	/* A sanitizer's own helper thread starts with the first thread
	 * created: before SCHED_RR, so that it does not inherit it. */
	if (pthread_create(&dummy, NULL, nothing, NULL) == 0)
		pthread_join(dummy, NULL);
	if (pthread_setschedparam(pthread_self(), SCHED_RR, &rr))
		return 77;
	if (pc_engine_new(&o, &e) || pc_path_open(e, file, NULL, &p[0]) ||
	    pc_path_open(e, file, NULL, &p[1]) ||
	    pc_check(p[0], PC_SYNC) != PC_UP)
		return 2;
	pc_path_free(p[1]);
	pc_engine_reset(e);	/* a destroyer, maybe still there */
	d = opendir("/proc/self/task");
	while (d && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		int pol;

		if (de->d_name[0] == '.' || tid == getpid())
			continue;
		pol = sched_getscheduler(tid);
		if (pol < 0)
			continue;	/* gone */
		seen++;
		if (pol != SCHED_OTHER) {
			fprintf(stderr, "thread %d: policy %d\n", tid, pol);
			bad++;
		}
	}
	if (d)
		closedir(d);
	pc_engine_free(e);
	return bad ? 3 : seen >= 4 ? 0 : 4;
}

static void test_rr_caller_all_threads(void)
{
	const char *argv[] = { "/proc/self/exe", NULL };
	char out[4096], err[4096];
	struct pc_test_run r = {
		.argv = argv, .limit_ms = CHILD_MS,
		.out = out, .err = err,
		.out_cap = sizeof(out), .err_cap = sizeof(err),
	};
	int rc;

	setenv("PC_TEST_CHILD", "rr_caller", 1);
	setenv("PC_TEST_FILE", file, 1);
	rc = pc_test_run(&r);
	unsetenv("PC_TEST_CHILD");
	unsetenv("PC_TEST_FILE");
	PC_REQUIRE(rc == 0);
	if (r.status == 77)
		PC_SKIP("cannot run SCHED_RR here (needs CAP_SYS_NICE)");
	if (r.status)
		fprintf(stderr, "child: status %d, signal %d%s\n%s", r.status,
			r.sig, r.timed_out ? ", hung" : "", err);
	CU_ASSERT_EQUAL(r.status, 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		/* First: no thread stacks cached from the others yet. */
		{ "mlockall", test_mlockall },
		{ "refused", test_refused },
		{ "stack_size", test_stack_size },
		{ "sched_not_inherited", test_sched_not_inherited },
		{ "rr_caller_all_threads", test_rr_caller_all_threads },
		{ NULL, NULL },
	};

	if (getenv("PC_TEST_CHILD")) {
		snprintf(file, sizeof(file), "%s", getenv("PC_TEST_FILE"));
		return child_rr_caller();
	}
	return pc_test_main_file("threads_attrs", tests, argc, argv, file,
				 sizeof(file));
}
