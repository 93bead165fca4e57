/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.8's examples of show status, show stats and show daemon are
 * what the commands print: the example block (.nf) that starts with a
 * command's first line is compared with a real reply, line by line, on
 * each line's first word (numbers, paths and times vary).  show status and
 * show daemon match exactly; show stats in the page's order, the reply
 * may hold keys the example leaves out.  The JSON form of show status is
 * compared key by key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

#define REPLY_CAP	(1 << 16)

static char *man;

/* The .nf block of pathcheckd.8 whose first line starts with first,
 * without the groff escapes it uses (\- and \e); NULL if none. */
static char *man_example(const char *first)
{
	char key[128], *at, *end, *out, *o;

	snprintf(key, sizeof(key), "\n.nf\n%s", first);
	at = strstr(man, key);
	if (!at)
		return NULL;
	at += 5;
	end = strstr(at, "\n.fi\n");
	if (!end)
		return NULL;
	out = o = calloc(1, (size_t)(end - at) + 2);
	for (const char *p = at; p < end; p++) {
		if (*p == '\\' && (p[1] == '-' || p[1] == 'e'))
			*o++ = p[1] == '-' ? '-' : '\\', p++;
		else
			*o++ = *p;
	}
	*o = '\n';
	return out;
}

/* The first word of the next non-empty line at *p, into w; false at the end. */
static bool next_word(const char **p, char *w, size_t len)
{
	while (**p == '\n')
		(*p)++;
	if (!**p)
		return false;
	snprintf(w, len, "%.*s", (int)strcspn(*p, " \n"), *p);
	*p += strcspn(*p, "\n");
	return true;
}

/* Each line's first word of the example in the reply, in order; exact: the
 * reply has no other line. */
static void expect_words(const char *cmd, const char *first, bool exact,
			 struct daemon_fx *fx)
{
	static char reply[REPLY_CAP];
	char *ex = man_example(first), mw[64], rw[64];
	const char *m, *r = reply;
	unsigned int n = 0;

	if (!ex)
		printf("  pathcheckd.8 has no example of %s starting \"%s\"\n", cmd, first);
	PC_REQUIRE(ex != NULL);
	PC_REQUIRE(daemon_cmd(fx, cmd, reply, sizeof(reply)) > 0);
	for (m = ex; next_word(&m, mw, sizeof(mw)); n++) {
		bool found = false;

		while (next_word(&r, rw, sizeof(rw))) {
			found = !strcmp(mw, rw);
			if (found || exact)
				break;
		}
		if (!found)
			printf("  %s: pathcheckd.8 shows '%s', the reply %s%s\n", cmd, mw,
			       exact ? "has " : "has no such line in that order", exact ? rw : "");
		CU_ASSERT_TRUE(found);
		if (!found)
			break;
	}
	if (exact && next_word(&r, rw, sizeof(rw))) {
		printf("  %s: the reply has '%s', not in pathcheckd.8's example\n", cmd, rw);
		CU_FAIL("a line of the reply is missing from the example");
	}
	printf("  %s: %u lines as pathcheckd.8 shows them\n", cmd, n);
	free(ex);
}

/* The keys of a flat JSON object, in order, joined by spaces. */
static void json_keys(const char *s, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = s; (p = strchr(p, '"')); ) {
		const char *q = strchr(p + 1, '"');

		if (!q)
			break;
		if (q[1] == ':' && o + (size_t)(q - p) + 1 < len)
			o += (size_t)snprintf(out + o, len - o, "%.*s ", (int)(q - p - 1), p + 1);
		p = q + 1;
	}
}

static void test_examples(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	static char reply[REPLY_CAP];
	char man_keys[512], reply_keys[512], *ex;

	if (!fx)
		return;
	man = pc_test_read_file("docs/man/pathcheckd.8", NULL);
	PC_REQUIRE(man != NULL);
	expect_words("show status", "path checker states:", true, fx);
	expect_words("show daemon", "pid ", true, fx);
	expect_words("show stats", "paths ", false, fx);

	ex = man_example("{\"paths\":");
	PC_REQUIRE(ex != NULL);
	PC_REQUIRE(daemon_cmd(fx, "show status json", reply, sizeof(reply)) > 0);
	json_keys(ex, man_keys, sizeof(man_keys));
	json_keys(reply, reply_keys, sizeof(reply_keys));
	if (strcmp(man_keys, reply_keys))
		printf("  show status json: pathcheckd.8 shows %s\n  the reply has %s\n",
		       man_keys, reply_keys);
	CU_ASSERT_STRING_EQUAL(man_keys, reply_keys);
	free(ex);
	free(man);
	daemon_fx_finish(fx);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "examples", test_examples },
		{ NULL, NULL },
	};

	return pc_test_main("daemon_man_examples", tests, argc, argv);
}
