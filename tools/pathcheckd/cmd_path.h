/* SPDX-License-Identifier: MIT */
/* The commands on one path (cmd_path.c).  Main thread only. */
#ifndef PATHCHECKD_CMD_PATH_H
#define PATHCHECKD_CMD_PATH_H

#include <stdbool.h>

struct cmd_ctx;
struct client;
struct daemon;
struct rec;

/* The path the command names in x->arg (name, path or dev_t), or NULL
 * with the error sent. */
struct rec *cmd_need_path(struct cmd_ctx *x);

void cmd_check_path(struct cmd_ctx *x);
void cmd_add_path(struct cmd_ctx *x);
void cmd_del_path(struct cmd_ctx *x);

/* The answer to check: now, or when the read it waited for ends (ctl.c). */
void cmd_reply_check(struct daemon *d, struct client *c, const struct rec *r,
		     bool json);

#endif
