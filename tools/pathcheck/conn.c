/* SPDX-License-Identifier: MIT */
/*
 * One connection to pathcheckd's control socket.  A reply is zero or more
 * lines ended by an empty line; it is copied out as it arrives, so a
 * `show paths json` of 100,000 paths (one long line) needs no big buffer.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#include "cli.h"

static void print_seconds(FILE *f, unsigned int ms)
{
	if (ms % 1000)
		fprintf(f, "%.3g s", ms / 1000.0);
	else
		fprintf(f, "%u s", ms / 1000);
}

/* Blocking connect and send both give up after SO_SNDTIMEO (EAGAIN). */
static int set_send_timeout(int fd, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ? -errno : 0;
}

static int try_connect(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	if (strlen(c->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	ret = set_send_timeout(c->fd, c->timeout_ms);
	while (!ret && connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		if (errno != EINTR)
			ret = -errno;
	if (ret) {
		close(c->fd);
		c->fd = -1;
	}
	return ret;
}

int conn_open(struct conn *c, const char *path, unsigned int timeout_ms)
{
	int ret;

	c->path = path;
	c->timeout_ms = timeout_ms;
	c->off = c->len = 0;
	ret = try_connect(c);
	/* A listening socket whose backlog stays full: the daemon is wedged. */
	if (ret == -EAGAIN)
		ret = -ETIMEDOUT;
	if (ret == -ETIMEDOUT)
		conn_fail(c, ret);
	else if (ret)
		fprintf(stderr, "pathcheck: cannot connect to %s: %s (is pathcheckd running?)\n",
			path, strerror(-ret));
	return ret;
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

bool conn_hung_up(struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char byte;

	if (c->off < c->len || poll(&p, 1, 0) != 1)
		return false;
	return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0 || (p.revents & POLLERR);
}

int conn_send(struct conn *c, const char *line)
{
	size_t len = strlen(line), done = 0;
	char buf[PATHCHECKD_LINE_MAX + 1];

	if (len > PATHCHECKD_LINE_MAX)
		return -E2BIG;
	/* One send: the daemon gets the command and its '\n' together. */
	memcpy(buf, line, len);
	buf[len++] = '\n';
	while (done < len) {
		ssize_t r = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		done += (size_t)r;
	}
	return 0;
}

/*
 * Reads more bytes into the empty buffer.  deadline 0: wait forever (for
 * events), letting the signals of waitmask in.  Returns the count read,
 * -ECONNRESET at EOF, -ETIMEDOUT, -EINTR when *stop was set, or -errno.
 */
static int conn_fill(struct conn *c, uint64_t deadline, const sigset_t *waitmask,
		     volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int ret;

	c->off = c->len = 0;
	for (;;) {
		if (stop && *stop)
			return -EINTR;
		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline)
				return -ETIMEDOUT;
			ret = poll(&p, 1, (int)(deadline - now));
		} else {
			ret = ppoll(&p, 1, NULL, waitmask);
		}
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		n = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
		if (n > 0) {
			c->len = (size_t)n;
			return (int)n;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* What the first line is: known once it has 7 bytes or has ended. */
enum reply_kind { REPLY_UNKNOWN, REPLY_BODY, REPLY_ERROR };

struct reply {
	enum reply_kind kind;
	char head[7];
	size_t nhead;
	bool bol;		/* the next byte starts a line */
	FILE *to;
};

/* Collects the start of the first line; false while it is undecided. */
static bool reply_head(struct conn *c, struct reply *r, FILE *out)
{
	while (c->off < c->len && r->nhead < sizeof(r->head)) {
		char ch = c->buf[c->off++];

		r->head[r->nhead++] = ch;
		if (ch == '\n')
			break;
	}
	if (r->nhead < sizeof(r->head) && r->head[r->nhead - 1] != '\n')
		return false;
	if (r->nhead == sizeof(r->head) && !memcmp(r->head, "error: ", 7)) {
		r->kind = REPLY_ERROR;
		r->to = stderr;
		fputs("pathcheck: ", stderr);
	} else {
		r->kind = REPLY_BODY;
		r->to = out;
		fwrite(r->head, 1, r->nhead, out);
	}
	r->bol = r->head[r->nhead - 1] == '\n';
	return true;
}

/* Copies whole and partial lines; true at the reply's empty line. */
static bool reply_body(struct conn *c, struct reply *r)
{
	while (c->off < c->len) {
		const char *p = c->buf + c->off;
		const char *nl;
		size_t k;

		if (r->bol && *p == '\n') {
			c->off++;
			return true;
		}
		nl = memchr(p, '\n', c->len - c->off);
		k = nl ? (size_t)(nl - p) + 1 : c->len - c->off;
		fwrite(p, 1, k, r->to);
		c->off += k;
		r->bol = nl != NULL;
	}
	return false;
}

int conn_reply(struct conn *c, FILE *out)
{
	uint64_t deadline = now_ms() + c->timeout_ms;
	struct reply r = { .kind = REPLY_UNKNOWN, .bol = true };
	int ret;

	for (;;) {
		if (c->off == c->len && (ret = conn_fill(c, deadline, NULL, NULL)) < 0)
			break;
		if (r.kind == REPLY_UNKNOWN) {
			if (r.nhead == 0 && c->buf[c->off] == '\n') {
				c->off++;	/* the empty reply */
				return 0;
			}
			if (!reply_head(c, &r, out))
				continue;
		}
		if (reply_body(c, &r)) {
			fflush(r.to);
			return r.kind == REPLY_ERROR;
		}
	}
	/* A reply cut short: end its partial line so the message stands alone. */
	if (r.kind != REPLY_UNKNOWN && !r.bol)
		fputc('\n', r.to);
	fflush(out);
	return ret;
}

long conn_stream(struct conn *c, FILE *out, unsigned long count,
		 const sigset_t *waitmask, volatile sig_atomic_t *stop)
{
	unsigned long lines = 0;
	int ret;

	while (!count || lines < count) {
		if (c->off == c->len) {
			ret = conn_fill(c, 0, waitmask, stop);
			if (ret == -ECONNRESET || ret == -EINTR)
				break;
			if (ret < 0)
				return ret;
		}
		const char *p = c->buf + c->off;
		const char *nl = memchr(p, '\n', c->len - c->off);
		size_t k = nl ? (size_t)(nl - p) + 1 : c->len - c->off;

		fwrite(p, 1, k, out);
		c->off += k;
		if (nl) {
			fflush(out);
			lines++;
		}
	}
	fflush(out);
	return (long)lines;
}

int conn_fail(const struct conn *c, int err)
{
	if (err == -ETIMEDOUT) {
		fputs("pathcheck: no reply from pathcheckd within ", stderr);
		print_seconds(stderr, c->timeout_ms);
		fputc('\n', stderr);
	} else if (err == -ECONNRESET || err == -EPIPE) {
		fprintf(stderr, "pathcheck: pathcheckd closed the connection (%s)\n", c->path);
	} else {
		fprintf(stderr, "pathcheck: %s: %s\n", c->path, strerror(-err));
	}
	return EXIT_TROUBLE;
}
