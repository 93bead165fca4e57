/* SPDX-License-Identifier: MIT */
/* The control protocol's commands (pathcheckd(8)).  Main thread only. */
#ifndef PATHCHECKD_CMDS_H
#define PATHCHECKD_CMDS_H

#include <stdbool.h>

struct client;
struct daemon;
struct rec;

void cmd_run(struct daemon *d, struct client *c, char *line);
void cmd_reply_check(struct daemon *d, struct client *c, const struct rec *r,
		     bool json);

#endif
