/* SPDX-License-Identifier: MIT */
/*
 * Every command of pathcheckd.8's COMMANDS section is known to the
 * daemon's help, and every command of help is in the page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

static char *next_cmd_line(char *p, char **cmd)
{
	/* .TP then a .B/.BR/.BI line naming the command, in COMMANDS only. */
	char *tp = strstr(p, "\n.TP\n");

	if (!tp)
		return NULL;
	*cmd = tp + 5;
	return tp + 5;
}

/* ".BR \"show path \" \"\\fIDEV\\fR [\" json ]" -> "show path" */
static void man_words(const char *line, char *out, size_t len)
{
	size_t o = 0;

	for (const char *s = line + strcspn(line, " "); *s && *s != '\n' && o + 1 < len; s++) {
		if (*s == '\\' && s[1] == 'f') {	/* a font change: then an argument */
			break;
		}
		if ((*s >= 'a' && *s <= 'z') || (*s == ' ' && o && out[o - 1] != ' '))
			out[o++] = *s;
		else if (*s != '"' && *s != ' ')
			break;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static void test_man_commands(void)
{
	struct daemon_fx *fx = daemon_fx_files(1);
	char *man = pc_test_read_file("docs/man/pathcheckd.8", NULL), *sec, *end, *p, *cmd;
	char help[8192], words[128], want[160];
	unsigned int n = 0;

	if (!fx) {
		free(man);
		return;
	}
	PC_REQUIRE(man != NULL);
	PC_REQUIRE(daemon_config(fx, "path %s/f0\n", fx->dir) == 0);
	PC_REQUIRE(daemon_start_args(fx, NULL) == 0);
	PC_REQUIRE(daemon_cmd(fx, "help", help, sizeof(help)) > 0);
	sec = strstr(man, "\n.SH COMMANDS\n");
	end = sec ? strstr(sec + 1, "\n.SH ") : NULL;
	PC_REQUIRE(sec && end);
	*end = '\0';
	for (p = sec; (p = next_cmd_line(p, &cmd));) {
		man_words(cmd, words, sizeof(words));
		if (!words[0])
			continue;
		/* "del path DEV, remove path DEV": each of them */
		snprintf(want, sizeof(want), "\n  %s", words);
		if (!strstr(help, want))
			printf("\n  pathcheckd.8 names '%s', help does not:\n%s", words, help);
		CU_ASSERT_PTR_NOT_NULL(strstr(help, want));
		n++;
	}
	CU_ASSERT(n >= 17);	/* del path and remove path share one entry */
	/* and every command of help is in the page */
	for (p = strstr(help, "\n  "); p; p = strstr(p + 1, "\n  ")) {
		size_t k = strcspn(p + 3, "[DF(\n");

		snprintf(words, sizeof(words), "%.*s", (int)k, p + 3);
		while (strlen(words) && words[strlen(words) - 1] == ' ')
			words[strlen(words) - 1] = '\0';
		snprintf(want, sizeof(want), "%s", words);
		if (!strstr(sec, want))
			printf("\n  help names '%s', pathcheckd.8 does not\n", words);
		CU_ASSERT_PTR_NOT_NULL(strstr(sec, want));
	}
	free(man);
	daemon_stop(fx);
	daemon_fx_free(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "man_commands", test_man_commands },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_man_commands", tests, argc, argv);
}
