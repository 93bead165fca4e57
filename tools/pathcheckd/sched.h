/* SPDX-License-Identifier: MIT */
/* The schedule: a min-heap of records on their due time.  Main thread only. */
#ifndef PATHCHECKD_SCHED_H
#define PATHCHECKD_SCHED_H

#include <stdint.h>

struct daemon;
struct rec;

void sched_insert(struct daemon *d, struct rec *r, uint64_t due_ms);
void sched_remove(struct daemon *d, struct rec *r);
void sched_run(struct daemon *d, uint64_t now);
uint64_t sched_next_ms(struct daemon *d);	/* UINT64_MAX when empty */
uint64_t sched_spread(const struct rec *r, uint64_t now);

#endif
