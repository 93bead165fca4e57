/* SPDX-License-Identifier: MIT */
/* pathcheckd's log: any thread may log; a line is one write. */
#ifndef PATHCHECKD_LOG_H
#define PATHCHECKD_LOG_H

#include <stdbool.h>

void log_setup(int target, bool debug);	/* enum cfg_log */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_engine(void *arg, int prio, const char *msg);	/* pc_options.log */
/* The engine's lines from this thread go to debug while on (a batch of opens). */
void log_engine_demote(bool on);

#endif
