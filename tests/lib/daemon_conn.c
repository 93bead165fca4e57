/* SPDX-License-Identifier: MIT */
/* Connections to the daemon under test: see daemon_conn.h. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "daemon_conn.h"
#include "daemon_fixture.h"
#include "harness.h"
#include "reply.h"

#define BUF_MAX		(64u << 20)	/* a reply larger than this is a bug */

struct dconn {
	int fd;
	char *buf;		/* received and not yet consumed */
	size_t len, cap;
	bool eof;
};

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

bool daemon_reply_is(struct daemon_fx *fx, const char *cmd, const char *want)
{
	int n = daemon_cmd(fx, cmd, fx->last, fx->last_cap);

	if (n >= 0 && !strcmp(fx->last, want))
		return true;
	printf("\n  '%s': wanted '%s', got (%d) '%s'\n", cmd, want, n, fx->last);
	return false;
}

bool daemon_reply_starts(struct daemon_fx *fx, const char *cmd, const char *want)
{
	int n = daemon_cmd(fx, cmd, fx->last, fx->last_cap);

	if (n >= 0 && !strncmp(fx->last, want, strlen(want)))
		return true;
	printf("\n  '%s': wanted '%s...', got (%d) '%s'\n", cmd, want, n, fx->last);
	return false;
}

long long daemon_path_int(struct daemon_fx *fx, const char *dev, const char *key)
{
	char cmd[PATH_MAX + 32];
	long long v = -1;

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	if (daemon_cmd(fx, cmd, fx->last, fx->last_cap) < 0 || !reply_json_int(fx->last, key, &v))
		printf("\n  %s: no %s in '%s'\n", dev, key, fx->last);
	return v;
}

bool daemon_path_str(struct daemon_fx *fx, const char *dev, const char *key,
		     char *out, size_t len)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "show path %s json", dev);
	return daemon_cmd(fx, cmd, fx->last, fx->last_cap) > 0 &&
	       reply_json_str(fx->last, key, out, len);
}

bool daemon_stat(struct daemon_fx *fx, const char *key, uint64_t *v)
{
	return daemon_cmd(fx, "show stats", fx->last, fx->last_cap) > 0 &&
	       reply_kv_u64(fx->last, key, v);
}
