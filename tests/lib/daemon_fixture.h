/* SPDX-License-Identifier: MIT */
/*
 * The pathcheckd test fixture: runs the real daemon
 * ($PC_BUILD_DIR/pathcheckd -f --log stderr -c CONF -s SOCK --state-dir
 * DIR/state) on a config
 * the test writes, in a fresh mkdtemp directory that also holds its socket
 * and its log (stdout and stderr), and talks to it over the socket.
 *
 *	struct daemon_fx *fx = daemon_fx_new();
 *
 *	PC_REQUIRE(fx != NULL);
 *	... files under fx->dir, or pathsim paths (daemon_fx_attach_sim) ...
 *	PC_REQUIRE(daemon_start(fx, "interval 200ms\npath %s/f*\n", fx->dir) == 0);
 *	n = daemon_cmd(fx, "show paths json", reply, sizeof(reply));
 *	...
 *	daemon_stop(fx);	(SIGTERM: a test failure unless it exits 0, cleanly)
 *	daemon_fx_free(fx);	(kills it if still running, removes the directory)
 *
 * A daemon a test left running (a fatal assertion returns from the test
 * early) is killed by the next daemon_fx_new() and at exit, after the hung
 * reads of its attached pathsims were released: a process with an AIO read
 * hung in the kernel cannot exit before the read completes.
 *
 * Talking to it: daemon_conn.h (daemon_cmd, dconn_*); reading the replies:
 * reply.h (reply_*).  Both come with this header.
 *
 * Names: daemon_fx_* make and free fixtures, daemon_* act on the daemon of
 * one, dconn_* on one connection, reply_* read a reply's text; pathsim_*
 * (pathsim_fixture.h) and pc_test_* (harness.h) likewise.
 */
#ifndef PC_DAEMON_FIXTURE_H
#define PC_DAEMON_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

struct pathsim;

#define DAEMON_FX_MAX_SIMS	4

struct daemon_fx {
	pid_t pid;			/* -1: not running (reaped) */
	int status;			/* exit status, 128 + signal; -1 while running */
	char bin[PATH_MAX];		/* $PC_BUILD_DIR/pathcheckd */
	char dir[PATH_MAX / 2];		/* the temporary directory, resolved */
	char conf[PATH_MAX];		/* dir/pathcheckd.conf */
	char log[PATH_MAX];		/* dir/daemon.log: its stdout and stderr */
	char state[PATH_MAX];		/* dir/state: its --state-dir (holds) */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char sim_control[DAEMON_FX_MAX_SIMS][PATH_MAX];	/* released before a kill */
	unsigned int nsims;
	unsigned int reply_ms;		/* bound on one reply (default 10 s) */
	bool socket_in_config;		/* no -s: the config's socket line names sock */
	char *last;			/* the reply daemon_reply_is/_starts/daemon_path_int got */
	size_t last_cap;
	void *test;			/* the CUnit test it was made in */
	struct daemon_fx *next;		/* registry of live fixtures */
};

/*
 * A fixture with its directory made.  NULL on failure, with the reason
 * printed and the test failed (also when the daemon binary is missing: it
 * is part of the build, so that never skips).
 */
struct daemon_fx *daemon_fx_new(void);

/* Stop (kill) the daemon if it runs, remove the directory, free. NULL-safe. */
void daemon_fx_free(struct daemon_fx *fx);

/* Hung reads of this pathsim are released before the daemon is killed. */
void daemon_fx_attach_sim(struct daemon_fx *fx, struct pathsim *sim);
/* daemon_fx_new() with sim attached: a daemon that checks pathsim's paths. */
struct daemon_fx *daemon_fx_new_sim(struct pathsim *sim);

/* Writes the config (printf format; temp file + rename). 0 or -errno. */
int daemon_config(struct daemon_fx *fx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A file under fx->dir (size bytes of zeros); its path in path. 0 or -errno. */
int daemon_file(struct daemon_fx *fx, const char *name, off_t size,
		char *path, size_t len);

/* A new fixture with 1 MiB files f0..f{n-1}, O_DIRECT checked; NULL after
 * a skip or a failure (already reported). */
struct daemon_fx *daemon_fx_files(unsigned int n);

#define DAEMON_FX_INTERVAL_MS	200

/* daemon_fx_files(n) and the daemon on them (interval 200ms, timeout 2s,
 * socket_mode 0666, then the extra config lines), all paths ready; NULL
 * after a skip or a failure. */
struct daemon_fx *daemon_fx_ready_files(unsigned int n, const char *extra);

/* daemon_stop (the test fails unless it exits cleanly), then daemon_fx_free. */
void daemon_fx_finish(struct daemon_fx *fx);

/*
 * Writes the config, starts the daemon and waits (bounded) until it
 * answers on its socket.  On failure, prints why and its log, and returns
 * -errno (the test should PC_REQUIRE success).
 */
int daemon_start(struct daemon_fx *fx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same with extra arguments (NULL-terminated) and the config as is. */
int daemon_start_args(struct daemon_fx *fx, const char *const *extra);

/* Writes conf and starts the daemon under `ulimit -Sn SOFT -Hn HARD`, as
 * daemon_start_args(fx, NULL) does.  0 or -errno. */
int daemon_start_nofile(struct daemon_fx *fx, unsigned long long soft, unsigned long long hard,
			const char *conf);

/* Exit status (>= 0) if the daemon ended (it is reaped), else -EBUSY. */
int daemon_exited(struct daemon_fx *fx);

/* Waits at most ms for it to end: its status, or -ETIMEDOUT. */
int daemon_wait_exit(struct daemon_fx *fx, unsigned int ms);

/*
 * SIGTERM, then waits (releasing attached pathsims first).  The test fails
 * unless the daemon exits 0 within its bound with a clean log.  Returns the
 * status, or -ETIMEDOUT (then it was killed).
 */
int daemon_stop(struct daemon_fx *fx);

/* Releases the hung reads of every attached pathsim. */
void daemon_release_sims(struct daemon_fx *fx);

/*
 * Waits at most ms until `show paths json` lists exactly n paths, every one
 * with chk_st (e.g. "ready"): 0, or -ETIMEDOUT (the last reply printed).
 */
int daemon_wait_states(struct daemon_fx *fx, unsigned int n, const char *chk_st,
		       unsigned int ms);

/* --- the log ------------------------------------------------------------- */

/* Its log so far (malloc'd, NUL-terminated; "" if none).  Never NULL. */
char *daemon_log(struct daemon_fx *fx);
/* Waits at most ms for a log line containing needle: 0 or -ETIMEDOUT. */
int daemon_log_wait(struct daemon_fx *fx, const char *needle, unsigned int ms);
/* The first log line containing needle, copied into out: false if none. */
bool daemon_log_line(struct daemon_fx *fx, const char *needle, char *out, size_t len);
/* Lines of the log containing needle. */
unsigned int daemon_log_count(struct daemon_fx *fx, const char *needle);
/* False (and the test failed, the report printed) if a sanitizer spoke. */
bool daemon_log_clean(struct daemon_fx *fx);
/*
 * The log budget's summaries: the sum of N over the lines "N<phrase>"
 * (phrase such as " more paths went down"; N may have commas); *lines:
 * how many, *first20: one says "(first 20)".  Either may be NULL.
 */
unsigned long long daemon_log_summarized(struct daemon_fx *fx, const char *phrase,
					 unsigned int *lines, bool *first20);
/* Prints the last part of the log, for a failure's context. */
void daemon_log_print(struct daemon_fx *fx);

/* Slack added to the timing bounds of the spec: scheduling noise, larger
 * under sanitizers (the daemon is instrumented too). */
unsigned int daemon_slack_ms(void);

#include "daemon_conn.h"
#include "reply.h"

#endif
