/* SPDX-License-Identifier: MIT */
/*
 * The control socket: AF_UNIX stream, one command per line, every reply
 * ended by an empty line (see pathcheckd(8)).  All sockets are
 * non-blocking and every client has its own output buffer, so a client
 * that stops reading costs memory up to a bound, then is dropped; it never
 * blocks the daemon.  Clients are freed only by ctl_sweep(), at the end of
 * an event-loop turn, so no handler frees a client another one still uses.
 *
 * No client can hold the loop or lock root out: each gets a share of a
 * turn (CTL_TURN_*) and goes on at the next one; an unprivileged uid has at
 * most clients_per_uid connections, and none of the last CTL_ROOT_SLOTS
 * slots or the CTL_SPARE_FDS spare descriptors; a connection that sends
 * no complete command for client_idle_timeout is closed (ctl_admit.c).
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
	spares_refill(d);
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

/* A complete line waits, and may run now (not held back by a `check` or
 * by unsent output). */
static bool runnable(const struct client *c)
{
	return c->state != CLIENT_DEAD && !c->waiting && c->out.len < CTL_OUT_PAUSE &&
	       memchr(c->in, '\n', c->inlen);
}

static void ctl_watch(struct daemon *d, struct client *c)
{
	uint32_t ev = 0;

	if (c->state == CLIENT_DEAD)
		return;
	/* Back-pressure: read no more while a reply is owed or piling up, or
	 * while lines already read wait (a full buffer would spin epoll). */
	if (c->state == CLIENT_OPEN && !c->input_closed && !c->waiting &&
	    c->out.len < CTL_OUT_PAUSE && c->inlen < CTL_IN_MAX)
		ev |= EPOLLIN;
	if (runnable(c))
		d->resume_clients = true;
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
	spares_refill(d);
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
	if (!c->out.len && c->state == CLIENT_DRAINING && !c->waiting &&
	    !memchr(c->in, '\n', c->inlen)) {
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

/* c's share of this event-loop turn starts afresh at each turn. */
static void share(struct daemon *d, struct client *c)
{
	if (c->turn == d->turn)
		return;
	c->turn = d->turn;
	c->turn_cmds = 0;
	c->turn_in = c->turn_out = 0;
}

/*
 * Run the complete lines in the input buffer while this turn's share lasts,
 * stopping at a `check` and while CTL_OUT_PAUSE of output is unsent:
 * looked at before each command, so pipelined commands cannot pile up
 * replies.  What is left runs at a later turn (ctl_watch, ctl_sweep).
 */
static void run_lines(struct daemon *d, struct client *c)
{
	char *nl;

	share(d, c);
	while (c->state != CLIENT_DEAD && !c->waiting && c->out.len < CTL_OUT_PAUSE &&
	       c->turn_cmds < CTL_TURN_CMDS && c->turn_out < CTL_TURN_OUT &&
	       (nl = memchr(c->in, '\n', c->inlen))) {
		size_t len = (size_t)(nl - c->in), before = c->out.len;

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
		c->commanded = true;
		c->since_ms = now_ms();
		if (!c->subscribed)
			cmd_run(d, c, c->in);
		memmove(c->in, nl + 1, c->inlen - len - 1);
		c->inlen -= len + 1;
		c->turn_cmds++;
		c->turn_out += c->out.len > before ? c->out.len - before : 0;
	}
	if (c->state == CLIENT_OPEN && c->inlen == CTL_IN_MAX &&
	    !memchr(c->in, '\n', c->inlen)) {
		ctl_error(d, c, "command longer than %d bytes", PATHCHECKD_LINE_MAX);
		c->state = CLIENT_DRAINING;
		c->inlen = 0;
		d->ctr.clients_dropped++;
	}
	/* After EOF, once every line ran (a later turn's, maybe): close when
	 * flushed, unless a line subscribed. */
	if (c->input_closed && c->state == CLIENT_OPEN && !c->subscribed &&
	    !memchr(c->in, '\n', c->inlen))
		c->state = CLIENT_DRAINING;
}

static void client_read(struct daemon *d, struct client *c)
{
	share(d, c);
	while (c->state == CLIENT_OPEN && !c->input_closed && !c->waiting &&
	       c->inlen < CTL_IN_MAX && c->turn_in < CTL_TURN_IN) {
		ssize_t n = recv(c->fd, c->in + c->inlen, CTL_IN_MAX - c->inlen, MSG_DONTWAIT);

		if (n > 0) {
			if (!c->inlen)
				c->since_ms = now_ms();	/* a command begins */
			c->inlen += (size_t)n;
			c->turn_in += (size_t)n;
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

/* End of an event-loop turn: run the lines held back (by a `check`, unsent
 * output or a spent share) that may run now, free the dead. */
void ctl_sweep(struct daemon *d)
{
	if (d->resume_clients) {
		d->resume_clients = false;
		for (size_t i = 0; i < d->nclients; i++) {
			struct client *c = d->clients[i];

			if (runnable(c)) {
				run_lines(d, c);
				ctl_flush(d, c);	/* sets resume_clients if lines are left */
			}
		}
	}
	d->turn++;
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

bool ctl_busy(const struct daemon *d)
{
	return d->resume_clients;
}

void ctl_close_all(struct daemon *d)
{
	for (size_t i = 0; i < d->nclients; i++) {
		ctl_flush(d, d->clients[i]);
		ctl_drop(d, d->clients[i], NULL);
	}
	ctl_sweep(d);
	spares_close(d);
	free(d->clients);
	d->clients = NULL;
	d->nclients = d->capclients = 0;
}
