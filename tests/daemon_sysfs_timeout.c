/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd takes a path's timeout from the device's sysfs device/timeout
 * when neither a rule nor the file sets one, and says where each timeout
 * came from (timeout_source of show path, show config).  On a real loop
 * device, with a copy of sysfs for its real dev_t.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "daemon_fixture.h"
#include "harness.h"

/*
 * No SCSI device here has a device/timeout: the daemon reads a copy of
 * sysfs ($PATHCHECKD_SYSFS) for a real loop device's real dev_t.
 */
static void test_sysfs_timeout(void)
{
	struct daemon_fx *fx;
	char file[PATH_MAX], loop[64], dir[PATH_MAX], p[PATH_MAX + 64], s[PATH_MAX];
	const char *name;
	struct stat st;
	long long v;
	FILE *f;

	if (pc_test_need_root())
		PC_SKIP("%s: a loop device", pc_test_need_root());
	fx = daemon_fx_files(1);
	if (!fx)
		return;
	PC_REQUIRE(daemon_file(fx, "lo", 1 << 20, file, sizeof(file)) == 0);
	if (pc_test_loop_attach(file, 0, loop, sizeof(loop))) {
		daemon_fx_free(fx);
		PC_SKIP("cannot attach a loop device");
	}
	name = strrchr(loop, '/') + 1;
	PC_REQUIRE(stat(loop, &st) == 0);
	snprintf(dir, sizeof(dir), "%s/sys", fx->dir);
	snprintf(p, sizeof(p), "mkdir -p %s/dev/block/%u:%u/device", dir, major(st.st_rdev),
		 minor(st.st_rdev));
	PC_REQUIRE(system(p) == 0);
	snprintf(p, sizeof(p), "%s/dev/block/%u:%u/device/timeout", dir, major(st.st_rdev),
		 minor(st.st_rdev));
	f = fopen(p, "w");
	PC_REQUIRE(f != NULL);
	fputs("7\n", f);
	fclose(f);

	PC_REQUIRE(daemon_config(fx, "interval 1s\npath %s\npath %s/f0\n", loop, fx->dir) == 0);
	setenv("PATHCHECKD_SYSFS", dir, 1);
	int started = daemon_start_args(fx, NULL);

	unsetenv("PATHCHECKD_SYSFS");
	PC_REQUIRE(started == 0);
	v = daemon_path_int(fx, name, "timeout_ms");
	CU_ASSERT_EQUAL(v, 7000);
	CU_ASSERT(reply_json_str(fx->last, "timeout_source", s, sizeof(s)) && !strcmp(s, "sysfs"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f0", "timeout_ms"), 30000);
	CU_ASSERT(reply_json_str(fx->last, "timeout_source", s, sizeof(s)) &&
		  !strcmp(s, "default"));
	CU_ASSERT(daemon_cmd(fx, "show config", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_has_line(fx->last, "timeout ", "30s",
				 "default (a device's sysfs device/timeout first)"));
	/* the file's timeout wins, then a rule's */
	PC_REQUIRE(daemon_config(fx, "interval 1s\ntimeout 2s\npath %s\npath %s/f0 timeout=3s\n",
				 loop, fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT_EQUAL(daemon_path_int(fx, name, "timeout_ms"), 2000);
	snprintf(p, sizeof(p), "%s:2", fx->conf);
	CU_ASSERT(reply_json_str(fx->last, "timeout_source", s, sizeof(s)) && !strcmp(s, p));
	CU_ASSERT_EQUAL(daemon_path_int(fx, "f0", "timeout_ms"), 3000);
	snprintf(p, sizeof(p), "%s:4", fx->conf);
	CU_ASSERT(reply_json_str(fx->last, "timeout_source", s, sizeof(s)) && !strcmp(s, p));
	daemon_stop(fx);
	daemon_fx_free(fx);
	pc_test_loop_detach(loop);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "sysfs_timeout", test_sysfs_timeout },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_sysfs_timeout", tests, argc, argv);
}
