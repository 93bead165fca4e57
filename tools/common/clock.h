/* SPDX-License-Identifier: MIT */
/* The tools' clocks: monotonic for every interval and deadline. */
#ifndef TOOLS_CLOCK_H
#define TOOLS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t now_ms(void);			/* CLOCK_MONOTONIC */
uint64_t now_us(void);			/* CLOCK_MONOTONIC */
double now_s(void);			/* CLOCK_MONOTONIC */
/* The wall-clock time of monotonic instant mono_ms, ISO 8601 UTC. */
void fmt_wall(char *buf, size_t len, uint64_t mono_ms);

#endif
