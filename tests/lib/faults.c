/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>

#include "faults.h"
#include "harness.h"

static struct faults_log the_log = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct faults_log *faults_log_get(void)
{
	return &the_log;
}

void faults_log_init(struct faults_log *log)
{
	pthread_mutex_lock(&log->lock);
	log->n = 0;
	pthread_mutex_unlock(&log->lock);
}

void faults_on_result(struct pc_path *path, int state, void *arg)
{
	(void)path;
	pthread_mutex_lock(&the_log.lock);
	if (the_log.n < sizeof(the_log.r) / sizeof(the_log.r[0])) {
		the_log.r[the_log.n].arg = arg;
		the_log.r[the_log.n].state = state;
		the_log.r[the_log.n].at_ms = pc_test_now_ms();
		the_log.n++;
	}
	pthread_mutex_unlock(&the_log.lock);
}

unsigned int faults_wait_results(unsigned int n, unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;
	unsigned int have;

	for (;;) {
		pthread_mutex_lock(&the_log.lock);
		have = the_log.n;
		pthread_mutex_unlock(&the_log.lock);
		if (have >= n || pc_test_now_ms() >= until)
			return have;
		pc_test_sleep_ms(1);
	}
}

int faults_wait_stat(struct pc_engine *e, size_t offset, uint64_t want,
		     unsigned int ms)
{
	uint64_t until = pc_test_now_ms() + ms;
	struct pc_stats st;
	uint64_t v;

	for (;;) {
		pc_engine_stats(e, &st);
		memcpy(&v, (char *)&st + offset, sizeof(v));
		if (v == want)
			return 1;
		if (pc_test_now_ms() >= until)
			return 0;
		pc_test_sleep_ms(2);
	}
}
