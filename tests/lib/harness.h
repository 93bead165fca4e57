/* SPDX-License-Identifier: MIT */
/*
 * The test harness: one CUnit suite per test file, skip as a real outcome.
 *
 *	static void test_x(void) { ... CU_ASSERT(...); }
 *	int main(int argc, char **argv)
 *	{
 *		static const struct pc_test tests[] = {
 *			{ "x", test_x }, { NULL, NULL } };
 *		return pc_test_main("feature", tests, argc, argv);
 *	}
 *
 * A test that cannot run here calls PC_SKIP("why") before asserting
 * anything; it is reported as skipped, never as passed.  The last line of
 * output is "<file>: P passed, F failed, S skipped".  Exit status: 0 all
 * ran and passed, 1 a failure, 77 everything skipped.
 * argv[1], if given, runs only the test of that name.
 */
#ifndef PC_TEST_HARNESS_H
#define PC_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct pc_test {
	const char *name;
	void (*fn)(void);
};

int pc_test_main(const char *suite, const struct pc_test *tests,
		 int argc, char **argv);

/* pc_test_main with a 1 MiB scratch file made first (its path in file)
 * and removed after. */
int pc_test_main_file(const char *suite, const struct pc_test *tests,
		      int argc, char **argv, char *file, size_t len);

void pc_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define PC_SKIP(...) do { pc_test_skip(__VA_ARGS__); return; } while (0)

/* Setup that must work, or the test fails here with the reason. */
#define PC_REQUIRE(cond) do { \
	if (!(cond)) { CU_FAIL_FATAL(#cond); return; } } while (0)

uint64_t pc_test_now_ms(void);
uint64_t pc_test_now_us(void);
void pc_test_sleep_ms(unsigned int ms);
/* Waits until *flag is non-zero or ms pass; returns *flag. */
int pc_test_wait_flag(atomic_int *flag, unsigned int ms);
/* A pc_options.log that says nothing, for tests that provoke errors. */
void pc_test_log_quiet(void *arg, int priority, const char *msg);

/* Why root-only things cannot run here, or NULL. */
const char *pc_test_need_root(void);

/* The directory for the tests' files: $TMPDIR when set and short enough
 * for a unix socket's path below it (under 60 bytes), else /tmp. */
const char *pc_test_tmpdir(void);

/* A fresh directory pc_test_tmpdir()/NAME.XXXXXX, its path in buf:
 * 0 or -errno (-ENAMETOOLONG when buf is too small). */
int pc_test_mkdtemp(char *buf, size_t len, const char *name);

/* A temporary file of size bytes under pc_test_tmpdir(), its path in buf.
 * Returns an fd open O_RDWR, or -errno. */
int pc_test_tmpfile(char *buf, size_t len, off_t size);

/* Attaches a loop device over file with the given logical block size
 * (0: default); its path in dev.  Returns 0 or -errno. */
int pc_test_loop_attach(const char *file, unsigned int blksize,
			char *dev, size_t len);
int pc_test_loop_detach(const char *dev);

/*
 * One of the project's programs run by a test (argv[0] is its path), its
 * stdout and stderr captured into the caller's buffers (NUL-terminated;
 * what does not fit is read and dropped).  Killed with its process group
 * at limit_ms.  Returns 0 once it has exited, or -errno if it could not run.
 */
struct pc_test_run {
	const char *const *argv;
	char *const *envp;	/* NULL: this process's environment */
	const char *input;	/* its stdin; NULL: empty */
	unsigned int term_ms;	/* SIGTERM this long after the start; 0: never */
	unsigned int limit_ms;	/* SIGKILL after this; 0: 60 s */
	char *out, *err;
	size_t out_cap, err_cap;
	/* results */
	int status;		/* exit status, or -1 when a signal ended it */
	int sig;		/* that signal, or 0 */
	bool timed_out;		/* killed at limit_ms */
	uint64_t ms;		/* start to exit */
	size_t nout, nerr;
};
int pc_test_run(struct pc_test_run *r);

/*
 * Runs child NAME of the calling test in a fresh process (this binary
 * again, with PC_TEST_CHILD=NAME and FILE in PC_TEST_FILE), killed at
 * limit_ms: its exit status (printed with its stderr when not 0), -1 when
 * it was killed, or -errno if it could not run.  A fresh process rather
 * than a fork of a threaded one, which ThreadSanitizer cannot follow once
 * the child starts threads.
 */
int pc_test_run_child(const char *name, const char *file, unsigned int limit_ms);

/* Waits at most ms for child pid: its exit status, 128 + signal,
 * -ETIMEDOUT (still running) or -errno. */
int pc_test_wait_exit(pid_t pid, unsigned int ms);

/* The whole file, NUL-terminated, malloc'd (length in *lenp if not NULL);
 * NULL with errno set on failure. */
char *pc_test_read_file(const char *path, size_t *lenp);

/* This process's virtual size in bytes (/proc/self/statm), 0 if unknown:
 * where an RLIMIT_AS at it makes the next mapping fail. */
unsigned long pc_test_vm_size(void);

/* Leaves no descriptor number free: the soft RLIMIT_NOFILE becomes the
 * lowest free number, so the next open(), dup() or eventfd() fails
 * EMFILE; the limit before goes to *saved, for setrlimit() after.  0 or
 * -errno. */
int pc_test_no_fds_left(struct rlimit *saved);

/* One write(2) of text to path (which must exist): 0 or -errno. */
int pc_test_write_file(const char *path, const char *text);

/* Whether dir is a mount point in /proc/self/mounts (true when unreadable). */
bool pc_test_is_mounted(const char *dir);

/* Every byte of buf is zero. */
bool pc_test_all_zero(const char *buf, size_t len);

/* The next number of a seeded pseudo-random sequence (splitmix64). */
uint64_t pc_test_rand(uint64_t *state);

#endif
