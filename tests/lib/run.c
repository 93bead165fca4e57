/* SPDX-License-Identifier: MIT */
/* Running one of the project's programs from a test, output captured. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Reads what is there; past cap, reads into a sink.  Closes on EOF. */
static void drain(int *fd, char *buf, size_t *len, size_t cap)
{
	char sink[4096];
	ssize_t n;

	if (*len + 1 < cap)
		n = read(*fd, buf + *len, cap - 1 - *len);
	else
		n = read(*fd, sink, sizeof(sink));
	if (n > 0 && *len + 1 < cap)
		*len += (size_t)n;
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
	buf[*len] = '\0';
}

static pid_t spawn(const struct pc_test_run *r, int in[2], int out[2], int err[2])
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);	/* killed as a group at the time limit */
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (r->envp)
			execve(r->argv[0], (char *const *)r->argv, r->envp);
		else
			execv(r->argv[0], (char *const *)r->argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	return pid;
}

static void feed(int fd, const char *input)
{
	size_t len = input ? strlen(input) : 0;

	if (len && write(fd, input, len) != (ssize_t)len)
		fprintf(stderr, "  (short write of the input)\n");
	close(fd);
}

static int pipes(int in[2], int out[2], int err[2])
{
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(out, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	if (pipe2(err, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	return 0;
}

/* Collects both outputs until EOF on both or the time limit. */
static void collect(struct pc_test_run *r, pid_t pid, int out, int err, uint64_t t0)
{
	unsigned int limit = r->limit_ms ? r->limit_ms : 60000;
	bool termed = false;

	while (out >= 0 || err >= 0) {
		struct pollfd pfd[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
		uint64_t t = pc_test_now_ms() - t0;

		if (r->term_ms && !termed && t >= r->term_ms) {
			kill(pid, SIGTERM);
			termed = true;
		}
		if (t >= limit) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, 20) <= 0)
			continue;
		if (pfd[0].revents)
			drain(&out, r->out, &r->nout, r->out_cap);
		if (pfd[1].revents)
			drain(&err, r->err, &r->nerr, r->err_cap);
	}
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
}

int pc_test_run(struct pc_test_run *r)
{
	int in[2], out[2], err[2], status, ret;
	uint64_t t0;
	pid_t pid;

	r->status = -1;
	r->sig = 0;
	r->timed_out = false;
	r->nout = r->nerr = 0;
	r->out[0] = r->err[0] = '\0';
	ret = pipes(in, out, err);
	if (ret)
		return ret;
	fflush(NULL);
	t0 = pc_test_now_ms();
	pid = spawn(r, in, out, err);
	if (pid < 0) {
		ret = -errno;
		close(in[1]);
		close(out[0]);
		close(err[0]);
		return ret;
	}
	feed(in[1], r->input);
	collect(r, pid, out[0], err[0], t0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	r->ms = pc_test_now_ms() - t0;
	if (WIFEXITED(status))
		r->status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->sig = WTERMSIG(status);
	return 0;
}

int pc_test_wait_exit(pid_t pid, unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (pc_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pc_test_sleep_ms(5);
	}
}

char *pc_test_read_file(const char *path, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (!buf || len == cap) {
			size_t want = buf ? cap * 2 : cap;
			char *p = realloc(buf, want + 1);

			if (!p) {
				err = ENOMEM;
				break;
			}
			buf = p;
			cap = want;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

int pc_test_run_child(const char *name, const char *file, unsigned int limit_ms)
{
	const char *argv[] = { "/proc/self/exe", NULL };
	char out[4096], err[4096];
	struct pc_test_run r = {
		.argv = argv, .limit_ms = limit_ms,
		.out = out, .err = err,
		.out_cap = sizeof(out), .err_cap = sizeof(err),
	};
	int rc;

	setenv("PC_TEST_CHILD", name, 1);
	setenv("PC_TEST_FILE", file, 1);
	rc = pc_test_run(&r);
	unsetenv("PC_TEST_CHILD");
	unsetenv("PC_TEST_FILE");
	if (rc)
		return rc;
	if (r.timed_out || r.status < 0) {
		fprintf(stderr, "child %s: %s (signal %d)\n%s", name,
			r.timed_out ? "hung, killed" : "killed", r.sig, err);
		return -1;
	}
	if (r.status)
		fprintf(stderr, "child %s: step %d failed\n%s", name, r.status, err);
	return r.status;
}

unsigned long pc_test_vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}
