/* SPDX-License-Identifier: MIT */
/* pathcheck run by a test: cli_run.h. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "harness.h"

extern char **environ;

const char *cli_bin(void)
{
	static char bin[PATH_MAX];
	const char *b = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathcheck", b && *b ? b : "build");
	return bin;
}

#define RUN_LIMIT_MS 15000	/* a hung client is a failure, not a hung test */

struct cli_run cli_last;

/*
 * Runs pathcheck with the NULL-terminated args, input on its stdin (NULL:
 * /dev/null), env ("K=V" or NULL) added to the environment, and SIGTERM
 * sent term_ms after the start (0: never).  Output lands in cli_last.
 */
int cli_run(const char *input, const char *env, unsigned int term_ms, ...)
{
	const char *argv[32] = { cli_bin() };
	char *envp[256];
	int argc = 1, envc = 0;
	va_list ap;
	struct pc_test_run r = {
		.argv = argv, .envp = envp, .input = input, .term_ms = term_ms,
		.limit_ms = RUN_LIMIT_MS, .out = cli_last.out, .out_cap = sizeof(cli_last.out),
		.err = cli_last.err, .err_cap = sizeof(cli_last.err),
	};

	va_start(ap, term_ms);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	for (char **e = environ; *e && envc < 250; e++)
		if (strncmp(*e, "PATHCHECK_SOCKET=", 17))
			envp[envc++] = *e;
	if (env)
		envp[envc++] = (char *)env;
	envp[envc] = NULL;

	printf("\n  $%s%s%s", env ? " " : "", env ? env : "", input ? " <input" : "");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	cli_last.status = -1;
	if (pc_test_run(&r))
		return -1;
	if (r.timed_out)
		printf("  still running after %u ms: killed\n", RUN_LIMIT_MS);
	cli_last.nout = r.nout;
	cli_last.nerr = r.nerr;
	cli_last.ms = r.ms;
	cli_last.status = r.sig ? 128 + r.sig : r.status;
	printf("  exit %d after %llu ms\n", cli_last.status, (unsigned long long)cli_last.ms);
	if (cli_last.nout)
		printf("  stdout: %.600s%s", cli_last.out, cli_last.nout > 600 ? "...\n" : "");
	if (cli_last.nerr)
		printf("  stderr: %s", cli_last.err);
	return cli_last.status;
}

/* The line of out that contains what, copied into line; false if none. */
bool cli_line_with(const char *out, const char *what, char *line, size_t len)
{
	const char *at = strstr(out, what), *bol, *eol;

	if (!at)
		return false;
	for (bol = at; bol > out && bol[-1] != '\n'; bol--)
		;
	eol = strchr(at, '\n');
	if (!eol)
		eol = at + strlen(at);
	snprintf(line, len, "%.*s", (int)(eol - bol), bol);
	return true;
}

unsigned int cli_count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}
