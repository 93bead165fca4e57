/* SPDX-License-Identifier: MIT */
/*
 * show config shows what is in force (pathcheckd(8), show config;
 * pathcheckd.conf(5)): after a reload that changes workers, group_size,
 * shutdown_timeout or the socket, each still shows the value the daemon
 * runs with, and the new one marked "pending restart", in text and JSON;
 * the log says so once; going back to the running values clears the mark.
 * The daemon runs without -s here, so that its socket comes from the file.
 * The limit advice in the log counts with the values in force too.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

static char R[1 << 16];

static int write_config(struct daemon_fx *fx, unsigned int workers, unsigned int group,
			const char *shutdown, const char *sock)
{
	return daemon_config(fx, "interval 200ms\nworkers %u\ngroup_size %u\n"
			     "shutdown_timeout %s\nsocket %s\npath %s/f*\n", workers, group,
			     shutdown, sock, fx->dir);
}

static void pending_text(struct daemon_fx *fx, const char *other)
{
	char want[PATH_MAX + 64], from[2 * PATH_MAX + 64];

	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	snprintf(from, sizeof(from), "%s:2  (pending restart: 3 from %s:2)", fx->conf, fx->conf);
	CU_ASSERT(reply_has_line(R, "workers ", " 2 ", from));
	snprintf(from, sizeof(from), "(pending restart: 8 from %s:3)", fx->conf);
	CU_ASSERT(reply_has_line(R, "group_size ", " 4 ", from));
	snprintf(from, sizeof(from), "(pending restart: 2s from %s:4)", fx->conf);
	CU_ASSERT(reply_has_line(R, "shutdown_timeout ", " 1500ms ", from));
	snprintf(want, sizeof(want), "socket            %s ", fx->sock);
	snprintf(from, sizeof(from), "(pending restart: %s from %s:5)", other, fx->conf);
	CU_ASSERT(reply_has_line(R, want, from, NULL));
	/* a setting that a reload applies is never pending */
	CU_ASSERT(reply_has_line(R, "interval ", "200ms", NULL));
	CU_ASSERT_EQUAL(reply_count(R, "pending restart"), 4);
}

static void pending_json(struct daemon_fx *fx)
{
	char want[2 * PATH_MAX + 128];

	CU_ASSERT(daemon_cmd(fx, "show config json", R, sizeof(R)) > 0);
	snprintf(want, sizeof(want), "\"workers\":{\"value\":\"2\",\"origin\":\"%s:2\","
		 "\"pending_restart\":{\"value\":\"3\",\"origin\":\"%s:2\"}}", fx->conf, fx->conf);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	snprintf(want, sizeof(want), "\"group_size\":{\"value\":\"4\",\"origin\":\"%s:3\","
		 "\"pending_restart\":{\"value\":\"8\",", fx->conf);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(R, "\"shutdown_timeout\":{\"value\":\"1500ms\","));
	snprintf(want, sizeof(want), "\"socket\":{\"value\":\"%s\",", fx->sock);
	CU_ASSERT_PTR_NOT_NULL(strstr(R, want));
	CU_ASSERT_EQUAL(reply_count(R, "\"pending_restart\""), 4);
}

static void test_pending_restart(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char other[PATH_MAX];

	if (!fx)
		return;
	fx->socket_in_config = true;
	snprintf(other, sizeof(other), "%s/other.sock", fx->dir);
	PC_REQUIRE(write_config(fx, 2, 4, "1500ms", fx->sock) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 1, "ready", 2000 + daemon_slack_ms()), 0);
	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "pending restart"), 0);

	PC_REQUIRE(write_config(fx, 3, 8, "2s", other) == 0);
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) > 0 && !strcmp(R, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_count(fx, "new workers, group_size, shutdown_timeout, socket "
					 "take effect at restart (show config: pending restart)"), 1);
	pending_text(fx, other);
	pending_json(fx);

	/* back to what runs: nothing pending */
	PC_REQUIRE(write_config(fx, 2, 4, "1500ms", fx->sock) == 0);
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) > 0 && !strcmp(R, "ok\n"));
	CU_ASSERT(daemon_cmd(fx, "show config json", R, sizeof(R)) > 0);
	CU_ASSERT_EQUAL(reply_count(R, "pending_restart"), 0);
	CU_ASSERT_EQUAL(daemon_log_count(fx, "take effect at restart"), 1);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

/*
 * The limit advice counts with the group_size in force: started with 1
 * (a group, so one more descriptor, per path), reloaded with 1000 and 300
 * paths under a limit of 200, the line asks for 200 + n + n descriptors.
 */
static void test_advice_in_force(void)
{
	struct daemon_fx *fx = daemon_fx_files(300);
	char conf[PATH_MAX + 64], line[1024];
	unsigned long long n = 0, need = 0;
	const char *p;

	if (!fx)
		return;
	snprintf(conf, sizeof(conf), "interval 200ms\ngroup_size 1\npath %s/f1[0-9]\n", fx->dir);
	PC_REQUIRE(daemon_start_nofile(fx, 200, 200, conf) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 10, "ready", 2000 + daemon_slack_ms()), 0);
	PC_REQUIRE(daemon_config(fx, "interval 200ms\ngroup_size 1000\npath %s/f*\n",
				 fx->dir) == 0);
	CU_ASSERT(daemon_cmd(fx, "reconfigure", R, sizeof(R)) > 0 && !strcmp(R, "ok\n"));
	CU_ASSERT_EQUAL(daemon_log_wait(fx, "paths not opened", 3000 + daemon_slack_ms()), 0);
	CU_ASSERT(daemon_log_line(fx, "paths not opened", line, sizeof(line)));
	printf("\n  %s\n", line);
	CU_ASSERT(sscanf(line, "%llu paths not opened", &n) == 1 && n > 0 && n < 300);
	p = strstr(line, "raise it to at least ");
	CU_ASSERT(p && sscanf(p, "raise it to at least %llu", &need) == 1);
	CU_ASSERT_EQUAL(need, 200 + n + n);
	CU_ASSERT(daemon_cmd(fx, "show config", R, sizeof(R)) > 0);
	CU_ASSERT(reply_has_line(R, "group_size ", " 1 ", "(pending restart: 1000 from "));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "pending_restart", test_pending_restart },
		{ "advice_in_force", test_advice_in_force },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_pending_restart", tests, argc, argv);
}
