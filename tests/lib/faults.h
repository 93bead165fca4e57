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

struct faults_log {
	pthread_mutex_t lock;
	unsigned int n;
	struct { void *arg; int state; uint64_t at_ms; } r[4096];
};

void faults_log_init(struct faults_log *log);
/* on_result appending to the one log of the test program (one engine at a
 * time), with the path_arg and the time it came. */
void faults_on_result(struct pc_path *path, int state, void *arg);
struct faults_log *faults_log_get(void);
/* Waits until the log holds n results or ms pass; returns how many. */
unsigned int faults_wait_results(unsigned int n, unsigned int ms);
/* Waits until the pc_stats field at offset equals want, or ms pass;
 * returns whether it did. */
int faults_wait_stat(struct pc_engine *e, size_t offset, uint64_t want,
		     unsigned int ms);
#define FAULTS_WAIT(e, field, want, ms) \
	faults_wait_stat(e, offsetof(struct pc_stats, field), want, ms)

#endif
