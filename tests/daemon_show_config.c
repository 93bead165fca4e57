/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's show config and show blacklist (docs/man/pathcheckd.8):
 * every setting with its value and its origin (a line of the file, the
 * default, or the command line), in text and JSON; a refused reload keeps
 * the old config in force and show config says why; a good one clears it.
 * The daemon runs for real on files read with O_DIRECT through Linux AIO.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

#define INTERVAL_MS	100

static void test_show_config(void)
{
	struct daemon_fx *fx = daemon_fx_files(2);
	char want[2 * PATH_MAX + 256], s[256];
	long long line = 0;

	if (!fx)
		return;
	PC_REQUIRE(daemon_config(fx, "# comment\ninterval %ums\n\ntimeout 2s\nsocket_mode 0660\n"
				 "path %s/f* timeout=1500ms\nblacklist */f1\n"
				 "blacklist /nowhere/*\n", INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 1, "ready", 2000), 0);

	CU_ASSERT(daemon_cmd(fx, "show config", fx->last, fx->last_cap) > 0);
	snprintf(want, sizeof(want), "config %s (in force since ", fx->conf);
	CU_ASSERT(reply_starts_with(fx->last, want));
	CU_ASSERT_PTR_NULL(strstr(fx->last, "reload refused"));
	snprintf(want, sizeof(want), "%s:2", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "interval ", "100ms", want));
	snprintf(want, sizeof(want), "%s:4", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "timeout ", "2s", want));
	snprintf(want, sizeof(want), "%s:5", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "socket_mode ", "0660", want));
	CU_ASSERT(reply_has_line(fx->last, "workers ", "0", "default"));
	CU_ASSERT(reply_has_line(fx->last, "group_size ", "1024", "default"));
	CU_ASSERT(reply_has_line(fx->last, "shutdown_timeout ", "1s", "default"));
	CU_ASSERT(reply_has_line(fx->last, "metrics_file ", "-", "default"));
	CU_ASSERT(reply_has_line(fx->last, "socket ", fx->sock, "command line (-s)"));
	CU_ASSERT(reply_has_line(fx->last, "log ", "stderr", "command line (-f or --log)"));
	snprintf(want, sizeof(want), "%s/state", fx->dir);
	CU_ASSERT(reply_has_line(fx->last, "state_dir ", want, "command line (--state-dir)"));
	snprintf(want, sizeof(want), "%s:6", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "path ", "/f* timeout=1500ms", want));
	snprintf(want, sizeof(want), "%s:7", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "blacklist ", "*/f1", want));

	CU_ASSERT(daemon_cmd(fx, "show config json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), 1);
	CU_ASSERT(reply_json_str(fx->last, "file", s, sizeof(s)) && !strcmp(s, fx->conf));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"reload_error\":null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"interval\":{\"value\":\"100ms\",\"origin\":\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last,
				      "\"workers\":{\"value\":\"0\",\"origin\":\"default\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "\"timeout_ms\":1500"));
	CU_ASSERT(reply_json_int(strstr(fx->last, "\"blacklist\":[") ?: "", "line", &line) &&
		  line == 7);

	CU_ASSERT(daemon_cmd(fx, "show blacklist", fx->last, fx->last_cap) > 0);
	snprintf(want, sizeof(want), "*/f1  %s:7\n/nowhere/*  %s:8\n", fx->conf, fx->conf);
	CU_ASSERT_STRING_EQUAL(fx->last, want);
	CU_ASSERT(daemon_cmd(fx, "show blacklist json", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "{\"blacklist\":[{\"glob\":\"*/f1\",\"file\":"));

	/* A refused reload: the old config stays in force, and show config says why. */
	PC_REQUIRE(daemon_config(fx, "interval 1s\nbogus 1\n") == 0);
	snprintf(want, sizeof(want), "error: %s:2: unknown keyword 'bogus'\n", fx->conf);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", want));
	CU_ASSERT(daemon_cmd(fx, "show config", fx->last, fx->last_cap) > 0);
	snprintf(want, sizeof(want), "the configuration below is still in force: "
		 "%s:2: unknown keyword 'bogus'", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "reload refused at ", want, NULL));
	CU_ASSERT(reply_has_line(fx->last, "interval ", "100ms", NULL));
	CU_ASSERT(daemon_cmd(fx, "show config json", fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_json_str(fx->last, "reload_error", s, sizeof(s)) &&
		  strstr(s, "unknown keyword"));
	/* a good one clears it, and the values follow */
	PC_REQUIRE(daemon_config(fx, "interval 300ms\npath %s/f0\n", fx->dir) == 0);
	CU_ASSERT(daemon_reply_is(fx, "reconfigure", "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show config", fx->last, fx->last_cap) > 0);
	CU_ASSERT_PTR_NULL(strstr(fx->last, "reload refused"));
	snprintf(want, sizeof(want), "%s:1", fx->conf);
	CU_ASSERT(reply_has_line(fx->last, "interval ", "300ms", want));
	CU_ASSERT(reply_has_line(fx->last, "timeout ", "30s", "default"));
	CU_ASSERT(daemon_reply_is(fx, "show blacklist", "no blacklist rules\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "show_config", test_show_config },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_show_config", tests, argc, argv);
}
