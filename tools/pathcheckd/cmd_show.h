/* SPDX-License-Identifier: MIT */
/* The show commands (cmd_show.c).  Main thread only. */
#ifndef PATHCHECKD_CMD_SHOW_H
#define PATHCHECKD_CMD_SHOW_H

#include <stdbool.h>

struct client;
struct daemon;
struct rec;
struct sbuf;

/* One path as the JSON object of show path, show paths and check. */
void cmd_path_json(struct sbuf *b, const struct rec *r);

void cmd_show_paths(struct daemon *d, struct client *c, bool json);
void cmd_show_path(struct daemon *d, struct client *c, const char *what, bool json);
void cmd_show_stats(struct daemon *d, struct client *c, bool json);
void cmd_show_status(struct daemon *d, struct client *c, bool json);
void cmd_show_daemon(struct daemon *d, struct client *c);
void cmd_show_metrics(struct daemon *d, struct client *c);

#endif
