/* SPDX-License-Identifier: MIT */
/*
 * pathsim exits cleanly, never leaving a mount or a hung reader behind: on
 * SIGTERM, when a reader with hung reads is killed, and when the process
 * it watches is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aio_reader.h"
#include "harness.h"
#include "pathsim_fixture.h"
#include "pathsim_probe.h"

#define BLK		AIO_READER_BLK
#define PATH_SIZE	PATHSIM_SIZE
#define MANY_HUNG	1000u
#define PROMPT_MS	1000u	/* "promptly": a healthy read among hung ones */
#define EXIT_BOUND_MS	3000u	/* a process freed from hung reads exits */

/* --- clean exits ----------------------------------------------------------- */

/* SIGTERM with reads hung: they fail, pathsim unmounts and exits 0. */
static void test_exit_sigterm(void)
{
	struct io_event ev[2];
	struct pathsim *sim;
	struct aio_reader r;
	char dir[PATH_MAX];

	PATHSIM_START(sim, 1, 0);
	snprintf(dir, sizeof(dir), "%s", pathsim_mountpoint(sim));
	CU_ASSERT(pathsim_set(sim, "all", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 0), 2, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 2) == 2);
	CU_ASSERT(pathsim_wait_hung(sim, 0, 2, 2000));
	CU_ASSERT(kill(pathsim_pid(sim), SIGTERM) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 2, ev, EXIT_BOUND_MS), 2);
	CU_ASSERT(ev[0].res == (unsigned long)-EIO && ev[1].res == (unsigned long)-EIO);
	CU_ASSERT_EQUAL(pc_test_wait_exit(pathsim_pid(sim), EXIT_BOUND_MS), 0);
	CU_ASSERT(!pc_test_is_mounted(dir));
	aio_reader_close(&r);
	pathsim_stop(sim);	/* already reaped: frees and removes dir */
	CU_ASSERT(access(dir, F_OK) < 0);
}

/* The child: holds hung AIO reads on its own pathsim, then waits to die. */
static void hold_hung_reads(int out)
{
	struct pathsim *sim;
	struct aio_reader r;
	const char *why;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the test */
	if (pathsim_start(&sim, 1, 0, &why)) {
		dprintf(out, "SKIP %s\n", why ? why : "pathsim did not start");
		_exit(0);
	}
	if (pathsim_set(sim, "p0", "hung") ||
	    aio_reader_open(&r, pathsim_dev(sim, 0), 4, PATH_SIZE) ||
	    aio_reader_submit(&r, 4) != 4 || !pathsim_wait_hung(sim, 0, 4, 5000)) {
		dprintf(out, "FAIL setup\n");
		pathsim_stop(sim);
		_exit(1);
	}
	dprintf(out, "OK %d %s\n", (int)pathsim_pid(sim),
		pathsim_mountpoint(sim));
	for (;;)
		pause();
}

static bool read_line(int fd, char *buf, size_t len, unsigned int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && poll(&pfd, 1, (int)ms) == 1) {
		n = read(fd, buf + used, len - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strchr(buf, '\n'))
			return true;
	}
	return false;
}

/*
 * kill -9 of a process holding hung AIO reads: it waits in the kernel
 * for them (exit_aio) until its pathsim notices PF_EXITING and answers.
 * Then that pathsim, whose parent is gone, unmounts and exits 0.
 */
static void test_exit_killed_reader(void)
{
	char line[PATH_MAX + 64], mp[PATH_MAX], ctl[PATH_MAX + 16];
	int pfd[2], st, sim_pid = 0;
	pid_t child;

	if (pathsim_skip_without_fuse())
		return;
	PC_REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	PC_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
	fflush(NULL);
	child = fork();
	PC_REQUIRE(child >= 0);
	if (child == 0) {
		close(pfd[0]);
		hold_hung_reads(pfd[1]);
	}
	close(pfd[1]);
	if (!read_line(pfd[0], line, sizeof(line), 15000) ||
	    sscanf(line, "OK %d %4095s", &sim_pid, mp) != 2) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		close(pfd[0]);
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		if (!strncmp(line, "SKIP ", 5))
			PC_SKIP("%s", line + 5);
		CU_FAIL_FATAL("the child could not hold hung reads");
		return;
	}
	close(pfd[0]);
	CU_ASSERT(kill(child, SIGKILL) == 0);
	st = pc_test_wait_exit(child, EXIT_BOUND_MS);
	CU_ASSERT_EQUAL(st, 128 + SIGKILL);
	if (st == -ETIMEDOUT) {		/* stuck in exit_aio: free it */
		snprintf(ctl, sizeof(ctl), "%s/control", mp);
		st = open(ctl, O_WRONLY);
		if (st >= 0 && write(st, "release\n", 8) < 0)
			printf("\n  release failed\n");
		if (st >= 0)
			close(st);
		pc_test_wait_exit(child, 10000);
	}
	CU_ASSERT_EQUAL(pc_test_wait_exit(sim_pid, EXIT_BOUND_MS), 0);
	CU_ASSERT(!pc_test_is_mounted(mp));
	rmdir(mp);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* --parent-watch: the watched process exits, pathsim follows cleanly. */
static void test_exit_parent_gone(void)
{
	char dir[96], pidbuf[16], out[16];
	char *argv[] = { NULL, "-n", "2", "--parent-watch", pidbuf, dir, NULL };
	pid_t watched, sim_pid;
	int fd;

	if (pathsim_skip_without_fuse())
		return;
	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pathsim-watch") == 0);
	watched = fork();
	PC_REQUIRE(watched >= 0);
	if (watched == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)watched);
	fd = pathsim_run(argv, out, 0, &sim_pid);
	PC_REQUIRE(fd >= 0);
	CU_ASSERT(pathsim_read_ready(fd, 10000));
	CU_ASSERT(pc_test_is_mounted(dir));
	kill(watched, SIGKILL);
	waitpid(watched, NULL, 0);
	CU_ASSERT_EQUAL(pc_test_wait_exit(sim_pid, EXIT_BOUND_MS), 0);
	CU_ASSERT(!pc_test_is_mounted(dir));
	close(fd);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "exit_sigterm", test_exit_sigterm },
		{ "exit_killed_reader", test_exit_killed_reader },
		{ "exit_parent_gone", test_exit_parent_gone },
		{ NULL, NULL },
	};

	return pc_test_main("pathsim_exit", tests, argc, argv);
}
