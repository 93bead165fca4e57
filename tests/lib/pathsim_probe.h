/* SPDX-License-Identifier: MIT */
/*
 * Looking at a running pathsim from a test, and running pathsim as a
 * command: one direct AIO read of a path, its counters, the control table,
 * and pathsim's own command line.
 */
#ifndef PC_PATHSIM_PROBE_H
#define PC_PATHSIM_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pathsim_fixture.h"

#define PATHSIM_SIZE	(1u << 20)	/* pathsim's default path size */

/*
 * One O_DIRECT read of the first block of path: its result in *res, its
 * latency in *lat_ms and whether it read zeros in *zeros (both optional).
 * Returns 0, or -ETIMEDOUT after ms (the sim's hung reads then released,
 * so nothing is left behind), or -errno.
 */
int pathsim_read_once(struct pathsim *sim, const char *path, unsigned int ms,
		      long *res, uint64_t *lat_ms, bool *zeros);
/* Path i's counters are these (printed when not). */
bool pathsim_counts_are(struct pathsim *sim, unsigned int i, unsigned long reads,
			unsigned long ok, unsigned long failed,
			unsigned long shortreads, unsigned long hung);
/* Waits up to ms for path i to hold n hung reads. */
bool pathsim_wait_hung(struct pathsim *sim, unsigned int i, unsigned long n,
		       unsigned int ms);
/* The control table (malloc'd), or NULL. */
char *pathsim_table(struct pathsim *sim);
/* Path i's mode in a control table is mode (printed when not). */
bool pathsim_table_mode_is(const char *table, unsigned int i, const char *mode);
/* One write of text to the control file: 0 or -errno. */
int pathsim_control_write(struct pathsim *sim, const char *text);

/* $PC_BUILD_DIR/pathsim (default build/pathsim). */
const char *pathsim_bin(void);
/*
 * Runs pathsim with argv (argv[0] is set to pathsim_bin()), stderr to
 * /dev/null.  Without pidp: its stdout into out, and its exit status
 * (128 + signal).  With pidp: a server; returns the read end of its stdout
 * (see pathsim_read_ready) and its pid in *pidp.  -errno on failure.
 */
int pathsim_run(char **argv, char *out, size_t len, pid_t *pidp);
/* Reads a server's stdout until "ready"; true when it came within ms. */
bool pathsim_read_ready(int fd, unsigned int ms);
/* True (the test skipped) without /dev/fuse or the pathsim binary. */
bool pathsim_skip_without_fuse(void);

#endif
