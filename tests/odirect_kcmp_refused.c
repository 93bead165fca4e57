/* SPDX-License-Identifier: MIT */
/*
 * O_DIRECT where kcmp() is refused (pc_path_new(3)), as containers'
 * default seccomp profiles refuse it: whether two fds share an open file
 * description cannot be proven, and the library does not guess "no".  A
 * path on such an fd reads through a descriptor of its own, so freeing
 * another path never clears O_DIRECT under it, and a device failing every
 * read is DOWN; the log says so once.
 *
 * A seccomp filter (plain BPF, every thread: TSYNC) makes kcmp fail EPERM
 * for the whole of this program, from the first test on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"
#include "pathsim_fixture.h"

static char file[256];
static atomic_int kcmp_lines;	/* log lines that name kcmp */
static atomic_int keep_lines;	/* ... of which: O_DIRECT kept for good */

static void count_log(void *arg, int prio, const char *msg)
{
	if (strstr(msg, "kcmp")) {
		atomic_fetch_add(&kcmp_lines, 1);
		if (strstr(msg, "stays set"))
			atomic_fetch_add(&keep_lines, 1);
		printf("\n  log: %s\n", msg);
	}
}

/* kcmp fails EPERM from now on, in every thread: NULL, or why not. */
static const char *refuse_kcmp(void)
{
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kcmp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	static struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]), .filter = code,
	};
	static bool done;
	pid_t pid = getpid();

	if (!done) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return "PR_SET_NO_NEW_PRIVS refused";
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
			return "seccomp filters refused";
		done = true;
	}
	if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, 0, 0) != -1 ||
	    errno != EPERM)
		return "kcmp still allowed";
	return NULL;
}

static int direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_DIRECT);
}

static struct pc_engine *engine(void)
{
	struct pc_options o = { .workers = 1, .log = count_log };
	struct pc_engine *e = NULL;

	pc_engine_new(&o, &e);
	return e;
}

/* Two paths on dup'd fds of a loop device over pathsim,
 * one freed, the device then failing every read: the live path says DOWN,
 * as a reference path does. */
static void test_dup_on_failing_device(void)
{
	struct pc_path *a, *b, *c, *ref;
	struct pathsim *sim;
	struct pc_engine *e;
	struct pc_result r;
	const char *why;
	int fd, fd2, fd3;

	PATHSIM_START(sim, 1, PATHSIM_LOOP);
	why = refuse_kcmp();
	if (why) {
		pathsim_stop(sim);
		PC_SKIP("%s", why);
	}
	e = engine();
	PC_REQUIRE(e);
	fd = open(pathsim_dev(sim, 0), O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(fd >= 0);
	fd2 = dup(fd);
	fd3 = dup(fd);
	PC_REQUIRE(fd2 >= 0 && fd3 >= 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd2, NULL, &b) == 0);
	PC_REQUIRE(pc_path_new(e, fd3, NULL, &c) == 0);
	PC_REQUIRE(pc_path_open(e, pathsim_dev(sim, 0), NULL, &ref) == 0);
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(a);
	/* A buffered read would fill the page cache here. */
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	PC_REQUIRE(pathsim_set(sim, "all", "eio") == 0);
	CU_ASSERT_EQUAL(pc_check(ref, PC_SYNC), PC_DOWN);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_DOWN);
		CU_ASSERT_EQUAL(pc_check(c, PC_SYNC), PC_DOWN);
	}
	pc_path_result(b, &r);
	CU_ASSERT_EQUAL(r.reason, PC_REASON_IO_ERROR);
	/* Said once, for the two paths it could not place. */
	CU_ASSERT_EQUAL(atomic_load(&kcmp_lines), 1);
	pc_path_free(b);
	pc_path_free(c);
	pc_path_free(ref);
	pc_engine_free(e);
	/* The caller's description: its flags as they were. */
	CU_ASSERT_FALSE(direct(fd2));
	close(fd);
	close(fd2);
	close(fd3);
	pathsim_stop(sim);
}

/* Separate opens of one file: the first path sets and restores O_DIRECT on
 * its description (no kcmp needed), the second reads through its own; the
 * caller's second description is never touched. */
static void test_separate_opens(void)
{
	const char *why = refuse_kcmp();
	struct pc_engine *e;
	struct pc_path *a, *b;
	int fd1, fd2;

	if (why)
		PC_SKIP("%s", why);
	e = engine();
	fd1 = open(file, O_RDONLY | O_CLOEXEC);
	fd2 = open(file, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(e && fd1 >= 0 && fd2 >= 0);
	PC_REQUIRE(pc_path_new(e, fd1, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd2, NULL, &b) == 0);
	CU_ASSERT_TRUE(direct(fd1));
	CU_ASSERT_EQUAL(pc_check(a, PC_SYNC), PC_UP);
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(a);
	CU_ASSERT_FALSE(direct(fd1));
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd2));
	CU_ASSERT_TRUE(atomic_load(&kcmp_lines) <= 1);
	close(fd1);
	close(fd2);
	pc_engine_free(e);
}

/* Many paths on one fd need no kcmp: they share the flag as before, the
 * last one restores it. */
static void test_one_fd(void)
{
	const char *why = refuse_kcmp();
	struct pc_engine *e;
	struct pc_path *a, *b;
	int fd;

	if (why)
		PC_SKIP("%s", why);
	e = engine();
	fd = open(file, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(e && fd >= 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &b) == 0);
	pc_path_free(a);
	CU_ASSERT_TRUE(direct(fd));
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(b);
	CU_ASSERT_FALSE(direct(fd));
	close(fd);
	pc_engine_free(e);
}

/*
 * Last, since what it shows lasts as long as the process: with kcmp
 * refused and no descriptor left for one of its own (EMFILE), a path on a
 * dup'd fd keeps O_DIRECT on the description for good, rather than have
 * it cleared under it.
 */
static void test_no_descriptor_left(void)
{
	const char *why = refuse_kcmp();
	struct pc_engine *e;
	struct pc_path *a, *b;
	struct rlimit rl;
	int fd, fd2, ret;

	if (why)
		PC_SKIP("%s", why);
	e = engine();
	fd = open(file, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(e && fd >= 0);
	fd2 = dup(fd);
	PC_REQUIRE(fd2 >= 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &a) == 0);
	/* No fd number left below the limit: every open() fails EMFILE. */
	PC_REQUIRE(pc_test_no_fds_left(&rl) == 0);
	ret = pc_path_new(e, fd2, NULL, &b);
	setrlimit(RLIMIT_NOFILE, &rl);
	PC_REQUIRE(ret == 0);
	pc_path_free(a);
	CU_ASSERT_TRUE(direct(fd2));	/* b reads through it */
	CU_ASSERT_EQUAL(pc_check(b, PC_SYNC), PC_UP);
	pc_path_free(b);
	CU_ASSERT_TRUE(direct(fd2));	/* kept for good: said in the log */
	CU_ASSERT_EQUAL(atomic_load(&keep_lines), 1);
	close(fd);
	close(fd2);
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "dup_on_failing_device", test_dup_on_failing_device },
		{ "separate_opens", test_separate_opens },
		{ "one_fd", test_one_fd },
		{ "no_descriptor_left", test_no_descriptor_left },
		{ NULL, NULL },
	};

	return pc_test_main_file("odirect_kcmp_refused", tests, argc, argv,
				 file, sizeof(file));
}
