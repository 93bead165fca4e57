/* SPDX-License-Identifier: MIT */
/*
 * The man pages' examples of output are what the programs print: the
 * example block (.nf) that starts with a given first line is compared with
 * a real reply (numbers, paths and times vary):
 *   - pathcheckd.8's show status and show daemon line by line, on each
 *     line's first word, exactly; show stats in the page's order (the reply
 *     may hold keys the example leaves out); show paths' header word by word;
 *   - JSON key by key, in order: pathcheckd.8's show status json and show
 *     path json, and pathcheck.8's one-shot --json, exactly; pathcheck.8's
 *     show paths json, whose example leaves keys out, in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_fixture.h"
#include "harness.h"

#define REPLY_CAP	(1 << 16)

static char *man, *man_client;	/* pathcheckd.8, pathcheck.8 */

/* The .nf block of a page whose first line starts with first, without the
 * groff escapes it uses (\- and \e); NULL if none. */
static char *page_example(const char *page, const char *first)
{
	char key[128], *at, *end, *out, *o;

	snprintf(key, sizeof(key), "\n.nf\n%s", first);
	at = strstr(page, key);
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

static char *man_example(const char *first)
{
	return page_example(man, first);
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

/* The keys of a flat JSON object (the first of an array), in order, joined
 * by spaces. */
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
		else if (q[1] == '}' || (q[1] == ',' && q[2] == '}'))
			break;
		p = q + 1;
		if (*p == '}')
			break;
	}
}

/* s's first line, its runs of blanks as one space. */
static void squeeze(char *s)
{
	char *o = s;

	for (const char *p = s; *p && *p != '\n'; p++)
		if (*p != ' ' || (o > s && o[-1] != ' '))
			*o++ = *p;
	while (o > s && o[-1] == ' ')
		o--;
	*o = '\0';
}

/* Is every word of sub in all, in the same order? */
static bool in_order(const char *sub, const char *all)
{
	char w[66];

	for (const char *s = sub; *s; s += strcspn(s, " ") + 1) {
		const char *at;

		snprintf(w, sizeof(w), "%.*s ", (int)strcspn(s, " "), s);
		at = strstr(all, w);
		if (!at || (at != all && at[-1] != ' '))
			return false;
		all = at + strlen(w);
	}
	return true;
}

/* The keys of page's example that starts with first against reply's. */
static void expect_json_keys(const char *page, const char *name, const char *first,
			     const char *reply, bool exact)
{
	char *ex = page_example(page, first), man_keys[1024], reply_keys[1024];

	if (!ex)
		printf("  %s has no example starting %s\n", name, first);
	PC_REQUIRE(ex != NULL);
	json_keys(ex, man_keys, sizeof(man_keys));
	json_keys(reply, reply_keys, sizeof(reply_keys));
	if (exact ? strcmp(man_keys, reply_keys) != 0 : !in_order(man_keys, reply_keys))
		printf("  %s's example %s...:\n    shows %s\n    the reply %s\n", name, first,
		       man_keys, reply_keys);
	CU_ASSERT_TRUE(exact ? !strcmp(man_keys, reply_keys) : in_order(man_keys, reply_keys));
	free(ex);
}

/* pathcheck --json FILE, one-shot: its output into out. */
static void oneshot_json(const char *file, char *out, size_t len)
{
	const char *b = getenv("PC_BUILD_DIR");
	char cmd[8192];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s/pathcheck --json %s", b && *b ? b : "build", file);
	f = popen(cmd, "r");
	PC_REQUIRE(f != NULL);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

static void test_examples(void)
{
	struct daemon_fx *fx = daemon_fx_ready_files(3, NULL);
	static char reply[REPLY_CAP];
	char path[2100], *ex;

	if (!fx)
		return;
	man = pc_test_read_file("docs/man/pathcheckd.8", NULL);
	man_client = pc_test_read_file("docs/man/pathcheck.8", NULL);
	PC_REQUIRE(man && man_client);
	expect_words("show status", "path checker states:", true, fx);
	expect_words("show daemon", "pid ", true, fx);
	expect_words("show stats", "paths ", false, fx);

	PC_REQUIRE(daemon_cmd(fx, "show paths", reply, sizeof(reply)) > 0);
	ex = man_example("dev ");
	PC_REQUIRE(ex != NULL);
	squeeze(ex);
	squeeze(reply);
	if (strcmp(reply, ex))
		printf("  show paths: pathcheckd.8's header %s\n  the reply's %s\n", ex, reply);
	CU_ASSERT_STRING_EQUAL(reply, ex);	/* the header, the widths aside */
	free(ex);

	PC_REQUIRE(daemon_cmd(fx, "show status json", reply, sizeof(reply)) > 0);
	expect_json_keys(man, "pathcheckd.8", "{\"paths\":", reply, true);
	PC_REQUIRE(daemon_cmd(fx, "show path f0 json", reply, sizeof(reply)) > 0);
	expect_json_keys(man, "pathcheckd.8", "{\"dev\":\"p1\"", reply, true);
	expect_json_keys(man_client, "pathcheck.8", "{\"dev\":\"sdb\"", reply, false);
	snprintf(path, sizeof(path), "%s/f0", fx->dir);
	oneshot_json(path, reply, sizeof(reply));
	expect_json_keys(man_client, "pathcheck.8", "{\"device\":", reply, true);
	free(man);
	free(man_client);
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
