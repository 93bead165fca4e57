/* SPDX-License-Identifier: MIT */
/* The control protocol's commands (pathcheckd(8)): one line in, one reply
 * out.  Main thread only.  The handlers: cmd_show.h, cmd_path.h,
 * showconfig.h, format.h, hold.h. */
#ifndef PATHCHECKD_CMDS_H
#define PATHCHECKD_CMDS_H

#include <stdbool.h>

struct client;
struct daemon;

#define MAX_WORDS 8

/* One command line, split, as every handler of the command table takes it
 * (fn(struct cmd_ctx *)): who asked, the words, the argument. */
struct cmd_ctx {
	struct daemon *d;
	struct client *c;
	char *w[MAX_WORDS];
	int n;
	bool json;		/* trailing "json" word, removed from w */
	const char *arg;	/* the word after the fixed ones (enum cmd_arg), or NULL */
};

void cmd_run(struct daemon *d, struct client *c, char *line);

#endif
