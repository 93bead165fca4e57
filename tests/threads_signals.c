/* SPDX-License-Identifier: MIT */
/*
 * Every thread the library causes to exist blocks every signal
 * (pathcheck(3), "Threads"): workers, the reaper, destroyers, and pc-rcu,
 * the thread that frees paths after a grace period (started by the first
 * pc_path_free()).  Read from /proc/self/task/T/status of every thread
 * that was not there before.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define MAX_TASKS 256

static char file[256];

static int tasks(long *tids, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.')
			tids[n++] = atol(de->d_name);
	closedir(d);
	return n;
}

static bool known(const long *tids, int n, long tid)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* The thread's SigBlk mask in *m; false when the thread is gone. */
static bool sigblk(long tid, unsigned long long *m)
{
	char path[64], *s, *line;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	s = pc_test_read_file(path, NULL);
	if (!s)
		return false;
	line = strstr(s, "\nSigBlk:");
	*m = line ? strtoull(line + 8, NULL, 16) : 0;
	free(s);
	return line != NULL;
}

static bool blocked(unsigned long long m, int sig)
{
	return m & (1ULL << (sig - 1));
}

static void test_all_threads_block_signals(void)
{
	struct pc_options o = { .workers = 2, .group_size = 1 };
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM, SIGUSR1,
				    SIGUSR2, SIGCHLD, SIGALRM, SIGPIPE };
	long before[MAX_TASKS], after[MAX_TASKS];
	struct pc_engine *e = NULL;
	struct pc_path *p[3] = { NULL };
	sigset_t none;
	int nb, na, fresh = 0;

	/* The caller takes every signal, so nothing is inherited. */
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	nb = tasks(before, MAX_TASKS);
	PC_REQUIRE(nb > 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < 3; i++) {
		PC_REQUIRE(pc_path_open(e, file, NULL, &p[i]) == 0);
		CU_ASSERT_EQUAL(pc_check(p[i], PC_SYNC), PC_UP);
	}
	/* Deferred frees (their thread), and a group retired. */
	pc_path_free(p[0]);
	pc_path_free(p[1]);
	PC_REQUIRE(pc_engine_reset(e) >= 0);
	na = tasks(after, MAX_TASKS);
	for (int i = 0; i < na; i++) {
		unsigned long long m;

		if (known(before, nb, after[i]))
			continue;
		if (!sigblk(after[i], &m))
			continue;	/* a destroyer that has ended */
		fresh++;
		if (getenv("PC_TEST_VERBOSE"))
			fprintf(stderr, "thread %ld: SigBlk %016llx\n", after[i], m);
		for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++)
			if (!blocked(m, sigs[s])) {
				fprintf(stderr, "thread %ld: SigBlk %016llx "
					"lets signal %d through\n", after[i],
					m, sigs[s]);
				CU_FAIL("a library thread takes signals");
				break;
			}
	}
	/* Two workers, the reaper, the deferred frees' thread. */
	CU_ASSERT_TRUE(fresh >= 4);
	pc_path_free(p[2]);
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "all_threads_block_signals", test_all_threads_block_signals },
		{ NULL, NULL },
	};

	return pc_test_main_file("threads_signals", tests, argc, argv, file,
				 sizeof(file));
}
