/* SPDX-License-Identifier: MIT */
/* The show commands (cmd_show.c).  Main thread only. */
#ifndef PATHCHECKD_CMD_SHOW_H
#define PATHCHECKD_CMD_SHOW_H

#include <stdbool.h>

struct cmd_ctx;
struct client;
struct daemon;
struct rec;
struct sbuf;

/* One path as the JSON object of show path, show paths and check. */
void cmd_path_json(struct sbuf *b, const struct rec *r);

void cmd_show_paths(struct cmd_ctx *x);
void cmd_show_path(struct cmd_ctx *x);
void cmd_show_stats(struct cmd_ctx *x);
void cmd_show_status(struct cmd_ctx *x);
void cmd_show_daemon(struct cmd_ctx *x);
void cmd_show_metrics(struct cmd_ctx *x);

#endif
