/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd at the machine's limits, on real files and the real kernel:
 *  - a soft descriptor limit below the hard one is raised at start;
 *  - a hard limit too low for the config: the socket answers, one summary
 *    line says how many paths and what to raise to, those paths are
 *    "unopened" (show paths, show stats, metrics), and raising the limit
 *    (prlimit on the daemon) heals them without a reconfigure;
 *  - fs.aio-max-nr too low: one line with the value that opens every path,
 *    "unopened" paths, healed once the value is back, no reconfigure.
 *    The lowered value is restored at once, also on a failure: other tests
 *    on the machine need aio slots too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "harness.h"

#define AIO_MAX_NR	"/proc/sys/fs/aio-max-nr"
#define AIO_NR		"/proc/sys/fs/aio-nr"
#define HEAL_MS		(8000 + 1000)	/* the longest backoff, the retry tick */

static char R[4 << 20];

static bool stat_u64(struct daemon_fx *fx, const char *key, uint64_t *v)
{
	return daemon_cmd(fx, "show stats", R, sizeof(R)) > 0 && reply_kv_u64(R, key, v);
}

static long long metric(struct daemon_fx *fx, const char *series)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", series);
	if (daemon_cmd(fx, "show metrics", R, sizeof(R)) <= 0 || !(p = strstr(R, want)))
		return -1;
	return atoll(p + strlen(want));
}

static char conf[PATH_MAX + 256];

/* A soft limit below the hard one goes up to it: every path opens. */
static void test_nofile_soft_below_hard(void)
{
	struct daemon_fx *fx = daemon_fx_files(300);
	char want[128];

	if (!fx)
		return;
	snprintf(conf, sizeof(conf), "interval 200ms\npath %s/f*\n", fx->dir);
	PC_REQUIRE(daemon_start_nofile(fx, 128, 4096, conf) == 0);
	snprintf(want, sizeof(want), "descriptor limit raised from 128 to the hard limit 4096");
	CU_ASSERT_EQUAL(daemon_log_count(fx, want), 1);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 300, "ready", 200 + daemon_slack_ms()), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "not opened"), 0);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/*
 * Hard limit 200, 300 paths: some open, the rest are unopened with
 * EMFILE, in one line; the socket answers 50 clients at once; raising the
 * limit to the value the line names heals them all, without a reconfigure.
 */
static void test_nofile_hard_too_low(void)
{
	struct daemon_fx *fx;
	struct dconn *c[50] = { NULL };
	char line[1024];
	unsigned long long n = 0, need = 0;
	uint64_t unopened = 0;
	const char *p;

	if (pc_test_need_root())
		PC_SKIP("raising a hard limit back: %s", pc_test_need_root());
	fx = daemon_fx_files(300);
	if (!fx)
		return;
	snprintf(conf, sizeof(conf), "interval 200ms\npath %s/f*\n", fx->dir);
	PC_REQUIRE(daemon_start_nofile(fx, 200, 200, conf) == 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "paths not opened"), 1);
	CU_ASSERT(daemon_log_line(fx, "paths not opened", line, sizeof(line)));
	printf("\n  %s\n", line);
	p = strstr(line, "paths not opened: too many open files (EMFILE)");
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT(sscanf(line, "%llu paths not opened", &n) == 1 && n > 0 && n < 300);
	p = strstr(line, "raise it to at least ");
	CU_ASSERT(p && sscanf(p, "raise it to at least %llu", &need) == 1 && need >= 200 + n);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "the hard limit too"));

	/* the socket answers, many at once */
	for (int i = 0; i < 50; i++)
		CU_ASSERT_EQUAL(dconn_open(fx, &c[i]), 0);
	for (int i = 0; i < 50; i++)
		CU_ASSERT(c[i] && dconn_cmd(c[i], "show status", R, sizeof(R), fx->reply_ms) > 0);
	for (int i = 0; i < 50; i++)
		if (c[i])
			dconn_close(c[i]);
	CU_ASSERT(stat_u64(fx, "unopened", &unopened) && unopened == n);
	CU_ASSERT_EQUAL(metric(fx, "pathcheck_paths{state=\"unopened\"}"), (long long)n);
	CU_ASSERT_EQUAL(metric(fx, "pathcheck_paths_unopened{reason=\"EMFILE\"}"), (long long)n);
	CU_ASSERT(daemon_cmd(fx, "show paths json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "\"chk_st\":\"unopened\""), n);
	CU_ASSERT(reply_count(R, "\"reason\":\"open failed: Too many open files\"") == n);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "accept:"), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "cannot open"), 0);	/* not one per path */

	/* raising a hard limit takes CAP_SYS_RESOURCE: healing is the next test's */
	CU_ASSERT_EQUAL(daemon_log_count(fx, "paths not opened"), 1);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/*
 * The soft limit lowered under a running daemon, then a reconfigure adds
 * 300 paths: one line, "unopened" paths; the soft limit raised to the
 * value the line names (prlimit on the daemon) heals every one of them
 * by itself, without another reconfigure.
 */
static void test_nofile_heal(void)
{
	struct daemon_fx *fx = daemon_fx_new();
	struct rlimit rl;
	char line[1024] = "", name[16];
	unsigned long long n = 0, need = 0;
	uint64_t v;
	const char *p;

	if (!fx)
		return;
	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/g*\n", fx->dir) == 0);
	PC_REQUIRE(prlimit(fx->pid, RLIMIT_NOFILE, NULL, &rl) == 0);
	rl.rlim_cur = 200;
	PC_REQUIRE(prlimit(fx->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		PC_REQUIRE(daemon_file(fx, name, 1 << 20, NULL, 0) == 0);
	}
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) == 3 && !strcmp(R, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "paths not opened"), 1);
	CU_ASSERT(daemon_log_line(fx, "paths not opened", line, sizeof(line)));
	printf("\n  %s\n", line);
	CU_ASSERT(sscanf(line, "%llu paths not opened", &n) == 1 && n > 0 && n < 300);
	p = strstr(line, "raise it to at least ");
	CU_ASSERT(p && sscanf(p, "raise it to at least %llu", &need) == 1 && need >= 200 + n);
	CU_ASSERT_PTR_NULL(strstr(line, "the hard limit too"));
	CU_ASSERT(stat_u64(fx, "unopened", &v) && v == n);
	CU_ASSERT_EQUAL(metric(fx, "pathcheck_paths_unopened{reason=\"EMFILE\"}"), (long long)n);

	rl.rlim_cur = need;
	PC_REQUIRE(prlimit(fx->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 300, "ready", HEAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT(stat_u64(fx, "reconfigures", &v) && v == 1);
	CU_ASSERT(stat_u64(fx, "unopened", &v) && v == 0);
	CU_ASSERT(daemon_log_count(fx, "unopened paths opened on retry") >= 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "paths not opened"), 1);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

static long long read_num(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoll(buf);
}

static int write_num(const char *path, long long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, err = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%lld\n", v);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

/*
 * 40 paths in aio groups of 8, with room for two groups: one line with
 * the value that opens all 40 (fs.aio-nr + 3 more groups of 8 when 24
 * failed), "unopened" paths; healed once fs.aio-max-nr is back, without a
 * reconfigure.  The lowered window lasts until that line shows (at most
 * 5 s) and the state is read.
 */
static void test_aio_max_nr(void)
{
	struct daemon_fx *fx;
	long long saved, nr, want = -1;
	unsigned long long n = 0, logged_nr = 0, need = 0;
	uint64_t unopened = ~0ULL, v;
	char line[1024] = "";
	const char *p;
	int wait_ret;

	if (pc_test_need_root())
		PC_SKIP("lowering fs.aio-max-nr: %s", pc_test_need_root());
	saved = read_num(AIO_MAX_NR);
	if (saved < 0 || access(AIO_MAX_NR, W_OK))
		PC_SKIP("fs.aio-max-nr is not writable here");
	fx = daemon_fx_files(40);
	if (!fx)
		return;
	snprintf(conf, sizeof(conf), "interval 200ms\ngroup_size 8\npath %s/f*\n", fx->dir);
	PC_REQUIRE(daemon_config(fx, "%s", conf) == 0);

	/* --- lowered: as short as it can be --- */
	nr = read_num(AIO_NR);
	PC_REQUIRE(nr >= 0 && write_num(AIO_MAX_NR, nr + 16) == 0);
	wait_ret = daemon_start_args(fx, NULL);
	if (!wait_ret)
		wait_ret = daemon_log_wait(fx, "paths not opened", 5000);
	if (!wait_ret) {
		daemon_log_line(fx, "paths not opened", line, sizeof(line));
		stat_u64(fx, "unopened", &unopened);
		want = metric(fx, "pathcheck_paths_unopened{reason=\"EAGAIN\"}");
	}
	if (write_num(AIO_MAX_NR, saved))
		CU_FAIL("cannot restore fs.aio-max-nr");
	/* --- restored --- */

	CU_ASSERT_EQUAL_FATAL(wait_ret, 0);
	printf("\n  %s\n", line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "paths not opened: out of aio slots (EAGAIN)"));
	CU_ASSERT(sscanf(line, "%llu paths not opened", &n) == 1 && n > 0 && n <= 40);
	p = strstr(line, "fs.aio-nr ");
	CU_ASSERT(p && sscanf(p, "fs.aio-nr %llu", &logged_nr) == 1);
	p = strstr(line, "raise it to at least ");
	CU_ASSERT(p && sscanf(p, "raise it to at least %llu", &need) == 1);
	/* every unopened path, in whole groups of 8 */
	CU_ASSERT_EQUAL(need, logged_nr + (n + 7) / 8 * 8);
	CU_ASSERT_EQUAL(unopened, n);
	CU_ASSERT_EQUAL(want, (long long)n);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "paths not opened"), 1);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "io_setup("), 0);	/* not one per path */

	CU_ASSERT_EQUAL(daemon_wait_states(fx, 40, "ready", HEAL_MS + daemon_slack_ms()), 0);
	CU_ASSERT(stat_u64(fx, "reconfigures", &v) && v == 0);
	CU_ASSERT(stat_u64(fx, "unopened", &v) && v == 0);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "nofile_soft_below_hard", test_nofile_soft_below_hard },
		{ "nofile_hard_too_low", test_nofile_hard_too_low },
		{ "nofile_heal", test_nofile_heal },
		{ "aio_max_nr", test_aio_max_nr },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_limits", tests, argc, argv);
}
