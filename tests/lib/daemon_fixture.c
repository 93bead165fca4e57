/* SPDX-License-Identifier: MIT */
/* The pathcheckd test fixture.  See daemon_fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "daemon_fixture.h"
#include "harness.h"
#include "pathsim_fixture.h"

#define STOP_MS		10000		/* SIGTERM to exit, reads released */
#define KILL_MS		10000		/* SIGKILL to exit, reads released */
#define BUF_MAX		(64u << 20)	/* a reply larger than this is a bug */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
	(defined(PC_TSAN) && PC_TSAN)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct daemon_fx *registry;
static pthread_once_t once = PTHREAD_ONCE_INIT;

unsigned int daemon_slack_ms(void)
{
	return SANITIZED ? 1500 : 500;
}

/* A failure of the running test; outside one (atexit), just the message. */
static void fixture_fail(const char *what)
{
	printf("\n  daemon fixture: %s\n", what);
	if (CU_is_test_running())
		CU_FAIL(what);
}

/* --- registry ------------------------------------------------------------- */

static void registry_add(struct daemon_fx *fx)
{
	pthread_mutex_lock(&registry_lock);
	fx->next = registry;
	registry = fx;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct daemon_fx *fx)
{
	pthread_mutex_lock(&registry_lock);
	for (struct daemon_fx **pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == fx) {
			*pp = fx->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* A fixture of another test (or any, with all) still registered. */
static struct daemon_fx *registry_stale(CU_pTest current, bool all)
{
	struct daemon_fx *fx;

	pthread_mutex_lock(&registry_lock);
	for (fx = registry; fx; fx = fx->next)
		if (all || fx->test != (void *)current)
			break;
	pthread_mutex_unlock(&registry_lock);
	return fx;
}

static void at_exit(void)
{
	struct daemon_fx *fx;

	while ((fx = registry_stale(NULL, true)))
		daemon_fx_free(fx);
}

static void setup_once(void)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(at_exit);
}

/* --- files ------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* --- the fixture -------------------------------------------------------------- */

struct daemon_fx *daemon_fx_new(void)
{
	const char *b = getenv("PC_BUILD_DIR");
	char made[PATH_MAX], *real;
	struct daemon_fx *fx, *stale;

	pthread_once(&once, setup_once);
	/* A test that returned early leaves its daemon: end it now. */
	while ((stale = registry_stale(CU_get_current_test(), false)))
		daemon_fx_free(stale);
	fx = calloc(1, sizeof(*fx));
	if (fx) {
		fx->last_cap = 1u << 20;
		fx->last = calloc(1, fx->last_cap);
		if (!fx->last) {
			free(fx);
			fx = NULL;
		}
	}
	if (!fx) {
		fixture_fail("out of memory");
		return NULL;
	}
	fx->pid = -1;
	fx->status = -1;
	fx->reply_ms = 10000;
	fx->test = CU_get_current_test();
	snprintf(fx->bin, sizeof(fx->bin), "%s/pathcheckd", b && *b ? b : "build");
	if (access(fx->bin, X_OK)) {
		printf("\n  %s: %s\n", fx->bin, strerror(errno));
		fixture_fail("pathcheckd is not built (it is part of the build)");
		goto fail;
	}
	snprintf(made, sizeof(made), "%s/pcd.XXXXXX", pc_test_tmpdir());
	if (!mkdtemp(made)) {
		printf("\n  mkdtemp %s: %s\n", made, strerror(errno));
		fixture_fail("cannot make the temporary directory");
		goto fail;
	}
	real = realpath(made, NULL);
	if (!real || strlen(real) + 16 >= sizeof(fx->sock)) {
		free(real);
		rmdir(made);
		fixture_fail("temporary directory path too long for a socket");
		goto fail;
	}
	snprintf(fx->dir, sizeof(fx->dir), "%s", real);
	free(real);
	snprintf(fx->conf, sizeof(fx->conf), "%s/pathcheckd.conf", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/daemon.log", fx->dir);
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
	/* Fits: checked above. */
	memcpy(fx->sock, fx->dir, strlen(fx->dir));
	memcpy(fx->sock + strlen(fx->dir), "/ctl.sock", sizeof("/ctl.sock"));
	registry_add(fx);
	return fx;
fail:
	free(fx->last);
	free(fx);
	return NULL;
}

void daemon_fx_attach_sim(struct daemon_fx *fx, struct pathsim *sim)
{
	if (!fx || !sim || fx->nsims >= DAEMON_FX_MAX_SIMS)
		return;
	snprintf(fx->sim_control[fx->nsims++], PATH_MAX, "%s/control",
		 pathsim_mountpoint(sim));
}

struct daemon_fx *daemon_fx_new_sim(struct pathsim *sim)
{
	struct daemon_fx *fx = daemon_fx_new();

	daemon_fx_attach_sim(fx, sim);
	return fx;
}

/* By the control file's name: the sim may already be stopped and freed. */
void daemon_release_sims(struct daemon_fx *fx)
{
	for (unsigned int i = 0; i < fx->nsims; i++) {
		int fd = open(fx->sim_control[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (write_all(fd, "release\n", 8))
			printf("\n  daemon fixture: cannot release %s\n", fx->sim_control[i]);
		close(fd);
	}
}

void daemon_fx_free(struct daemon_fx *fx)
{
	if (!fx)
		return;
	registry_del(fx);
	if (fx->pid > 0 && daemon_exited(fx) == -EBUSY) {
		daemon_release_sims(fx);
		kill(fx->pid, SIGKILL);
		if (daemon_wait_exit(fx, KILL_MS) == -ETIMEDOUT)
			printf("\n  daemon fixture: pathcheckd %d does not die (hung reads?)\n",
			       (int)fx->pid);
	}
	if (fx->dir[0])
		nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->last);
	free(fx);
}

int daemon_config(struct daemon_fx *fx, const char *fmt, ...)
{
	char tmp[PATH_MAX + 8];
	char *text = NULL;
	va_list ap;
	int fd, ret, n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx->conf);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(text);
		return -errno;
	}
	ret = write_all(fd, text, (size_t)n);
	free(text);
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, fx->conf))
		ret = -errno;
	return ret;
}

int daemon_file(struct daemon_fx *fx, const char *name, off_t size, char *path, size_t len)
{
	char buf[PATH_MAX];
	int fd;

	snprintf(buf, sizeof(buf), "%s/%s", fx->dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (size && ftruncate(fd, size)) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	if (path)
		snprintf(path, len, "%s", buf);
	return 0;
}

/* --- the process ------------------------------------------------------------------ */

int daemon_exited(struct daemon_fx *fx)
{
	int status;
	pid_t r;

	if (fx->pid <= 0)
		return fx->status;
	r = waitpid(fx->pid, &status, WNOHANG);
	if (r == 0)
		return -EBUSY;
	if (r < 0)
		fx->status = -ECHILD;
	else
		fx->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fx->pid = -1;
	return fx->status;
}

int daemon_wait_exit(struct daemon_fx *fx, unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	int st;

	while ((st = daemon_exited(fx)) == -EBUSY) {
		if (pc_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pc_test_sleep_ms(5);
	}
	return st;
}

static pid_t spawn(struct daemon_fx *fx, const char *const *extra)
{
	/* Never the machine's state directory: holds stay in the test's. */
	const char *argv[32] = { fx->bin, "-f", "--log", "stderr", "-c", fx->conf,
				 "-s", fx->sock, "--state-dir", fx->state };
	int argc = 10, logfd, nullfd;
	pid_t parent = getpid(), pid;
	sigset_t none;

	if (fx->socket_in_config) {	/* drop "-s SOCK" */
		argv[6] = argv[8];
		argv[7] = argv[9];
		argc = 8;
	}

	for (; extra && *extra && argc < 31; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	logfd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		int err = -errno;

		if (logfd >= 0)
			close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		return err;
	}
	sigemptyset(&none);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(nullfd, STDIN_FILENO);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		/* Never outlive the test (the thread that forked: the main one). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	return pid < 0 ? -errno : pid;
}

/* Answers, and it is this daemon (not another one on the same socket). */
static int answers(struct daemon_fx *fx, unsigned int ms)
{
	struct dconn *c;
	char reply[1024], want[32];
	int ret = dconn_try_open(fx->sock, &c);

	if (ret)
		return ret;
	ret = dconn_cmd(c, "show daemon", reply, sizeof(reply), ms);
	dconn_close(c);
	if (ret < 0)
		return ret;
	snprintf(want, sizeof(want), "pid %d running\n", (int)fx->pid);
	return strncmp(reply, want, strlen(want)) ? -EPROTO : 0;
}

int daemon_start_args(struct daemon_fx *fx, const char *const *extra)
{
	unsigned int bound = SANITIZED ? 20000 : 5000;
	uint64_t t0 = pc_test_now_ms(), deadline = t0 + bound;
	int ret = -ETIMEDOUT;
	pid_t pid;

	if (fx->pid > 0) {
		fixture_fail("daemon_start: already running");
		return -EBUSY;
	}
	pid = spawn(fx, extra);
	if (pid < 0) {
		printf("\n  cannot start %s: %s\n", fx->bin, strerror(-pid));
		return pid;
	}
	fx->pid = pid;
	fx->status = -1;
	while (pc_test_now_ms() < deadline) {
		int st = daemon_exited(fx);

		if (st != -EBUSY) {
			printf("\n  pathcheckd exited with status %d at start-up\n", st);
			daemon_log_print(fx);
			return -ECHILD;
		}
		ret = answers(fx, (unsigned int)(deadline - pc_test_now_ms()));
		if (ret == 0)
			return 0;
		if (ret == -EPROTO) {
			printf("\n  another process answers on %s\n", fx->sock);
			break;
		}
		pc_test_sleep_ms(10);
	}
	printf("\n  pathcheckd did not answer on %s within %u ms (%s)\n", fx->sock,
	       bound, strerror(-ret));
	daemon_log_print(fx);
	daemon_release_sims(fx);
	kill(fx->pid, SIGKILL);
	daemon_wait_exit(fx, KILL_MS);
	return ret ? ret : -ETIMEDOUT;
}

int daemon_start(struct daemon_fx *fx, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	ret = daemon_config(fx, "%s", text);
	free(text);
	if (ret) {
		printf("\n  cannot write %s: %s\n", fx->conf, strerror(-ret));
		return ret;
	}
	return daemon_start_args(fx, NULL);
}

int daemon_stop(struct daemon_fx *fx)
{
	int st;

	if (fx->pid > 0 && daemon_exited(fx) == -EBUSY) {
		daemon_release_sims(fx);
		kill(fx->pid, SIGTERM);
		/* A hung path's next read may start between the release and
		 * the signal, and an exiting process waits in the kernel for
		 * its reads: release again until it is gone. */
		for (unsigned int waited = 0;; waited += 200) {
			st = daemon_wait_exit(fx, 200);
			if (st != -ETIMEDOUT || waited >= STOP_MS)
				break;
			daemon_release_sims(fx);
		}
		if (st == -ETIMEDOUT) {
			fixture_fail("pathcheckd did not exit within 10 s of SIGTERM");
			daemon_log_print(fx);
			kill(fx->pid, SIGKILL);
			daemon_wait_exit(fx, KILL_MS);
			return -ETIMEDOUT;
		}
	}
	st = fx->status;
	if (st != 0) {
		printf("\n  pathcheckd exit status %d\n", st);
		daemon_log_print(fx);
		fixture_fail("pathcheckd did not exit with status 0");
	}
	daemon_log_clean(fx);
	return st;
}

int daemon_wait_states(struct daemon_fx *fx, unsigned int n, const char *chk_st,
		       unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	size_t cap = 4096 + (size_t)n * 512;
	char *reply = malloc(cap), want[64];
	int ret = -ETIMEDOUT;

	if (!reply)
		return -ENOMEM;
	snprintf(want, sizeof(want), "\"chk_st\":\"%s\"", chk_st);
	for (;;) {
		int len = daemon_cmd(fx, "show paths json", reply, cap);

		if (len >= 0 && reply_count(reply, "{\"dev\":") == n &&
		    reply_count(reply, want) == n) {
			ret = 0;
			break;
		}
		if (pc_test_now_ms() >= deadline) {
			printf("\n  waited %u ms for %u paths %s; last reply: %.2000s\n", ms, n,
			       chk_st, len >= 0 ? reply : "(none)");
			break;
		}
		pc_test_sleep_ms(10);
	}
	free(reply);
	return ret;
}

/* Files f0..f{n-1} in a new fixture, with O_DIRECT checked; NULL after a
 * skip or a failure (already reported). */
/*
 * Through a wrapper script: the test could not raise its own hard limit
 * back (that takes CAP_SYS_RESOURCE, which root may lack in a container).
 */
int daemon_start_nofile(struct daemon_fx *fx, unsigned long long soft, unsigned long long hard,
			const char *conf)
{
	char wrap[PATH_MAX], real[PATH_MAX];
	FILE *f;
	int ret;

	snprintf(wrap, sizeof(wrap), "%s/nofile.sh", fx->dir);
	snprintf(real, sizeof(real), "%s", fx->bin);
	f = fopen(wrap, "we");
	if (!f)
		return -errno;
	fprintf(f, "#!/bin/sh\nulimit -Sn %llu && ulimit -Hn %llu && exec '%s' \"$@\"\n",
		soft, hard, real);
	if (fclose(f) || chmod(wrap, 0755))
		return -errno;
	ret = daemon_config(fx, "%s", conf);
	if (ret)
		return ret;
	snprintf(fx->bin, sizeof(fx->bin), "%s", wrap);
	ret = daemon_start_args(fx, NULL);
	snprintf(fx->bin, sizeof(fx->bin), "%s", real);
	return ret;
}

struct daemon_fx *daemon_fx_files(unsigned int n)
{
	struct daemon_fx *fx = daemon_fx_new();
	char path[PATH_MAX], name[16];
	int fd;

	if (!fx)
		return NULL;
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (daemon_file(fx, name, 1 << 20, path, sizeof(path))) {
			CU_FAIL("cannot make the path files");
			daemon_fx_free(fx);
			return NULL;
		}
	}
	snprintf(path, sizeof(path), "%s/f0", fx->dir);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (n && fd < 0 && errno == EINVAL) {
		pc_test_skip("%s does not take O_DIRECT", fx->dir);
		daemon_fx_free(fx);
		return NULL;
	}
	if (fd >= 0)
		close(fd);
	return fx;
}

struct daemon_fx *daemon_fx_ready_files(unsigned int n, const char *extra)
{
	struct daemon_fx *fx = daemon_fx_files(n);

	if (!fx)
		return NULL;
	if (daemon_start(fx, "interval %ums\ntimeout 2s\nsocket_mode 0666\n%spath %s/f*\n",
			 DAEMON_FX_INTERVAL_MS, extra ? extra : "", fx->dir) ||
	    daemon_wait_states(fx, n, "ready", 2 * DAEMON_FX_INTERVAL_MS + daemon_slack_ms())) {
		CU_FAIL("daemon start, or its paths did not become ready within 2 intervals");
		daemon_fx_free(fx);
		return NULL;
	}
	return fx;
}

void daemon_fx_finish(struct daemon_fx *fx)
{
	daemon_stop(fx);
	daemon_fx_free(fx);
}
