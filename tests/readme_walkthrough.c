/* SPDX-License-Identifier: MIT */
/*
 * The README's "Watching a path hang" walkthrough, as it says: a one-shot
 * pathcheck with a hung path prints its table at the deadline, then stays
 * in exit (the kernel's exit_aio waits for the hung read) until the read is
 * released, and only then ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pathsim_fixture.h"

static void test_prints_at_deadline_exits_at_release(void)
{
	const char *b = getenv("PC_BUILD_DIR");
	char bin[512], out[256];
	struct pathsim *sim;
	const char *why;
	uint64_t t0, t_print = 0;
	pid_t pid;
	int fd, st, ret = pathsim_start(&sim, 2, 0, &why);

	if (ret && why)
		PC_SKIP("%s", why);
	PC_REQUIRE(ret == 0);
	PC_REQUIRE(pathsim_set(sim, "p1", "hung") == 0);
	snprintf(bin, sizeof(bin), "%s/pathcheck", b ? b : "build");
	fd = pc_test_tmpfile(out, sizeof(out), 0);
	PC_REQUIRE(fd >= 0);
	t0 = pc_test_now_ms();
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(fd, 1);
		execl(bin, bin, "--timeout", "1s", pathsim_dev(sim, 0), pathsim_dev(sim, 1),
		      (char *)NULL);
		_exit(127);
	}
	close(fd);
	/* The table comes at the 1 s deadline (bounded generously: load). */
	while (pc_test_now_ms() - t0 < 10000) {
		char *text = pc_test_read_file(out, NULL);
		bool done = text && strstr(text, "timeout after 1000 ms");

		if (done) {
			t_print = pc_test_now_ms() - t0;
			CU_ASSERT_PTR_NOT_NULL(strstr(text, " i/o timeout "));
			CU_ASSERT_PTR_NOT_NULL(strstr(text, " ready "));
		}
		free(text);
		if (done)
			break;
		pc_test_sleep_ms(20);
	}
	printf("\n  table printed after %llu ms\n", (unsigned long long)t_print);
	CU_ASSERT_TRUE(t_print >= 1000);
	/* ... and it has not exited: the hung read holds it in exit. */
	pc_test_sleep_ms(1000);
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
	printf("  still running %llu ms after the start\n",
	       (unsigned long long)(pc_test_now_ms() - t0));
	PC_REQUIRE(pathsim_set(sim, "p1", "up") == 0);
	pathsim_release(sim);
	st = pc_test_wait_exit(pid, 10000);
	printf("  exited %llu ms after the start, status %d, once the read was released\n",
	       (unsigned long long)(pc_test_now_ms() - t0), st);
	CU_ASSERT_EQUAL(st, 1);
	if (st < 0) {
		kill(pid, SIGKILL);
		pc_test_wait_exit(pid, 10000);
	}
	unlink(out);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "prints_at_deadline_exits_at_release", test_prints_at_deadline_exits_at_release },
		{ NULL, NULL },
	};

	return pc_test_main("readme_walkthrough", tests, argc, argv);
}
