/* SPDX-License-Identifier: MIT */
/* pathcheckd -t over a temporary tree: config_fx.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config_fx.h"
#include "harness.h"

#define RUN_LIMIT_MS	5000	/* a config that hangs the daemon is a failure */

char config_tree[128];		/* the temporary tree, resolved */

/* --- running pathcheckd -t ---------------------------------------------------- */

struct config_run config_last;

const char *config_fx_daemon_bin(void)
{
	static char bin[PATH_MAX];
	const char *b = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathcheckd", b && *b ? b : "build");
	return bin;
}

/* The daemon is part of the build: its absence fails, it never skips. */
bool config_fx_have_daemon(void)
{
	if (access(config_fx_daemon_bin(), X_OK) == 0)
		return true;
	printf("\n  %s: %s\n", config_fx_daemon_bin(), strerror(errno));
	CU_FAIL("pathcheckd is not built");
	return false;
}

/* Runs `pathcheckd -t -c conf` into config_last, killed after RUN_LIMIT_MS. */
int config_fx_run(const char *conf)
{
	const char *argv[] = { config_fx_daemon_bin(), "-t", "-c", conf, NULL };
	struct pc_test_run r = {
		.argv = argv, .limit_ms = RUN_LIMIT_MS, .out = config_last.out,
		.out_cap = sizeof(config_last.out), .err = config_last.err, .err_cap = sizeof(config_last.err),
	};
	int ret = pc_test_run(&r);

	config_last.status = r.status;
	config_last.sig = r.sig;
	config_last.timed_out = r.timed_out;
	config_last.ms = r.ms;
	config_last.nout = r.nout;
	config_last.nerr = r.nerr;
	return ret;
}

/* --- files ------------------------------------------------------------------------ */

int config_fx_write(const char *path, const char *text, size_t len)
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
char *config_fx_expand(const char *tmpl)
{
	size_t n = 1, tl = strlen(config_tree);
	char *s, *o;

	for (const char *c = tmpl; *c; c++)
		n += *c == '@' ? tl : 1;
	s = o = malloc(n);
	if (!s)
		return NULL;
	for (const char *c = tmpl; *c; c++) {
		if (*c == '@') {
			memcpy(o, config_tree, tl);
			o += tl;
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	return s;
}

void config_fx_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", config_tree, name);
}

/* Writes the template ("@" = the tree) as conf and runs -t on it. */
bool config_fx_run_template(const char *tmpl, char *conf, size_t conflen)
{
	char *text = config_fx_expand(tmpl);
	int ret;

	config_fx_path(conf, conflen, "test.conf");
	if (!text || config_fx_write(conf, text, strlen(text))) {
		free(text);
		CU_FAIL("cannot write the config");
		return false;
	}
	free(text);
	ret = config_fx_run(conf);
	if (ret) {
		printf("\n  cannot run %s: %s\n", config_fx_daemon_bin(), strerror(-ret));
		CU_FAIL("cannot run pathcheckd");
		return false;
	}
	return true;
}

/* The device lines of -t's output, without its "# " explanations (their
 * test is in daemon_explain). */
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
void config_fx_expect_devices(const char *conf_tmpl, const char *want_tmpl)
{
	char conf[PATH_MAX], *want = config_fx_expand(want_tmpl), *got;

	PC_REQUIRE(want != NULL);
	if (!config_fx_have_daemon() || !config_fx_run_template(conf_tmpl, conf, sizeof(conf))) {
		free(want);
		return;
	}
	got = device_lines(config_last.out);
	PC_REQUIRE(got != NULL);
	if (config_last.status != 0 || strcmp(got, want))
		printf("\n  exit %d, stdout:\n%s  stderr:\n%s  wanted:\n%s", config_last.status,
		       config_last.out, config_last.err, want);
	CU_ASSERT_EQUAL(config_last.status, 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(config_last.nerr, 0);
	free(got);
	free(want);
}

/* Exit 1 and "pathcheckd: FILE:LINE: ...reason..." on stderr. */
void config_fx_expect_error_in(const char *conf, unsigned int line, const char *reason)
{
	char where[PATH_MAX + 64];
	bool ok;

	if (line)
		snprintf(where, sizeof(where), "pathcheckd: %s:%u: ", conf, line);
	else
		snprintf(where, sizeof(where), "pathcheckd: %s: ", conf);
	ok = config_last.status == 1 && !strncmp(config_last.err, where, strlen(where)) &&
	     strstr(config_last.err, reason) && config_last.nout == 0;
	if (!ok)
		printf("\n  wanted exit 1 and '%s...%s'; got exit %d, signal %d, stderr: %s",
		       where, reason, config_last.status, config_last.sig, config_last.err);
	CU_ASSERT_EQUAL(config_last.status, 1);
	CU_ASSERT_EQUAL(strncmp(config_last.err, where, strlen(where)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(config_last.err, reason));
	CU_ASSERT_EQUAL(config_last.nout, 0);
}

void config_fx_expect_error_text(const char *text, size_t len, unsigned int line,
			      const char *reason)
{
	char conf[PATH_MAX];
	int ret;

	config_fx_path(conf, sizeof(conf), "bad.conf");
	PC_REQUIRE(config_fx_write(conf, text, len) == 0);
	ret = config_fx_run(conf);
	PC_REQUIRE(ret == 0);
	config_fx_expect_error_in(conf, line, reason);
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
int config_fx_make_tree(void)
{
	static const char *const dirs[] = { "d", "d/sdd", "d/a", "d/b", "links" };
	static const char *const files[] = { "d/sda", "d/sdb", "d/sdc", "d/a/p0", "d/b/p0" };
	static const char *const links[][2] = {
		{ "links/link-b", "d/sdb" }, { "links/link-c", "d/sdc" },
		{ "links/dangling", "d/nothing" }, { "links/null", "/dev/null" },
	};
	char p[PATH_MAX], t[PATH_MAX], made[96], *real;

	if (pc_test_mkdtemp(made, sizeof(made), "pcd-config"))
		return -errno;
	snprintf(config_tree, sizeof(config_tree), "%s", made);	/* removed at the end, whatever happens */
	real = realpath(made, NULL);
	if (!real || strlen(real) >= sizeof(config_tree)) {
		free(real);
		return -ENAMETOOLONG;
	}
	strcpy(config_tree, real);
	free(real);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		config_fx_path(p, sizeof(p), dirs[i]);
		if (mkdir(p, 0755))
			return -errno;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		config_fx_path(p, sizeof(p), files[i]);
		if (config_fx_write(p, "", 0))
			return -EIO;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		config_fx_path(p, sizeof(p), links[i][0]);
		if (links[i][1][0] == '/')
			snprintf(t, sizeof(t), "%s", links[i][1]);
		else
			config_fx_path(t, sizeof(t), links[i][1]);
		if (symlink(t, p))
			return -errno;
	}
	config_fx_path(p, sizeof(p), "d/fifo");
	return mkfifo(p, 0644) ? -errno : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void config_fx_remove_tree(void)
{
	if (config_tree[0])
		nftw(config_tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
