/* SPDX-License-Identifier: MIT */
/*
 * Simulated storage paths for tests: starts pathsim (tools/pathsim) on a
 * fresh temporary directory and drives it through its control file.
 *
 *	struct pathsim *sim;
 *	const char *why;
 *	int ret = pathsim_start(&sim, 4, 0, &why);
 *
 *	if (ret && why)
 *		PC_SKIP("%s", why);
 *	PC_REQUIRE(ret == 0);
 *	pathsim_set(sim, "p1", "hung");
 *	... O_DIRECT AIO reads of pathsim_dev(sim, 1) ...
 *	pathsim_release(sim);	(before the test ends: hung AIO blocks exit)
 *	pathsim_stop(sim);
 *
 * Modes: "up", "eio", "short", "slow:MS", "hung", "flaky:P".
 * Targets: "all", "pK", "K", "A-B", "F%", "0.F".  See docs/pathsim.md.
 *
 * Start sims from the main thread: pathsim dies (cleanly) with the thread
 * that started it (PR_SET_PDEATHSIG), and it also unmounts by itself when
 * this process starts exiting, even by SIGKILL (--parent-watch).
 */
#ifndef PC_PATHSIM_FIXTURE_H
#define PC_PATHSIM_FIXTURE_H

#include <sys/types.h>

struct pathsim;

struct pathsim_counts {
	unsigned long reads;	 /* read requests received */
	unsigned long ok;	 /* answered in full */
	unsigned long failed;	 /* answered EIO */
	unsigned long shortreads; /* answered with fewer bytes */
	unsigned long hung;	 /* held by a hung mode right now */
};

#define PATHSIM_LOOP 1u		/* each path behind a loop device (root) */

/*
 * Starts $PC_BUILD_DIR/pathsim (default build/pathsim) with n paths in a
 * fresh mkdtemp directory, with --parent-watch getpid() and
 * PR_SET_PDEATHSIG, and waits (at most 10 s) for it to be ready.
 * Returns 0, or -errno.  *why is set to a printable reason to skip when
 * the test cannot run here (no /dev/fuse, no root for PATHSIM_LOOP, no
 * binary, FUSE not mountable); it is NULL for real failures, which are
 * described on stderr.
 */
int pathsim_start(struct pathsim **simp, unsigned int n, unsigned int flags,
		  const char **why);

/* The device to check: the loop device with PATHSIM_LOOP, else the file. */
const char *pathsim_dev(struct pathsim *sim, unsigned int i);
/* The file pK in the mount. */
const char *pathsim_file(struct pathsim *sim, unsigned int i);
const char *pathsim_mountpoint(struct pathsim *sim);
pid_t pathsim_pid(struct pathsim *sim);

/* Control commands: 0 or -errno (-EINVAL for a refused command). */
int pathsim_set(struct pathsim *sim, const char *target, const char *mode);
int pathsim_release(struct pathsim *sim);	/* every hung read */
int pathsim_reset(struct pathsim *sim);		/* all up, counters zero */
int pathsim_counts(struct pathsim *sim, unsigned int i,
		   struct pathsim_counts *c);

/*
 * Releases hung reads, sends SIGTERM and waits (5 s, then SIGKILL and a
 * lazy unmount), removes the directory and frees sim.  NULL-safe.  Runs
 * from an atexit handler for every sim this process still has running.
 * Inside a test, a pathsim that does not exit with status 0 (a crash, a
 * sanitizer report, a hang) fails that test.
 */
void pathsim_stop(struct pathsim *sim);
/* The same without failing anything: pathsim's exit status (128 + signal
 * for a signal), -ETIMEDOUT when it had to be killed, -ECHILD when the
 * caller had already reaped it. */
int pathsim_stop_status(struct pathsim *sim);

/* The mode pathsim gives path i now ("up", "hung", "flaky:0.5"...), read
 * from its control table: 0 or -errno. */
int pathsim_mode(struct pathsim *sim, unsigned int i, char *mode, size_t len);

/*
 * Starts pathsim with n paths for the running test: the sim, or NULL after
 * the test was skipped (the reason printed) or failed.
 */
struct pathsim *pathsim_start_or_skip(unsigned int n, unsigned int flags);

/* The same inside a test function: returns from it unless sim started. */
#define PATHSIM_START(sim, n, flags) do {				\
	(sim) = pathsim_start_or_skip((n), (flags));			\
	if (!(sim))							\
		return;							\
} while (0)

#endif
