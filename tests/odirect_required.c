/* SPDX-License-Identifier: MIT */
/*
 * A file that cannot be read with O_DIRECT is refused (pc_path_open(3),
 * pc_path_new(3)): read through the page cache, a check would say UP
 * while the device hangs.  pc_path_open() and pc_path_new() both refuse
 * it with -EINVAL and log why, naming the file.  procfs is such a file
 * system, and its files are regular files.
 *
 * An O_PATH descriptor cannot be read at all: -EBADF, "not open for
 * reading", as for a write-only one, not -EINVAL with a message about
 * O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static const char nodirect[] = "/proc/version";
static char logged[512];

static void keep_log(void *arg, int priority, const char *msg)
{
	(void)arg;
	if (priority <= LOG_ERR)
		snprintf(logged, sizeof(logged), "%s", msg);
}

/* Why nodirect cannot serve here, or NULL. */
static const char *why_not(void)
{
	int fd = open(nodirect, O_RDONLY | O_DIRECT);

	if (fd >= 0) {
		close(fd);
		return "this kernel's procfs takes O_DIRECT";
	}
	if (errno != EINVAL)
		return "/proc/version cannot be opened";
	return NULL;
}

static struct pc_engine *engine(void)
{
	struct pc_options o = { .workers = 1, .log = keep_log };
	struct pc_engine *e = NULL;

	pc_engine_new(&o, &e);
	return e;
}

static void test_open_refused(void)
{
	struct pc_path *p = (struct pc_path *)&p;
	struct pc_engine *e;
	struct pc_stats s;

	if (why_not())
		PC_SKIP("%s", why_not());
	e = engine();
	PC_REQUIRE(e);
	logged[0] = 0;
	CU_ASSERT_EQUAL(pc_path_open(e, nodirect, NULL, &p), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, nodirect));
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "O_DIRECT"));
	CU_ASSERT_EQUAL(pc_engine_stats(e, &s), 0);
	CU_ASSERT_EQUAL(s.paths, 0);
	if (p)
		pc_path_free(p);
	pc_engine_free(e);
}

static void test_new_refused(void)
{
	struct pc_path *p = (struct pc_path *)&p;
	struct pc_engine *e;
	int fd;

	if (why_not())
		PC_SKIP("%s", why_not());
	e = engine();
	fd = open(nodirect, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(e && fd >= 0);
	logged[0] = 0;
	CU_ASSERT_EQUAL(pc_path_new(e, fd, NULL, &p), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "O_DIRECT"));
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	if (p)
		pc_path_free(p);
	close(fd);
	pc_engine_free(e);
}

static void test_o_path_refused(void)
{
	struct pc_path *p = (struct pc_path *)&p;
	struct pc_engine *e = engine();
	int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);

	PC_REQUIRE(e && fd >= 0);
	logged[0] = 0;
	CU_ASSERT_EQUAL(pc_path_new(e, fd, NULL, &p), -EBADF);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "not open for reading"));
	if (p)
		pc_path_free(p);
	close(fd);
	pc_engine_free(e);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "open_refused", test_open_refused },
		{ "new_refused", test_new_refused },
		{ "o_path_refused", test_o_path_refused },
		{ NULL, NULL },
	};

	return pc_test_main("odirect_required", tests, argc, argv);
}
