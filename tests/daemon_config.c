/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf(5) through the real daemon (tests/lib/config_fx.h): every
 * keyword, defaults, blanks and comments, globs over a temporary tree,
 * the blacklist, durations, the example file; and every class of error
 * names its line and reason.
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

#include "config_fx.h"
#include "harness.h"

/* --- valid configurations ---------------------------------------------------------- */

static void test_every_keyword(void)
{
	config_fx_expect_devices(
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
	config_fx_expect_devices("path @/d/sda\n",
		       "sda @/d/sda interval=5000 timeout=30000\n");
}

/* A file without paths is valid: the daemon starts with none. */
static void test_no_paths(void)
{
	config_fx_expect_devices("", "");
	config_fx_expect_devices("# nothing\n\n\t\n   \n", "");
	config_fx_expect_devices("interval 1s\ntimeout 2s\nworkers 2\n", "");
}

/* Tabs, CRLF line ends, no final newline, '#' ending a glob. */
static void test_whitespace_comments(void)
{
	config_fx_expect_devices("\tinterval\t\t2s \r\n"
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
	config_fx_expect_devices(
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
	config_fx_expect_devices(
		"blacklist @/links/link-b\n"
		"blacklist */missing\n"
		"path @/links/link-*\n"
		"path @/d/sd[ab] interval=2s\n"
		"path @/d/missing\n",
		"sda @/d/sda interval=2000 timeout=30000\n"
		"sdb @/d/sdb interval=2000 timeout=30000\n"
		"sdc @/d/sdc interval=5000 timeout=30000\n");
	config_fx_expect_devices("blacklist @/d/*\npath @/links/link-*\n", "");
	/* Literal paths: a directory is skipped, a dangling link kept. */
	config_fx_expect_devices("path @/d/sdd\npath @/d\npath @/links/dangling\n",
		       "dangling @/links/dangling interval=5000 timeout=30000\n");
}

/*
 * A glob keeps only block devices and regular files; a literal path is
 * kept whatever it is (but a directory), for the daemon to report.
 */
static void test_special_files(void)
{
	config_fx_expect_devices("path @/d/f*\npath @/links/n*\npath @/d/s*\n",
		       "sda @/d/sda interval=5000 timeout=30000\n"
		       "sdb @/d/sdb interval=5000 timeout=30000\n"
		       "sdc @/d/sdc interval=5000 timeout=30000\n");
	config_fx_expect_devices("path @/d/fifo\npath @/links/null\n",
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
		config_fx_expect_devices(tmpl, want);
	}
}

/* The installed example parses (tests run from the top of the tree). */
static void test_example_file(void)
{
	const char *conf = "docs/pathcheckd.conf.example";

	if (!config_fx_have_daemon())
		return;
	PC_REQUIRE(config_fx_run(conf) == 0);
	if (config_last.status != 0)
		printf("\n  %s: exit %d: %s", conf, config_last.status, config_last.err);
	CU_ASSERT_EQUAL(config_last.status, 0);
	CU_ASSERT_EQUAL(config_last.nerr, 0);
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
	if (!config_fx_have_daemon())
		return;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		const struct bad *b = &bad_configs[i];

		config_fx_expect_error_text(b->text, strlen(b->text), b->line, b->reason);
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "interval 5s\nwork\0ers 4\n";
	static const char in_comment[] = "# a \0 in a comment\n";

	if (!config_fx_have_daemon())
		return;
	config_fx_expect_error_text(text, sizeof(text) - 1, 2, "NUL byte");
	config_fx_expect_error_text(in_comment, sizeof(in_comment) - 1, 1, "NUL byte");
}

/* 4096 bytes a line are fine, 4097 are not. */
static void test_long_line(void)
{
	char conf[PATH_MAX];
	size_t n = 2 + 4095 + 1 + 4097 + 1;
	char *text = malloc(n);

	if (!config_fx_have_daemon() || !text) {
		free(text);
		return;
	}
	memcpy(text, "\n#", 2);
	memset(text + 2, 'x', 4095);
	text[4097] = '\n';
	memset(text + 4098, ' ', 4097);
	text[n - 1] = '\n';
	config_fx_path(conf, sizeof(conf), "long.conf");
	PC_REQUIRE(config_fx_write(conf, text, 4098) == 0);
	PC_REQUIRE(config_fx_run(conf) == 0);
	CU_ASSERT_EQUAL(config_last.status, 0);
	config_fx_expect_error_text(text, n, 3, "line longer than 4096 bytes");
	free(text);
}

/* 1 MiB of comments is a file; one byte more is refused. */
static void test_big_file(void)
{
	const size_t mib = 1 << 20;
	char conf[PATH_MAX];
	char *text = malloc(mib + 1);

	if (!config_fx_have_daemon() || !text) {
		free(text);
		return;
	}
	for (size_t i = 0; i < mib + 1; i++)
		text[i] = i % 64 == 63 ? '\n' : '#';
	config_fx_path(conf, sizeof(conf), "big.conf");
	PC_REQUIRE(config_fx_write(conf, text, mib) == 0);
	PC_REQUIRE(config_fx_run(conf) == 0);
	CU_ASSERT_EQUAL(config_last.status, 0);
	CU_ASSERT_EQUAL(config_last.nerr, 0);
	config_fx_expect_error_text(text, mib + 1, 0, "larger than 1 MiB");
	free(text);
}

static void test_unreadable(void)
{
	char conf[PATH_MAX];

	if (!config_fx_have_daemon())
		return;
	config_fx_path(conf, sizeof(conf), "no-such.conf");
	PC_REQUIRE(config_fx_run(conf) == 0);
	config_fx_expect_error_in(conf, 0, "No such file or directory");
	config_fx_path(conf, sizeof(conf), "d");
	PC_REQUIRE(config_fx_run(conf) == 0);
	config_fx_expect_error_in(conf, 0, "not a regular file");
	/* Opening a FIFO must not wait for a writer. */
	config_fx_path(conf, sizeof(conf), "d/fifo");
	PC_REQUIRE(config_fx_run(conf) == 0);
	config_fx_expect_error_in(conf, 0, "not a regular file");
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
		{ NULL, NULL },
	};
	int ret = config_fx_make_tree();

	if (ret) {
		fprintf(stderr, "daemon_config: cannot make the temporary tree: %s\n",
			strerror(-ret));
		config_fx_remove_tree();
		return 1;
	}
	ret = pc_test_main("daemon_config", tests, argc, argv);
	config_fx_remove_tree();
	return ret;
}
