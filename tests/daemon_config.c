/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf(5) through the real daemon: `pathcheckd -t -c FILE`
 * parses and expands a configuration and prints one line per device
 * ("NAME PATH interval=MS timeout=MS", exit 0), or prints
 * "pathcheckd: FILE:LINE: reason" and exits 1.  Globs expand over a
 * temporary tree of files, directories and symlinks; every class of error
 * names its line and reason; and a seeded fuzzer mutates valid configs
 * (PC_FUZZ_SEED=N reproduces a run) and requires exit 0 or 1 with a proper
 * message, never a signal, another status or a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RUN_LIMIT_MS	5000	/* a config that hangs the daemon is a failure */
#define OUT_CAP		(256 * 1024)
#define ERR_CAP		(16 * 1024)
/*
 * 300 runs take 2 s on a plain build; under ASan each exec costs ~70 ms
 * (most of it LeakSanitizer at exit), under TSan ~45 ms.  So the fuzzer
 * stops early once it has used its time budget, after at least
 * FUZZ_MIN_RUNS.  The seed fixes the sequence, so a run that stopped
 * early is a prefix of the full one.
 */
#define FUZZ_RUNS	300
#define FUZZ_MIN_RUNS	100
#define FUZZ_BUDGET_MS	8000

static char tmp[128];		/* the temporary tree, resolved */

/* --- running pathcheckd -t ---------------------------------------------------- */

struct run {
	int status;		/* exit status, or -1 */
	int sig;		/* the signal that ended it, or 0 */
	bool timed_out;
	uint64_t ms;
	size_t nout, nerr;
	char out[OUT_CAP];
	char err[ERR_CAP];
};

static struct run R;

static const char *daemon_bin(void)
{
	static char bin[PATH_MAX];
	const char *b = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathcheckd", b && *b ? b : "build");
	return bin;
}

/* The daemon is part of the build: its absence fails, it never skips. */
static bool have_daemon(void)
{
	if (access(daemon_bin(), X_OK) == 0)
		return true;
	printf("\n  %s: %s\n", daemon_bin(), strerror(errno));
	CU_FAIL("pathcheckd is not built");
	return false;
}

/* Runs `pathcheckd -t -c conf` into R, killed after RUN_LIMIT_MS. */
static int run_test_config(const char *conf)
{
	const char *argv[] = { daemon_bin(), "-t", "-c", conf, NULL };
	struct pc_test_run r = {
		.argv = argv, .limit_ms = RUN_LIMIT_MS, .out = R.out,
		.out_cap = sizeof(R.out), .err = R.err, .err_cap = sizeof(R.err),
	};
	int ret = pc_test_run(&r);

	R.status = r.status;
	R.sig = r.sig;
	R.timed_out = r.timed_out;
	R.ms = r.ms;
	R.nout = r.nout;
	R.nerr = r.nerr;
	return ret;
}

/* --- files ------------------------------------------------------------------------ */

static int write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		done += (size_t)n;
	}
	return close(fd) ? -errno : 0;
}

/* Replaces every "@" of a template by the temporary tree's path. */
static char *expand_tmp(const char *tmpl)
{
	size_t n = 1, tl = strlen(tmp);
	char *s, *o;

	for (const char *c = tmpl; *c; c++)
		n += *c == '@' ? tl : 1;
	s = o = malloc(n);
	if (!s)
		return NULL;
	for (const char *c = tmpl; *c; c++) {
		if (*c == '@') {
			memcpy(o, tmp, tl);
			o += tl;
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	return s;
}

static void conf_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmp, name);
}

/* Writes the template ("@" = the tree) as conf and runs -t on it. */
static bool run_conf(const char *tmpl, char *conf, size_t conflen)
{
	char *text = expand_tmp(tmpl);
	int ret;

	conf_path(conf, conflen, "test.conf");
	if (!text || write_file(conf, text, strlen(text))) {
		free(text);
		CU_FAIL("cannot write the config");
		return false;
	}
	free(text);
	ret = run_test_config(conf);
	if (ret) {
		printf("\n  cannot run %s: %s\n", daemon_bin(), strerror(-ret));
		CU_FAIL("cannot run pathcheckd");
		return false;
	}
	return true;
}

/* The device lines of -t's output, without its "# " explanations (their
 * test is in daemon_ops). */
static char *device_lines(const char *out)
{
	char *s = strdup(out), *o = s;

	for (const char *l = out; s && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) + 1 : strlen(l);

		if (strncmp(l, "# ", 2)) {
			memcpy(o, l, n);
			o += n;
		}
		l += n;
	}
	if (s)
		*o = '\0';
	return s;
}

/* Exit 0 and exactly the expected devices on stdout ("@" = the tree). */
static void expect_devices(const char *conf_tmpl, const char *want_tmpl)
{
	char conf[PATH_MAX], *want = expand_tmp(want_tmpl), *got;

	PC_REQUIRE(want != NULL);
	if (!have_daemon() || !run_conf(conf_tmpl, conf, sizeof(conf))) {
		free(want);
		return;
	}
	got = device_lines(R.out);
	PC_REQUIRE(got != NULL);
	if (R.status != 0 || strcmp(got, want))
		printf("\n  exit %d, stdout:\n%s  stderr:\n%s  wanted:\n%s", R.status,
		       R.out, R.err, want);
	CU_ASSERT_EQUAL(R.status, 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(R.nerr, 0);
	free(got);
	free(want);
}

/* Exit 1 and "pathcheckd: FILE:LINE: ...reason..." on stderr. */
static void expect_error_in(const char *conf, unsigned int line, const char *reason)
{
	char where[PATH_MAX + 64];
	bool ok;

	if (line)
		snprintf(where, sizeof(where), "pathcheckd: %s:%u: ", conf, line);
	else
		snprintf(where, sizeof(where), "pathcheckd: %s: ", conf);
	ok = R.status == 1 && !strncmp(R.err, where, strlen(where)) &&
	     strstr(R.err, reason) && R.nout == 0;
	if (!ok)
		printf("\n  wanted exit 1 and '%s...%s'; got exit %d, signal %d, stderr: %s",
		       where, reason, R.status, R.sig, R.err);
	CU_ASSERT_EQUAL(R.status, 1);
	CU_ASSERT_EQUAL(strncmp(R.err, where, strlen(where)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(R.err, reason));
	CU_ASSERT_EQUAL(R.nout, 0);
}

static void expect_error_text(const char *text, size_t len, unsigned int line,
			      const char *reason)
{
	char conf[PATH_MAX];
	int ret;

	conf_path(conf, sizeof(conf), "bad.conf");
	PC_REQUIRE(write_file(conf, text, len) == 0);
	ret = run_test_config(conf);
	PC_REQUIRE(ret == 0);
	expect_error_in(conf, line, reason);
}

/* --- the tree ------------------------------------------------------------------------ */

/*
 *   d/sda d/sdb d/sdc      files
 *   d/sdd/                 a directory, matched by d/sd*
 *   d/a/p0 d/b/p0          two devices with one name
 *   d/fifo                 a FIFO
 *   links/link-b -> d/sdb, links/link-c -> d/sdc, links/dangling -> d/nothing,
 *   links/null -> /dev/null
 */
static int make_tree(void)
{
	static const char *const dirs[] = { "d", "d/sdd", "d/a", "d/b", "links" };
	static const char *const files[] = { "d/sda", "d/sdb", "d/sdc", "d/a/p0", "d/b/p0" };
	static const char *const links[][2] = {
		{ "links/link-b", "d/sdb" }, { "links/link-c", "d/sdc" },
		{ "links/dangling", "d/nothing" }, { "links/null", "/dev/null" },
	};
	char p[PATH_MAX], t[PATH_MAX], made[] = "/tmp/pcd-config-XXXXXX", *real;

	if (!mkdtemp(made))
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s", made);	/* removed at the end, whatever happens */
	real = realpath(made, NULL);
	if (!real || strlen(real) >= sizeof(tmp)) {
		free(real);
		return -ENAMETOOLONG;
	}
	strcpy(tmp, real);
	free(real);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		conf_path(p, sizeof(p), dirs[i]);
		if (mkdir(p, 0755))
			return -errno;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		conf_path(p, sizeof(p), files[i]);
		if (write_file(p, "", 0))
			return -EIO;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		conf_path(p, sizeof(p), links[i][0]);
		if (links[i][1][0] == '/')
			snprintf(t, sizeof(t), "%s", links[i][1]);
		else
			conf_path(t, sizeof(t), links[i][1]);
		if (symlink(t, p))
			return -errno;
	}
	conf_path(p, sizeof(p), "d/fifo");
	return mkfifo(p, 0644) ? -errno : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- valid configurations ---------------------------------------------------------- */

static void test_every_keyword(void)
{
	expect_devices(
		"# every keyword once, some twice: the last one wins\n"
		"interval 1s\n"
		"interval 2s   # comment after a value\n"
		"timeout 1.5s\n"
		"workers 4\n"
		"workers 0\n"
		"group_size 64\n"
		"shutdown_timeout 500ms\n"
		"socket /run/pcd-test.sock\n"
		"socket_mode 0660\n"
		"metrics_file /var/tmp/pcd-test.prom\n"
		"log stderr\n"
		"log syslog\n"
		"log auto\n"
		"blacklist */sdc\n"
		"path @/d/sda interval=250ms\n"
		"path @/d/sdb timeout=10s interval=3s\n"
		"path @/d/sd*\n"
		"\n"
		"   # indented comment\n",
		"sda @/d/sda interval=250 timeout=1500\n"
		"sdb @/d/sdb interval=3000 timeout=10000\n");
}

static void test_defaults(void)
{
	expect_devices("path @/d/sda\n",
		       "sda @/d/sda interval=5000 timeout=30000\n");
}

/* A file without paths is valid: the daemon starts with none. */
static void test_no_paths(void)
{
	expect_devices("", "");
	expect_devices("# nothing\n\n\t\n   \n", "");
	expect_devices("interval 1s\ntimeout 2s\nworkers 2\n", "");
}

/* Tabs, CRLF line ends, no final newline, '#' ending a glob. */
static void test_whitespace_comments(void)
{
	expect_devices("\tinterval\t\t2s \r\n"
		       "  timeout 3s\r\n"
		       "path\t@/d/sda#comment\n"
		       "path @/d/sdb\ttimeout=1s\t# c",
		       "sda @/d/sda interval=2000 timeout=3000\n"
		       "sdb @/d/sdb interval=2000 timeout=1000\n");
}

/*
 * The first rule that finds a device gives its settings, whether it finds
 * it through a symlink or directly; a blacklist glob drops a device by its
 * resolved path too (sdc through link-c); directories and dangling links
 * are skipped; a literal path that does not exist is kept; two devices
 * with one name are both kept, in path order.
 */
static void test_globs(void)
{
	expect_devices(
		"blacklist */sdc\n"
		"path @/links/* interval=1s\n"
		"path @/d/sd* interval=2s timeout=3s\n"
		"path @/d/*/p0\n"
		"path @/d/missing\n"
		"path @/d/sda timeout=9s\n"
		"path @/d/nomatch*\n",
		"missing @/d/missing interval=5000 timeout=30000\n"
		"p0 @/d/a/p0 interval=5000 timeout=30000\n"
		"p0 @/d/b/p0 interval=5000 timeout=30000\n"
		"sda @/d/sda interval=2000 timeout=3000\n"
		"sdb @/d/sdb interval=1000 timeout=30000\n");
}

/*
 * A blacklist glob that matches only the configured name of a link drops
 * that match, not the device when another rule finds it by its own name.
 */
static void test_blacklist_match_and_realpath(void)
{
	expect_devices(
		"blacklist @/links/link-b\n"
		"blacklist */missing\n"
		"path @/links/link-*\n"
		"path @/d/sd[ab] interval=2s\n"
		"path @/d/missing\n",
		"sda @/d/sda interval=2000 timeout=30000\n"
		"sdb @/d/sdb interval=2000 timeout=30000\n"
		"sdc @/d/sdc interval=5000 timeout=30000\n");
	expect_devices("blacklist @/d/*\npath @/links/link-*\n", "");
	/* Literal paths: a directory is skipped, a dangling link kept. */
	expect_devices("path @/d/sdd\npath @/d\npath @/links/dangling\n",
		       "dangling @/links/dangling interval=5000 timeout=30000\n");
}

/*
 * A glob keeps only block devices and regular files; a literal path is
 * kept whatever it is (but a directory), for the daemon to report.
 */
static void test_special_files(void)
{
	expect_devices("path @/d/f*\npath @/links/n*\npath @/d/s*\n",
		       "sda @/d/sda interval=5000 timeout=30000\n"
		       "sdb @/d/sdb interval=5000 timeout=30000\n"
		       "sdc @/d/sdc interval=5000 timeout=30000\n");
	expect_devices("path @/d/fifo\npath @/links/null\n",
		       "fifo @/d/fifo interval=5000 timeout=30000\n"
		       "null /dev/null interval=5000 timeout=30000\n");
}

static void test_durations(void)
{
	static const struct { const char *dur; unsigned int ms; } cases[] = {
		{ "250ms", 250 }, { "5s", 5000 }, { "5", 5000 }, { "1.5s", 1500 },
		{ "2m", 120000 }, { "1h", 3600000 }, { "24h", 86400000 },
		{ "86400", 86400000 }, { "86400000ms", 86400000 }, { "1ms", 1 },
		{ "0.001s", 1 }, { "0.25m", 15000 }, { "007s", 7000 },
		{ "1.500000000000s", 1500 }, { "0.0005h", 1800 },
	};
	char tmpl[256], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(tmpl, sizeof(tmpl), "timeout %s\npath @/d/sda interval=%s\n",
			 cases[i].dur, cases[i].dur);
		snprintf(want, sizeof(want), "sda @/d/sda interval=%u timeout=%u\n",
			 cases[i].ms, cases[i].ms);
		expect_devices(tmpl, want);
	}
}

/* The installed example parses (tests run from the top of the tree). */
static void test_example_file(void)
{
	const char *conf = "docs/pathcheckd.conf.example";

	if (!have_daemon())
		return;
	PC_REQUIRE(run_test_config(conf) == 0);
	if (R.status != 0)
		printf("\n  %s: exit %d: %s", conf, R.status, R.err);
	CU_ASSERT_EQUAL(R.status, 0);
	CU_ASSERT_EQUAL(R.nerr, 0);
}

/* --- errors ------------------------------------------------------------------------------ */

static const struct bad {
	const char *text;
	unsigned int line;
	const char *reason;
} bad_configs[] = {
	{ "interval 5s\nintervall 5s\n", 2, "unknown keyword 'intervall'" },
	{ "Interval 5s\n", 1, "unknown keyword 'Interval'" },
	{ "\n\ninterval\n", 3, "missing value for 'interval'" },
	{ "path\n", 1, "missing value for 'path'" },
	{ "blacklist   # none\n", 1, "missing value for 'blacklist'" },
	{ "log\n", 1, "missing value for 'log'" },
	{ "workers 4 5\n", 1, "extra word '5'" },
	{ "interval 5 s\n", 1, "extra word 's'" },
	{ "blacklist /a /b\n", 1, "extra word '/b'" },
	{ "workers four\n", 1, "bad number 'four'" },
	{ "workers -1\n", 1, "bad number '-1'" },
	{ "workers 1025\n", 1, "out of range (0..1024)" },
	{ "workers 99999999999999999999999\n", 1, "out of range (0..1024)" },
	{ "group_size 0\n", 1, "out of range (1..65536)" },
	{ "group_size 65537\n", 1, "out of range (1..65536)" },
	{ "group_size 0x10\n", 1, "bad number '0x10'" },
	{ "interval 0\n", 1, "out of range (1ms..24h)" },
	{ "timeout 25h\n", 1, "out of range (1ms..24h)" },
	{ "timeout 86400001ms\n", 1, "out of range (1ms..24h)" },
	{ "timeout 86400.001\n", 1, "out of range (1ms..24h)" },
	{ "interval 99999999999999999999999999999s\n", 1, "out of range (1ms..24h)" },
	{ "shutdown_timeout 0ms\n", 1, "out of range (1ms..24h)" },
	{ "interval 5x\n", 1, "bad duration unit in '5x'" },
	{ "interval 5S\n", 1, "bad duration unit in '5S'" },
	{ "shutdown_timeout 1d\n", 1, "bad duration unit in '1d'" },
	{ "interval -1s\n", 1, "bad duration '-1s'" },
	{ "interval .5s\n", 1, "bad duration '.5s'" },
	{ "interval 5.s\n", 1, "bad duration '5.s'" },
	{ "interval 1.2.3s\n", 1, "bad duration '1.2.3s'" },
	{ "interval 1.5ms\n", 1, "not a whole number of milliseconds" },
	{ "interval 1.0000000001s\n", 1, "not a whole number of milliseconds" },
	{ "interval 5s\npath /dev/sd* interval=2s foo=1\n", 2, "unknown option 'foo'" },
	{ "path /dev/sd* bar\n", 1, "unknown option 'bar'" },
	{ "path /dev/sd* timeout=1s timeout=2s\n", 1, "duplicate option 'timeout'" },
	{ "path /dev/sd* interval\n", 1, "missing value for option 'interval'" },
	{ "path /dev/sd* timeout=\n", 1, "missing value for option 'timeout'" },
	{ "path /dev/sd* interval=0\n", 1, "out of range (1ms..24h)" },
	{ "path /dev/sd* timeout=2x\n", 1, "bad duration unit in '2x' for option 'timeout'" },
	{ "socket_mode 0800\n", 1, "bad octal mode '0800'" },
	{ "socket_mode rw\n", 1, "bad octal mode 'rw'" },
	{ "socket_mode 01000\n", 1, "out of range (0..0777)" },
	{ "socket run/pcd.sock\n", 1, "'socket' needs an absolute path, not 'run/pcd.sock'" },
	{ "metrics_file m.prom\n", 1, "'metrics_file' needs an absolute path, not 'm.prom'" },
	{ "socket /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", 1,
	  "'socket' path longer than 107 bytes" },
	{ "log journald\n", 1, "'log' takes stderr, syslog, journal or auto, not 'journald'" },
	{ "path dev/sd*\n", 1, "'path' needs an absolute path or glob" },
	{ "blacklist sda\n", 1, "'blacklist' needs an absolute path or a glob" },
	{ "interval\v5s\n", 1, "control character 0x0b" },
	{ "# ok\n\n\x01\n", 3, "control character 0x01" },
};

static void test_errors(void)
{
	if (!have_daemon())
		return;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		const struct bad *b = &bad_configs[i];

		expect_error_text(b->text, strlen(b->text), b->line, b->reason);
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "interval 5s\nwork\0ers 4\n";
	static const char in_comment[] = "# a \0 in a comment\n";

	if (!have_daemon())
		return;
	expect_error_text(text, sizeof(text) - 1, 2, "NUL byte");
	expect_error_text(in_comment, sizeof(in_comment) - 1, 1, "NUL byte");
}

/* 4096 bytes a line are fine, 4097 are not. */
static void test_long_line(void)
{
	char conf[PATH_MAX];
	size_t n = 2 + 4095 + 1 + 4097 + 1;
	char *text = malloc(n);

	if (!have_daemon() || !text) {
		free(text);
		return;
	}
	memcpy(text, "\n#", 2);
	memset(text + 2, 'x', 4095);
	text[4097] = '\n';
	memset(text + 4098, ' ', 4097);
	text[n - 1] = '\n';
	conf_path(conf, sizeof(conf), "long.conf");
	PC_REQUIRE(write_file(conf, text, 4098) == 0);
	PC_REQUIRE(run_test_config(conf) == 0);
	CU_ASSERT_EQUAL(R.status, 0);
	expect_error_text(text, n, 3, "line longer than 4096 bytes");
	free(text);
}

/* 1 MiB of comments is a file; one byte more is refused. */
static void test_big_file(void)
{
	const size_t mib = 1 << 20;
	char conf[PATH_MAX];
	char *text = malloc(mib + 1);

	if (!have_daemon() || !text) {
		free(text);
		return;
	}
	for (size_t i = 0; i < mib + 1; i++)
		text[i] = i % 64 == 63 ? '\n' : '#';
	conf_path(conf, sizeof(conf), "big.conf");
	PC_REQUIRE(write_file(conf, text, mib) == 0);
	PC_REQUIRE(run_test_config(conf) == 0);
	CU_ASSERT_EQUAL(R.status, 0);
	CU_ASSERT_EQUAL(R.nerr, 0);
	expect_error_text(text, mib + 1, 0, "larger than 1 MiB");
	free(text);
}

static void test_unreadable(void)
{
	char conf[PATH_MAX];

	if (!have_daemon())
		return;
	conf_path(conf, sizeof(conf), "no-such.conf");
	PC_REQUIRE(run_test_config(conf) == 0);
	expect_error_in(conf, 0, "No such file or directory");
	conf_path(conf, sizeof(conf), "d");
	PC_REQUIRE(run_test_config(conf) == 0);
	expect_error_in(conf, 0, "not a regular file");
	/* Opening a FIFO must not wait for a writer. */
	conf_path(conf, sizeof(conf), "d/fifo");
	PC_REQUIRE(run_test_config(conf) == 0);
	expect_error_in(conf, 0, "not a regular file");
}

/* --- fuzz ------------------------------------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t rn(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

#define PICK(a) ((a)[rn(sizeof(a) / sizeof((a)[0]))])

struct text {
	char *p;
	size_t len, cap;
};

static bool text_reserve(struct text *t, size_t more)
{
	char *p;

	if (t->len + more <= t->cap)
		return true;
	p = realloc(t->p, t->len + more + 4096);
	if (!p)
		return false;
	t->p = p;
	t->cap = t->len + more + 4096;
	return true;
}

static void text_insert(struct text *t, size_t at, const char *s, size_t n)
{
	if (!n || at > t->len || !text_reserve(t, n))
		return;
	memmove(t->p + at + n, t->p + at, t->len - at);
	memcpy(t->p + at, s, n);
	t->len += n;
}

static void text_delete(struct text *t, size_t at, size_t n)
{
	if (at >= t->len)
		return;
	if (n > t->len - at)
		n = t->len - at;
	memmove(t->p + at, t->p + at + n, t->len - at - n);
	t->len -= n;
}

/* Where a line starts, at random. */
static size_t line_start(const struct text *t)
{
	size_t at = rn(t->len + 1);

	while (at > 0 && t->p[at - 1] != '\n')
		at--;
	return at;
}

static const char *const fuzz_bases[] = {
	"interval 2s\ntimeout 1s\nworkers 2\ngroup_size 16\nshutdown_timeout 200ms\n"
	"socket /run/pcd-fuzz.sock\nsocket_mode 0660\nmetrics_file /var/tmp/pcd.prom\n"
	"log stderr\nblacklist */sdc\npath @/links/* interval=1s\n"
	"path @/d/sd* interval=2s timeout=3s\npath @/d/*/p0\npath @/d/missing\n",
	"# comment\npath @/d/sda timeout=500ms # tail\n\tpath @/d/sd[bc]\r\nblacklist @/d/b/*\n",
	"interval 1.5s\npath @/d/*\npath @/d/*/*\nblacklist ?*/sdd\n",
	"",
};

static const char *const fuzz_words[] = {
	"interval", "timeout", "workers", "group_size", "shutdown_timeout", "socket",
	"socket_mode", "metrics_file", "log", "path", "blacklist", "intervall", "PATH",
	"#", "=", "interval=", "timeout=1s", "interval=250ms", "foo=1", "timeout=0",
	"0", "1", "5", "250ms", "1.5s", "2m", "24h", "25h", "0.5ms", "1.", ".1", "-3",
	"18446744073709551616", "99999999999999999999999999999999999999ms", "4294967296",
	"0777", "01000", "8", "stderr", "syslog", "auto", "journal", "/", "/*", "*", "?",
	"[", "[!", "[]", "\\", "/run/x.sock", "relative", "@/d/*", "@/d/sd?", "@/links/*",
	"@/d/missing", "@/d/[", "@/d/*/p0", "*/sda", "@/d/sdd", "@/links/dangling",
};

static void mutate_insert_line(struct text *t)
{
	char line[512];
	size_t n = 0, words = 1 + rn(5);
	char *s;

	for (size_t i = 0; i < words && n < sizeof(line) - 80; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i ? PICK(((const char *const[]){ " ", "\t", "  " })) : "",
				      PICK(fuzz_words));
	line[n++] = '\n';
	line[n] = '\0';
	s = expand_tmp(line);
	if (s)
		text_insert(t, line_start(t), s, strlen(s));
	free(s);
}

static void mutate_long_line(struct text *t)
{
	size_t n = 4000 + rn(200);
	char *s = malloc(n + 1);

	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		s[i] = rn(4) ? (char)('a' + rn(26)) : "* /#=.\t"[rn(7)];
	if (rn(2))
		memcpy(s, "path /", 6);
	s[n] = '\n';
	text_insert(t, line_start(t), s, n + 1);
	free(s);
}

static void mutate_huge_number(struct text *t)
{
	char num[80];
	size_t n = 10 + rn(60);

	for (size_t i = 0; i < n; i++)
		num[i] = (char)('0' + rn(10));
	num[n] = '\0';
	snprintf(num + n, sizeof(num) - n, "%s", PICK(((const char *const[]){ "", "ms", "s", "h" })));
	text_insert(t, rn(t->len + 1), num, strlen(num));
}

static void mutate(struct text *t)
{
	char junk[32];
	size_t n;

	switch (rn(12)) {
	case 0:		/* a byte becomes any byte */
		if (t->len)
			t->p[rn(t->len)] = (char)rn(256);
		break;
	case 1:		/* a bit flips */
		if (t->len)
			t->p[rn(t->len)] ^= (char)(1 << rn(8));
		break;
	case 2:
		t->len = rn(t->len + 1);
		break;
	case 3:
		mutate_insert_line(t);
		break;
	case 4:
		mutate_huge_number(t);
		break;
	case 5:
		mutate_long_line(t);
		break;
	case 6:		/* binary junk */
		n = 1 + rn(sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] = (char)rn(256);
		text_insert(t, rn(t->len + 1), junk, n);
		break;
	case 7:
		text_insert(t, rn(t->len + 1), "", 1);
		break;
	case 8:
		text_delete(t, rn(t->len + 1), 1 + rn(20));
		break;
	case 9:		/* a stretch repeated */
		n = rn(t->len + 1);
		if (n < t->len) {
			size_t k = 1 + rn(t->len - n < 100 ? t->len - n : 100);
			char *dup = malloc(k);

			if (dup) {
				memcpy(dup, t->p + n, k);
				text_insert(t, rn(t->len + 1), dup, k);
			}
			free(dup);
		}
		break;
	case 10:	/* a character that means something here */
		junk[0] = "# \t\r\n=*?[]\\/.-"[rn(15)];
		text_insert(t, rn(t->len + 1), junk, 1);
		break;
	default:	/* a character that means something replaces one */
		if (t->len)
			t->p[rn(t->len)] = "# \t\n=*?[/0123456789"[rn(19)];
		break;
	}
}

/* One line of -t output: "NAME PATH interval=MS timeout=MS". */
static bool device_line_ok(const char *line, size_t len)
{
	char copy[PATH_MAX * 2 + 64], *iv, *tv;
	unsigned int a, b;
	char end;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, line, len);
	copy[len] = '\0';
	iv = strstr(copy, " interval=");
	tv = iv ? strstr(iv, " timeout=") : NULL;
	return iv && iv > copy && tv &&
	       sscanf(iv, " interval=%u timeout=%u%c", &a, &b, &end) == 2 &&
	       a >= 1 && a <= 86400000 && b >= 1 && b <= 86400000;
}

static bool fuzz_output_ok(const char *conf)
{
	char where[PATH_MAX + 16];

	if (R.timed_out || R.sig || (R.status != 0 && R.status != 1))
		return false;
	if (R.status == 1) {
		snprintf(where, sizeof(where), "pathcheckd: %s:", conf);
		return !strncmp(R.err, where, strlen(where)) && R.nout == 0;
	}
	for (const char *l = R.out; *l;) {
		const char *nl = strchr(l, '\n');

		if (!nl || (strncmp(l, "# ", 2) && !device_line_ok(l, (size_t)(nl - l))))
			return false;
		l = nl + 1;
	}
	return R.nerr == 0;
}

static void fuzz_report(unsigned int iter, const struct text *t)
{
	printf("\n  iteration %u: exit %d, signal %d%s after %" PRIu64 " ms\n  stderr: %.500s\n"
	       "  config (%zu bytes):\n  ", iter, R.status, R.sig,
	       R.timed_out ? ", killed at the time limit" : "", R.ms, R.err, t->len);
	for (size_t i = 0; i < t->len && i < 1000; i++) {
		unsigned char c = (unsigned char)t->p[i];

		if (c == '\n')
			printf("\\n\n  ");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\n");
}

static uint64_t fuzz_seed(void)
{
	const char *s = getenv("PC_FUZZ_SEED");
	struct timespec ts;

	if (s && *s)
		return strtoull(s, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

/* A mutated config in t, from the next base. */
static bool fuzz_make(struct text *t)
{
	char *base = expand_tmp(PICK(fuzz_bases));
	size_t m = 1 + rn(4);

	if (!base)
		return false;
	t->len = 0;
	text_insert(t, 0, base, strlen(base));
	free(base);
	for (size_t k = 0; k < m; k++)
		mutate(t);
	return true;
}

static void test_fuzz(void)
{
	char conf[PATH_MAX];
	uint64_t seed = fuzz_seed(), t0 = pc_test_now_ms(), slowest = 0;
	unsigned int runs = 0, bad = 0, errors = 0;
	struct text t = { 0 };

	if (!have_daemon())
		return;
	printf("\n  fuzz seed %" PRIu64 " (PC_FUZZ_SEED=%" PRIu64 " reproduces it)\n", seed, seed);
	rng = seed;
	conf_path(conf, sizeof(conf), "fuzz.conf");
	while (runs < FUZZ_RUNS && bad < 5 &&
	       (runs < FUZZ_MIN_RUNS || pc_test_now_ms() - t0 < FUZZ_BUDGET_MS)) {
		if (!fuzz_make(&t) || write_file(conf, t.p ? t.p : "", t.len) ||
		    run_test_config(conf)) {
			CU_FAIL("cannot write or run a fuzzed config");
			break;
		}
		runs++;
		slowest = R.ms > slowest ? R.ms : slowest;
		errors += R.status == 1;
		if (!fuzz_output_ok(conf)) {
			bad++;
			fuzz_report(runs - 1, &t);
		}
	}
	free(t.p);
	printf("  %u runs%s, %u config errors, %u bad, %" PRIu64 " ms (slowest run %" PRIu64 " ms)\n",
	       runs, runs < FUZZ_RUNS && bad < 5 ? " (time budget used up)" : "", errors, bad,
	       pc_test_now_ms() - t0, slowest);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(runs >= FUZZ_MIN_RUNS || bad > 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "every_keyword", test_every_keyword },
		{ "defaults", test_defaults },
		{ "no_paths", test_no_paths },
		{ "whitespace_comments", test_whitespace_comments },
		{ "globs", test_globs },
		{ "blacklist_match_and_realpath", test_blacklist_match_and_realpath },
		{ "special_files", test_special_files },
		{ "durations", test_durations },
		{ "example_file", test_example_file },
		{ "errors", test_errors },
		{ "nul_byte", test_nul_byte },
		{ "long_line", test_long_line },
		{ "big_file", test_big_file },
		{ "unreadable", test_unreadable },
		{ "fuzz", test_fuzz },
		{ NULL, NULL },
	};
	int ret = make_tree();

	if (ret) {
		fprintf(stderr, "daemon_config: cannot make the temporary tree: %s\n",
			strerror(-ret));
		remove_tree();
		return 1;
	}
	ret = pc_test_main("daemon_config", tests, argc, argv);
	remove_tree();
	return ret;
}
