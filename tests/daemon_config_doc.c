/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf(5) documents every keyword of the daemon's config table
 * (tools/pathcheckd/config.c): each row's tag line is in the page, and the
 * entry of a key that applies only at restart says so.  The table is
 * linked in, so a new row without its man-page entry fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../tools/pathcheckd/config_keywords.h"

#define PAGE	"docs/man/pathcheckd.conf.5"

/* The entry whose tag line is tag: from it to the next .TP or .SH. */
static char *entry(const char *page, const char *tag)
{
	size_t n = strlen(tag);
	const char *p = page, *end;

	while ((p = strstr(p, tag))) {
		if ((p == page || p[-1] == '\n') && p[n] == '\n')
			break;
		p += n;
	}
	if (!p)
		return NULL;
	end = p + n;
	while (*end && strncmp(end, "\n.TP\n", 5) && strncmp(end, "\n.SH ", 5))
		end++;
	return strndup(p, (size_t)(end - p));
}

static void test_every_keyword_documented(void)
{
	char *page = pc_test_read_file(PAGE, NULL);

	PC_REQUIRE(page != NULL);
	CU_ASSERT(config_nkeywords >= 18);
	for (size_t i = 0; i < config_nkeywords; i++) {
		const struct keyword *kw = &config_keywords[i];
		char *e = entry(page, kw->man);

		if (!e) {
			printf("\n  %s: no line '%s' in %s\n", kw->name, kw->man, PAGE);
			CU_FAIL("a keyword without its man-page entry");
			continue;
		}
		/* the tag names the keyword itself */
		CU_ASSERT(!strncmp(strchr(kw->man, ' ') + 1, kw->name, strlen(kw->name)));
		CU_ASSERT(config_keyword(kw->name) == kw);
		if (kw->apply == KW_RESTART && !strstr(e, "restart")) {
			printf("\n  %s applies at restart; its entry does not say so:\n%s\n",
			       kw->name, e);
			CU_FAIL("a restart-only keyword documented as if a reload applied it");
		}
		free(e);
	}
	free(page);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "every_keyword_documented", test_every_keyword_documented },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_config_doc", tests, argc, argv);
}
