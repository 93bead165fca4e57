/* SPDX-License-Identifier: MIT */
/* show config, show blacklist (showconfig.c).  Main thread only. */
#ifndef PATHCHECKD_SHOWCONFIG_H
#define PATHCHECKD_SHOWCONFIG_H

#include <stdbool.h>

struct cmd_ctx;
struct config;
struct daemon;
struct client;

/* A reload read cfg: log which settings wait for a restart. */
void showconfig_restart_check(struct daemon *d, const struct config *cfg);
void cmd_show_config(struct cmd_ctx *x);
void cmd_show_blacklist(struct cmd_ctx *x);
/* daemon_reconfigure's hook: remember why the last reload failed (NULL: it
 * worked) and when. */
void showconfig_reload_result(struct daemon *d, const char *err);

#endif
