/* SPDX-License-Identifier: MIT */
/* Connections to a unix socket held by other users: see uid_pool.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uid_pool.h"

static int connect_nb(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	/* A full backlog: EAGAIN, tried again for a while. */
	for (int i = 0; fd >= 0 && i < 500; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (errno != EAGAIN)
			break;
		usleep(10000);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static void pool_report(int *fds, unsigned int n, FILE *out)
{
	unsigned int refused = 0, eof = 0;
	char first[160] = "", buf[512];

	for (unsigned int i = 0; i < n; i++) {
		ssize_t k;

		if (fds[i] < 0)
			continue;
		k = recv(fds[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (k > 0) {
			buf[k] = '\0';
			if (!strncmp(buf, "error: ", 7) && !refused++)
				snprintf(first, sizeof(first), "%.*s", (int)strcspn(buf, "\n"), buf);
			k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
		}
		eof += k == 0 || (k < 0 && errno == ECONNRESET);
	}
	fprintf(out, "refused %u first '%s' eof %u\n", refused, first, eof);
	fflush(out);
}

/* A child's lines to the parent: "connected N", then on each request
 * (a byte) "refused N first 'MSG' eof E"; it ends at EOF on its pipe. */
static void pool_child(const char *sock, unsigned int n, uid_t uid, int in, int outfd)
{
	FILE *out = fdopen(outfd, "w");
	int *fds = calloc(n, sizeof(*fds));
	unsigned int ok = 0;
	struct rlimit rl;
	char c;

	if (!out || !fds || setgroups(0, NULL) || setgid(uid) || setuid(uid))
		_exit(3);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = connect_nb(sock);
		ok += fds[i] >= 0;
	}
	fprintf(out, "connected %u\n", ok);
	fflush(out);
	while (read(in, &c, 1) == 1)
		pool_report(fds, n, out);
	_exit(0);
}

/* One child: starts it and waits (30 s) for its connections: how many, or -1. */
static int kid_start(struct pool_kid *k, const char *sock, unsigned int n, uid_t uid)
{
	int down[2], up[2];
	unsigned int ok;
	char line[256];

	if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC))
		return -1;
	fflush(NULL);
	k->pid = fork();
	if (k->pid == 0) {
		close(down[1]);
		close(up[0]);
		pool_child(sock, n, uid, down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	k->to_child = down[1];
	k->from_child = up[0];
	if (k->pid < 0)
		return -1;
	{
		struct pollfd pf = { .fd = k->from_child, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, 30000) != 1)
			return -1;
		r = read(k->from_child, line, sizeof(line) - 1);
		if (r <= 0)
			return -1;
		line[r] = '\0';
	}
	return sscanf(line, "connected %u", &ok) == 1 ? (int)ok : -1;
}

/*
 * n connections of users 65534, 65533, ..., per_uid each, one child process
 * a user: how many connected, or -1.
 */
int pool_start(struct pool *p, const char *sock, unsigned int n,
	       unsigned int per_uid)
{
	int total = 0;

	memset(p, 0, sizeof(*p));
	for (unsigned int left = n; left && p->nkids < POOL_KIDS;) {
		unsigned int k = left < per_uid ? left : per_uid;
		int got = kid_start(&p->kids[p->nkids], sock, k,
				    (uid_t)(POOL_NOBODY - p->nkids));

		p->nkids++;
		if (got < 0)
			return -1;
		total += got;
		left -= k;
	}
	return total;
}

static bool kid_refused(struct pool_kid *k, unsigned int *refused, char *first, size_t len,
			unsigned int *eof)
{
	struct pollfd pf = { .fd = k->from_child, .events = POLLIN };
	char line[512];
	unsigned int r, e;
	ssize_t n;

	if (write(k->to_child, "r", 1) != 1 || poll(&pf, 1, 30000) != 1)
		return false;
	n = read(k->from_child, line, sizeof(line) - 1);
	if (n <= 0)
		return false;
	line[n] = '\0';
	if (sscanf(line, "refused %u first '", &r) != 1 || !strstr(line, "' eof "))
		return false;
	if (!first[0])
		snprintf(first, len, "%.*s",
			 (int)(strstr(line, "' eof ") - strchr(line, '\'') - 1),
			 strchr(line, '\'') + 1);
	e = (unsigned int)atoi(strstr(line, "' eof ") + 6);
	*refused += r;
	*eof += e;
	return true;
}

/* What the pool's connections got so far: refusals, the first, EOFs. */
bool pool_refused(struct pool *p, unsigned int *refused, char *first, size_t len,
			 unsigned int *eof)
{
	bool ok = true;

	*refused = *eof = 0;
	first[0] = '\0';
	for (unsigned int i = 0; i < p->nkids; i++)
		ok &= kid_refused(&p->kids[i], refused, first, len, eof);
	return ok;
}

/* Each child ends at EOF on its pipe.  A later child holds the pipes of
 * the earlier ones too (forked with them): close them all first. */
void pool_stop(struct pool *p)
{
	int status;

	for (unsigned int i = 0; i < p->nkids; i++) {
		close(p->kids[i].to_child);
		close(p->kids[i].from_child);
	}
	for (unsigned int i = 0; i < p->nkids; i++)
		if (p->kids[i].pid > 0)
			waitpid(p->kids[i].pid, &status, 0);
	p->nkids = 0;
}
