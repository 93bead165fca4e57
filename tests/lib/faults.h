/* SPDX-License-Identifier: MIT */
/* Shared bits of the tests that drive pathsim: an engine over its paths and
 * an on_result log with timestamps. */
#ifndef PC_TEST_FAULTS_H
#define PC_TEST_FAULTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pathcheck.h"
#include "pathsim_fixture.h"

struct result_log {
	pthread_mutex_t lock;
	unsigned int n;
	struct { void *arg; int state; uint64_t at_ms; } r[4096];
};

void result_log_init(struct result_log *log);
/* on_result appending to the one log of the test program (one engine at a
 * time), with the path_arg and the time it came. */
void faults_on_result(struct pc_path *path, int state, void *arg);
struct result_log *faults_log(void);
/* Waits until the log holds n results or ms pass; returns how many. */
unsigned int faults_wait_results(unsigned int n, unsigned int ms);
/* Waits until the pc_stats field at offset equals want, or ms pass;
 * returns whether it did. */
int faults_wait_stat(struct pc_engine *e, size_t offset, uint64_t want,
		     unsigned int ms);
#define FAULTS_WAIT(e, field, want, ms) \
	faults_wait_stat(e, offsetof(struct pc_stats, field), want, ms)

/* Starts pathsim with n paths, or skips the test with the reason. */
#define START_SIM(sim, n, flags) do {					\
	const char *why_ = NULL;					\
	int ret_ = pathsim_start(&(sim), (n), (flags), &why_);		\
	if (ret_ && why_)						\
		PC_SKIP("%s", why_);					\
	PC_REQUIRE(ret_ == 0);						\
} while (0)

#endif
