/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's show paths format FMT (multipathd's wildcards and headers,
 * columns as wide as their widest cell; every multipathd path wildcard
 * accepted, a placeholder where it means nothing here), show paths raw
 * format, the client quoting a format word, next_check counting down, and
 * dev_t: shown, and a path addressed by it.  sysfs is read when a path is
 * added, not when a format is shown (strace, as root), and again at a
 * change event; %M follows a flapping path.
 * The daemon runs for real on files (and a loop device as root) read with
 * O_DIRECT through Linux AIO.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <linux/loop.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

/* multipathd's headers, columns as wide as their widest cell; bad formats */
static void format_columns(struct daemon_fx *fx, bool have_loop, const char *loop)
{
	char want[256];

	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D %t|%T %o %x %L%%\"", fx->last,
			     fx->last_cap) > 0);
	{
		int w = have_loop && strlen(loop) - 5 > 3 ? (int)strlen(loop) - 5 : 3;

		snprintf(want, sizeof(want), "%-*s dev_t chk_st|chk_st dev_st  transitions "
			 "latency_us%%\n%-*s -     ready |ready  running 1           ",
			 w, "dev", w, "f0");
		CU_ASSERT(reply_starts_with(fx->last, want));
		if (!reply_starts_with(fx->last, want))
			printf("\n  wanted '%s', got '%s'\n", want, fx->last);
	}
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), have_loop ? 4 : 3);
	CU_ASSERT(daemon_cmd(fx, "show paths format %d", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "dev\nf0\nf1\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%s %w %C\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last,
				    "vend/prod/rev uuid next_check\n-             -    "));
	CU_ASSERT(daemon_reply_is(fx, "show paths format \"%d %q\"",
				  "error: unknown wildcard '%q' in format (multipathd's path "
				  "wildcards, %x and %%: see pathcheckd(8))\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format \"%d",
				  "error: unmatched '\"' in command\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format",
				  "error: show paths format needs a format "
				  "(show paths format FMT)\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths format 50%",
				  "error: format ends in '%' (use %% for "
				  "a percent sign)\n"));
}

/* Every multipathd path wildcard: a value, or a placeholder column */
static void format_wildcards(struct daemon_fx *fx)
{
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%c %p %M %m\"", fx->last,
			     fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "checker  pri marginal_st multipath\n"
				    "directio -1  normal      -\n"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%N|%n|%R|%r|%a|%G|%g|%0|%P|%I|%A\"",
			     fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "host WWNN|target WWNN|host WWPN|target WWPN|"
				    "host adapter|foreign|vpd page data|failures|protocol|"
				    "init_st|TPG\n-        |-          |-        |-          |"
				    "-           |-      |-            |-       |-       |-      |-\n"));
	/* raw: no header, no padding; the files are 1 MiB */
	CU_ASSERT(daemon_cmd(fx, "show paths raw format \"%w|%i|%d|%D|%t|%o|%T|%s|%c|%p|%S|"
			     "%z|%M|%m|%N|%n|%R|%r|%a|%G|%g|%0|%P|%I|%A|%x\"", fx->last,
			     fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "-|-|f0|-|ready|running|ready|-|directio|-1|1M|"
				    "-|normal|-|-|-|-|-|-|-|-|-|-|-|-|1\n-|-|f1|"));
	CU_ASSERT(daemon_cmd(fx, "list paths raw format %d", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "f0\nf1\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths raw format",
				  "error: show paths raw needs a format "
				  "(show paths raw format FMT)\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths raw %d",
				  "error: show paths raw takes format FMT "
				  "(show paths raw format FMT)\n"));
	CU_ASSERT(daemon_reply_is(fx, "show paths raw format %d %d",
				  "error: too many words for show paths raw "
				  "(show paths raw format FMT)\n"));
}

/* the client quotes a format word for the daemon */
static void format_client(struct daemon_fx *fx)
{
	char cli[PATH_MAX], o[4096], e[1024];
	const char *b = getenv("PC_BUILD_DIR");
	const char *argv[] = { cli, "-s", fx->sock, "show", "paths", "format", "%d %x",
			       NULL };
	struct pc_test_run run = { .argv = argv, .out = o, .err = e,
				   .out_cap = sizeof(o), .err_cap = sizeof(e) };

	snprintf(cli, sizeof(cli), "%s/pathcheck", b && *b ? b : "build");
	CU_ASSERT(pc_test_run(&run) == 0 && run.status == 0);
	CU_ASSERT(reply_starts_with(o, "dev") && strstr(o, " transitions\nf0 ") != NULL);
	if (run.status)
		printf("\n  pathcheck: %s%s\n", o, e);
}

/* next_check counts down within the interval, and is null while held */
static void format_next_check(struct daemon_fx *fx)
{
	long long next;

	next = daemon_path_int(fx, "f0", "next_check_ms");
	CU_ASSERT(next >= 0 && next <= 1000);
	CU_ASSERT(daemon_cmd(fx, "show paths", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "dev ") &&
		  strstr(fx->last, "  dev_t     chk_st       marginal    checks"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "next_check  reason\n"));
	CU_ASSERT(reply_has_line(fx->last, "f0 ", " -  ", "s        ok"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"dev_t\":null,\"next_check_ms\":"));
	CU_ASSERT(daemon_reply_is(fx, "fail path f0", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show path f0 json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"next_check_ms\":null"));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %C\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "f0 ", "held", NULL));
}

/* A loop device: addressed by dev_t and by its path, its dev_t shown */
static void format_dev_t(struct daemon_fx *fx, const char *loop)
{
	const char *name = strrchr(loop, '/') + 1;
	char cmd[PATH_MAX + 64], want[256], s[64];
	struct stat st;

	PC_REQUIRE(stat(loop, &st) == 0);
	/* by dev_t, and by the device path */
	snprintf(cmd, sizeof(cmd), "show path %u:%u json", major(st.st_rdev),
		 minor(st.st_rdev));
	CU_ASSERT(daemon_cmd(fx, cmd, fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_str(fx->last, "dev", s, sizeof(s)) && !strcmp(s, name));
	snprintf(want, sizeof(want), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	CU_ASSERT(reply_json_str(fx->last, "dev_t", s, sizeof(s)) && !strcmp(s, want));
	snprintf(cmd, sizeof(cmd), "show path %s json", loop);
	CU_ASSERT(daemon_cmd(fx, cmd, fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_str(fx->last, "dev", s, sizeof(s)) && !strcmp(s, name));
	CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %D\"", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, name, want, NULL));
	CU_ASSERT(daemon_reply_is(fx, "show path 4095:1048575", "error: no such path "
				  "'4095:1048575'\n"));
}

static void test_format(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char loopfile[PATH_MAX], loop[64] = "";
	bool have_loop = false;

	if (!fx)
		return;
	if (!pc_test_need_root()) {
		PC_REQUIRE(daemon_file(fx, "lo", 1 << 20, loopfile, sizeof(loopfile)) == 0);
		have_loop = pc_test_loop_attach(loopfile, 0, loop, sizeof(loop)) == 0;
	}
	if (!have_loop)
		printf("\n  no loop device (%s): dev_t shown on files only\n",
		       pc_test_need_root() ? pc_test_need_root() : "attach failed");
	PC_REQUIRE(daemon_config(fx, "interval 1s\npath %s/f*\n%s%s\n", fx->dir,
				 have_loop ? "path " : "", loop) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, have_loop ? 3 : 2, "ready", 3000), 0);

	format_columns(fx, have_loop, loop);
	format_wildcards(fx);
	format_client(fx);
	format_next_check(fx);
	if (have_loop)
		format_dev_t(fx, loop);
	daemon_stop(fx);
	daemon_fx_free(fx);
	if (have_loop)
		pc_test_loop_detach(loop);
}

/* --- sysfs is read when a path comes, not per command ------------------------- */

/* The backing file grows, and the loop device with it (a change uevent). */
static bool grow_loop(const char *file, const char *loop, off_t size)
{
	int fd = open(loop, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && truncate(file, size) == 0 && ioctl(fd, LOOP_SET_CAPACITY, 0) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The daemon's main thread is traced (TracerPid set): true within 10 s. */
static bool traced(pid_t pid)
{
	char path[64], *st, *t;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (int i = 0; i < 1000 && !yes; i++) {
		st = pc_test_read_file(path, NULL);
		t = st ? strstr(st, "TracerPid:\t") : NULL;
		yes = t && atoi(t + 11) != 0;
		free(st);
		if (!yes)
			pc_test_sleep_ms(10);
	}
	return yes;
}

/*
 * strace -f follows the daemon's files opened while it shows the sysfs
 * columns of a loop device ten times: none under /sys or /run/udev (they
 * were read when the path was added), ten accepts (the trace saw them).
 * Then the device grows: its change event has them read again.
 */
static void test_sysfs_once(void)
{
	struct daemon_fx *fx;
	char loopfile[PATH_MAX], loop[64] = "", trace[PATH_MAX + 16], pid[16], *log;
	const char *argv[] = { "strace", "-f", "-qq", "-e", "trace=openat,open,readlink,accept4",
			       "-o", trace, "-p", pid, NULL };
	pid_t st;
	int status;

	if (pc_test_need_root())
		PC_SKIP("%s: a loop device", pc_test_need_root());
	if (access("/usr/bin/strace", X_OK))
		PC_SKIP("no /usr/bin/strace to see what the daemon opens");
	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	PC_REQUIRE(daemon_file(fx, "lo", 1 << 20, loopfile, sizeof(loopfile)) == 0);
	PC_REQUIRE(pc_test_loop_attach(loopfile, 0, loop, sizeof(loop)) == 0);
	PC_REQUIRE(daemon_start(fx, "interval 1s\npath %s\n", loop) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 1, "ready", 3000), 0);
	snprintf(trace, sizeof(trace), "%s/trace", fx->dir);
	snprintf(pid, sizeof(pid), "%d", (int)fx->pid);
	fflush(NULL);
	st = fork();
	if (st == 0) {
		execv("/usr/bin/strace", (char **)argv);
		_exit(127);
	}
	PC_REQUIRE(st > 0);
	if (!traced(fx->pid)) {
		kill(st, SIGKILL);
		waitpid(st, &status, 0);
		daemon_stop(fx);
		daemon_fx_free(fx);
		pc_test_loop_detach(loop);
		PC_SKIP("strace could not attach (ptrace refused?)");
	}
	for (int i = 0; i < 5; i++)
		CU_ASSERT(daemon_cmd(fx, "show paths format \"%d %o %s %w\"",
				     fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "dev"));
	for (int i = 0; i < 5; i++)
		CU_ASSERT(daemon_cmd(fx, "show paths format \"%i %z %S\"",
				     fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "hcil serial size\n-    -      1M\n"));
	kill(st, SIGINT);	/* detaches */
	waitpid(st, &status, 0);
	log = pc_test_read_file(trace, NULL);
	PC_REQUIRE(log != NULL);
	printf("\n  10 formats: %u accepts, %u opens under /sys, %u under /run/udev\n",
	       reply_count(log, "accept4("), reply_count(log, "/sys/"),
	       reply_count(log, "/run/udev/"));
	CU_ASSERT(reply_count(log, "accept4(") >= 10);
	CU_ASSERT_EQUAL(reply_count(log, "/sys/"), 0);
	CU_ASSERT_EQUAL(reply_count(log, "/run/udev/"), 0);
	free(log);
	/* read again at the device's change event: it grows to 2 MiB */
	CU_ASSERT(grow_loop(loopfile, loop, 2 << 20));
	for (uint64_t t0 = pc_test_now_ms(); pc_test_now_ms() - t0 < 5000;) {
		CU_ASSERT(daemon_cmd(fx, "show paths raw format %S", fx->last, fx->last_cap) > 0);
		if (!strcmp(fx->last, "2M\n"))
			break;
		pc_test_sleep_ms(50);
	}
	CU_ASSERT_STRING_EQUAL(fx->last, "2M\n");
	daemon_stop(fx);
	daemon_fx_free(fx);
	pc_test_loop_detach(loop);
}

/* %M: a path that flaps is marginal, then normal again after flap_recovery */
static void test_marginal_column(void)
{
	struct pathsim *sim = pathsim_start_or_skip(2, 0);
	struct daemon_fx *fx;
	bool marginal = false;

	if (!sim)
		return;
	fx = daemon_fx_new();
	PC_REQUIRE(fx != NULL);
	daemon_fx_attach_sim(fx, sim);
	PC_REQUIRE(daemon_start(fx, "interval 50ms\ntimeout 2s\nflap_recovery 500ms\n"
				"path %s/p*\n", pathsim_mountpoint(sim)) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 2, "ready", 1000 + daemon_slack_ms()), 0);
	PC_REQUIRE(pathsim_set(sim, "p0", "flaky:0.5") == 0);
	for (uint64_t t0 = pc_test_now_ms(); !marginal && pc_test_now_ms() - t0 < 5000;) {
		CU_ASSERT(daemon_cmd(fx, "show paths raw format \"%d %M\"", fx->last,
				     fx->last_cap) > 0);
		marginal = !strcmp(fx->last, "p0 marginal\np1 normal\n");
		pc_test_sleep_ms(50);
	}
	CU_ASSERT(marginal);
	PC_REQUIRE(pathsim_set(sim, "p0", "up") == 0);
	for (uint64_t t0 = pc_test_now_ms(); marginal && pc_test_now_ms() - t0 < 5000;) {
		pc_test_sleep_ms(100);
		CU_ASSERT(daemon_cmd(fx, "show paths raw format \"%d %M\"", fx->last,
				     fx->last_cap) > 0);
		marginal = strcmp(fx->last, "p0 normal\np1 normal\n");
	}
	CU_ASSERT(!marginal);
	daemon_fx_finish(fx);
	pathsim_stop(sim);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "format", test_format },
		{ "sysfs_once", test_sysfs_once },
		{ "marginal_column", test_marginal_column },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_format", tests, argc, argv);
}
