/* SPDX-License-Identifier: MIT */
/* The control protocol's commands (pathcheckd(8)): one line in, one reply
 * out.  Main thread only.  The handlers: cmd_show.h, cmd_path.h. */
#ifndef PATHCHECKD_CMDS_H
#define PATHCHECKD_CMDS_H

struct client;
struct daemon;

void cmd_run(struct daemon *d, struct client *c, char *line);

#endif
