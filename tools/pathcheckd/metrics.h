/* SPDX-License-Identifier: MIT */
/* Prometheus text: on the socket (`show metrics`) and in the metrics file. */
#ifndef PATHCHECKD_METRICS_H
#define PATHCHECKD_METRICS_H

#include "pathcheck.h"
#include "sbuf.h"

struct daemon;

void metrics_text(struct daemon *d, struct sbuf *b);
int  metrics_write_file(struct daemon *d);
void stats_fill(struct daemon *d, struct pc_stats *st);

#endif
