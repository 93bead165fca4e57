/* SPDX-License-Identifier: MIT */
/* Prometheus text: on the socket (`show metrics`) and in the metrics file. */
#ifndef PATHCHECKD_METRICS_H
#define PATHCHECKD_METRICS_H

#include <stdbool.h>

#include "pathcheck.h"
#include "sbuf.h"

struct daemon;

void metrics_text(struct daemon *d, struct sbuf *b);
/* show stats: the counter table's keyed rows, as text or one JSON object. */
void metrics_stats(struct daemon *d, struct sbuf *b, bool json);
int  metrics_write_file(struct daemon *d);
void stats_fill(struct daemon *d, struct pc_stats *st);

#endif
