/* SPDX-License-Identifier: MIT */
/* The tools' clocks: monotonic for every interval and deadline. */
#ifndef TOOLS_CLOCK_H
#define TOOLS_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t now_ms(void);			/* CLOCK_MONOTONIC */
uint64_t now_us(void);			/* CLOCK_MONOTONIC */
double now_s(void);			/* CLOCK_MONOTONIC */
/* An interval or an instant in microseconds or milliseconds as a timespec
 * (nanosleep, timerfd, pthread_cond_timedwait, io_getevents). */
static inline struct timespec ts_from_us(uint64_t us)
{
	return (struct timespec){ .tv_sec = (time_t)(us / 1000000u),
				  .tv_nsec = (long)(us % 1000000u) * 1000L };
}

static inline struct timespec ts_from_ms(uint64_t ms)
{
	return ts_from_us(ms * 1000u);
}

/* The wall-clock time of monotonic instant mono_ms, ISO 8601 UTC. */
void fmt_wall(char *buf, size_t len, uint64_t mono_ms);

#endif
