/* SPDX-License-Identifier: MIT */
/*
 * pathsim's control language and command line: targets, refused commands
 * (all or nothing), counters and reset, pathsim ctl, options, no second
 * pathsim on a pathsim mount, many paths;
 * and each path behind a loop device (root).
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

/* --- the control language ------------------------------------------------ */

static bool modes_are(struct pathsim *sim, const char *const *modes,
		      unsigned int n)
{
	char *table = pathsim_table(sim);
	bool ok = table != NULL;

	for (unsigned int i = 0; ok && i < n; i++)
		ok = pathsim_table_mode_is(table, i, modes[i]);
	free(table);
	return ok;
}

static void test_targets(void)
{
	static const char *const a[] = { "up", "up", "eio", "eio", "eio",
					 "up", "up", "up", "up", "up" };
	static const char *const b[] = { "short", "short", "short", "eio", "eio",
					 "up", "up", "up", "up", "up" };
	static const char *const c[] = { "hung", "hung", "hung", "hung", "hung",
					 "up", "up", "slow:10", "up", "flaky:0.25" };
	static const char *const d[] = { "up", "up", "up", "up", "up",
					 "up", "up", "up", "up", "up" };
	static const char *const e[] = { "eio", "eio", "eio", "eio", "up",
					 "up", "up", "up", "up", "up" };
	struct pathsim *sim;

	PATHSIM_START(sim, 10, 0);
	CU_ASSERT(pathsim_set(sim, "2-4", "eio") == 0);
	CU_ASSERT(modes_are(sim, a, 10));
	CU_ASSERT(pathsim_set(sim, "0.25", "short") == 0);	/* round(2.5) */
	CU_ASSERT(modes_are(sim, b, 10));
	CU_ASSERT(pathsim_set(sim, "50%", "hung") == 0);
	CU_ASSERT(pathsim_set(sim, "p7", "slow:10") == 0);
	CU_ASSERT(pathsim_set(sim, "9", "flaky:0.25") == 0);
	CU_ASSERT(modes_are(sim, c, 10));
	CU_ASSERT(pathsim_set(sim, "all", "up") == 0);
	CU_ASSERT(modes_are(sim, d, 10));
	CU_ASSERT(pathsim_set(sim, "35%", "eio") == 0);	/* round(3.5) */
	CU_ASSERT(pathsim_set(sim, "0.0", "hung") == 0);	/* no path */
	CU_ASSERT(pathsim_set(sim, "0%", "hung") == 0);
	CU_ASSERT(modes_are(sim, e, 10));
	CU_ASSERT(pathsim_set(sim, "100%", "up") == 0);
	CU_ASSERT(pathsim_set(sim, "1.0", "up") == 0);
	CU_ASSERT(pathsim_set(sim, "9-9", "up") == 0);
	CU_ASSERT(modes_are(sim, d, 10));
	pathsim_stop(sim);
}

static void test_bad_commands(void)
{
	static const char *const bad[] = {
		"set\n", "set all\n", "set all bogus\n", "set all up extra\n",
		"set p8 up\n", "set 8 up\n", "set p01 up\n", "set -1 up\n",
		"set 5-3 up\n", "set 3- up\n", "set 0-8 up\n", "set 1.5 up\n",
		"set 101% up\n", "set % up\n", "set .5 up\n", "set 0x1 up\n",
		"set all slow:\n", "set all slow:abc\n", "set all slow:-1\n",
		"set all slow:99999999999\n", "set all flaky:2\n",
		"set all flaky:nan\n", "set all flaky:0.5x\n", "set all flaky:\n",
		"set all UP\n", "frobnicate\n", "reset now\n", "release p9\n",
		"release all more\n", "set all up\nset all bogus\n",
		"set p1 eio\nfrobnicate\n",
	};
	struct pathsim *sim;
	char *before, *after;
	int refused = 0;

	PATHSIM_START(sim, 8, 0);
	CU_ASSERT(pathsim_set(sim, "p3", "hung") == 0);
	before = pathsim_table(sim);
	PC_REQUIRE(before != NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = pathsim_control_write(sim, bad[i]);

		refused += ret == -EINVAL;
		if (ret != -EINVAL)
			printf("\n  accepted: %s", bad[i]);
	}
	{	/* an embedded NUL */
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
		fd = open(path, O_WRONLY | O_CLOEXEC);
		CU_ASSERT(fd >= 0 && write(fd, "set all up\0\n", 12) < 0 &&
			  errno == EINVAL);
		if (fd >= 0)
			close(fd);
	}
	CU_ASSERT_EQUAL(refused, (int)(sizeof(bad) / sizeof(bad[0])));
	after = pathsim_table(sim);
	CU_ASSERT(after && !strcmp(before, after));
	CU_ASSERT(before[0] == '#');
	/* several good lines in one write: all applied */
	CU_ASSERT(pathsim_control_write(sim, "set p1 eio\n# comment\n\nset p2 short") == 0);
	free(after);
	after = pathsim_table(sim);
	CU_ASSERT(after && pathsim_table_mode_is(after, 1, "eio") && pathsim_table_mode_is(after, 2, "short") &&
		  pathsim_table_mode_is(after, 3, "hung"));
	free(before);
	free(after);
	pathsim_stop(sim);
}

static void test_counts_reset(void)
{
	struct pathsim *sim;
	struct io_event ev;
	struct aio_reader r;
	long res;
	char *table;
	static const char *const up[] = { "up", "up", "up" };

	PATHSIM_START(sim, 3, 0);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(pathsim_set(sim, "p2", "hung") == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 1), 2000, &res, NULL, NULL) == 0);
	PC_REQUIRE(aio_reader_open(&r, pathsim_dev(sim, 2), 1, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 1) == 1);
	CU_ASSERT(pathsim_wait_hung(sim, 2, 1, 2000));
	CU_ASSERT(pathsim_counts_are(sim, 0, 2, 2, 0, 0, 0));
	CU_ASSERT(pathsim_counts_are(sim, 1, 1, 0, 1, 0, 0));
	CU_ASSERT(pathsim_counts_are(sim, 2, 1, 0, 0, 0, 1));
	/* reset: all up, the hung read answered in full, counters zero */
	CU_ASSERT(pathsim_reset(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev.res, BLK);
	for (unsigned int i = 0; i < 3; i++)
		CU_ASSERT(pathsim_counts_are(sim, i, 0, 0, 0, 0, 0));
	CU_ASSERT(modes_are(sim, up, 3));
	table = pathsim_table(sim);
	CU_ASSERT(table && !strncmp(table, "# pathsim 1 paths=3 ", 20));
	free(table);
	aio_reader_close(&r);
	pathsim_stop(sim);
}

static void test_ctl_cli(void)
{
	char mp[PATH_MAX], out[8192];
	char *set_eio[] = { NULL, "ctl", mp, "set", "p1", "eio", NULL };
	char *set_bad[] = { NULL, "ctl", mp, "set", "p1", "bogus", NULL };
	char *release[] = { NULL, "ctl", mp, "release", NULL };
	char *reset[] = { NULL, "ctl", mp, "reset", NULL };
	char *show[] = { NULL, "ctl", mp, "show", NULL };
	char *json[] = { NULL, "ctl", mp, "show", "--json", NULL };
	char *nomnt[] = { NULL, "ctl", "/nonexistent", "show", NULL };
	char *usage[] = { NULL, "ctl", mp, NULL };
	char *two[] = { NULL, "ctl", mp, "set", "p1 eio", "up", NULL };
	struct pathsim *sim;

	PATHSIM_START(sim, 3, 0);
	snprintf(mp, sizeof(mp), "%s", pathsim_mountpoint(sim));
	CU_ASSERT_EQUAL(pathsim_run(set_eio, out, sizeof(out), NULL), 0);
	CU_ASSERT_EQUAL(pathsim_run(json, out, sizeof(out), NULL), 0);
	CU_ASSERT(out[0] == '[' && strstr(out, "{\"path\":\"p1\",\"mode\":\"eio\","
		  "\"reads\":0,\"ok\":0,\"failed\":0,\"short\":0,\"hung\":0}") &&
		  strstr(out, "{\"path\":\"p2\",\"mode\":\"up\","));
	CU_ASSERT_EQUAL(pathsim_run(show, out, sizeof(out), NULL), 0);
	CU_ASSERT(out[0] == '#' && strstr(out, "\np1 eio reads=0 ok=0 failed=0 "
					  "short=0 hung=0\n"));
	CU_ASSERT_EQUAL(pathsim_run(set_bad, out, sizeof(out), NULL), 1);
	CU_ASSERT_EQUAL(pathsim_run(two, out, sizeof(out), NULL), 2);
	CU_ASSERT_EQUAL(pathsim_run(release, out, sizeof(out), NULL), 0);
	CU_ASSERT_EQUAL(pathsim_run(nomnt, out, sizeof(out), NULL), 1);
	CU_ASSERT_EQUAL(pathsim_run(usage, out, sizeof(out), NULL), 2);
	CU_ASSERT_EQUAL(pathsim_run(reset, out, sizeof(out), NULL), 0);
	CU_ASSERT(modes_are(sim, (const char *const[]){ "up", "up", "up" }, 3));
	pathsim_stop(sim);
}

static void test_options(void)
{
	char dir[96], out[4096];
	char *cases[][6] = {
		{ NULL, "--paths", "0", dir, NULL },
		{ NULL, "--paths", "x", dir, NULL },
		{ NULL, "-n", "1000001", dir, NULL },
		{ NULL, "--size", "1000", dir, NULL },
		{ NULL, "--size", "1M1", dir, NULL },
		{ NULL, "--size", "1049000", dir, NULL },
		{ NULL, "--seed", "-1", dir, NULL },
		{ NULL, "--parent-watch", "0", dir, NULL },
		{ NULL, "--loop-block-size", "768", dir, NULL },
		{ NULL, "--paths", NULL },
		{ NULL, "--bogus", dir, NULL },
		{ NULL, NULL },
		{ NULL, dir, dir, NULL },
		{ NULL, "/nonexistent/pathsim", NULL },
	};
	char *help[] = { NULL, "--help", NULL };

	if (pathsim_skip_without_fuse())
		return;
	PC_REQUIRE(pc_test_mkdtemp(dir, sizeof(dir), "pathsim-opt") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = pathsim_run(cases[i], out, sizeof(out), NULL);

		CU_ASSERT_EQUAL(st, 2);
		if (st != 2)
			printf("\n  case %zu: status %d\n", i, st);
	}
	CU_ASSERT(!pc_test_is_mounted(dir));
	CU_ASSERT_EQUAL(pathsim_run(help, out, sizeof(out), NULL), 0);
	CU_ASSERT(strstr(out, "usage: pathsim") != NULL);
	rmdir(dir);
}

/* Counts the lines of /proc/self/mountinfo that mount dir. */
static unsigned int mounts_at(const char *dir)
{
	char line[2 * PATH_MAX], want[PATH_MAX + 2];
	unsigned int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	snprintf(want, sizeof(want), " %s ", dir);
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, want) != NULL;
	if (f)
		fclose(f);
	return n;
}

/*
 * A second pathsim on a pathsim mount point refuses (status 2), names the
 * mount, and leaves the first one serving, unstacked.
 */
static void test_refuse_mounted(void)
{
	char cmd[2 * PATH_MAX], out[4096], want[PATH_MAX + 64];
	struct pathsim *sim;
	size_t n;
	FILE *p;
	int st;

	PATHSIM_START(sim, 2, 0);
	/* timeout: a pathsim that mounts anyway would sit there for ever */
	snprintf(cmd, sizeof(cmd), "timeout -k 5 10 '%s' -n 1 '%s' 2>&1", pathsim_bin(),
		 pathsim_mountpoint(sim));
	p = popen(cmd, "r");
	PC_REQUIRE(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	snprintf(want, sizeof(want), "pathsim: %s is already a pathsim mount",
		 pathsim_mountpoint(sim));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	if (!strstr(out, want))
		printf("\n  second pathsim: status %d, output '%s'\n", st, out);
	CU_ASSERT_EQUAL(mounts_at(pathsim_mountpoint(sim)), 1);
	CU_ASSERT(access(pathsim_file(sim, 1), F_OK) == 0);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	pathsim_stop(sim);
}

static void test_many_paths(void)
{
	struct pathsim *sim;
	struct pathsim_counts c;
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];
	unsigned int entries = 0;
	long res;
	DIR *d;

	PATHSIM_START(sim, 10000, 0);
	CU_ASSERT(stat(pathsim_file(sim, 9999), &st) == 0 &&
		  st.st_size == PATH_SIZE);
	snprintf(path, sizeof(path), "%s/p10000", pathsim_mountpoint(sim));
	CU_ASSERT(stat(path, &st) < 0 && errno == ENOENT);
	d = opendir(pathsim_mountpoint(sim));
	PC_REQUIRE(d != NULL);
	while ((de = readdir(d)))
		entries += de->d_name[0] != '.';
	closedir(d);
	CU_ASSERT_EQUAL(entries, 10001);	/* p0..p9999 and control */
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 9999), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "9990-9999", "eio") == 0);
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 9995), 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	CU_ASSERT(pathsim_counts(sim, 9995, &c) == 0 && c.failed == 1);
	CU_ASSERT(pathsim_counts_are(sim, 9999, 1, 1, 0, 0, 0));
	pathsim_stop(sim);
}

/* --- loop devices (root) ------------------------------------------------- */

static bool loop_sysfs(const char *dev, const char *attr, char *buf,
		       size_t len)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/block/%s/%s", dev + 5, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void test_loop(void)
{
	struct pathsim *sim;
	struct io_event ev;
	struct aio_reader r;
	char dev[64], buf[PATH_MAX];
	uint64_t deadline;
	long res = 0;
	int fd, lbs = 0;
	bool gone = false;

	PATHSIM_START(sim, 2, PATHSIM_LOOP);
	snprintf(dev, sizeof(dev), "%s", pathsim_dev(sim, 1));
	CU_ASSERT(!strncmp(dev, "/dev/loop", 9));
	CU_ASSERT(loop_sysfs(dev, "loop/dio", buf, sizeof(buf)) && buf[0] == '1');
	CU_ASSERT(loop_sysfs(dev, "loop/backing_file", buf, sizeof(buf)) &&
		  !strncmp(buf, pathsim_file(sim, 1), strlen(pathsim_file(sim, 1))));
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	CU_ASSERT(fd >= 0 && ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs == 512);
	if (fd >= 0)
		close(fd);

	CU_ASSERT(pathsim_read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "p1", "eio") == 0);
	CU_ASSERT(pathsim_read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);
	/* a block device cannot read short: the loop driver retries the rest,
	 * halving each time, until nothing comes back, then fails */
	CU_ASSERT(pathsim_set(sim, "p1", "short") == 0);
	CU_ASSERT(pathsim_read_once(sim, dev, 2000, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, -EIO);

	CU_ASSERT(pathsim_set(sim, "p1", "hung") == 0);
	PC_REQUIRE(aio_reader_open(&r, dev, 1, PATH_SIZE) == 0);
	CU_ASSERT(aio_reader_submit(&r, 1) == 1);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 300), 0);
	CU_ASSERT(pathsim_wait_hung(sim, 1, 1, 2000));
	CU_ASSERT_EQUAL(io_cancel(r.ctx, &r.cbs[0], &ev), -EINVAL);
	/* the other loop device is not held up */
	CU_ASSERT(pathsim_read_once(sim, pathsim_dev(sim, 0), PROMPT_MS, &res, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(res, BLK);
	CU_ASSERT(pathsim_set(sim, "p1", "up") == 0);
	CU_ASSERT(pathsim_release(sim) == 0);
	CU_ASSERT_EQUAL(aio_reader_wait(&r, 1, &ev, 2000), 1);
	CU_ASSERT_EQUAL((long)ev.res, BLK);
	aio_reader_close(&r);

	/* pathsim's exit detaches its loop devices */
	CU_ASSERT_EQUAL(pathsim_stop_status(sim), 0);
	deadline = pc_test_now_ms() + 2000;
	while (!gone && pc_test_now_ms() < deadline) {
		gone = !loop_sysfs(dev, "loop/backing_file", buf, sizeof(buf));
		if (!gone)
			pc_test_sleep_ms(10);
	}
	CU_ASSERT(gone);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "targets", test_targets },
		{ "bad_commands", test_bad_commands },
		{ "counts_reset", test_counts_reset },
		{ "ctl_cli", test_ctl_cli },
		{ "options", test_options },
		{ "refuse_mounted", test_refuse_mounted },
		{ "many_paths", test_many_paths },
		{ "loop", test_loop },
		{ NULL, NULL },
	};

	return pc_test_main("pathsim_control", tests, argc, argv);
}
