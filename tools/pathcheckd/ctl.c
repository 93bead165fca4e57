/* SPDX-License-Identifier: MIT */
/*
 * The control socket: AF_UNIX stream, one command per line, every reply
 * ended by an empty line (see pathcheckd(8)).  All sockets are
 * non-blocking and every client has its own output buffer, so a client
 * that stops reading costs memory up to a bound, then is dropped; it never
 * blocks the daemon.  Clients are freed only by ctl_sweep(), at the end of
 * an event-loop turn, so no handler frees a client another one still uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "sbuf.h"

#include "cmd_path.h"
#include "cmds.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "records.h"

int ctl_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket file left by a crash: refuse if a daemon still answers. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ret = -EADDRINUSE;
		goto fail;
	}
	/* Only ever remove a stale socket, never another kind of file. */
	if (lstat(d->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ret = -ENOTSOCK;
			goto fail;
		}
		unlink(d->socket_path);
	}
	/* Bind under a tight umask, then widen: never a moment world-open. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret == 0 && chmod(d->socket_path, d->cfg.socket_mode) != 0)
		ret = -1;
	if (ret == 0)
		ret = listen(fd, 128);
	if (ret != 0) {
		ret = -errno;
		goto fail;
	}
	d->listen_fd = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

void ctl_close(struct daemon *d)
{
	if (d->listen_fd < 0)
		return;
	close(d->listen_fd);
	d->listen_fd = -1;
	unlink(d->socket_path);
}

static void ctl_watch(struct daemon *d, struct client *c)
{
	uint32_t ev = 0;

	if (c->state == CLIENT_DEAD)
		return;
	/* Back-pressure: read no more while a reply is owed or piling up. */
	if (c->state == CLIENT_OPEN && !c->input_closed && !c->waiting &&
	    c->out.len < CTL_SUB_BACKLOG)
		ev |= EPOLLIN;
	if (c->out.len)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		loop_modify(d, c->fd, ev, c);
		c->events = ev;
	}
}

/*
 * Closing a socket with unread input makes the peer's next read fail with
 * ECONNRESET, losing our last reply (an error saying why we close): read
 * away what is already there first.  Bounded: at most 64 KiB.
 */
static void discard_input(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

void ctl_drop(struct daemon *d, struct client *c, const char *why)
{
	if (c->state == CLIENT_DEAD)
		return;
	if (why) {
		d->ctr.clients_dropped++;
		logmsg(LOG_NOTICE, "control client pid %d uid %u dropped: %s",
		       (int)c->pid, (unsigned int)c->uid, why);
	}
	if (c->subscribed)
		d->subscribers--;
	c->subscribed = false;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	discard_input(c->fd);
	close(c->fd);
	c->fd = -1;
	c->state = CLIENT_DEAD;
	d->client_dead = true;
}

void ctl_flush(struct daemon *d, struct client *c)
{
	while (c->out.len && c->state != CLIENT_DEAD) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			sb_consume(&c->out, (size_t)n);
			c->stalled_since_ms = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->stalled_since_ms)
				c->stalled_since_ms = now_ms();
			break;
		}
		ctl_drop(d, c, NULL);	/* the peer went away */
		return;
	}
	if (c->out.oom || c->out.len > CTL_OUT_MAX) {
		ctl_drop(d, c, c->out.oom ? "out of memory" : "reply backlog too large");
		return;
	}
	if (!c->out.len && c->state == CLIENT_DRAINING && !c->waiting) {
		ctl_drop(d, c, NULL);
		return;
	}
	ctl_watch(d, c);
}

void ctl_send(struct daemon *d, struct client *c, const char *fmt, ...)
{
	va_list ap;

	(void)d;
	va_start(ap, fmt);
	sb_vprintf(&c->out, fmt, ap);
	va_end(ap);
}

void ctl_reply_end(struct daemon *d, struct client *c)
{
	(void)d;
	sb_append(&c->out, "\n", 1);
}

void ctl_error(struct daemon *d, struct client *c, const char *fmt, ...)
{
	va_list ap;

	d->ctr.command_errors++;
	sb_append(&c->out, "error: ", 7);
	va_start(ap, fmt);
	sb_vprintf(&c->out, fmt, ap);
	va_end(ap);
	sb_append(&c->out, "\n\n", 2);
}

static struct client *client_new(struct daemon *d, int fd)
{
	struct client *c = calloc(1, sizeof(*c));
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!c)
		return NULL;
	c->fd = fd;
	c->id = ++d->next_client_id;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->privileged = cred.uid == 0 || cred.uid == geteuid();
	} else {
		c->uid = (uid_t)-1;	/* unknown peer: read-only */
	}
	return c;
}

static int clients_reserve(struct daemon *d)
{
	return array_reserve(&d->clients, &d->capclients, d->nclients + 1,
			     sizeof(*d->clients));
}

static void refuse(int fd, const char *why)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "error: %s\n\n", why);

	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		logmsg(LOG_DEBUG, "refused client: %m");
	close(fd);
}

void ctl_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: pause, or the loop would spin.
				 * Said once a minute, not every second. */
				static uint64_t said_ms;
				int err = errno;

				if (!said_ms || now_ms() - said_ms >= 60000) {
					said_ms = now_ms();
					logmsg(LOG_ERR, "accept: %s; not accepting for a second "
					       "(said once a minute)", strerror(err));
				}
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL);
				d->listen_paused = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				logmsg(LOG_ERR, "accept: %m");
			}
			return;
		}
		if (d->nclients >= CTL_MAX_CLIENTS) {
			refuse(fd, "too many clients");
			continue;
		}
		c = clients_reserve(d) ? NULL : client_new(d, fd);
		if (!c) {
			refuse(fd, "out of memory");
			continue;
		}
		d->clients[d->nclients++] = c;
		d->ctr.clients_accepted++;
		c->events = EPOLLIN;
		loop_watch(d, fd, EPOLLIN, c);
	}
}

/* Run the complete lines in the input buffer, stopping at a `check`. */
static void run_lines(struct daemon *d, struct client *c)
{
	char *nl;

	while (c->state != CLIENT_DEAD && !c->waiting &&
	       (nl = memchr(c->in, '\n', c->inlen))) {
		size_t len = (size_t)(nl - c->in);

		if (memchr(c->in, '\0', len)) {
			/* It would hide the rest of the line from the parser. */
			ctl_error(d, c, "NUL byte in command");
			d->ctr.clients_dropped++;
			c->state = CLIENT_DRAINING;
			c->inlen = 0;	/* the rest is not read */
			return;
		}
		*nl = '\0';
		if (len && c->in[len - 1] == '\r')
			c->in[len - 1] = '\0';
		if (!c->subscribed)
			cmd_run(d, c, c->in);
		memmove(c->in, nl + 1, c->inlen - len - 1);
		c->inlen -= len + 1;
	}
	if (c->state == CLIENT_OPEN && c->inlen == CTL_IN_MAX &&
	    !memchr(c->in, '\n', c->inlen)) {
		ctl_error(d, c, "command longer than %d bytes", PATHCHECKD_LINE_MAX);
		c->state = CLIENT_DRAINING;
		c->inlen = 0;
		d->ctr.clients_dropped++;
	}
}

static void client_read(struct daemon *d, struct client *c)
{
	while (c->state == CLIENT_OPEN && !c->input_closed && !c->waiting &&
	       c->inlen < CTL_IN_MAX) {
		ssize_t n = recv(c->fd, c->in + c->inlen, CTL_IN_MAX - c->inlen, MSG_DONTWAIT);

		if (n > 0) {
			c->inlen += (size_t)n;
			run_lines(d, c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			ctl_drop(d, c, NULL);
			return;
		}
		/*
		 * EOF: answer what was asked, then close; but a subscriber
		 * (`echo subscribe | socat ...`) keeps receiving events until
		 * it goes away entirely.
		 */
		c->input_closed = true;
		if (c->inlen && c->inlen < CTL_IN_MAX && c->in[c->inlen - 1] != '\n')
			c->in[c->inlen++] = '\n';	/* a last line without newline */
		run_lines(d, c);
		if (!c->subscribed && c->state == CLIENT_OPEN)
			c->state = CLIENT_DRAINING;
		return;
	}
	run_lines(d, c);
}

void ctl_event(struct daemon *d, struct client *c, uint32_t events)
{
	if (c->state == CLIENT_DEAD)
		return;
	if (events & EPOLLIN)
		client_read(d, c);
	else if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLOUT)) {
		ctl_drop(d, c, NULL);
		return;
	}
	ctl_flush(d, c);
}

struct client *ctl_client_by_id(struct daemon *d, uint64_t id)
{
	for (size_t i = 0; i < d->nclients; i++)
		if (d->clients[i]->id == id && d->clients[i]->state != CLIENT_DEAD)
			return d->clients[i];
	return NULL;
}

/* One event line (ending in a newline) to every subscriber. */
void ctl_publish(struct daemon *d, const struct sbuf *ev)
{
	for (size_t i = 0; i < d->nclients && !ev->oom; i++) {
		struct client *c = d->clients[i];

		if (!c->subscribed || c->state == CLIENT_DEAD)
			continue;
		if (c->out.len + ev->len > CTL_SUB_BACKLOG) {
			ctl_drop(d, c, "subscriber not reading its events");
			continue;
		}
		sb_append(&c->out, ev->p, ev->len);
		d->ctr.events_sent++;
		ctl_flush(d, c);
	}
}

/* A transition, as one JSON line to every subscriber. */
void ctl_publish_transition(struct daemon *d, const struct rec *r, enum chk_st from)
{
	struct sbuf ev = { 0 };
	char when[40], why[128];

	d->seq++;
	if (!d->subscribers)
		return;
	fmt_wall(when, sizeof(when), r->last_change_ms);
	sb_printf(&ev, "{\"event\":\"state\",\"seq\":%llu,\"dev\":", (unsigned long long)d->seq);
	sb_json_str(&ev, r->name);
	sb_printf(&ev, ",\"path\":");
	sb_json_str(&ev, r->dev);
	sb_printf(&ev, ",\"from\":\"%s\",\"to\":\"%s\",\"state\":\"%s\",\"reason\":",
		  chk_st_name(from), chk_st_name(r->st),
		  r->st == CHK_READY ? "up" : "down");
	sb_json_str(&ev, rec_reason_text(r, why, sizeof(why)));
	sb_printf(&ev, ",\"error\":%d,\"latency_us\":%llu,\"time\":\"%s\"}\n",
		  r->error, (unsigned long long)r->latency_us, when);
	ctl_publish(d, &ev);
	sb_free(&ev);
}

/* A check this path's waiters asked for has finished (or the path left). */
void ctl_check_done(struct daemon *d, struct rec *r)
{
	for (size_t i = 0; i < r->nwaiters; i++) {
		struct client *c = ctl_client_by_id(d, r->waiters[i]);

		if (!c || !c->waiting)
			continue;
		c->waiting = false;
		if (r->rstate == REC_REMOVED)
			ctl_error(d, c, "path %s was removed", r->name);
		else
			cmd_reply_check(d, c, r, c->wait_json);
		d->resume_clients = true;
		ctl_flush(d, c);
	}
	free(r->waiters);
	r->waiters = NULL;
	r->nwaiters = 0;
}

/* Drop clients whose output has not moved for CTL_STALL_MS; resume
 * accepting after running out of descriptors. */
void ctl_housekeeping(struct daemon *d, uint64_t now)
{
	if (d->listen_paused && d->listen_fd >= 0) {
		d->listen_paused = false;
		loop_watch(d, d->listen_fd, EPOLLIN, loop_tag(TAG_LISTEN));
	}
	for (size_t i = 0; i < d->nclients; i++) {
		struct client *c = d->clients[i];

		if (c->state != CLIENT_DEAD && c->stalled_since_ms &&
		    now - c->stalled_since_ms > CTL_STALL_MS)
			ctl_drop(d, c, "not reading its replies");
	}
}

/* End of an event-loop turn: run lines a finished `check` held back, free
 * the dead. */
void ctl_sweep(struct daemon *d)
{
	if (d->resume_clients) {
		d->resume_clients = false;
		for (size_t i = 0; i < d->nclients; i++) {
			struct client *c = d->clients[i];

			if (c->state != CLIENT_DEAD && !c->waiting && c->inlen) {
				run_lines(d, c);
				ctl_flush(d, c);
			}
		}
	}
	if (!d->client_dead)
		return;
	d->client_dead = false;
	for (size_t i = 0; i < d->nclients;) {
		struct client *c = d->clients[i];

		if (c->state != CLIENT_DEAD) {
			i++;
			continue;
		}
		sb_free(&c->out);
		free(c);
		d->clients[i] = d->clients[--d->nclients];
	}
}

void ctl_close_all(struct daemon *d)
{
	for (size_t i = 0; i < d->nclients; i++) {
		ctl_flush(d, d->clients[i]);
		ctl_drop(d, d->clients[i], NULL);
	}
	ctl_sweep(d);
	free(d->clients);
	d->clients = NULL;
	d->nclients = d->capclients = 0;
}
