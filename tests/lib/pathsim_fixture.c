/* SPDX-License-Identifier: MIT */
/*
 * The pathsim test fixture: one pathsim process per struct pathsim, driven
 * through MOUNTPOINT/control.  See pathsim_fixture.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "harness.h"
#include "pathsim_fixture.h"

#define PATHSIM_READY_MS	10000
#define PATHSIM_STOP_MS		5000
#define PATHSIM_EXIT_NOMOUNT	3

struct pathsim {
	pid_t pid;
	pid_t owner;		/* only this process may stop it */
	unsigned int n;
	unsigned int flags;
	char dir[PATH_MAX];	/* the mount point */
	char control[PATH_MAX + 16];
	char *files;		/* n names, stride bytes apart */
	size_t stride;
	char **devs;		/* loop devices, with PATHSIM_LOOP */
	struct pathsim *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pathsim *registry;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;
static __thread char why_buf[PATH_MAX + 128];

static void registry_add(struct pathsim *sim)
{
	pthread_mutex_lock(&registry_lock);
	sim->next = registry;
	registry = sim;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct pathsim *sim)
{
	struct pathsim **pp;

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == sim) {
			*pp = sim->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* Takes one sim of this process off the registry, or NULL. */
static struct pathsim *registry_take_own(void)
{
	struct pathsim **pp, *sim = NULL;
	pid_t self = getpid();

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if ((*pp)->owner == self) {
			sim = *pp;
			*pp = sim->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return sim;
}

static void pathsim_atexit(void)
{
	struct pathsim *sim;

	while ((sim = registry_take_own()))
		pathsim_stop(sim);
}

static void register_atexit(void)
{
	atexit(pathsim_atexit);
}

static const char *why_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *why_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	return why_buf;
}

static const char *pathsim_binary(char *buf, size_t len)
{
	const char *dir = getenv("PC_BUILD_DIR");

	snprintf(buf, len, "%s/pathsim", dir && *dir ? dir : "build");
	return buf;
}

/* Why this cannot run here (and *err), or NULL. */
static const char *pathsim_missing(const char *bin, unsigned int flags,
				   int *err)
{
	if (access("/dev/fuse", R_OK | W_OK)) {
		*err = -ENODEV;
		return why_set("pathsim: no usable /dev/fuse (%s)",
			       strerror(errno));
	}
	if ((flags & PATHSIM_LOOP) && geteuid() != 0) {
		*err = -EPERM;
		return why_set("pathsim: loop devices need root");
	}
	if ((flags & PATHSIM_LOOP) && access("/dev/loop-control", R_OK | W_OK)) {
		*err = -ENODEV;
		return why_set("pathsim: no usable /dev/loop-control (%s)",
			       strerror(errno));
	}
	if (access(bin, X_OK)) {
		*err = -ENOENT;
		return why_set("pathsim: no binary %s (make tools)", bin);
	}
	return NULL;
}

static struct pathsim *pathsim_alloc(unsigned int n, unsigned int flags)
{
	struct pathsim *sim = calloc(1, sizeof(*sim));

	if (!sim)
		return NULL;
	sim->pid = -1;
	sim->owner = getpid();
	sim->n = n;
	sim->flags = flags;
	if (pc_test_mkdtemp(sim->dir, sizeof(sim->dir), "pathsim")) {
		free(sim);
		return NULL;
	}
	snprintf(sim->control, sizeof(sim->control), "%s/control", sim->dir);
	sim->stride = strlen(sim->dir) + 16;
	sim->files = malloc((size_t)n * sim->stride);
	if (flags & PATHSIM_LOOP)
		sim->devs = calloc(n, sizeof(*sim->devs));
	if (!sim->files || ((flags & PATHSIM_LOOP) && !sim->devs)) {
		rmdir(sim->dir);
		free(sim->files);
		free(sim->devs);
		free(sim);
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(sim->files + i * sim->stride, sim->stride, "%s/p%u",
			 sim->dir, i);
	return sim;
}

static void pathsim_free(struct pathsim *sim)
{
	if (sim->devs)
		for (unsigned int i = 0; i < sim->n; i++)
			free(sim->devs[i]);
	free(sim->devs);
	free(sim->files);
	free(sim);
}

/* Everything the child needs is prepared before fork(). */
static int pathsim_spawn(struct pathsim *sim, const char *bin, int *outfd)
{
	char nbuf[16], pidbuf[16];
	char *argv[] = { (char *)bin, "--paths", nbuf, "--parent-watch",
			 pidbuf, NULL, NULL, NULL };
	pid_t parent = getpid();
	sigset_t none;
	int pfd[2];

	snprintf(nbuf, sizeof(nbuf), "%u", sim->n);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)parent);
	argv[5] = sim->flags & PATHSIM_LOOP ? "--loop" : sim->dir;
	argv[6] = sim->flags & PATHSIM_LOOP ? sim->dir : NULL;
	sigemptyset(&none);
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	sim->pid = fork();
	if (sim->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (sim->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	*outfd = pfd[0];
	return 0;
}

/* One line of pathsim's stdout: 1 at "ready", else 0 or -errno. */
static int pathsim_line(struct pathsim *sim, const char *line)
{
	unsigned int i;
	char dev[64];

	if (!strncmp(line, "ready ", 6))
		return 1;
	if (sscanf(line, "loop p%u %63s", &i, dev) == 2 && sim->devs &&
	    i < sim->n) {
		free(sim->devs[i]);
		sim->devs[i] = strdup(dev);
		return sim->devs[i] ? 0 : -ENOMEM;
	}
	fprintf(stderr, "pathsim fixture: unexpected output: %s\n", line);
	return -EPROTO;
}

/* Consumes the complete lines in buf; returns 1 once ready. */
static int pathsim_lines(struct pathsim *sim, char *buf, size_t *len)
{
	char *nl, *line = buf;
	int ret = 0;

	while (!ret && (nl = memchr(line, '\n', *len - (size_t)(line - buf)))) {
		*nl = '\0';
		ret = pathsim_line(sim, line);
		line = nl + 1;
	}
	*len -= (size_t)(line - buf);
	memmove(buf, line, *len);
	return ret;
}

/* 0 once ready, -EIO if pathsim ended first, -ETIMEDOUT. */
static int pathsim_wait_ready(struct pathsim *sim, int fd)
{
	uint64_t deadline = pc_test_now_ms() + PATHSIM_READY_MS;
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int ret = 0;

	while (!ret) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = pc_test_now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		len += (size_t)n;
		ret = pathsim_lines(sim, buf, &len);
		if (!ret && len == sizeof(buf) - 1)
			return -EPROTO;
	}
	return ret < 0 ? ret : 0;
}

/* Ends a pathsim that never became ready, and says why. */
static int pathsim_failed_start(struct pathsim *sim, int err,
				const char **why)
{
	int status;

	if (err == -ETIMEDOUT)
		kill(sim->pid, SIGTERM);
	status = pc_test_wait_exit(sim->pid, PATHSIM_STOP_MS);
	if (status == -ETIMEDOUT) {
		kill(sim->pid, SIGKILL);
		waitpid(sim->pid, NULL, 0);
	}
	umount2(sim->dir, MNT_DETACH);
	rmdir(sim->dir);
	if (status == PATHSIM_EXIT_NOMOUNT) {
		*why = why_set("pathsim: FUSE cannot be mounted here");
		return -ENODEV;
	}
	fprintf(stderr, "pathsim fixture: pathsim did not start (%s, "
		"status %d)\n", strerror(-err), status);
	return err;
}

int pathsim_start(struct pathsim **simp, unsigned int n, unsigned int flags,
		  const char **why)
{
	const char *dummy, *missing;
	char bin[PATH_MAX];
	struct pathsim *sim;
	int fd = -1, ret;

	if (!why)
		why = &dummy;
	*why = NULL;
	*simp = NULL;
	if (!n)
		return -EINVAL;
	pathsim_binary(bin, sizeof(bin));
	missing = pathsim_missing(bin, flags, &ret);
	if (missing) {
		*why = missing;
		return ret;
	}
	sim = pathsim_alloc(n, flags);
	if (!sim)
		return -ENOMEM;
	ret = pathsim_spawn(sim, bin, &fd);
	if (ret) {
		rmdir(sim->dir);
		pathsim_free(sim);
		return ret;
	}
	ret = pathsim_wait_ready(sim, fd);
	close(fd);
	if (ret) {
		ret = pathsim_failed_start(sim, ret, why);
		pathsim_free(sim);
		return ret;
	}
	pthread_once(&atexit_once, register_atexit);
	registry_add(sim);
	*simp = sim;
	return 0;
}

const char *pathsim_dev(struct pathsim *sim, unsigned int i)
{
	if (!sim || i >= sim->n)
		return NULL;
	if (sim->devs && sim->devs[i])
		return sim->devs[i];
	return pathsim_file(sim, i);
}

const char *pathsim_file(struct pathsim *sim, unsigned int i)
{
	if (!sim || i >= sim->n)
		return NULL;
	return sim->files + i * sim->stride;
}

const char *pathsim_mountpoint(struct pathsim *sim)
{
	return sim ? sim->dir : NULL;
}

pid_t pathsim_pid(struct pathsim *sim)
{
	return sim ? sim->pid : -1;
}

static int pathsim_command(struct pathsim *sim, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t n;
	int fd, ret;

	fd = open(sim->control, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, cmd, len);
	ret = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return ret;
}

int pathsim_set(struct pathsim *sim, const char *target, const char *mode)
{
	char cmd[256];
	int n;

	if (!sim || !target || !mode || strpbrk(target, " \t\r\n") ||
	    strpbrk(mode, " \t\r\n"))
		return -EINVAL;
	n = snprintf(cmd, sizeof(cmd), "set %s %s\n", target, mode);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -EINVAL;
	return pathsim_command(sim, cmd);
}

int pathsim_release(struct pathsim *sim)
{
	return sim ? pathsim_command(sim, "release\n") : -EINVAL;
}

int pathsim_reset(struct pathsim *sim)
{
	return sim ? pathsim_command(sim, "reset\n") : -EINVAL;
}

/* The whole control table, NUL-terminated; the caller frees it. */
static int pathsim_table(struct pathsim *sim, char **out)
{
	*out = pc_test_read_file(sim->control, NULL);
	return *out ? 0 : -errno;
}

int pathsim_counts(struct pathsim *sim, unsigned int i,
		   struct pathsim_counts *c)
{
	char *table = NULL, *line, key[16];
	size_t klen;
	int ret;

	if (!sim || !c || i >= sim->n)
		return -EINVAL;
	ret = pathsim_table(sim, &table);
	if (ret)
		return ret;
	klen = (size_t)snprintf(key, sizeof(key), "p%u ", i);
	ret = -ENOENT;
	for (line = table; line && *line; line = strchr(line, '\n'),
	     line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen))
			continue;
		if (sscanf(line + klen, "%*s reads=%lu ok=%lu failed=%lu "
			   "short=%lu hung=%lu", &c->reads, &c->ok, &c->failed,
			   &c->shortreads, &c->hung) == 5)
			ret = 0;
		else
			ret = -EPROTO;
		break;
	}
	free(table);
	return ret;
}

/* pathsim's exit status if it already ended, else -EBUSY. */
static int pathsim_ended(struct pathsim *sim)
{
	int status;
	pid_t r = waitpid(sim->pid, &status, WNOHANG);

	if (r < 0)
		return -ECHILD;		/* the caller reaped it */
	if (r == 0)
		return -EBUSY;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int pathsim_stop_status(struct pathsim *sim)
{
	int status = 0;

	if (!sim)
		return 0;
	registry_del(sim);
	if (sim->owner == getpid() && sim->pid > 0) {
		status = pathsim_ended(sim);
		if (status == -EBUSY) {
			pathsim_release(sim);
			kill(sim->pid, SIGTERM);
			status = pc_test_wait_exit(sim->pid, PATHSIM_STOP_MS);
		}
		if (status == -ETIMEDOUT) {
			fprintf(stderr, "pathsim fixture: pathsim %d did not "
				"exit, killing it\n", (int)sim->pid);
			kill(sim->pid, SIGKILL);
			waitpid(sim->pid, NULL, 0);
		}
		if (status != 0)
			umount2(sim->dir, MNT_DETACH);
		rmdir(sim->dir);
	}
	pathsim_free(sim);
	return status;
}

/* A pathsim that did not exit cleanly fails the test running now. */
void pathsim_stop(struct pathsim *sim)
{
	int status = pathsim_stop_status(sim);

	if (status == 0 || status == -ECHILD)
		return;
	fprintf(stderr, "pathsim fixture: pathsim exited with status %d\n",
		status);
	if (CU_is_test_running())
		CU_FAIL("pathsim did not exit cleanly");
}

int pathsim_mode(struct pathsim *sim, unsigned int i, char *mode, size_t len)
{
	char key[24];
	char *table;
	int ret = -ENOENT;

	table = pc_test_read_file(sim->control, NULL);
	if (!table)
		return -ENOMEM;
	snprintf(key, sizeof(key), "p%u ", i);
	for (char *line = table; line && *line;) {
		if (!strncmp(line, key, strlen(key))) {
			const char *m = line + strlen(key);
			size_t n = strcspn(m, " \n");

			snprintf(mode, len, "%.*s", (int)n, m);
			ret = 0;
			break;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	free(table);
	return ret;
}

struct pathsim *pathsim_start_or_skip(unsigned int n, unsigned int flags)
{
	struct pathsim *sim = NULL;
	const char *why = NULL;
	int ret = pathsim_start(&sim, n, flags, &why);

	if (ret && why)
		pc_test_skip("%s", why);
	else if (ret)
		CU_FAIL("pathsim did not start");
	return ret ? NULL : sim;
}
