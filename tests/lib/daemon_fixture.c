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

struct dconn {
	int fd;
	char *buf;		/* received and not yet consumed */
	size_t len, cap;
	bool eof;
};

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

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	/* The socket's path must fit in sun_path. */
	return t && *t && strlen(t) < 60 ? t : "/tmp";
}

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
		free(fx);
		return NULL;
	}
	snprintf(made, sizeof(made), "%s/pcd.XXXXXX", tmp_base());
	if (!mkdtemp(made)) {
		printf("\n  mkdtemp %s: %s\n", made, strerror(errno));
		fixture_fail("cannot make the temporary directory");
		free(fx);
		return NULL;
	}
	real = realpath(made, NULL);
	if (!real || strlen(real) + 16 >= sizeof(fx->sock)) {
		free(real);
		rmdir(made);
		fixture_fail("temporary directory path too long for a socket");
		free(fx);
		return NULL;
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
}

void daemon_fx_attach_sim(struct daemon_fx *fx, struct pathsim *sim)
{
	if (!fx || !sim || fx->nsims >= DFX_MAX_SIMS)
		return;
	snprintf(fx->sim_control[fx->nsims++], PATH_MAX, "%s/control",
		 pathsim_mountpoint(sim));
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
		st = daemon_wait_exit(fx, STOP_MS);
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

		if (len >= 0 && count_str(reply, "{\"dev\":") == n &&
		    count_str(reply, want) == n) {
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

/* --- the log ------------------------------------------------------------------ */

char *daemon_log(struct daemon_fx *fx)
{
	char *s = pc_test_read_file(fx->log, NULL);

	return s ? s : strdup("");
}

int daemon_log_wait(struct daemon_fx *fx, const char *needle, unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;

	for (;;) {
		char *log = daemon_log(fx);
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return 0;
		if (pc_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		pc_test_sleep_ms(5);
	}
}

unsigned int daemon_log_count(struct daemon_fx *fx, const char *needle)
{
	char *log = daemon_log(fx);
	unsigned int n = 0;

	for (char *line = log; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		n += strstr(line, needle) != NULL;
		line = nl ? nl + 1 : NULL;
	}
	free(log);
	return n;
}

bool daemon_log_clean(struct daemon_fx *fx)
{
	static const char *const bad[] = {
		"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
		"UndefinedBehaviorSanitizer", "runtime error:", "SUMMARY: ",
	};
	char *log = daemon_log(fx);
	bool clean = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) && clean; i++)
		clean = !strstr(log, bad[i]);
	if (!clean) {
		printf("\n  pathcheckd's log has a sanitizer report:\n%s\n", log);
		fixture_fail("sanitizer report in pathcheckd's log");
	}
	free(log);
	return clean;
}

void daemon_log_print(struct daemon_fx *fx)
{
	size_t len;
	char *log = pc_test_read_file(fx->log, &len);
	const size_t tail = 6000;

	if (!log)
		return;
	printf("\n  --- %s%s ---\n%s\n  ---\n", fx->log, len > tail ? " (end)" : "",
	       len > tail ? log + len - tail : log);
	free(log);
}

/* --- connections ----------------------------------------------------------------- */

int dconn_try_open(const char *sock, struct dconn **cp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	struct dconn *c;
	int fd;

	*cp = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A full backlog makes connect wait, at most this long. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	*cp = c;
	return 0;
}

int dconn_open(struct daemon_fx *fx, struct dconn **cp)
{
	int ret = dconn_try_open(fx->sock, cp);

	if (ret)
		printf("\n  connect %s: %s\n", fx->sock, strerror(-ret));
	return ret;
}

void dconn_close(struct dconn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int dconn_fd(struct dconn *c)
{
	return c->fd;
}

/* Reads what is there: 1 read some, 0 nothing now, -ECONNRESET at EOF. */
static int dconn_take(struct dconn *c)
{
	int got = 0;

	while (!c->eof) {
		ssize_t n;

		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *p;

			if (cap > BUF_MAX)
				return -EMSGSIZE;
			p = realloc(c->buf, cap + 1);
			if (!p)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			got = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return got;
		c->eof = true;	/* EOF, or reset: both end the stream */
	}
	return got ? 1 : -ECONNRESET;
}

/* Waits until more arrives: 1, -ETIMEDOUT, -ECONNRESET. */
static int dconn_fill(struct dconn *c, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		uint64_t now = pc_test_now_ms();
		int ret = dconn_take(c);

		if (ret)
			return ret;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
	}
}

static void dconn_consume(struct dconn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	c->buf[c->len] = '\0';
}

int dconn_write(struct dconn *c, const void *buf, size_t len, unsigned int timeout_ms)
{
	uint64_t deadline = pc_test_now_ms() + timeout_ms;
	const char *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT | POLLIN };
		uint64_t now;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		now = pc_test_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Take replies meanwhile: the daemon reads no more while its
		 * output to us piles up. */
		if (poll(&pfd, 1, (int)(deadline - now)) > 0 && (pfd.revents & POLLIN))
			dconn_take(c);
	}
	return 0;
}

int dconn_send(struct dconn *c, const char *cmd)
{
	size_t n = strlen(cmd);
	char *line = malloc(n + 2);
	int ret;

	if (!line)
		return -ENOMEM;
	memcpy(line, cmd, n);
	line[n] = '\n';
	ret = dconn_write(c, line, n + 1, 10000);
	free(line);
	return ret;
}

/* The end of the first reply in the buffer (just past its empty line). */
static size_t reply_end(const struct dconn *c)
{
	char *e;

	if (c->len && c->buf[0] == '\n')
		return 1;
	e = c->len ? memmem(c->buf, c->len, "\n\n", 2) : NULL;
	return e ? (size_t)(e - c->buf) + 2 : 0;
}

int dconn_reply(struct dconn *c, char *reply, size_t len, unsigned int timeout_ms)
{
	uint64_t deadline = pc_test_now_ms() + timeout_ms;
	size_t end, body;

	while (!(end = reply_end(c))) {
		int ret = dconn_fill(c, deadline);

		if (ret < 0) {
			if (len)
				snprintf(reply, len, "%.*s", (int)c->len, c->buf ? c->buf : "");
			return ret;
		}
	}
	body = end - 1;		/* without the empty line */
	if (len)
		snprintf(reply, len, "%.*s", (int)body, c->buf);
	dconn_consume(c, end);
	return body < len ? (int)body : -EMSGSIZE;
}

int dconn_line(struct dconn *c, char *line, size_t len, unsigned int timeout_ms)
{
	uint64_t deadline = pc_test_now_ms() + timeout_ms;
	char *nl;
	size_t n;

	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		int ret = dconn_fill(c, deadline);

		if (ret < 0)
			return ret;
	}
	n = (size_t)(nl - c->buf);
	if (len)
		snprintf(line, len, "%.*s", (int)n, c->buf);
	dconn_consume(c, n + 1);
	return n < len ? (int)n : -EMSGSIZE;
}

int dconn_wait_eof(struct dconn *c, unsigned int timeout_ms)
{
	uint64_t deadline = pc_test_now_ms() + timeout_ms;

	for (;;) {
		int ret = dconn_fill(c, deadline);

		c->len = 0;
		if (ret == -ECONNRESET)
			return 0;
		if (ret < 0)
			return ret;
	}
}

int dconn_drain(struct dconn *c)
{
	int ret = dconn_take(c);

	c->len = 0;
	return ret == -ECONNRESET ? ret : 0;
}

int dconn_cmd(struct dconn *c, const char *cmd, char *reply, size_t len,
	      unsigned int timeout_ms)
{
	int ret = dconn_send(c, cmd);

	return ret ? ret : dconn_reply(c, reply, len, timeout_ms);
}

int daemon_cmd(struct daemon_fx *fx, const char *cmd, char *reply, size_t len)
{
	struct dconn *c;
	int ret = dconn_open(fx, &c);

	if (ret) {
		if (len)
			reply[0] = '\0';
		return ret;
	}
	ret = dconn_cmd(c, cmd, reply, len, fx->reply_ms);
	if (ret < 0 && ret != -EMSGSIZE)
		printf("\n  '%s': %s; got so far: '%.200s'\n", cmd, strerror(-ret),
		       len ? reply : "");
	dconn_close(c);
	return ret;
}

/* --- parsing -------------------------------------------------------------------- */

bool json_str(const char *obj, const char *key, char *out, size_t len)
{
	char pat[128];
	const char *p;
	size_t o = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(obj, pat);
	if (!p || !len)
		return false;
	for (p += strlen(pat); *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				unsigned int u = 0;

				if (sscanf(p + 1, "%4x", &u) != 1)
					return false;
				ch = (char)u;
				p += 4;
				break;
			}
			case '\0': return false;
			default: ch = *p; break;
			}
		}
		if (o + 1 < len)
			out[o++] = ch;
	}
	out[o] = '\0';
	return *p == '"';
}

bool json_int(const char *obj, const char *key, long long *v)
{
	char pat[128], *end;
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (!(*p == '-' || (*p >= '0' && *p <= '9')))
		return false;
	errno = 0;
	*v = strtoll(p, &end, 10);
	return !errno && (*end == ',' || *end == '}' || *end == ']');
}

bool json_path(const char *paths, const char *dev, char *obj, size_t len)
{
	char pat[256];
	const char *p, *q;
	bool in_str = false;

	snprintf(pat, sizeof(pat), "{\"dev\":\"%s\"", dev);
	p = strstr(paths, pat);
	if (!p)
		return false;
	for (q = p; *q; q++) {
		if (in_str && *q == '\\' && q[1]) {
			q++;
			continue;
		}
		if (*q == '"')
			in_str = !in_str;
		else if (!in_str && *q == '}')
			break;
	}
	if (*q != '}')
		return false;
	snprintf(obj, len, "%.*s", (int)(q - p + 1), p);
	return (size_t)(q - p + 1) < len;
}

bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

unsigned int count_str(const char *s, const char *needle)
{
	unsigned int n = 0;
	size_t l = strlen(needle);

	for (const char *p = s; l && (p = strstr(p, needle)); p += l)
		n++;
	return n;
}

bool kv_u64(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);

	for (const char *line = text; line && *line;) {
		if (!strncmp(line, key, kl) && (line[kl] == ' ' || line[kl] == '\t')) {
			const char *p = line + kl;
			char *end;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return false;
			*v = strtoull(p, &end, 10);
			return *end == '\n' || *end == '\0';
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

int dfx_sim_mode(struct pathsim *sim, unsigned int i, char *mode, size_t len)
{
	char path[PATH_MAX], key[24];
	char *table;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "%s/control", pathsim_mountpoint(sim));
	table = pc_test_read_file(path, NULL);
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

/* Files f0..f{n-1} in a new fixture, with O_DIRECT checked; NULL after a
 * skip or a failure (already reported). */
struct daemon_fx *daemon_files_fx(unsigned int n)
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
