/* SPDX-License-Identifier: MIT */
/* Probes of a running pathsim, and pathsim run as a command: pathsim_probe.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aio_reader.h"
#include "harness.h"
#include "pathsim_fixture.h"
#include "pathsim_probe.h"

/*
 * One read of AIO_READER_BLK at off; its result in *res and its latency in *ms.
 * Returns 0, or -ETIMEDOUT after releasing the sim so nothing is left.
 */
int pathsim_read_once(struct pathsim *sim, const char *path, unsigned int ms,
		     long *res, uint64_t *lat_ms, bool *zeros)
{
	struct aio_reader r;
	struct io_event ev;
	uint64_t t0;
	int ret;

	ret = aio_reader_open(&r, path, 1, PATHSIM_SIZE);
	if (ret) {
		aio_reader_close(&r);
		return ret;
	}
	t0 = pc_test_now_ms();
	if (aio_reader_submit(&r, 1) != 1) {
		aio_reader_close(&r);
		return -EIO;
	}
	if (aio_reader_wait(&r, 1, &ev, ms) != 1) {
		pathsim_release(sim);
		aio_reader_wait(&r, 1, &ev, 5000);
		aio_reader_close(&r);
		return -ETIMEDOUT;
	}
	*res = (long)ev.res;
	if (lat_ms)
		*lat_ms = pc_test_now_ms() - t0;
	if (zeros)
		*zeros = *res > 0 && pc_test_all_zero(r.bufs, (size_t)*res);
	aio_reader_close(&r);
	return 0;
}

bool pathsim_counts_are(struct pathsim *sim, unsigned int i, unsigned long reads,
		       unsigned long ok, unsigned long failed,
		       unsigned long shortreads, unsigned long hung)
{
	struct pathsim_counts c;

	if (pathsim_counts(sim, i, &c))
		return false;
	if (c.reads == reads && c.ok == ok && c.failed == failed &&
	    c.shortreads == shortreads && c.hung == hung)
		return true;
	printf("\n  p%u: reads=%lu ok=%lu failed=%lu short=%lu hung=%lu, "
	       "expected %lu %lu %lu %lu %lu\n", i, c.reads, c.ok, c.failed,
	       c.shortreads, c.hung, reads, ok, failed, shortreads, hung);
	return false;
}

/* Waits up to ms for path i to hold n hung reads. */
bool pathsim_wait_hung(struct pathsim *sim, unsigned int i, unsigned long n,
		      unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	struct pathsim_counts c;

	do {
		if (!pathsim_counts(sim, i, &c) && c.hung == n)
			return true;
		pc_test_sleep_ms(5);
	} while (pc_test_now_ms() < deadline);
	return false;
}

char *pathsim_table(struct pathsim *sim)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
	return pc_test_read_file(path, NULL);
}

/* The mode column of path i in a control table. */
bool pathsim_table_mode_is(const char *table, unsigned int i, const char *mode)
{
	char key[24], got[64];
	const char *line;

	snprintf(key, sizeof(key), "\np%u ", i);
	line = strstr(table, key);
	if (!line || sscanf(line + strlen(key), "%63s", got) != 1)
		return false;
	if (strcmp(got, mode)) {
		printf("\n  p%u is %s, expected %s\n", i, got, mode);
		return false;
	}
	return true;
}

int pathsim_control_write(struct pathsim *sim, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
	return pc_test_write_file(path, text);
}

const char *pathsim_bin(void)
{
	static char bin[PATH_MAX];
	const char *dir = getenv("PC_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/pathsim", dir && *dir ? dir : "build");
	return bin;
}

/* Runs pathsim with argv (argv[0] ignored); stdout into out; status. */
int pathsim_run(char **argv, char *out, size_t len, pid_t *pidp)
{
	int pfd[2], devnull, status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	argv[0] = (char *)pathsim_bin();
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(pfd[1], 1);
		dup2(devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (pidp) {		/* a server: the caller reads "ready" */
		*pidp = pid;
		return pfd[0];
	}
	while (used + 1 < len && (n = read(pfd[0], out + used,
					   len - 1 - used)) > 0)
		used += (size_t)n;
	if (len)
		out[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -ECHILD;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads a server's stdout until "ready"; true when it came in time. */
bool pathsim_read_ready(int fd, unsigned int ms)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (len + 1 < sizeof(buf) && poll(&pfd, 1, (int)ms) == 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "ready "))
			return true;
	}
	return false;
}

bool pathsim_skip_without_fuse(void)
{
	if (access("/dev/fuse", R_OK | W_OK) == 0 &&
	    access(pathsim_bin(), X_OK) == 0)
		return false;
	pc_test_skip("needs /dev/fuse and %s", pathsim_bin());
	return true;
}
