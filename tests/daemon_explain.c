/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd -t explains its expansion of the config: which rule keeps
 * each device, which matches are shadowed, blacklisted or skipped, and
 * which rules match or drop nothing, each with its file and line.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_fixture.h"
#include "harness.h"

static void test_explain(void)
{
	struct daemon_fx *fx = daemon_fx_files(3);
	char out[16384], err[4096], dir[PATH_MAX], want[3 * PATH_MAX], *w;
	const char *argv[] = { NULL, "-t", "-c", NULL, NULL };
	struct pc_test_run r = { .argv = argv, .out = out, .err = err,
				 .out_cap = sizeof(out), .err_cap = sizeof(err) };
	const char *d, *c;

	if (!fx)
		return;
	d = fx->dir;
	c = fx->conf;
	argv[0] = fx->bin;
	argv[3] = fx->conf;
	snprintf(dir, sizeof(dir), "%s/fdir", d);
	PC_REQUIRE(mkdir(dir, 0755) == 0);
	PC_REQUIRE(daemon_config(fx, "path %s/f2 timeout=1s\npath %s/f*\npath /nonexistent-%s/*\n"
				 "path %s/f1\nblacklist */f0\nblacklist */zz\n", d, d, "pc", d) == 0);
	PC_REQUIRE(pc_test_run(&r) == 0);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	w = want;
	w += sprintf(w, "f1 %s/f1 interval=5000 timeout=30000\n", d);
	w += sprintf(w, "f2 %s/f2 interval=5000 timeout=1000\n", d);
	w += sprintf(w, "# %s/f0: dropped by blacklist %s:5 (*/f0), matched by path line 2\n", d, c);
	w += sprintf(w, "# %s/f1: kept by path %s:2 (%s/f*)\n", d, c, d);
	w += sprintf(w, "# %s/f1: also matched by path %s:4 (%s/f1), shadowed by line 2\n", d, c, d);
	w += sprintf(w, "# %s/f2: kept by path %s:1 (%s/f2)\n", d, c, d);
	w += sprintf(w, "# %s/f2: also matched by path %s:2 (%s/f*), shadowed by line 1\n", d, c, d);
	w += sprintf(w, "# %s/fdir: skipped, not a block device or a file (path line 2)\n", d);
	w += sprintf(w, "# path %s:3 (/nonexistent-pc/*) matches nothing\n", c);
	w += sprintf(w, "# path %s:4 (%s/f1) keeps nothing: its 1 match is shadowed, "
		     "blacklisted or skipped\n", c, d);
	sprintf(w, "# blacklist %s:6 (*/zz) drops nothing\n", c);
	if (strcmp(out, want))
		printf("\n  got:\n%s  wanted:\n%s", out, want);
	CU_ASSERT_STRING_EQUAL(out, want);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "explain", test_explain },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_explain", tests, argc, argv);
}
