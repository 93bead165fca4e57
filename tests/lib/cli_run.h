/* SPDX-License-Identifier: MIT */
/* The pathcheck binary run by a test, its output kept in cli_last. */
#ifndef PC_CLI_RUN_H
#define PC_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_run {
	int status;		/* exit status, 128 + signal, or -1 */
	uint64_t ms;		/* from fork to exit */
	size_t nout, nerr;
	char out[300000];
	char err[8192];
};

extern struct cli_run cli_last;	/* what the last cli_run gave */

/* $PC_BUILD_DIR/pathcheck (default build/pathcheck). */
const char *cli_bin(void);
/*
 * Runs pathcheck with the NULL-terminated args, input on its stdin (NULL:
 * /dev/null), env ("K=V" or NULL) added to the environment (without
 * PATHCHECK_SOCKET), and SIGTERM sent term_ms after the start (0: never);
 * killed after 15 s.  Output lands in cli_last; returns its status or -1.
 */
int cli_run(const char *input, const char *env, unsigned int term_ms, ...);
/* The line of out that contains what, copied into line; false if none. */
bool cli_line_with(const char *out, const char *what, char *line, size_t len);
unsigned int cli_count_lines(const char *s);

#endif
