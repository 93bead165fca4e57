/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "clock.h"

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t now_ms(void)
{
	return now_us() / 1000u;
}

void fmt_wall(char *buf, size_t len, uint64_t mono_ms)
{
	struct timespec rt;
	struct tm tm;
	time_t t;
	uint64_t age = now_ms() - mono_ms;

	clock_gettime(CLOCK_REALTIME, &rt);
	t = rt.tv_sec - (time_t)(age / 1000);
	if ((uint64_t)rt.tv_nsec / 1000000 < age % 1000)
		t--;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
