/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's replies stay clean text whatever a path is called: names
 * with control characters and invalid UTF-8 are escaped in show paths
 * (text and JSON) and in check, valid UTF-8 is kept, and nothing is cut.
 * The daemon runs for real on files read with O_DIRECT through Linux AIO.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

#define INTERVAL_MS	100

/* Valid UTF-8 without control characters, but for the final newline. */
static bool clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			   (*p & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || (*p < 0x20 && !(*p == '\n' && (p[1] == '\0' || p[1] != '\n'))))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static void test_escaping(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char path[PATH_MAX];

	if (!fx)
		return;
	PC_REQUIRE(daemon_file(fx, "a\nb", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "c\xff" "d", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "e\x1b[1m\\", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_file(fx, "\xc3\xa9t\xc3\xa9", 1 << 20, path, sizeof(path)) == 0);
	PC_REQUIRE(daemon_config(fx, "interval %ums\npath %s/*\nblacklist *.conf*\n"
				 "blacklist *.log\nblacklist *.sock\n", INTERVAL_MS, fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	CU_ASSERT_EQUAL(daemon_wait_states(fx, 5, "ready", 2000), 0);

	CU_ASSERT(daemon_cmd(fx, "show paths", fx->last, fx->last_cap) > 0);
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), 6);	/* header + 5, none cut */
	CU_ASSERT(reply_has_line(fx->last, "a\\x0ab ", "ready", NULL));
	CU_ASSERT(reply_has_line(fx->last, "c\\xffd ", "ready", NULL));
	CU_ASSERT(reply_has_line(fx->last, "e\\x1b[1m\\x5c ", "ready", NULL));
	/* UTF-8 kept */
	CU_ASSERT(reply_has_line(fx->last, "\xc3\xa9t\xc3\xa9 ", "ready", NULL));
	CU_ASSERT(clean_text(fx->last));

	CU_ASSERT(daemon_cmd(fx, "show paths json", fx->last, fx->last_cap) > 0);
	CU_ASSERT_EQUAL(reply_count(fx->last, "\n"), 1);
	CU_ASSERT(clean_text(fx->last));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "{\"dev\":\"a\\u000ab\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "{\"dev\":\"c\\ufffdd\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "{\"dev\":\"e\\u001b[1m\\\\\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->last, "{\"dev\":\"\xc3\xa9t\xc3\xa9\","));
	/* addressed by its path (absolute: it resolves), answered escaped */
	snprintf(path, sizeof(path), "check %s/c\xff" "d", fx->dir);
	CU_ASSERT(daemon_cmd(fx, path, fx->last, fx->last_cap) > 0);
	CU_ASSERT(reply_starts_with(fx->last, "c\\xffd: ready ("));
	CU_ASSERT(daemon_reply_is(fx, "show path x\xff", "error: no such path 'x\\xff'\n"));
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "escaping", test_escaping },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_escaping", tests, argc, argv);
}
