/* SPDX-License-Identifier: MIT */
/*
 * What a new user meets in the first hour: one version everywhere (the
 * VERSION file, passed to the build as PC_VERSION), man pages that carry
 * it, and one error line for one error.  The install tree itself
 * (pkg-config, make uninstall) is tests/install.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static const char *bdir(void)
{
	const char *b = getenv("PC_BUILD_DIR");

	return b ? b : "build";
}

static unsigned int cli_count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Runs $B/tool with one argument; stdout in out, stderr in err. */
static int run_tool(const char *tool, const char *const *args, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	char bin[512];
	const char *argv[8] = { bin };
	struct pc_test_run r = { .argv = argv, .out = out, .out_cap = outlen,
				 .err = err, .err_cap = errlen, .limit_ms = 20000 };
	int i;

	snprintf(bin, sizeof(bin), "%s/%s", bdir(), tool);
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	if (pc_test_run(&r))
		return -1;
	return r.status;
}

static void test_version_everywhere(void)
{
	static const char *const tools[] = { "pathcheck", "pathcheckd", "pathsim",
					     "pathcheck-stress" };
	static const char *const args[] = { "--version", NULL };
	char out[256], err[256], want[128], mm[32], so[512];

	/* The header's MAJOR.MINOR are the VERSION file's. */
	snprintf(mm, sizeof(mm), "%d.%d.", PATHCHECK_VERSION_MAJOR, PATHCHECK_VERSION_MINOR);
	printf("\n  VERSION %s, header %d.%d\n", PC_VERSION, PATHCHECK_VERSION_MAJOR,
	       PATHCHECK_VERSION_MINOR);
	CU_ASSERT_EQUAL(strncmp(PC_VERSION, mm, strlen(mm)), 0);

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		int st = run_tool(tools[i], args, out, sizeof(out), err, sizeof(err));

		snprintf(want, sizeof(want), "%s %s\n", tools[i], PC_VERSION);
		printf("  %s --version: %s", tools[i], out);
		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_STRING_EQUAL(out, want);
		CU_ASSERT_STRING_EQUAL(err, "");
	}
	/* The shared library's file name. */
	snprintf(so, sizeof(so), "%s/libpathcheck.so.%s", bdir(), PC_VERSION);
	CU_ASSERT_EQUAL(access(so, F_OK), 0);
}

/* Every man page the build makes says "pathcheck VERSION", with the NEWS
 * date, and names no page this project does not have. */
static void test_man_pages_versioned(void)
{
	char dir[512], path[1024], th[128];
	unsigned int n = 0;
	struct dirent *e;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/man", bdir());
	dp = opendir(dir);
	PC_REQUIRE(dp != NULL);
	snprintf(th, sizeof(th), "\"pathcheck %s\"", PC_VERSION);
	while ((e = readdir(dp))) {
		char *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = pc_test_read_file(path, NULL);
		CU_ASSERT_PTR_NOT_NULL(text);
		if (!text)
			continue;
		n++;
		char *line = strstr(text, ".TH ");
		char *eol = line ? strchr(line, '\n') : NULL;

		CU_ASSERT_PTR_NOT_NULL(eol);
		if (eol) {
			*eol = 0;
			if (!strstr(line, th))
				printf("  %s: %s\n", e->d_name, line);
			CU_ASSERT_PTR_NOT_NULL(strstr(line, th));
			CU_ASSERT_PTR_NULL(strstr(line, " 2025 "));
			*eol = '\n';
		}
		CU_ASSERT_PTR_NULL(strstr(text, "libpathcheck (3)"));
		CU_ASSERT_PTR_NULL(strstr(text, "libpathcheck(3)"));
		CU_ASSERT_PTR_NULL(strstr(text, "pathcheck(1)"));
		CU_ASSERT_PTR_NULL(strstr(text, "@DOCDIR@"));
		CU_ASSERT_PTR_NULL(strstr(text, "first logical block"));
		free(text);
	}
	closedir(dp);
	printf("\n  %u man pages carry \"pathcheck %s\"\n", n, PC_VERSION);
	CU_ASSERT_TRUE(n >= 22);
}

/* pathcheck-stress.1 documents every long option the tool takes. */
static void test_stress_man_options(void)
{
	static const char *const args[] = { "--help", NULL };
	char out[8192], err[256], path[512];
	char *man, *p;
	unsigned int n = 0;

	PC_REQUIRE(run_tool("pathcheck-stress", args, out, sizeof(out), err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/man/pathcheck-stress.1", bdir());
	man = pc_test_read_file(path, NULL);
	PC_REQUIRE(man != NULL);
	for (p = strstr(out, "--"); p; p = strstr(p + 2, "--")) {
		char opt[64], roff[80];
		size_t k = 0;

		p += 2;
		while (k < sizeof(opt) - 1 && ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '-'))
			opt[k] = p[k], k++;
		opt[k] = 0;
		if (!k)
			continue;
		/* roff spells "--shared-fd" as "\-\-shared\-fd" or "\-\-shared-fd" */
		char *q = roff;

		q += sprintf(q, "\\-\\-");
		for (size_t j = 0; j < k; j++)
			*q++ = opt[j];
		*q = 0;
		char alt[80];

		q = alt;
		q += sprintf(q, "\\-\\-");
		for (size_t j = 0; j < k; j++) {
			if (opt[j] == '-')
				*q++ = '\\';
			*q++ = opt[j];
		}
		*q = 0;
		if (!strstr(man, roff) && !strstr(man, alt))
			printf("  --%s is not in pathcheck-stress.1\n", opt);
		CU_ASSERT_TRUE(strstr(man, roff) || strstr(man, alt));
		n++;
	}
	printf("\n  %u options of --help found in the man page\n", n);
	CU_ASSERT_TRUE(n >= 20);
	free(man);
}

/* One error, one line: the library's log and the tool's message used to
 * both report a device that cannot be opened. */
static void test_stress_one_error_line(void)
{
	static const char *const args[] = { "--devices", "/nonexistent/pathcheck-test",
					    "--quiet", NULL };
	char out[1024], err[4096];
	int st = run_tool("pathcheck-stress", args, out, sizeof(out), err, sizeof(err));

	printf("\n  stderr: %s", err);
	CU_ASSERT_EQUAL(st, 2);
	CU_ASSERT_EQUAL(cli_count_lines(err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/pathcheck-test"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
}

/* The Debian packaging agrees: debian/changelog's version is VERSION, and
 * every symbol of src/libpathcheck.map is in the symbols file. */
static void test_debian_agrees(void)
{
	char *chl = pc_test_read_file("debian/changelog", NULL);
	char *map = pc_test_read_file("src/libpathcheck.map", NULL);
	char *sym = pc_test_read_file("debian/libpathcheck0.symbols", NULL);
	char want[64], *p, *save = NULL;
	unsigned int n = 0;

	PC_REQUIRE(chl && map && sym);
	snprintf(want, sizeof(want), "pathcheck (%s) ", PC_VERSION);
	CU_ASSERT_EQUAL(strncmp(chl, want, strlen(want)), 0);
	for (p = strtok_r(map, " \t\n", &save); p; p = strtok_r(NULL, " \t\n", &save)) {
		char entry[128];
		size_t len = strlen(p);

		if (strncmp(p, "pc_", 3) || p[len - 1] != ';')
			continue;
		p[len - 1] = 0;
		snprintf(entry, sizeof(entry), " %s@PATHCHECK_", p);
		if (!strstr(sym, entry))
			printf("\n  %s is not in debian/libpathcheck0.symbols", p);
		CU_ASSERT_PTR_NOT_NULL(strstr(sym, entry));
		n++;
	}
	printf("\n  debian/changelog says %s; %u exported symbols in the symbols file\n",
	       PC_VERSION, n);
	CU_ASSERT_TRUE(n >= 16);
	free(chl);
	free(map);
	free(sym);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "version_everywhere", test_version_everywhere },
		{ "man_pages_versioned", test_man_pages_versioned },
		{ "stress_man_options", test_stress_man_options },
		{ "stress_one_error_line", test_stress_one_error_line },
		{ "debian_agrees", test_debian_agrees },
		{ NULL, NULL },
	};

	return pc_test_main("first_hour", tests, argc, argv);
}
