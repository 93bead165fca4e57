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
 * The protocol: one command a line; every reply is its lines and then one
 * empty line.  Replies here are returned without that empty line ("ok\n",
 * "" for an empty reply, "error: ...\n").
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

#define DFX_MAX_SIMS	4

struct daemon_fx {
	pid_t pid;			/* -1: not running (reaped) */
	int status;			/* exit status, 128 + signal; -1 while running */
	char bin[PATH_MAX];		/* $PC_BUILD_DIR/pathcheckd */
	char dir[PATH_MAX / 2];		/* the temporary directory, resolved */
	char conf[PATH_MAX];		/* dir/pathcheckd.conf */
	char log[PATH_MAX];		/* dir/daemon.log: its stdout and stderr */
	char state[PATH_MAX];		/* dir/state: its --state-dir (holds) */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char sim_control[DFX_MAX_SIMS][PATH_MAX];	/* released before a kill */
	unsigned int nsims;
	unsigned int reply_ms;		/* bound on one reply (default 10 s) */
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

/* Writes the config (printf format; temp file + rename). 0 or -errno. */
int daemon_config(struct daemon_fx *fx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A file under fx->dir (size bytes of zeros); its path in path. 0 or -errno. */
int daemon_file(struct daemon_fx *fx, const char *name, off_t size,
		char *path, size_t len);

/* A new fixture with 1 MiB files f0..f{n-1}, O_DIRECT checked; NULL after
 * a skip or a failure (already reported). */
struct daemon_fx *daemon_files_fx(unsigned int n);

/*
 * Writes the config, starts the daemon and waits (bounded) until it
 * answers on its socket.  On failure, prints why and its log, and returns
 * -errno (the test should PC_REQUIRE success).
 */
int daemon_start(struct daemon_fx *fx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same with extra arguments (NULL-terminated) and the config as is. */
int daemon_start_args(struct daemon_fx *fx, const char *const *extra);

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
/* Lines of the log containing needle. */
unsigned int daemon_log_count(struct daemon_fx *fx, const char *needle);
/* False (and the test failed, the report printed) if a sanitizer spoke. */
bool daemon_log_clean(struct daemon_fx *fx);
/* Prints the last part of the log, for a failure's context. */
void daemon_log_print(struct daemon_fx *fx);

/* --- commands ------------------------------------------------------------ */

/*
 * One connection for one command (a newline is added): the reply, without
 * its terminating empty line, NUL-terminated in reply.  Returns its length,
 * or -errno: -ETIMEDOUT (no complete reply within fx->reply_ms),
 * -ECONNRESET (the connection ended first), -EMSGSIZE (it did not fit:
 * truncated, but read whole).
 */
int daemon_cmd(struct daemon_fx *fx, const char *cmd, char *reply, size_t len);

/* A persistent connection. */
struct dconn;

int dconn_open(struct daemon_fx *fx, struct dconn **cp);
/* Same, but the connect itself may fail (its -errno, nothing printed). */
int dconn_try_open(const char *sock, struct dconn **cp);
void dconn_close(struct dconn *c);
int dconn_fd(struct dconn *c);
/* Sends bytes as they are; bounded by timeout_ms. 0 or -errno. */
int dconn_write(struct dconn *c, const void *buf, size_t len, unsigned int timeout_ms);
/* Sends one command line (a newline added). */
int dconn_send(struct dconn *c, const char *cmd);
/* The next reply (as daemon_cmd); its length or -errno. */
int dconn_reply(struct dconn *c, char *reply, size_t len, unsigned int timeout_ms);
/* The next line, without its newline: its length, -ETIMEDOUT, -ECONNRESET. */
int dconn_line(struct dconn *c, char *line, size_t len, unsigned int timeout_ms);
/* Waits for the daemon to close: 0, or -ETIMEDOUT.  Discards what comes. */
int dconn_wait_eof(struct dconn *c, unsigned int timeout_ms);
/* Reads and discards what has come: 0, or -ECONNRESET once it ended. */
int dconn_drain(struct dconn *c);
/* send + reply in one go: its length or -errno. */
int dconn_cmd(struct dconn *c, const char *cmd, char *reply, size_t len,
	      unsigned int timeout_ms);

/* --- parsing replies ----------------------------------------------------- */

/* The string value of "key" in a flat JSON object (unescaped): true if found. */
bool json_str(const char *obj, const char *key, char *out, size_t len);
/* The integer value of "key": true if found and an integer. */
bool json_int(const char *obj, const char *key, long long *v);
/* The object {"dev":"DEV",...} of a `show paths json` reply, copied. */
bool json_path(const char *paths, const char *dev, char *obj, size_t len);
/* s begins with prefix. */
bool starts_with(const char *s, const char *prefix);
/* How many times needle occurs in s. */
unsigned int count_str(const char *s, const char *needle);
/* "key   value" lines (`show stats`): true if the key has a number. */
bool kv_u64(const char *text, const char *key, uint64_t *v);

/* The mode pathsim gives path i now ("up", "hung", "flaky:0.5"...), read
 * from its control table: 0 or -errno. */
int dfx_sim_mode(struct pathsim *sim, unsigned int i, char *mode, size_t len);

/* Slack added to the timing bounds of the spec: scheduling noise, larger
 * under sanitizers (the daemon is instrumented too). */
unsigned int daemon_slack_ms(void);

#endif
