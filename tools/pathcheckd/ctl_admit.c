/* SPDX-License-Identifier: MIT */
/*
 * Who may hold a control-socket connection, so that no user but root can
 * keep root out (pathcheckd(8), Limits): at most CTL_MAX_CLIENTS, the last
 * CTL_ROOT_SLOTS of them and CTL_SPARE_FDS spare descriptors only for
 * privileged clients, clients_per_uid for any other user, and none that
 * sends no complete command for client_idle_timeout.  Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "sbuf.h"

#include "ctl.h"
#include "daemon.h"
#include "log.h"

/* --- descriptors kept for privileged clients -------------------------------- */

_Static_assert(sizeof(((struct daemon *)0)->spare_fds) == CTL_SPARE_FDS * sizeof(int),
	       "daemon.h's spare_fds holds CTL_SPARE_FDS");

/* Takes again the spares that are free (best effort: retried each second). */
void spares_refill(struct daemon *d)
{
	for (int i = 0; i < CTL_SPARE_FDS; i++)
		if (d->spare_fds[i] < 0)
			d->spare_fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Gives up one spare, for a connection out of descriptors: false if none. */
bool spare_release(struct daemon *d)
{
	for (int i = 0; i < CTL_SPARE_FDS; i++) {
		if (d->spare_fds[i] >= 0) {
			close(d->spare_fds[i]);
			d->spare_fds[i] = -1;
			return true;
		}
	}
	return false;
}

void spares_close(struct daemon *d)
{
	for (int i = 0; i < CTL_SPARE_FDS; i++) {
		if (d->spare_fds[i] >= 0)
			close(d->spare_fds[i]);
		d->spare_fds[i] = -1;
	}
}

struct peer {
	uid_t uid;
	pid_t pid;
	bool privileged;	/* root or the daemon's own user */
};

static void peer_of(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*p = (struct peer){ .uid = (uid_t)-1 };	/* unknown peer: read-only */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		p->uid = cred.uid;
		p->pid = cred.pid;
		p->privileged = cred.uid == 0 || cred.uid == geteuid();
	}
}

static struct client *client_new(struct daemon *d, int fd, const struct peer *p)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->id = ++d->next_client_id;
	c->uid = p->uid;
	c->pid = p->pid;
	c->privileged = p->privileged;
	c->since_ms = now_ms();
	return c;
}

static int clients_reserve(struct daemon *d)
{
	return array_reserve(&d->clients, &d->capclients, d->nclients + 1,
			     sizeof(*d->clients));
}

static void refuse(int fd, const char *why)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "error: %s\n\n", why);

	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		logmsg(LOG_DEBUG, "refused client: %m");
	close(fd);
}

static size_t clients_of(const struct daemon *d, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nclients; i++)
		n += d->clients[i]->state != CLIENT_DEAD && d->clients[i]->uid == uid;
	return n;
}

/* Why a new client p is refused, in why; NULL: welcome.  spare: it holds a
 * descriptor kept for privileged clients. */
static const char *refusal(const struct daemon *d, const struct peer *p, bool spare,
			   char *why, size_t len)
{
	if (d->nclients >= CTL_MAX_CLIENTS)
		return "too many clients";
	if (p->privileged)
		return NULL;
	if (spare)
		return "out of file descriptors (the last ones are kept for root)";
	if (d->nclients >= CTL_MAX_CLIENTS - CTL_ROOT_SLOTS)
		return "too many clients";
	if (clients_of(d, p->uid) >= d->cfg.clients_per_uid) {
		snprintf(why, len, "too many clients of uid %u (clients_per_uid %u)",
			 (unsigned int)p->uid, d->cfg.clients_per_uid);
		return why;
	}
	return NULL;
}

static bool out_of_fds(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Out of descriptors with no spare left: stop accepting for a second
 * (level-triggered, the loop would spin).  Said once a minute. */
static void accept_pause(struct daemon *d, int err)
{
	static uint64_t said_ms;

	if (!said_ms || now_ms() - said_ms >= 60000) {
		said_ms = now_ms();
		logmsg(LOG_ERR, "accept: %s; not accepting for a second "
		       "(said once a minute)", strerror(err));
	}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL);
	d->listen_paused = true;
}

/* The next connection, or -1 with errno; *spare: it took a spare. */
static int accept_one(struct daemon *d, bool *spare)
{
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	*spare = false;
	if (fd < 0 && out_of_fds(errno) && spare_release(d)) {
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		*spare = fd >= 0;
		if (fd < 0) {
			int err = errno;

			spares_refill(d);
			errno = err;
		}
	}
	return fd;
}

void ctl_accept(struct daemon *d)
{
	for (;;) {
		char why[96];
		const char *no;
		struct client *c;
		struct peer p;
		bool spare;
		int fd = accept_one(d, &spare);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (out_of_fds(errno))
				accept_pause(d, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				logmsg(LOG_ERR, "accept: %m");
			return;
		}
		peer_of(fd, &p);
		no = refusal(d, &p, spare, why, sizeof(why));
		c = no || clients_reserve(d) ? NULL : client_new(d, fd, &p);
		if (!c) {
			refuse(fd, no ? no : "out of memory");
			if (spare)
				spares_refill(d);
			continue;
		}
		d->clients[d->nclients++] = c;
		d->ctr.clients_accepted++;
		c->events = EPOLLIN;
		loop_watch(d, fd, EPOLLIN, c);
	}
}

/* Sent no complete command for client_idle_timeout: since it connected,
 * or since it began the line it has not ended.  A client between commands,
 * a subscriber and one waiting on a `check` are not idle. */
static bool idle(const struct daemon *d, const struct client *c, uint64_t now)
{
	if (c->state != CLIENT_OPEN || c->subscribed ||
	    c->waiting || (c->commanded && !c->inlen) || memchr(c->in, '\n', c->inlen))
		return false;
	return now - c->since_ms > d->cfg.client_idle_ms;
}

/* Says why, and closes.  The first few are logged one by one; the rest of
 * a pass in one line, since an idle flood comes in hundreds. */
static void drop_idle(struct daemon *d, struct client *c, unsigned int *n)
{
	char why[96];
	unsigned int ms = d->cfg.client_idle_ms;

	snprintf(why, sizeof(why), "idle: no complete command within %u%s",
		 ms % 1000 ? ms : ms / 1000, ms % 1000 ? "ms" : "s");
	sb_printf(&c->out, "error: %s\n\n", why);
	ctl_flush(d, c);
	if ((*n)++ < 3) {
		ctl_drop(d, c, why);
		return;
	}
	d->ctr.clients_dropped++;
	ctl_drop(d, c, NULL);
}

/* Once a second: drop clients whose output has not moved for CTL_STALL_MS
 * and idle ones; resume accepting after running out of descriptors. */
void ctl_housekeeping(struct daemon *d, uint64_t now)
{
	unsigned int nidle = 0;

	if (d->listen_paused && d->listen_fd >= 0) {
		d->listen_paused = false;
		loop_watch(d, d->listen_fd, EPOLLIN, loop_tag(TAG_LISTEN));
	}
	spares_refill(d);
	for (size_t i = 0; i < d->nclients; i++) {
		struct client *c = d->clients[i];

		if (c->state != CLIENT_DEAD && c->stalled_since_ms &&
		    now - c->stalled_since_ms > CTL_STALL_MS)
			ctl_drop(d, c, "not reading its replies");
		else if (idle(d, c, now))
			drop_idle(d, c, &nidle);
	}
	if (nidle > 3)
		logmsg(LOG_NOTICE, "%u more idle control clients dropped", nidle - 3);
}
