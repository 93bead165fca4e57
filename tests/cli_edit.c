/* SPDX-License-Identifier: MIT */
/*
 * The `pathcheck -k` shell on a terminal: a pseudo-terminal drives it
 * against a real pathcheckd, and libedit's editing (a deleted character)
 * and history (^P recalls the last command) work; piped stdin stays plain
 * (no prompt, tests/cli covers it).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"

static char out[1 << 16];
static size_t nout;

/* Reads the terminal until needle has appeared count times, or ms pass. */
static bool wait_for(int fd, const char *needle, unsigned int count, unsigned int ms)
{
	uint64_t end = pc_test_now_ms() + ms;

	for (;;) {
		if (reply_count(out, needle) >= count)
			return true;
		uint64_t now = pc_test_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (now >= end)
			break;
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		k = read(fd, out + nout, sizeof(out) - 1 - nout);
		if (k <= 0)
			break;
		nout += (size_t)k;
		out[nout] = '\0';
	}
	printf("\n  no %u x '%s' in the terminal:\n%s\n", count, needle, out);
	return false;
}

static void test_shell_tty(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	const char *b = getenv("PC_BUILD_DIR");
	char bin[PATH_MAX];
	int master, st;
	pid_t pid;

	if (!fx)
		return;
	snprintf(bin, sizeof(bin), "%s/pathcheck", b && *b ? b : "build");
	PC_REQUIRE(daemon_start(fx, "interval 100ms\npath %s/f*\n", fx->dir) == 0);
	PC_REQUIRE(daemon_wait_states(fx, 2, "ready", 3000) == 0);
	nout = 0;
	out[0] = '\0';
	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		daemon_stop(fx);
		daemon_fx_free(fx);
		PC_SKIP("forkpty: %s", strerror(errno));
	}
	if (pid == 0) {
		char *env[] = { "TERM=xterm", "HOME=/nonexistent", NULL };

		execle(bin, bin, "-s", fx->sock, "-k", (char *)NULL, env);
		_exit(127);
	}
	CU_ASSERT(wait_for(master, "pathcheck> ", 1, 5000));
	/* a typo deleted with backspace */
	CU_ASSERT(write(master, "show statuz\x7fs\r", 14) == 14);
	CU_ASSERT(wait_for(master, "path checker states:", 1, 5000));
	CU_ASSERT(wait_for(master, "paths: 2", 1, 5000));
	/* ^P: the history's last command, run again */
	CU_ASSERT(wait_for(master, "pathcheck> ", 2, 5000));
	CU_ASSERT(write(master, "\x10\r", 2) == 2);
	CU_ASSERT(wait_for(master, "path checker states:", 2, 5000));
	CU_ASSERT(wait_for(master, "pathcheck> ", 3, 5000));
	CU_ASSERT(write(master, "quit\r", 5) == 5);
	st = pc_test_wait_exit(pid, 5000);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		pc_test_wait_exit(pid, 5000);
	}
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_PTR_NULL(strstr(out, "unknown command"));
	close(master);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "shell_tty", test_shell_tty },
		{ NULL, NULL },
	};

	return pc_test_main("cli_edit", tests, argc, argv);
}
